package admission

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
)

// Auditor records membership audit events (*pki.AuditLog).
type Auditor interface {
	Record(pki.AuditEvent) error
}

// IssuerOptions configure an Issuer.
type IssuerOptions struct {
	// CA is the cluster CA (its key is on this member). Required.
	CA *pki.CA
	// Store is where tokens are kept. Required.
	Store *TokenStore
	// Address is where tokens are redeemed: this member's listen address
	// and storage port. Required.
	Address netip.AddrPort
	// InUse reports whether addr belongs to a live member (this node, a
	// ring member or joining endpoint, an endpoint gossip sees alive), and
	// why. A certificate is never issued for such an address. Required.
	InUse func(addr netip.Addr) (bool, string)
	// Audit receives the token_use and admission events. Required.
	Audit Auditor
	// Now is the clock of token lifetimes. Default time.Now.
	Now func() time.Time
	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
}

// Issuer issues node certificates for join tokens. It is safe for
// concurrent use; admissions are serialised.
type Issuer struct {
	o   IssuerOptions
	log *slog.Logger

	mu sync.Mutex // one admission at a time

	strangers strangerLimit
}

// NewIssuer returns an issuer.
func NewIssuer(o IssuerOptions) (*Issuer, error) {
	var missing []string
	if o.CA == nil {
		missing = append(missing, "CA")
	}
	if o.Store == nil {
		missing = append(missing, "Store")
	}
	if !o.Address.IsValid() || o.Address.Port() == 0 {
		missing = append(missing, "Address")
	}
	if o.InUse == nil {
		missing = append(missing, "InUse")
	}
	if o.Audit == nil {
		missing = append(missing, "Audit")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("admission: issuer: required: %s", strings.Join(missing, ", "))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Address = netip.AddrPortFrom(o.Address.Addr().Unmap(), o.Address.Port())
	return &Issuer{o: o, log: o.Logger.With("component", "admission")}, nil
}

// CreateToken makes a one-time token valid for ttl (DefaultTokenTTL if 0)
// and returns it encoded, with its record.
func (is *Issuer) CreateToken(ttl time.Duration) (string, Record, error) {
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	rec, id, secret, err := is.o.Store.Create(is.o.Now(), ttl)
	if err != nil {
		return "", Record{}, err
	}
	t := Token{Issuer: is.o.Address, CAFingerprint: is.o.CA.CAFingerprint(), ID: id, Secret: secret}
	is.log.Info("join token created", "id", rec.ID, "expires", rec.Expires)
	return t.String(), rec, nil
}

// Tokens returns the store's tokens, oldest first.
func (is *Issuer) Tokens() []Record { return is.o.Store.List() }

// RevokeToken withdraws an unused token.
func (is *Issuer) RevokeToken(id string) error {
	tid, err := ParseTokenID(id)
	if err != nil {
		return err
	}
	if err := is.o.Store.Revoke(tid, is.o.Now()); err != nil {
		return err
	}
	is.log.Info("join token revoked", "id", id)
	return nil
}

// Now returns the issuer's clock (for listing token states).
func (is *Issuer) Now() time.Time { return is.o.Now() }

// Serve performs the join exchange on conn, a TLS connection without a
// client certificate that negotiated pki.JoinALPN, from src: it reads one
// request (at most MaxRequestLen bytes), answers it and returns. The caller
// bounds it with a deadline on conn and closes conn. A non-nil error is a
// malformed or broken exchange (handshake noise); token and address
// refusals are audited here and return nil.
func (is *Issuer) Serve(_ context.Context, conn net.Conn, src netip.AddrPort) error {
	req, err := readRequest(conn)
	if err != nil {
		if errors.Is(err, errMalformedRequest) {
			_, _ = conn.Write(AppendResponse(nil, Response{Status: StatusMalformed}))
		}
		return fmt.Errorf("join request: %w", err)
	}
	resp := is.Admit(src, req)
	if _, err := conn.Write(AppendResponse(make([]byte, 0, 8+len(resp.Cert)+len(resp.CA)), resp)); err != nil {
		return fmt.Errorf("join response: %w", err)
	}
	return nil
}

// Admit decides a request from the connection source src: it checks the
// token and the request, issues the certificate, burns the token on disk
// and only then returns the certificate. Every outcome is audited.
func (is *Issuer) Admit(src netip.AddrPort, req Request) Response {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if req.Version != wireVersion {
		is.stranger(src, "", fmt.Sprintf("join request of unsupported version %d", req.Version))
		return Response{Status: StatusVersion}
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	now := is.o.Now()
	hostID := formatHostID(req.HostID)
	rec, outcome := is.o.Store.Check(req.ID, req.Secret[:], now)
	ev := pki.AuditEvent{Kind: pki.AuditTokenUse, Peer: src.Addr().String(), HostID: hostID, Outcome: string(outcome)}
	switch outcome {
	case OutcomeUnknown:
		is.stranger(src, hostID, fmt.Sprintf("join token %s: unknown token or wrong secret", req.ID))
		return Response{Status: StatusTokenRefused}
	case OutcomeRevoked:
		ev.Reason = fmt.Sprintf("join token %s was revoked at %s", rec.ID, rec.At.Format(time.RFC3339))
		is.audit(ev)
		return Response{Status: StatusTokenRefused}
	case OutcomeReused:
		ev.Reason = fmt.Sprintf("join token %s was already used at %s by %s (serial %s)", rec.ID, rec.At.Format(time.RFC3339), rec.Address, rec.Serial)
		is.audit(ev)
		return Response{Status: StatusTokenUsed}
	case OutcomeExpired:
		ev.Reason = fmt.Sprintf("join token %s expired at %s", rec.ID, rec.Expires.Format(time.RFC3339))
		is.audit(ev)
		return Response{Status: StatusTokenExpired}
	}

	// A valid token: what it may admit. A refusal here leaves it unused.
	refuse := func(st Status, reason string) Response {
		ev.Outcome, ev.Reason = "refused", fmt.Sprintf("join token %s: %s (token not used)", rec.ID, reason)
		is.audit(ev)
		is.log.Warn("join refused", "peer", src, "token", rec.ID, "reason", reason)
		return Response{Status: st}
	}
	addr, pub, err := pki.CSRAddress(req.CSR)
	if err != nil {
		return refuse(StatusMalformed, err.Error())
	}
	if addr != src.Addr() {
		return refuse(StatusAddressMismatch, fmt.Sprintf("certificate requested for %s from source address %s", addr, src.Addr()))
	}
	if inUse, why := is.o.InUse(addr); inUse {
		return refuse(StatusAddressInUse, fmt.Sprintf("%s is a live member's address (%s); replacing a node is explicit: remove or revoke it first", addr, why))
	}
	live, err := is.o.CA.LiveCertificates(addr)
	if err != nil {
		is.log.Error("join: reading the CA's index of issued certificates failed", "err", err)
		return refuse(StatusInternal, "CA index: "+err.Error())
	}
	if len(live) > 0 {
		var serials []string
		for _, c := range live {
			serials = append(serials, pki.FormatSerial(c.Serial))
		}
		return refuse(StatusAddressInUse, fmt.Sprintf("%s already holds a valid certificate (serial %s); revoke it first (ringdb cert revoke --dir %s --address %s)",
			addr, strings.Join(serials, ", "), is.o.CA.Dir, addr))
	}
	der, issued, err := is.o.CA.IssueCSR(addr, pub)
	if err != nil {
		is.log.Error("join: issuing the certificate failed", "peer", src, "err", err)
		return refuse(StatusInternal, "issue: "+err.Error())
	}
	serial, fp := pki.FormatSerial(issued.Serial), pki.Fingerprint(der)
	ev.Serial, ev.Fingerprint = serial, fp
	if err := is.o.Store.Burn(req.ID, now, Admission{Address: addr.String(), Serial: serial, Fingerprint: fp, HostID: hostID}); err != nil {
		// Issued (and indexed) but never delivered: it can be revoked by
		// serial, and the address holds it until then.
		is.log.Error("join: burning the token failed; the certificate is not sent", "peer", src, "serial", serial, "err", err)
		return refuse(StatusInternal, fmt.Sprintf("burning the token failed (certificate serial %s issued but not sent): %v", serial, err))
	}
	ev.Outcome, ev.Reason = string(OutcomeAccepted), fmt.Sprintf("join token %s used", rec.ID)
	is.audit(ev)
	is.audit(pki.AuditEvent{Kind: pki.AuditAdmission, Peer: addr.String(), HostID: hostID, Serial: serial, Fingerprint: fp,
		Outcome: string(OutcomeAccepted), Reason: fmt.Sprintf("node certificate issued with join token %s, valid until %s",
			rec.ID, issued.NotAfter.UTC().Format(time.RFC3339))})
	is.log.Info("node admitted with a join token", "address", addr, "serial", serial, "host_id", hostID, "token", rec.ID)
	return Response{Status: StatusOK, Cert: der, CA: is.o.CA.CertDER()}
}

func (is *Issuer) audit(ev pki.AuditEvent) {
	if err := is.o.Audit.Record(ev); err != nil {
		is.log.Error("membership audit log write failed", "err", err)
	}
}

// stranger audits what anyone who can reach the port can cause (unknown
// tokens, unsupported versions): as token_use "unknown" membership records,
// at most strangerBurst a minute in all; beyond that as handshake noise
// (aggregated per source), so no flood reaches the membership log.
func (is *Issuer) stranger(src netip.AddrPort, hostID, reason string) {
	ev := pki.AuditEvent{Kind: pki.AuditTokenUse, Peer: src.Addr().String(), HostID: hostID, Outcome: string(OutcomeUnknown), Reason: reason}
	if left, ok := is.strangers.allow(is.o.Now()); !ok {
		ev = pki.AuditEvent{Kind: pki.AuditHandshake, Peer: src.String(), Reason: "join refused: " + reason}
	} else if left > 0 {
		ev.Reason += fmt.Sprintf(" (%d more unknown join tokens were counted in the noise log since the last record)", left)
	}
	is.audit(ev)
}

// strangerBurst bounds the membership records of unknown tokens per
// strangerWindow.
const (
	strangerBurst  = 20
	strangerWindow = time.Minute
)

// strangerLimit is a fixed-window counter of stranger records.
type strangerLimit struct {
	mu      sync.Mutex
	start   time.Time
	n       int
	dropped int
}

// allow reports whether one more record fits in the current window and,
// if so, how many were left out since the last one that fitted.
func (l *strangerLimit) allow(now time.Time) (left int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.start.IsZero() || now.Sub(l.start) >= strangerWindow || now.Before(l.start) {
		l.start, l.n = now, 0
	}
	if l.n >= strangerBurst {
		l.dropped++
		return 0, false
	}
	l.n++
	left, l.dropped = l.dropped, 0
	return left, true
}

// formatHostID formats a host id as a UUID, "" for the zero id.
func formatHostID(id [16]byte) string {
	if id == [16]byte{} {
		return ""
	}
	h := hex.EncodeToString(id[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
