package pki

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Revocation.
//
// The CA side keeps, in its directory, an index of every node certificate
// it issued (issued.jsonl: serial, address, not-after, one JSON object per
// line, appended before the certificate is written) and the current
// certificate revocation list (crl.pem). Revoke adds serials (given, or
// every certificate issued for an address) to the list and signs a new
// X.509 CRL with a CRL number one greater than the previous one: crl.pem is
// the CA's revocation state, never delete it (a CRL numbered from 1 again
// is refused by every node that holds a newer one).
//
// The node side verifies a CRL (ParseCRL, Identity.VerifyCRL: signed by
// this cluster's CA, no unknown critical extension, not expired),
// installs it if its number is greater than the one held
// (Identity.InstallCRL), and from then on refuses revoked certificates in
// every TLS handshake, as server and as client (verifyLeaf).

// File names inside a CA directory.
const (
	// IssuedIndexFile indexes every node certificate the CA issued.
	IssuedIndexFile = "issued.jsonl"
	// CRLFile is the CA's current certificate revocation list (PEM).
	CRLFile = "crl.pem"
	// crlLockFile serialises Revoke in one CA directory.
	crlLockFile = ".crl.lock"
)

const (
	// MaxCRLBytes bounds a CRL, PEM or DER, wherever it comes from.
	MaxCRLBytes = 1 << 20
	// maxCRLNumberBytes is RFC 5280's bound on a CRL number (20 octets).
	maxCRLNumberBytes = 20
	// minCRLValidity is the shortest time between a new CRL's ThisUpdate
	// and NextUpdate.
	minCRLValidity = 7 * 24 * time.Hour
	// crlPEMType is the PEM block type of a CRL.
	crlPEMType = "X509 CRL"
)

// ErrRevoked matches (errors.Is) the error of a handshake or a check
// refused because the certificate is revoked; see *RevokedError.
var ErrRevoked = errors.New("certificate revoked")

// ErrCRLNotNewer is returned by InstallCRL for a CRL whose number is not
// greater than the installed one.
var ErrCRLNotNewer = errors.New("pki: CRL number is not greater than the one installed")

// RevokedError is a certificate refused because it is on the installed
// CRL. It matches ErrRevoked.
type RevokedError struct {
	Serial    *big.Int
	Address   netip.Addr // the certificate's IP SAN, if it has one
	CRLNumber *big.Int
}

func (e *RevokedError) Error() string {
	return fmt.Sprintf("certificate serial %s for %v is revoked (CRL number %s)", e.Serial, e.Address, e.CRLNumber)
}

// Is makes errors.Is(err, ErrRevoked) true.
func (e *RevokedError) Is(target error) bool { return target == ErrRevoked }

// RevokedCert is one entry of a CRL.
type RevokedCert struct {
	Serial    *big.Int
	RevokedAt time.Time
}

// CRL is a certificate revocation list verified against a cluster CA.
// Only ParseCRL makes one; it is immutable.
type CRL struct {
	// Number is the CRL number (always > 0).
	Number *big.Int
	// ThisUpdate and NextUpdate are the CRL's validity period.
	ThisUpdate, NextUpdate time.Time
	// Revoked lists the revoked serials in the CRL's order.
	Revoked []RevokedCert

	der       []byte
	authority []byte              // Raw of the CA certificate that signed it
	serials   map[string]struct{} // string(serial.Bytes())
}

// DER returns the CRL's DER encoding (shared: do not modify).
func (c *CRL) DER() []byte { return c.der }

// PEM returns the CRL as a PEM "X509 CRL" block.
func (c *CRL) PEM() []byte { return pem.EncodeToMemory(&pem.Block{Type: crlPEMType, Bytes: c.der}) }

// Contains reports whether serial is on the list.
func (c *CRL) Contains(serial *big.Int) bool {
	if c == nil || serial == nil {
		return false
	}
	_, ok := c.serials[string(serial.Bytes())]
	return ok
}

// Expired reports whether now is past NextUpdate.
func (c *CRL) Expired(now time.Time) bool { return now.After(c.NextUpdate) }

// ParseCRL decodes data (a PEM "X509 CRL" block or DER, at most
// MaxCRLBytes) and verifies that it is a CRL issued and signed by ca,
// carries a CRL number (1..20 octets, positive), has no critical
// extension (ringdb makes none, and RFC 5280 forbids using a CRL with an
// unknown one) and no entry with one. It does not check expiry (see
// Expired and Identity.VerifyCRL). data may come from a peer: the function
// is safe for any input.
func ParseCRL(data []byte, ca *x509.Certificate) (*CRL, error) {
	c, err := parseCRL(data, ca)
	if err != nil {
		return nil, fmt.Errorf("pki: CRL refused: %w", err)
	}
	return c, nil
}

func parseCRL(data []byte, ca *x509.Certificate) (*CRL, error) {
	if ca == nil {
		return nil, errors.New("no CA certificate to verify against")
	}
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	if len(data) > MaxCRLBytes {
		return nil, fmt.Errorf("%d bytes, more than %d", len(data), MaxCRLBytes)
	}
	der := data
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		block, rest := pem.Decode(t)
		if block == nil || block.Type != crlPEMType {
			return nil, fmt.Errorf("no PEM %q block", crlPEMType)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, errors.New("trailing data after the PEM block")
		}
		der = block.Bytes
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("not an X.509 CRL: %w", err)
	}
	if !bytes.Equal(rl.RawIssuer, ca.RawSubject) {
		return nil, errors.New("not issued by this cluster's CA (issuer differs)")
	}
	if len(ca.SubjectKeyId) > 0 && len(rl.AuthorityKeyId) > 0 && !bytes.Equal(ca.SubjectKeyId, rl.AuthorityKeyId) {
		return nil, errors.New("not issued by this cluster's CA (authority key id differs)")
	}
	if err := rl.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("not signed by this cluster's CA: %w", err)
	}
	if rl.Number == nil || rl.Number.Sign() <= 0 || len(rl.Number.Bytes()) > maxCRLNumberBytes {
		return nil, errors.New("missing or invalid CRL number")
	}
	if rl.NextUpdate.IsZero() || rl.NextUpdate.Before(rl.ThisUpdate) {
		return nil, errors.New("missing or invalid NextUpdate")
	}
	for _, ext := range rl.Extensions {
		if ext.Critical {
			return nil, fmt.Errorf("unsupported critical extension %v", ext.Id)
		}
	}
	c := &CRL{
		Number: new(big.Int).Set(rl.Number), ThisUpdate: rl.ThisUpdate, NextUpdate: rl.NextUpdate,
		der: slices.Clone(der), authority: ca.Raw, serials: make(map[string]struct{}, len(rl.RevokedCertificateEntries)),
	}
	for _, e := range rl.RevokedCertificateEntries {
		if e.SerialNumber == nil || e.SerialNumber.Sign() <= 0 {
			return nil, errors.New("entry without a positive serial number")
		}
		for _, ext := range e.Extensions {
			if ext.Critical {
				return nil, fmt.Errorf("entry %s: unsupported critical extension %v", e.SerialNumber, ext.Id)
			}
		}
		c.Revoked = append(c.Revoked, RevokedCert{Serial: new(big.Int).Set(e.SerialNumber), RevokedAt: e.RevocationTime})
		c.serials[string(e.SerialNumber.Bytes())] = struct{}{}
	}
	return c, nil
}

// FormatSerial returns serial as ringdb shows it everywhere (audit log,
// index, commands): decimal.
func FormatSerial(serial *big.Int) string {
	if serial == nil {
		return ""
	}
	return serial.String()
}

// ParseSerial parses a certificate serial number: decimal (as ringdb
// prints it), or hexadecimal with a "0x" prefix or in colon-separated
// octets ("0a:1b:…", as openssl prints it).
func ParseSerial(s string) (*big.Int, error) {
	s = strings.TrimSpace(s)
	base, digits := 10, s
	switch {
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		base, digits = 16, s[2:]
	case strings.Contains(s, ":"):
		base, digits = 16, strings.ReplaceAll(s, ":", "")
	}
	n, ok := new(big.Int).SetString(digits, base)
	if !ok || digits == "" || strings.ContainsAny(digits, "+-") {
		return nil, fmt.Errorf("pki: %q is not a serial number (decimal, 0x-prefixed hex or colon-separated hex)", s)
	}
	if n.Sign() <= 0 {
		return nil, fmt.Errorf("pki: serial number %q is not positive", s)
	}
	return n, nil
}

// IssuedCert is one entry of a CA's index of issued certificates.
type IssuedCert struct {
	Serial   *big.Int
	Address  netip.Addr
	NotAfter time.Time
	IssuedAt time.Time
}

// issuedLine is the JSON shape of one index line.
type issuedLine struct {
	Serial   string `json:"serial"` // decimal
	Address  string `json:"address"`
	NotAfter string `json:"not_after"` // RFC 3339
	IssuedAt string `json:"issued_at"` // RFC 3339
}

// IndexPath returns the path of the index of issued certificates.
func (ca *CA) IndexPath() string { return filepath.Join(ca.Dir, IssuedIndexFile) }

// CRLPath returns the path of the CA's current CRL.
func (ca *CA) CRLPath() string { return filepath.Join(ca.Dir, CRLFile) }

// recordIssued appends c to the index and fsyncs it. It is called before
// the certificate is written out, so every issued certificate is indexed.
// A torn last line (a crash while appending: its certificate was never
// written) is cut off first, so it never ends up in the middle of the file.
func (ca *CA) recordIssued(c IssuedCert) error {
	line, err := json.Marshal(issuedLine{
		Serial: FormatSerial(c.Serial), Address: c.Address.String(),
		NotAfter: c.NotAfter.UTC().Format(time.RFC3339), IssuedAt: c.IssuedAt.UTC().Format(time.RFC3339),
	})
	if err != nil {
		return err
	}
	path := ca.IndexPath()
	_, statErr := os.Lstat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, certMode)
	if err != nil {
		return fmt.Errorf("index of issued certificates: %w", err)
	}
	err = appendLine(f, append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("index of issued certificates %s: %w", path, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return syncDir(ca.Dir)
	}
	return nil
}

// appendLine writes line at the end of f, after truncating whatever
// follows f's last newline (a torn line).
func appendLine(f *os.File, line []byte) error {
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	end := int64(bytes.LastIndexByte(data, '\n') + 1)
	if end != int64(len(data)) {
		if err := f.Truncate(end); err != nil {
			return err
		}
	}
	_, err = f.WriteAt(line, end)
	return err
}

// Issued returns the CA's index of issued certificates, oldest first.
// Certificates issued before the index existed are not in it. A torn last
// line (a crash while appending) is skipped; any other malformed line is
// an error.
func (ca *CA) Issued() ([]IssuedCert, error) {
	data, err := os.ReadFile(ca.IndexPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pki: index of issued certificates: %w", err)
	}
	var out []IssuedCert
	lines := bytes.Split(data, []byte{'\n'})
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		c, err := parseIssuedLine(l)
		if err != nil {
			if i == len(lines)-1 { // no final newline: torn by a crash
				break
			}
			return nil, fmt.Errorf("pki: %s line %d: %w", ca.IndexPath(), i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func parseIssuedLine(l []byte) (IssuedCert, error) {
	var il issuedLine
	if err := json.Unmarshal(l, &il); err != nil {
		return IssuedCert{}, err
	}
	var c IssuedCert
	var err error
	if c.Serial, err = ParseSerial(il.Serial); err != nil {
		return IssuedCert{}, err
	}
	if c.Address, err = netip.ParseAddr(il.Address); err != nil {
		return IssuedCert{}, err
	}
	if c.NotAfter, err = time.Parse(time.RFC3339, il.NotAfter); err != nil {
		return IssuedCert{}, err
	}
	if il.IssuedAt != "" {
		if c.IssuedAt, err = time.Parse(time.RFC3339, il.IssuedAt); err != nil {
			return IssuedCert{}, err
		}
	}
	return c, nil
}

// RevokeRequest names the certificates to revoke: the given serials and
// every certificate the CA's index lists for one of the addresses.
type RevokeRequest struct {
	Serials   []*big.Int
	Addresses []netip.Addr
}

// RevokeResult is what Revoke did.
type RevokeResult struct {
	// Path is the CRL file written (<ca-dir>/crl.pem).
	Path string
	// CRL is the new list (all revocations, old and new).
	CRL *CRL
	// Newly are the certificates this call added, with their index entry
	// when the index has one (Address invalid otherwise).
	Newly []IssuedCert
}

// Revoke adds the requested certificates to the CA's revocation list and
// writes a new CRL, signed by the CA with crypto/x509's
// CreateRevocationList, to crl.pem (replaced atomically). Its CRL number is
// the previous one plus one (1 for the first), so every node can tell the
// newer list. NextUpdate is when the last certificate on the list expires
// (the CA's own expiry for a serial the index does not know), at least
// seven days from now and at most the CA's expiry. It fails if an address
// has no certificate in the index, or if nothing new would be revoked.
// Concurrent calls on one CA directory are serialised by a lock file.
func (ca *CA) Revoke(req RevokeRequest) (*RevokeResult, error) {
	r, err := ca.revoke(req)
	if err != nil {
		return nil, fmt.Errorf("pki: revoke: %w", err)
	}
	return r, nil
}

func (ca *CA) revoke(req RevokeRequest) (*RevokeResult, error) {
	if len(req.Serials) == 0 && len(req.Addresses) == 0 {
		return nil, errors.New("nothing to revoke: give serial numbers or addresses")
	}
	unlock, err := lockFile(filepath.Join(ca.Dir, crlLockFile))
	if err != nil {
		return nil, err
	}
	defer unlock()

	issued, err := ca.Issued()
	if err != nil {
		return nil, err
	}
	bySerial := make(map[string]IssuedCert, len(issued))
	for _, c := range issued {
		bySerial[string(c.Serial.Bytes())] = c
	}
	var want []IssuedCert
	for _, s := range req.Serials {
		if s == nil || s.Sign() <= 0 {
			return nil, errors.New("serial numbers must be positive")
		}
		c, ok := bySerial[string(s.Bytes())]
		if !ok {
			c = IssuedCert{Serial: new(big.Int).Set(s)}
		}
		want = append(want, c)
	}
	for _, a := range req.Addresses {
		a = a.Unmap()
		n := 0
		for _, c := range issued {
			if c.Address == a {
				want = append(want, c)
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("the index %s lists no certificate for %s (revoke a certificate issued before the index existed by --serial)",
				ca.IndexPath(), a)
		}
	}

	var prev *CRL
	if data, err := os.ReadFile(ca.CRLPath()); err == nil {
		if prev, err = ParseCRL(data, ca.Cert); err != nil {
			return nil, fmt.Errorf("current %s: %w", ca.CRLPath(), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read current CRL: %w", err)
	}

	now := ca.opts.Now()
	var entries []x509.RevocationListEntry
	seen := map[string]bool{}
	number := big.NewInt(1)
	if prev != nil {
		number.Add(prev.Number, number)
		for _, e := range prev.Revoked {
			seen[string(e.Serial.Bytes())] = true
			entries = append(entries, x509.RevocationListEntry{SerialNumber: e.Serial, RevocationTime: e.RevokedAt})
		}
	}
	var newly []IssuedCert
	for _, c := range want {
		k := string(c.Serial.Bytes())
		if seen[k] {
			continue
		}
		seen[k] = true
		newly = append(newly, c)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.Serial, RevocationTime: now})
	}
	if len(newly) == 0 {
		return nil, fmt.Errorf("already revoked: every requested certificate is on CRL number %s in %s", prev.Number, ca.CRLPath())
	}

	nextUpdate := now.Add(minCRLValidity)
	for _, e := range entries {
		end := ca.Cert.NotAfter
		if c, ok := bySerial[string(e.SerialNumber.Bytes())]; ok {
			end = c.NotAfter
		}
		if end.After(nextUpdate) {
			nextUpdate = end
		}
	}
	if nextUpdate.After(ca.Cert.NotAfter) {
		nextUpdate = ca.Cert.NotAfter
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                now,
		NextUpdate:                nextUpdate,
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign CRL: %w", err)
	}
	crl, err := ParseCRL(der, ca.Cert)
	if err != nil {
		return nil, err
	}
	if err := writeReplace(ca.CRLPath(), crl.PEM(), certMode); err != nil {
		return nil, err
	}
	return &RevokeResult{Path: ca.CRLPath(), CRL: crl, Newly: newly}, nil
}

// lockFile creates path exclusively (holding this process's pid) and
// returns the function that removes it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, keyMode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s exists: another revocation is running (or one crashed: then remove the file)", path)
		}
		return nil, fmt.Errorf("lock: %w", err)
	}
	_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	f.Close()
	return func() { os.Remove(path) }, nil
}

// writeReplace durably replaces path with data: a temporary file in the
// same directory is written, fsynced and renamed over path, and the
// directory is fsynced, so path holds either the old or the new content.
func writeReplace(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	tmpName, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmpName) // after a successful rename this fails harmlessly
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return syncDir(dir)
}

// WriteCRLFile durably replaces path with c in PEM (mode 0644), for a
// node's copy of the cluster's CRL.
func WriteCRLFile(path string, c *CRL) error {
	if err := writeReplace(path, c.PEM(), certMode); err != nil {
		return fmt.Errorf("pki: write CRL: %w", err)
	}
	return nil
}
