package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names inside a CA directory and a node certificates directory.
const (
	CAKeyFile   = "ca.key"
	CACertFile  = "ca.crt"
	NodeKeyFile = "node.key"
	NodeCrtFile = "node.crt"
)

// Modes of the files and directories this package creates.
const (
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
	dirMode  fs.FileMode = 0o700
)

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("%w", err)
}

// writeNew durably creates path with data and mode, and fails if path
// exists. The content is written to a temporary file, fsynced, and then
// hard-linked into place, so path either does not exist or is complete.
func writeNew(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmpName, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmpName)
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("refusing to overwrite existing %s", path)
		}
		// File systems without hard links: exclusive create instead
		// (still never overwrites; a crash may leave a partial file).
		if err := writeExclusive(path, data, mode); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// writeTemp writes data with mode to a new temporary file beside path
// and fsyncs it; the caller links or renames it into place and removes
// the name afterwards.
func writeTemp(path string, data []byte, mode fs.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	tmpName := tmp.Name()
	fail := func(format string, err error) (string, error) {
		tmp.Close()
		os.Remove(tmpName)
		return "", fmt.Errorf(format, path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fail("chmod %s: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail("write %s: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fail("fsync %s: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmpName)
		return "", fmt.Errorf("close %s: %w", path, err)
	}
	return tmpName, nil
}

func writeExclusive(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("refusing to overwrite existing %s", path)
		}
		return fmt.Errorf("create %s: %w", path, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// readCert reads a PEM file that must hold exactly one certificate and
// nothing else.
func readCert(path string) (*x509.Certificate, []byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s: no PEM CERTIFICATE block", path)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, nil, fmt.Errorf("%s: must hold exactly one certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, data, nil
}

// readKey reads a PEM private key (PKCS#8 or SEC 1 EC) and refuses a file
// that group or others may read or write.
func readKey(path string) (crypto.Signer, []byte, error) {
	if err := checkKeyMode(path); err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read private key: %w", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil, nil, fmt.Errorf("%s: must hold exactly one PEM private key", path)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, nil, fmt.Errorf("%s: unsupported PEM block %q", path, block.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: key type %T cannot sign", path, key)
	}
	return signer, data, nil
}

func checkKeyMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("private key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("private key %s has mode %#o: group/other must have no access (chmod 600 %s)",
			path, fi.Mode().Perm(), path)
	}
	return nil
}

func samePublicKey(signer crypto.Signer, cert *x509.Certificate) bool {
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}
