package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// caCN is the Common Name of every cluster CA certificate. It is neutral
// on purpose: a certificate is shown to anyone who completes a TLS
// handshake's first flight, so it names no product, version or cluster.
const caCN = "cluster CA"

// caCNPrefix started the Common Name of CA certificates made before the
// neutral name, followed by the cluster name; LoadCA still reads it.
const caCNPrefix = "ringdb cluster CA "

// ClusterNameFile holds the cluster name in a CA directory (the CA
// certificate does not carry it).
const ClusterNameFile = "cluster-name"

// maxClusterNameLen bounds the cluster name (bytes) put in the CA subject.
const maxClusterNameLen = 128

// CA is a cluster certificate authority loaded from (or created in) a
// directory holding ca.key and ca.crt.
type CA struct {
	// Dir is the directory holding ca.key and ca.crt.
	Dir string
	// ClusterID is the cluster id embedded in the CA certificate.
	ClusterID string
	// ClusterName is the cluster name from the CA subject.
	ClusterName string
	// Cert is the CA certificate.
	Cert *x509.Certificate

	certPEM []byte
	key     crypto.Signer
	opts    Options
}

// CertPath returns the path of ca.crt.
func (ca *CA) CertPath() string { return filepath.Join(ca.Dir, CACertFile) }

// KeyPath returns the path of ca.key.
func (ca *CA) KeyPath() string { return filepath.Join(ca.Dir, CAKeyFile) }

// InitCA creates a new cluster CA in dir with default Options.
func InitCA(dir, clusterName string) (*CA, error) {
	return InitCAWithOptions(dir, clusterName, Options{})
}

// InitCAWithOptions creates a new cluster CA in dir (created 0700 if
// missing): an ECDSA P-256 key in ca.key (0600) and a self-signed CA
// certificate in ca.crt carrying a fresh random cluster id as the URI SAN
// urn:uuid:<cluster id> and the neutral subject CN="cluster CA" (the cluster
// name is kept in the CA directory's cluster-name file, not in the
// certificate). It refuses to overwrite an existing ca.key or ca.crt.
func InitCAWithOptions(dir, clusterName string, o Options) (*CA, error) {
	ca, err := initCA(dir, clusterName, o)
	if err != nil {
		return nil, fmt.Errorf("pki: init CA in %s: %w", dir, err)
	}
	return ca, nil
}

func initCA(dir, clusterName string, o Options) (*CA, error) {
	o.EnsureDefaults()
	if err := validateClusterName(clusterName); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("CA directory not set")
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("create CA directory: %w", err)
	}
	for _, name := range []string{CAKeyFile, CACertFile} {
		p := filepath.Join(dir, name)
		ok, err := exists(p)
		if err != nil {
			return nil, err
		}
		if ok {
			return nil, fmt.Errorf("refusing to overwrite an existing CA: %s exists", p)
		}
	}
	id, err := newClusterID()
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := o.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caCN},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              o.caNotAfter(now),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true, // nodes are signed directly; no intermediates
		URIs:                  []*url.URL{ClusterURI(id)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new CA certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := encodeCert(der)
	// Key first, certificate last: a directory with ca.crt is complete.
	if err := os.WriteFile(filepath.Join(dir, ClusterNameFile), []byte(clusterName+"\n"), certMode); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, CAKeyFile), keyPEM, keyMode); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, CACertFile), certPEM, certMode); err != nil {
		return nil, err
	}
	return &CA{Dir: dir, ClusterID: id, ClusterName: clusterName, Cert: cert, certPEM: certPEM, key: key, opts: o}, nil
}

// LoadCA loads the CA in dir with default Options.
func LoadCA(dir string) (*CA, error) {
	return LoadCAWithOptions(dir, Options{})
}

// LoadCAWithOptions loads the CA in dir and checks that ca.crt is a CA
// certificate carrying a cluster id, that ca.key matches it and is not
// readable by group or others.
func LoadCAWithOptions(dir string, o Options) (*CA, error) {
	ca, err := loadCA(dir, o)
	if err != nil {
		return nil, fmt.Errorf("pki: load CA from %s: %w", dir, err)
	}
	return ca, nil
}

func loadCA(dir string, o Options) (*CA, error) {
	o.EnsureDefaults()
	cert, certPEM, err := readCert(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, err
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, fmt.Errorf("%s is not a CA certificate", filepath.Join(dir, CACertFile))
	}
	id, err := clusterIDOf(cert)
	if err != nil {
		return nil, err
	}
	key, _, err := readKey(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, err
	}
	if !samePublicKey(key, cert) {
		return nil, fmt.Errorf("%s does not match %s", CAKeyFile, CACertFile)
	}
	name := strings.TrimPrefix(cert.Subject.CommonName, caCNPrefix)
	if b, err := os.ReadFile(filepath.Join(dir, ClusterNameFile)); err == nil {
		name = strings.TrimSpace(string(b))
	}
	return &CA{Dir: dir, ClusterID: id, ClusterName: name, Cert: cert, certPEM: certPEM, key: key, opts: o}, nil
}

// IssueNode writes a node certificate for addr into outDir (created 0700 if
// missing): node.key (ECDSA P-256, 0600), node.crt (IP SAN addr, URI SAN
// with the cluster id, ExtKeyUsage ServerAuth and ClientAuth, CN addr,
// Options.NodeValidity, by default one year) and a copy of ca.crt. The
// certificate's serial, address and expiry are first appended to the CA's
// index (issued.jsonl), which Revoke uses to revoke by address. It refuses
// an invalid, unspecified, multicast or zoned address, and refuses to
// overwrite an existing node.key or node.crt (an existing ca.crt is
// accepted only if it is this CA's certificate).
func (ca *CA) IssueNode(addr netip.Addr, outDir string) error {
	if err := ca.issueNode(addr, outDir); err != nil {
		return fmt.Errorf("pki: issue node certificate for %s: %w", addr, err)
	}
	return nil
}

func (ca *CA) issueNode(addr netip.Addr, outDir string) error {
	if err := validateNodeAddr(addr); err != nil {
		return err
	}
	addr = addr.Unmap()
	if outDir == "" {
		return errors.New("node certificate directory not set")
	}
	if err := os.MkdirAll(outDir, dirMode); err != nil {
		return fmt.Errorf("create node certificate directory: %w", err)
	}
	for _, name := range []string{NodeKeyFile, NodeCrtFile} {
		p := filepath.Join(outDir, name)
		ok, err := exists(p)
		if err != nil {
			return err
		}
		if ok {
			return fmt.Errorf("refusing to overwrite existing node certificate: %s exists", p)
		}
	}
	caCopy := filepath.Join(outDir, CACertFile)
	haveCA, err := exists(caCopy)
	if err != nil {
		return err
	}
	if haveCA {
		data, err := os.ReadFile(caCopy)
		if err != nil {
			return err
		}
		if !bytes.Equal(data, ca.certPEM) {
			return fmt.Errorf("%s exists and is not the certificate of this CA (cluster %s)", caCopy, ca.ClusterID)
		}
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate node key: %w", err)
	}
	now := ca.opts.Now()
	notAfter := ca.opts.nodeNotAfter(now)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter // never outlive the CA
	}
	der, err := ca.sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: addr.String()},
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IP(addr.AsSlice())},
		URIs:        []*url.URL{ClusterURI(ca.ClusterID)},
	}, key.Public())
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parse new node certificate: %w", err)
	}
	// Indexed before it is written: every certificate that leaves the CA
	// can be found (and revoked) by its address.
	if err := ca.recordIssued(IssuedCert{Serial: leaf.SerialNumber, Address: addr, NotAfter: leaf.NotAfter, IssuedAt: now}); err != nil {
		return err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(outDir, NodeKeyFile), keyPEM, keyMode); err != nil {
		return err
	}
	if !haveCA {
		if err := writeNew(caCopy, ca.certPEM, certMode); err != nil {
			return err
		}
	}
	// node.crt last: its presence means the directory is complete.
	return writeNew(filepath.Join(outDir, NodeCrtFile), encodeCert(der), certMode)
}

// sign signs tmpl (given a fresh serial number) with the CA key.
func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.BasicConstraintsValid = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign node certificate: %w", err)
	}
	return der, nil
}

func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 127)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // strictly positive
}

func validateClusterName(name string) error {
	if name == "" {
		return errors.New("cluster name is empty")
	}
	if len(name) > maxClusterNameLen {
		return fmt.Errorf("cluster name longer than %d bytes", maxClusterNameLen)
	}
	if !utf8.ValidString(name) {
		return errors.New("cluster name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("cluster name %q contains a control character", name)
		}
	}
	return nil
}

// validateNodeAddr refuses addresses that cannot identify one node.
func validateNodeAddr(addr netip.Addr) error {
	u := addr.Unmap()
	switch {
	case !addr.IsValid():
		return errors.New("node address is not set")
	case addr.Zone() != "":
		return fmt.Errorf("node address %s has a zone; certificates cannot carry one", addr)
	case u.IsUnspecified():
		return fmt.Errorf("node address %s is unspecified; give the node's listen address", addr)
	case u.IsMulticast():
		return fmt.Errorf("node address %s is multicast", addr)
	case u == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("node address %s is the broadcast address", addr)
	}
	return nil
}
