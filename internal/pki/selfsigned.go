package pki

import (
	"fmt"
	"net/netip"
	"path/filepath"
)

// selfSignedCADir is the sub-directory of certsDir holding the private CA
// created by EnsureSelfSigned.
const selfSignedCADir = "ca"

// EnsureSelfSigned prepares the single-node default. If certsDir holds no
// node.crt it creates a private cluster CA in certsDir/ca/ (or reuses a
// complete one left there by an interrupted earlier call) and issues a node
// certificate for addr into certsDir, returning created = true. If
// certsDir already holds node.crt it does nothing (created = false); the
// certificate is validated by LoadIdentity, and the caller compares
// Identity.Address with its listen address.
//
// It refuses a certsDir that holds node.key or ca.crt without node.crt:
// that is an incomplete operator-provided directory, not a fresh node.
func EnsureSelfSigned(certsDir, clusterName string, addr netip.Addr) (created bool, err error) {
	return EnsureSelfSignedWithOptions(certsDir, clusterName, addr, Options{})
}

// EnsureSelfSignedWithOptions is EnsureSelfSigned with explicit Options.
func EnsureSelfSignedWithOptions(certsDir, clusterName string, addr netip.Addr, o Options) (created bool, err error) {
	created, err = ensureSelfSigned(certsDir, clusterName, addr, o)
	if err != nil {
		return false, fmt.Errorf("pki: self-signed certificates in %s: %w", certsDir, err)
	}
	return created, nil
}

func ensureSelfSigned(certsDir, clusterName string, addr netip.Addr, o Options) (created bool, err error) {
	have, err := exists(filepath.Join(certsDir, NodeCrtFile))
	if err != nil || have {
		return false, err
	}
	if err := validateNodeAddr(addr); err != nil {
		return false, err
	}
	for _, name := range []string{NodeKeyFile, CACertFile} {
		p := filepath.Join(certsDir, name)
		ok, err := exists(p)
		if err != nil {
			return false, err
		}
		if ok {
			return false, fmt.Errorf("%s exists but %s does not: incomplete certificates directory; "+
				"add the node certificate or empty the directory", p, NodeCrtFile)
		}
	}
	caDir := filepath.Join(certsDir, selfSignedCADir)
	haveCA, err := exists(filepath.Join(caDir, CACertFile))
	if err != nil {
		return false, err
	}
	var ca *CA
	if haveCA {
		ca, err = loadCA(caDir, o)
	} else {
		ca, err = initCA(caDir, clusterName, o)
	}
	if err != nil {
		return false, fmt.Errorf("private CA in %s: %w", caDir, err)
	}
	if err := ca.issueNode(addr, certsDir); err != nil {
		return false, err
	}
	return true, nil
}
