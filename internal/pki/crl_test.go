package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// issue issues a certificate for addr into a fresh directory and returns
// its leaf.
func issue(t *testing.T, ca *CA, addr string) *x509.Certificate {
	t.Helper()
	dir := t.TempDir()
	if err := ca.IssueNode(netip.MustParseAddr(addr), dir); err != nil {
		t.Fatal(err)
	}
	c, _, err := readCert(filepath.Join(dir, NodeCrtFile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func serials(c *CRL) []string {
	var out []string
	for _, e := range c.Revoked {
		out = append(out, e.Serial.String())
	}
	slices.Sort(out)
	return out
}

func sortedSerials(certs ...*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.SerialNumber.String())
	}
	slices.Sort(out)
	return out
}

// TestRevokeBySerialAndAddress: every revocation writes a CRL signed by the
// CA with the next CRL number and all earlier entries; revoking by address
// revokes every certificate the index lists for it.
func TestRevokeBySerialAndAddress(t *testing.T) {
	ca, err := InitCA(filepath.Join(t.TempDir(), "ca"), "x")
	if err != nil {
		t.Fatal(err)
	}
	a := issue(t, ca, "127.0.0.1")
	b1 := issue(t, ca, "127.0.0.2")
	b2 := issue(t, ca, "127.0.0.2") // a second certificate for the same address
	c := issue(t, ca, "127.0.0.3")

	onDisk := func() *CRL {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(ca.Dir, CRLFile))
		if err != nil {
			t.Fatal(err)
		}
		// Independently of ParseCRL: a standard X.509 CRL signed by the CA.
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "X509 CRL" {
			t.Fatalf("crl.pem is not a PEM X509 CRL: %q", data)
		}
		rl, err := x509.ParseRevocationList(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := rl.CheckSignatureFrom(ca.Cert); err != nil {
			t.Fatalf("CRL signature: %v", err)
		}
		crl, err := ParseCRL(data, ca.Cert)
		if err != nil {
			t.Fatal(err)
		}
		return crl
	}

	r, err := ca.Revoke(RevokeRequest{Serials: []*big.Int{a.SerialNumber}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != filepath.Join(ca.Dir, CRLFile) || r.CRL.Number.Int64() != 1 {
		t.Fatalf("first revocation: path %s number %s", r.Path, r.CRL.Number)
	}
	if got := onDisk(); got.Number.Int64() != 1 || !slices.Equal(serials(got), sortedSerials(a)) {
		t.Fatalf("CRL 1 on disk: number %s serials %v", got.Number, serials(got))
	}
	if len(r.Newly) != 1 || r.Newly[0].Address != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("newly revoked %+v", r.Newly)
	}
	firstRevokedAt := r.CRL.Revoked[0].RevokedAt

	r, err = ca.Revoke(RevokeRequest{Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.2")}})
	if err != nil {
		t.Fatal(err)
	}
	got := onDisk()
	if got.Number.Int64() != 2 || !slices.Equal(serials(got), sortedSerials(a, b1, b2)) {
		t.Fatalf("CRL 2: number %s serials %v, want %v", got.Number, serials(got), sortedSerials(a, b1, b2))
	}
	if got.Contains(c.SerialNumber) {
		t.Fatal("a certificate of another address was revoked")
	}
	if len(r.Newly) != 2 {
		t.Fatalf("newly revoked %+v, want the two certificates of 127.0.0.2", r.Newly)
	}
	for _, e := range got.Revoked {
		if e.Serial.Cmp(a.SerialNumber) == 0 && !e.RevokedAt.Equal(firstRevokedAt) {
			t.Fatalf("an earlier entry's revocation time changed: %v, was %v", e.RevokedAt, firstRevokedAt)
		}
	}
	// The list outlives every certificate on it.
	for _, cert := range []*x509.Certificate{a, b1, b2} {
		if got.NextUpdate.Before(cert.NotAfter) {
			t.Fatalf("NextUpdate %v before the expiry %v of revoked %s", got.NextUpdate, cert.NotAfter, cert.SerialNumber)
		}
	}

	// Nothing new, an address without certificates: refused, nothing written.
	if _, err := ca.Revoke(RevokeRequest{Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.2")}}); err == nil ||
		!strings.Contains(err.Error(), "already revoked") {
		t.Fatalf("revoking again: %v", err)
	}
	if _, err := ca.Revoke(RevokeRequest{Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.9")}}); err == nil ||
		!strings.Contains(err.Error(), "no certificate for 127.0.0.9") {
		t.Fatalf("revoking an unknown address: %v", err)
	}
	if _, err := ca.Revoke(RevokeRequest{}); err == nil {
		t.Fatal("an empty revocation succeeded")
	}
	if n := onDisk().Number.Int64(); n != 2 {
		t.Fatalf("a refused revocation changed the CRL: number %d", n)
	}

	// A serial the index does not know (issued before it existed) is
	// revoked by serial; the list then lasts as long as the CA.
	unknown := big.NewInt(123456789)
	r, err = ca.Revoke(RevokeRequest{Serials: []*big.Int{unknown}})
	if err != nil {
		t.Fatal(err)
	}
	if r.CRL.Number.Int64() != 3 || !r.CRL.Contains(unknown) || r.Newly[0].Address.IsValid() {
		t.Fatalf("CRL 3: number %s, newly %+v", r.CRL.Number, r.Newly)
	}
	if !r.CRL.NextUpdate.Equal(ca.Cert.NotAfter) {
		t.Fatalf("NextUpdate %v, want the CA's expiry %v", r.CRL.NextUpdate, ca.Cert.NotAfter)
	}

	// A fresh load of the CA directory continues the numbering.
	again, err := LoadCA(ca.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = again.Revoke(RevokeRequest{Serials: []*big.Int{c.SerialNumber}}); err != nil || r.CRL.Number.Int64() != 4 {
		t.Fatalf("revocation after reload: %v, %v", r, err)
	}
}

func TestRevokeLockedAndRefusesBadCRLFile(t *testing.T) {
	ca, err := InitCA(filepath.Join(t.TempDir(), "ca"), "x")
	if err != nil {
		t.Fatal(err)
	}
	a := issue(t, ca, "127.0.0.1")
	lock := filepath.Join(ca.Dir, crlLockFile)
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Revoke(RevokeRequest{Serials: []*big.Int{a.SerialNumber}}); err == nil || !strings.Contains(err.Error(), "another revocation") {
		t.Fatalf("revoke while locked: %v", err)
	}
	os.Remove(lock)
	// A crl.pem that is not this CA's list is never silently replaced (its
	// number would be lost).
	if err := os.WriteFile(filepath.Join(ca.Dir, CRLFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Revoke(RevokeRequest{Serials: []*big.Int{a.SerialNumber}}); err == nil || !strings.Contains(err.Error(), "crl.pem") {
		t.Fatalf("revoke over a broken crl.pem: %v", err)
	}
	if _, err := os.Stat(lock); err == nil {
		t.Fatal("the lock file outlived the revocation")
	}
}

// TestIssuedIndexTornLine: a line torn by a crash is skipped when reading
// and cut off before the next certificate is recorded.
func TestIssuedIndexTornLine(t *testing.T) {
	ca, err := InitCA(filepath.Join(t.TempDir(), "ca"), "x")
	if err != nil {
		t.Fatal(err)
	}
	a := issue(t, ca, "127.0.0.1")
	f, err := os.OpenFile(ca.IndexPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"serial":"99","addr`)
	f.Close()
	list, err := ca.Issued()
	if err != nil || len(list) != 1 {
		t.Fatalf("Issued with a torn last line: %+v, %v", list, err)
	}
	b := issue(t, ca, "127.0.0.2")
	list, err = ca.Issued()
	if err != nil || len(list) != 2 || list[0].Serial.Cmp(a.SerialNumber) != 0 || list[1].Serial.Cmp(b.SerialNumber) != 0 {
		t.Fatalf("Issued after the next issuance: %+v, %v", list, err)
	}
	// A malformed line in the middle is an error, not a silent gap.
	data, _ := os.ReadFile(ca.IndexPath())
	os.WriteFile(ca.IndexPath(), append([]byte("not json\n"), data...), 0o644)
	if _, err := ca.Issued(); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("Issued with a malformed first line: %v", err)
	}
}

// signCRL signs a CRL with any key, for refusal tests.
func signCRL(t *testing.T, tmpl *x509.RevocationList, issuer *x509.Certificate, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseCRLRefuses(t *testing.T) {
	ca, err := InitCA(filepath.Join(t.TempDir(), "ca"), "x")
	if err != nil {
		t.Fatal(err)
	}
	a := issue(t, ca, "127.0.0.1")
	r, err := ca.Revoke(RevokeRequest{Serials: []*big.Int{a.SerialNumber}})
	if err != nil {
		t.Fatal(err)
	}
	good := r.CRL.DER()
	if _, err := ParseCRL(good, ca.Cert); err != nil {
		t.Fatalf("control (DER): %v", err)
	}
	if _, err := ParseCRL(r.CRL.PEM(), ca.Cert); err != nil {
		t.Fatalf("control (PEM): %v", err)
	}

	// A CRL of another cluster's CA, and of a CA forged with the very same
	// subject (so the issuer name matches).
	other, err := InitCA(filepath.Join(t.TempDir(), "other"), "x")
	if err != nil {
		t.Fatal(err)
	}
	issue(t, other, "127.0.0.1")
	or, err := other.Revoke(RevokeRequest{Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	forged, forgedKey := forgeCA(t, "x", ca.ClusterID)
	if string(forged.RawSubject) != string(ca.Cert.RawSubject) {
		t.Fatal("test setup: the forged CA's subject differs")
	}
	now := time.Now()
	tmpl := func() *x509.RevocationList {
		return &x509.RevocationList{Number: big.NewInt(99), ThisUpdate: now, NextUpdate: now.Add(30 * 24 * time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(7), RevocationTime: now}}}
	}
	forgedDER := signCRL(t, tmpl(), forged, forgedKey)
	// Same subject and a copy of the real CA's key id (both public): only
	// the signature check refuses it.
	copiedKeyID := *forged
	copiedKeyID.SubjectKeyId = ca.Cert.SubjectKeyId
	copiedKeyIDDER := signCRL(t, tmpl(), &copiedKeyID, forgedKey)

	crit := tmpl()
	crit.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{5, 0}}}
	critDER := signCRL(t, crit, ca.Cert, ca.key)

	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"empty", "empty", nil},
		{"garbage", "not an X.509 CRL", []byte("hello, I am a CRL")},
		{"truncated", "not an X.509 CRL", good[:len(good)-1]},
		{"too large", "more than", make([]byte, MaxCRLBytes+1)},
		{"PEM of a certificate", "no PEM", pemOf("CERTIFICATE", ca.Cert.Raw)},
		{"PEM with trailing data", "trailing data", append(pemOf("X509 CRL", good), "more"...)},
		{"PEM with a broken body", "no PEM", []byte("-----BEGIN X509 CRL-----\n!!!\n-----END X509 CRL-----\n")},
		{"another cluster's CA", "not issued by this cluster's CA", or.CRL.DER()},
		{"forged CA with the same subject", "not issued by this cluster's CA", forgedDER},
		{"forged CA with the same subject and key id", "not signed by this cluster's CA", copiedKeyIDDER},
		{"critical extension", "critical extension", critDER},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCRL(tc.data, ca.Cert)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseCRL = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := ParseCRL(good, nil); err == nil {
		t.Fatal("ParseCRL without a CA succeeded")
	}
}

// TestInstallCRL: only a CRL verified against the identity's CA, not
// expired, and newer than the installed one is installed.
func TestInstallCRL(t *testing.T) {
	c := newTestCluster(t, "x", "127.0.0.1", "127.0.0.2", "127.0.0.3")
	id := c.nodes["127.0.0.1"]
	two, three := c.nodes["127.0.0.2"].Serial(), c.nodes["127.0.0.3"].Serial()
	r1, err := c.ca.Revoke(RevokeRequest{Serials: []*big.Int{two}})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.ca.Revoke(RevokeRequest{Serials: []*big.Int{three}})
	if err != nil {
		t.Fatal(err)
	}
	if id.CRL() != nil {
		t.Fatal("a new identity has a CRL")
	}
	crl1, err := id.VerifyCRL(r1.CRL.PEM())
	if err != nil {
		t.Fatal(err)
	}
	newly, err := id.InstallCRL(crl1)
	if err != nil || len(newly) != 1 || newly[0].Serial.Cmp(two) != 0 {
		t.Fatalf("install CRL 1: %+v, %v", newly, err)
	}
	if !id.Revoked(c.nodes["127.0.0.2"].Cert.Leaf) || id.Revoked(c.nodes["127.0.0.3"].Cert.Leaf) {
		t.Fatal("Revoked after CRL 1")
	}
	crl2, err := id.VerifyCRL(r2.CRL.DER())
	if err != nil {
		t.Fatal(err)
	}
	if newly, err = id.InstallCRL(crl2); err != nil || len(newly) != 1 || newly[0].Serial.Cmp(three) != 0 {
		t.Fatalf("install CRL 2: %+v, %v", newly, err)
	}
	// Older and equal numbers are refused and change nothing.
	for _, old := range []*CRL{crl1, crl2} {
		if _, err := id.InstallCRL(old); !errors.Is(err, ErrCRLNotNewer) {
			t.Fatalf("install CRL %s over 2: %v", old.Number, err)
		}
	}
	if id.CRL().Number.Int64() != 2 {
		t.Fatalf("installed number %s, want 2", id.CRL().Number)
	}

	// A CRL verified against another CA is never installed, even if it is
	// numbered higher.
	other, err := InitCA(filepath.Join(t.TempDir(), "other"), "x")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := other.Revoke(RevokeRequest{Serials: []*big.Int{big.NewInt(int64(i + 1))}}); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(filepath.Join(other.Dir, CRLFile))
	if _, err := id.VerifyCRL(data); err == nil {
		t.Fatal("VerifyCRL accepted another CA's CRL")
	}
	foreign, err := ParseCRL(data, other.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.InstallCRL(foreign); err == nil || id.CRL().Number.Int64() != 2 {
		t.Fatalf("InstallCRL of another CA's CRL: %v", err)
	}
}

// TestVerifyCRLExpired: a CRL past its NextUpdate is refused.
func TestVerifyCRLExpired(t *testing.T) {
	c := newTestCluster(t, "x", "127.0.0.1")
	// A short-lived certificate: the CRL revoking it lasts the minimum.
	short, err := LoadCAWithOptions(c.ca.Dir, Options{NodeValidity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Revoke(RevokeRequest{Serials: []*big.Int{issue(t, short, "127.0.0.2").SerialNumber}}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(c.ca.Dir, CRLFile))
	if _, err := c.nodes["127.0.0.1"].VerifyCRL(data); err != nil {
		t.Fatalf("VerifyCRL now: %v", err)
	}
	later := time.Now().Add(minCRLValidity + 24*time.Hour)
	id, err := LoadIdentityWithOptions(c.dirs["127.0.0.1"], Options{Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.VerifyCRL(data); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("VerifyCRL after NextUpdate: %v", err)
	}
}

// TestHandshakeRefusesRevoked: with a CRL installed, a revoked certificate
// fails the TLS handshake whichever side presents it, the hook hears of
// it, and other certificates still pass.
func TestHandshakeRefusesRevoked(t *testing.T) {
	c := newTestCluster(t, "x", "127.0.0.1", "127.0.0.2", "127.0.0.3")
	one, two, three := c.nodes["127.0.0.1"], c.nodes["127.0.0.2"], c.nodes["127.0.0.3"]
	r, err := c.ca.Revoke(RevokeRequest{Addresses: []netip.Addr{two.Address}})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := one.VerifyCRL(r.CRL.DER())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one.InstallCRL(crl); err != nil {
		t.Fatal(err)
	}
	calls := make(chan RevokedPeer, 8)
	one.SetOnRevokedPeer(func(p RevokedPeer) { calls <- p })
	wantCall := func(t *testing.T, inbound bool) {
		t.Helper()
		select {
		case got := <-calls:
			if got.Address != two.Address || got.Serial.Cmp(two.Serial()) != 0 || got.CRLNumber.Int64() != 1 ||
				got.Inbound != inbound {
				t.Fatalf("hook called with %+v", got)
			}
		default:
			t.Fatal("hook not called")
		}
	}

	t.Run("revoked client", func(t *testing.T) {
		res := handshake(t, one.ServerConfig(), two.ClientConfig())
		if !errors.Is(res.serverErr, ErrRevoked) || res.clientErr == nil {
			t.Fatalf("server %v, client %v; want the server to refuse a revoked certificate", res.serverErr, res.clientErr)
		}
		var rev *RevokedError
		if !errors.As(res.serverErr, &rev) || rev.CRLNumber.Int64() != 1 || rev.Address != two.Address {
			t.Fatalf("server error %v", res.serverErr)
		}
		wantCall(t, true)
	})
	t.Run("revoked server", func(t *testing.T) {
		res := handshake(t, two.ServerConfig(), one.ClientConfig())
		if !errors.Is(res.clientErr, ErrRevoked) {
			t.Fatalf("client %v; want the client to refuse a revoked server certificate", res.clientErr)
		}
		var verr *tls.CertificateVerificationError
		if !errors.As(res.clientErr, &verr) {
			t.Fatalf("client error %T is not a certificate verification error (messaging reports those as refused peers)", res.clientErr)
		}
		wantCall(t, false)
	})
	t.Run("others pass", func(t *testing.T) {
		if res := handshake(t, one.ServerConfig(), three.ClientConfig()); res.serverErr != nil || res.clientErr != nil {
			t.Fatalf("unrevoked client: server %v, client %v", res.serverErr, res.clientErr)
		}
		if res := handshake(t, three.ServerConfig(), one.ClientConfig()); res.serverErr != nil || res.clientErr != nil {
			t.Fatalf("unrevoked server: server %v, client %v", res.serverErr, res.clientErr)
		}
		if len(calls) != 0 {
			t.Fatal("hook called for an unrevoked certificate")
		}
	})
	t.Run("identity without the CRL", func(t *testing.T) {
		// Revocation is per identity: one that has not received the list
		// still accepts the certificate.
		if res := handshake(t, three.ServerConfig(), two.ClientConfig()); res.serverErr != nil || res.clientErr != nil {
			t.Fatalf("server %v, client %v", res.serverErr, res.clientErr)
		}
	})
}

func TestParseSerial(t *testing.T) {
	for in, want := range map[string]int64{"255": 255, "0xff": 255, "0XFF": 255, "00:ff": 255, " 17 ": 17} {
		got, err := ParseSerial(in)
		if err != nil || got.Int64() != want {
			t.Errorf("ParseSerial(%q) = %v, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "+5", "0x", "zz", "1.5", "0x-1"} {
		if n, err := ParseSerial(in); err == nil {
			t.Errorf("ParseSerial(%q) = %v, want an error", in, n)
		}
	}
}
