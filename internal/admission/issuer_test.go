package admission

import (
	"crypto/x509"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
)

// fakeClock is an injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is an Auditor that keeps the events.
type recorder struct {
	mu  sync.Mutex
	evs []pki.AuditEvent
}

func (r *recorder) Record(ev pki.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return nil
}

// take returns the events recorded since the last call.
func (r *recorder) take() []pki.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.evs
	r.evs = nil
	return evs
}

type issuerFixture struct {
	is      *Issuer
	ca      *pki.CA
	store   *TokenStore
	audit   *recorder
	clock   *fakeClock
	members map[netip.Addr]bool
	dir     string
}

func newIssuerFixture(t *testing.T) *issuerFixture {
	t.Helper()
	dir := t.TempDir()
	clock := &fakeClock{t: time.Now()}
	ca, err := pki.InitCAWithOptions(filepath.Join(dir, "ca"), "admission", pki.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenTokenStore(filepath.Join(dir, TokenStoreFile))
	if err != nil {
		t.Fatal(err)
	}
	f := &issuerFixture{ca: ca, store: store, audit: &recorder{}, clock: clock, members: map[netip.Addr]bool{}, dir: dir}
	f.is, err = NewIssuer(IssuerOptions{CA: ca, Store: store, Address: netip.MustParseAddrPort("127.0.0.1:7000"),
		InUse: func(a netip.Addr) (bool, string) { return f.members[a], "a ring member" }, Audit: f.audit, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// token creates a token and returns it decoded.
func (f *issuerFixture) token(t *testing.T, ttl time.Duration) Token {
	t.Helper()
	s, _, err := f.is.CreateToken(ttl)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var testHostID = [16]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01}

// request is a join request with tok for a CSR of addr.
func request(t *testing.T, tok Token, addr string) Request {
	t.Helper()
	key, err := pki.NewNodeKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.NodeCSR(key, netip.MustParseAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	return Request{Version: wireVersion, ID: tok.ID, Secret: tok.Secret, HostID: testHostID, CSR: csr}
}

func src(addr string) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(addr), 40000) }

// wantAudit checks that evs is exactly one event per want, in order, each
// matching kind and outcome, naming peer, and with a reason containing
// the given text.
func wantAudit(t *testing.T, evs []pki.AuditEvent, want ...pki.AuditEvent) {
	t.Helper()
	if len(evs) != len(want) {
		t.Fatalf("audited %d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		e := evs[i]
		if e.Kind != w.Kind || e.Outcome != w.Outcome || e.Peer != w.Peer || !strings.Contains(e.Reason, w.Reason) {
			t.Errorf("event %d: got %+v, want kind %s outcome %s peer %s reason ~%q", i, e, w.Kind, w.Outcome, w.Peer, w.Reason)
		}
	}
}

func TestIssuerAdmitsOnceThenRefusesReuse(t *testing.T) {
	f := newIssuerFixture(t)
	tok := f.token(t, time.Hour)
	resp := f.is.Admit(src("127.0.0.5"), request(t, tok, "127.0.0.5"))
	if resp.Status != StatusOK {
		t.Fatalf("status %v", resp.Status)
	}
	leaf, err := x509.ParseCertificate(resp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.CA) != string(f.ca.CertDER()) {
		t.Fatal("response does not carry the CA certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(f.ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	if len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "127.0.0.5" {
		t.Fatalf("IP SANs %v", leaf.IPAddresses)
	}
	serial, fp := pki.FormatSerial(leaf.SerialNumber), pki.Fingerprint(resp.Cert)

	// Indexed by the CA (revoke by address finds it).
	issued, err := f.ca.Issued()
	if err != nil || len(issued) != 1 || issued[0].Serial.Cmp(leaf.SerialNumber) != 0 || issued[0].Address.String() != "127.0.0.5" {
		t.Fatalf("CA index: %+v, %v", issued, err)
	}
	// Burned on disk before the response: a store reopened from the file
	// knows the admission.
	reopened, err := OpenTokenStore(f.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	rec, o := reopened.Check(tok.ID, tok.Secret[:], f.clock.Now())
	if o != OutcomeReused || rec.Address != "127.0.0.5" || rec.Serial != serial || rec.Fingerprint != fp || rec.HostID != formatHostID(testHostID) {
		t.Fatalf("stored admission: %+v %v", rec, o)
	}
	evs := f.audit.take()
	wantAudit(t, evs,
		pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "accepted", Peer: "127.0.0.5", Reason: tok.ID.String()},
		pki.AuditEvent{Kind: pki.AuditAdmission, Outcome: "accepted", Peer: "127.0.0.5", Reason: tok.ID.String()})
	for _, e := range evs {
		if e.Serial != serial || e.Fingerprint != fp || e.HostID != "11223344-5566-4788-99aa-bbccddeeff01" {
			t.Errorf("event %+v lacks serial %s / fingerprint / host id", e, serial)
		}
	}

	// The same token again, from another address: reused, nothing issued.
	resp = f.is.Admit(src("127.0.0.6"), request(t, tok, "127.0.0.6"))
	if resp.Status != StatusTokenUsed || resp.Cert != nil {
		t.Fatalf("reuse: %+v", resp.Status)
	}
	wantAudit(t, f.audit.take(), pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "reused", Peer: "127.0.0.6", Reason: "already used"})
	if issued, _ := f.ca.Issued(); len(issued) != 1 {
		t.Fatalf("%d certificates issued, want 1", len(issued))
	}
}

func TestIssuerRefusesExpiredToken(t *testing.T) {
	f := newIssuerFixture(t)
	tok := f.token(t, time.Minute)
	f.clock.Add(time.Minute)
	if resp := f.is.Admit(src("127.0.0.5"), request(t, tok, "127.0.0.5")); resp.Status != StatusTokenExpired {
		t.Fatalf("status %v", resp.Status)
	}
	wantAudit(t, f.audit.take(), pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "expired", Peer: "127.0.0.5", Reason: "expired at"})
	if issued, _ := f.ca.Issued(); len(issued) != 0 {
		t.Fatal("certificate issued for an expired token")
	}
}

func TestIssuerRefusesUnknownToken(t *testing.T) {
	f := newIssuerFixture(t)
	good := f.token(t, time.Hour)
	unknown := randomToken(t, "127.0.0.1:7000")
	wrongSecret := good
	wrongSecret.Secret[3] ^= 0x40
	for _, tok := range []Token{unknown, wrongSecret} {
		if resp := f.is.Admit(src("127.0.0.5"), request(t, tok, "127.0.0.5")); resp.Status != StatusTokenRefused {
			t.Fatalf("status %v", resp.Status)
		}
		wantAudit(t, f.audit.take(), pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "unknown", Peer: "127.0.0.5", Reason: tok.ID.String()})
	}
	// A wrong secret does not spend the token.
	if resp := f.is.Admit(src("127.0.0.5"), request(t, good, "127.0.0.5")); resp.Status != StatusOK {
		t.Fatalf("valid token after a wrong secret: %v", resp.Status)
	}
}

func TestIssuerRefusesRevokedToken(t *testing.T) {
	f := newIssuerFixture(t)
	tok := f.token(t, time.Hour)
	if err := f.is.RevokeToken(tok.ID.String()); err != nil {
		t.Fatal(err)
	}
	if resp := f.is.Admit(src("127.0.0.5"), request(t, tok, "127.0.0.5")); resp.Status != StatusTokenRefused {
		t.Fatalf("status %v", resp.Status)
	}
	wantAudit(t, f.audit.take(), pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "revoked", Peer: "127.0.0.5", Reason: "revoked"})
}

func TestIssuerRefusesWrongAddress(t *testing.T) {
	f := newIssuerFixture(t)
	tok := f.token(t, time.Hour)
	// A certificate for 127.0.0.7 requested from 127.0.0.8.
	if resp := f.is.Admit(src("127.0.0.8"), request(t, tok, "127.0.0.7")); resp.Status != StatusAddressMismatch {
		t.Fatalf("status %v", resp.Status)
	}
	wantAudit(t, f.audit.take(), pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "refused", Peer: "127.0.0.8",
		Reason: "certificate requested for 127.0.0.7 from source address 127.0.0.8"})
	// The token is not spent: its holder can use it from the right address.
	if resp := f.is.Admit(src("127.0.0.7"), request(t, tok, "127.0.0.7")); resp.Status != StatusOK {
		t.Fatalf("status %v", resp.Status)
	}
}

func TestIssuerRefusesLiveMemberAddress(t *testing.T) {
	f := newIssuerFixture(t)
	f.members[netip.MustParseAddr("127.0.0.2")] = true
	tok := f.token(t, time.Hour)
	if resp := f.is.Admit(src("127.0.0.2"), request(t, tok, "127.0.0.2")); resp.Status != StatusAddressInUse {
		t.Fatalf("status %v", resp.Status)
	}
	wantAudit(t, f.audit.take(), pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "refused", Peer: "127.0.0.2", Reason: "live member"})
	if issued, _ := f.ca.Issued(); len(issued) != 0 {
		t.Fatal("certificate issued for a live member's address")
	}
}

// A second certificate for an address that holds a valid one (admitted,
// not yet a member) is refused until the first is revoked.
func TestIssuerRefusesSecondCertificateUntilRevoked(t *testing.T) {
	f := newIssuerFixture(t)
	if resp := f.is.Admit(src("127.0.0.5"), request(t, f.token(t, time.Hour), "127.0.0.5")); resp.Status != StatusOK {
		t.Fatalf("status %v", resp.Status)
	}
	f.audit.take()
	tok := f.token(t, time.Hour)
	if resp := f.is.Admit(src("127.0.0.5"), request(t, tok, "127.0.0.5")); resp.Status != StatusAddressInUse {
		t.Fatalf("status %v", resp.Status)
	}
	wantAudit(t, f.audit.take(), pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "refused", Peer: "127.0.0.5", Reason: "already holds a valid certificate"})
	if _, err := f.ca.Revoke(pki.RevokeRequest{Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.5")}}); err != nil {
		t.Fatal(err)
	}
	if resp := f.is.Admit(src("127.0.0.5"), request(t, tok, "127.0.0.5")); resp.Status != StatusOK {
		t.Fatalf("after revocation: %v", resp.Status)
	}
}

func TestIssuerRefusesBadRequests(t *testing.T) {
	f := newIssuerFixture(t)
	tok := f.token(t, time.Hour)
	garbage := request(t, tok, "127.0.0.5")
	garbage.CSR = []byte("not a CSR")
	if resp := f.is.Admit(src("127.0.0.5"), garbage); resp.Status != StatusMalformed {
		t.Fatalf("garbage CSR: %v", resp.Status)
	}
	wantAudit(t, f.audit.take(), pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "refused", Peer: "127.0.0.5", Reason: "certificate request"})
	v2 := request(t, tok, "127.0.0.5")
	v2.Version = 2
	if resp := f.is.Admit(src("127.0.0.5"), v2); resp.Status != StatusVersion {
		t.Fatalf("version 2: %v", resp.Status)
	}
	f.audit.take()
	if resp := f.is.Admit(src("127.0.0.5"), request(t, tok, "127.0.0.5")); resp.Status != StatusOK {
		t.Fatalf("token spent by bad requests: %v", resp.Status)
	}
}

// Strangers with unknown tokens reach the membership log at most
// strangerBurst times a minute; the rest is handshake noise.
func TestIssuerRateLimitsUnknownTokens(t *testing.T) {
	f := newIssuerFixture(t)
	for range strangerBurst + 5 {
		f.is.Admit(src("127.0.0.66"), request(t, randomToken(t, "127.0.0.1:7000"), "127.0.0.66"))
	}
	kinds := map[pki.AuditKind]int{}
	for _, e := range f.audit.take() {
		kinds[e.Kind]++
	}
	if kinds[pki.AuditTokenUse] != strangerBurst || kinds[pki.AuditHandshake] != 5 {
		t.Fatalf("audited %v", kinds)
	}
	if !pki.AuditHandshake.Noise() {
		t.Fatal("the overflow must go to the noise log")
	}
	f.clock.Add(strangerWindow)
	f.is.Admit(src("127.0.0.66"), request(t, randomToken(t, "127.0.0.1:7000"), "127.0.0.66"))
	evs := f.audit.take()
	wantAudit(t, evs, pki.AuditEvent{Kind: pki.AuditTokenUse, Outcome: "unknown", Peer: "127.0.0.66", Reason: "5 more unknown join tokens"})
}
