// Package revocation spreads the cluster CA's certificate revocation list
// (CRL) to every member of the cluster and applies it on this node.
//
// # Where the list lives
//
// The operator makes it offline with `ringdb cert revoke` (pki.CA.Revoke):
// the CA directory keeps the authoritative crl.pem and numbers every new
// list one higher. Each node keeps its own copy in Options.Path
// (<data-dir>/crl.pem), replaced durably when a newer list is accepted, and
// New installs it into the node's pki.Identity before the node listens, so
// a restarted node refuses revoked certificates from its first handshake.
//
// # How it spreads
//
//   - Submit (the admin API: `ringdb nodetool revoke FILE`) or a CRL_PUSH
//     from a peer hands the node a list. It is accepted only if it verifies
//     against the cluster CA (pki.Identity.VerifyCRL: CA signature, CRL
//     number, no unknown critical extension, not expired) and its number is
//     greater than the installed one; anything else is refused and audited
//     with its sender.
//   - On acceptance the node installs it (every later TLS handshake, as
//     server and as client, is checked against it), stores it, closes the
//     open connections of revoked certificates
//     (messaging.Service.CloseRevoked) and pushes it to every live member.
//   - Members that missed the push (down, partitioned) catch up by pull:
//     CRL_PULL carries the asker's CRL number and is answered with the
//     answerer's list if that is newer; if the asker's is newer, the
//     answerer pulls from the asker in turn. A node pulls from a member
//     when gossip sees it come up (PeerUp: a restarted node pulls from each
//     member it sees, and each of them pulls from it) and from one random
//     live member every Interval, when it also sweeps connections again
//     (one whose handshake raced the installation of a list is closed
//     then).
//
// # Audit
//
// Every accepted list, every certificate it newly revokes, every
// connection closed and every refused list (with its sender) is a
// pki.AuditRevocation membership event. A TLS handshake refused because the
// peer's certificate is revoked is one too, at most once per certificate,
// side and AuditInterval: certificates are public, so anyone can present a
// revoked one, and the fsynced membership log must not be floodable (every
// refusal is also counted in the noise log by the messaging layer's
// OnRefused).
package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/pki"
)

// Defaults of Options.
const (
	DefaultInterval       = 30 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultAuditInterval  = 10 * time.Minute
)

const (
	// maxNumberBytes bounds a CRL number on the wire (RFC 5280: 20 octets).
	maxNumberBytes = 20
	// maxTracked bounds the rate limiter's and the announcer's memory.
	maxTracked = 4096
	// maxEvents bounds handshake refusals waiting for the loop; beyond it
	// they are dropped (they are counted in the noise log anyway).
	maxEvents = 256
	// AdminSource is the sender recorded for lists handed over by Submit.
	AdminSource = "admin-api"
)

// ErrNotNewer is the refusal of a valid list whose number is not greater
// than the installed one.
var ErrNotNewer = errors.New("revocation: CRL number is not greater than the installed one")

// Messenger is the part of *messaging.Service the package uses.
type Messenger interface {
	Handle(v messaging.Verb, h messaging.Handler)
	Request(ctx context.Context, to netip.Addr, v messaging.Verb, payload []byte) ([]byte, error)
	CloseRevoked(revoked func(*x509.Certificate) bool) []messaging.RevokedConn
}

// Auditor records membership audit events (*pki.AuditLog).
type Auditor interface {
	Record(pki.AuditEvent) error
}

// Options configure a Service.
type Options struct {
	// Identity is this node's TLS identity; the list is installed into it.
	// Required.
	Identity *pki.Identity
	// Messaging carries CRL_PUSH and CRL_PULL and closes revoked
	// connections. New registers the two verbs' handlers. Required.
	Messaging Messenger
	// Path is this node's copy of the list (<data-dir>/crl.pem). Required.
	Path string
	// Peers returns the live members other than this node. Required.
	Peers func() []netip.Addr
	// Audit, if set, records the membership events (package doc).
	Audit Auditor
	// OnRevoked, if set, is called once per revoked certificate when its
	// address becomes known from its use: an established connection with
	// it was closed, or a server this node dialed presented it. Handshakes
	// dialed in with a revoked certificate never call it (anyone can
	// present a public certificate). It runs on the Service's goroutines
	// and should not block for long. The cluster can make the node at addr
	// leave the ring from it.
	OnRevoked func(addr netip.Addr, serial *big.Int)
	// Interval is the period of the background pull and connection sweep.
	// Default 30s.
	Interval time.Duration
	// RequestTimeout bounds each push and pull. Default 5s.
	RequestTimeout time.Duration
	// AuditInterval is the least time between two membership records of
	// the same refused handshake certificate (and side) or of refused lists
	// from the same sender. Default 10 minutes.
	AuditInterval time.Duration
	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock for the audit rate limit. Default time.Now.
	Now func() time.Time
}

// Result is what handing the node a list did.
type Result struct {
	// Number is the list's CRL number.
	Number *big.Int
	// Installed is false when the node already had this very list.
	Installed bool
	// Revoked is how many certificates the list revokes.
	Revoked int
	// Newly are the serials the list revokes that the previous one did not.
	Newly []*big.Int
	// Closed are the connections closed because of it.
	Closed []messaging.RevokedConn
	// Pushed is the outcome of the push to each live member (Submit only).
	Pushed []PushResult
}

// PushResult is the outcome of pushing the list to one member.
type PushResult struct {
	Peer netip.Addr
	// Number is the member's CRL number after the push (nil on error).
	Number *big.Int
	// Err is why the push failed ("" if it did not).
	Err string
}

// Service applies and spreads the revocation list on one node.
type Service struct {
	o   Options
	log *slog.Logger
	id  *pki.Identity

	installMu sync.Mutex // serialises accept: verify, install, store

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events chan pki.RevokedPeer

	mu        sync.Mutex
	closed    bool
	started   bool
	pulling   map[netip.Addr]bool
	audited   map[string]time.Time // rate-limited record key -> last record
	announced map[string]bool      // serials OnRevoked was called for
}

// New loads the node's stored list (if any) into o.Identity, hooks the
// identity's handshake refusals and registers the CRL verbs' handlers. It
// fails if the stored list does not verify against the cluster CA or
// revokes this node's own certificate. Call Start to begin the background
// pulls, Close to stop.
func New(o Options) (*Service, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &Service{o: o, log: o.Logger.With("component", "revocation"), id: o.Identity,
		events: make(chan pki.RevokedPeer, maxEvents), pulling: map[netip.Addr]bool{},
		audited: map[string]time.Time{}, announced: map[string]bool{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.load(); err != nil {
		s.cancel()
		return nil, err
	}
	s.id.SetOnRevokedPeer(s.revokedPeer)
	o.Messaging.Handle(messaging.VerbCRLPush, s.handlePush)
	o.Messaging.Handle(messaging.VerbCRLPull, s.handlePull)
	return s, nil
}

func (o *Options) validate() error {
	var errs []error
	if o.Identity == nil {
		errs = append(errs, errors.New("revocation: Options.Identity is required"))
	}
	if o.Messaging == nil {
		errs = append(errs, errors.New("revocation: Options.Messaging is required"))
	}
	if o.Path == "" {
		errs = append(errs, errors.New("revocation: Options.Path is required"))
	}
	if o.Peers == nil {
		errs = append(errs, errors.New("revocation: Options.Peers is required"))
	}
	if o.Interval < 0 || o.RequestTimeout < 0 || o.AuditInterval < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.AuditInterval == 0 {
		o.AuditInterval = DefaultAuditInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// load installs the stored list. It is not checked for expiry: a list
// only ever makes the node stricter, and its number must keep refusing
// older lists.
func (s *Service) load() error {
	data, err := os.ReadFile(s.o.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("revocation list: %w", err)
	}
	crl, err := pki.ParseCRL(data, s.id.CACert())
	if err != nil {
		return fmt.Errorf("revocation list %s (this node's copy of the cluster's list; if it belongs to another CA, move it away: "+
			"the node then pulls the current list from its peers): %w", s.o.Path, err)
	}
	if crl.Contains(s.id.Serial()) {
		return fmt.Errorf("revocation list %s: this node's certificate (serial %s, %s) is revoked by CRL number %s; "+
			"issue the node a new certificate (ringdb cert node) and start it with that", s.o.Path,
			pki.FormatSerial(s.id.Serial()), s.id.Address, crl.Number)
	}
	if _, err := s.id.InstallCRL(crl); err != nil && !errors.Is(err, pki.ErrCRLNotNewer) {
		return fmt.Errorf("revocation list %s: %w", s.o.Path, err)
	}
	s.log.Info("revocation list loaded", "path", s.o.Path, "crl_number", crl.Number, "revoked", len(crl.Revoked))
	return nil
}

// Start begins the background loop: a pull from one random live member and
// a connection sweep every Interval, and the audit of refused handshakes.
func (s *Service) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.started {
		return
	}
	s.started = true
	s.wg.Add(1)
	go s.loop()
}

// Close stops the loop and the pulls and pushes in flight and waits for
// them. The installed list stays installed. Close is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.id.SetOnRevokedPeer(nil)
	s.cancel()
	s.wg.Wait()
	return nil
}

// Number returns the installed list's CRL number (0 if none).
func (s *Service) Number() *big.Int {
	if c := s.id.CRL(); c != nil {
		return new(big.Int).Set(c.Number)
	}
	return new(big.Int)
}

// Submit hands the node a list (PEM or DER) from the operator. A list
// that is accepted, or that the node already holds, is then pushed to every
// live member; Submit waits for their answers (each bounded by
// RequestTimeout, and by ctx) and reports them. A list that does not verify
// or is older than the installed one is refused (ErrNotNewer for the
// latter) and audited.
func (s *Service) Submit(ctx context.Context, data []byte) (*Result, error) {
	res, crl, err := s.accept(AdminSource, data)
	if res == nil {
		return nil, err
	}
	res.Pushed = s.push(ctx, crl, closedPeers(res.Closed))
	return res, err
}

// PeerUp tells the Service that a member came up: it pulls from it (and,
// if this node's list is newer, the member pulls from this node). It does
// not block.
func (s *Service) PeerUp(peer netip.Addr) { s.spawnPull(peer) }

// Pull offers peer this node's CRL number and installs the list it answers
// with, if any (and pushes it on to the other members if it was new).
func (s *Service) Pull(ctx context.Context, peer netip.Addr) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.RequestTimeout)
	defer cancel()
	resp, err := s.o.Messaging.Request(ctx, peer, messaging.VerbCRLPull, s.Number().Bytes())
	if err != nil {
		return fmt.Errorf("revocation: pull from %v: %w", peer, err)
	}
	if len(resp) == 0 {
		return nil
	}
	res, crl, err := s.accept(peer.String(), resp)
	if res != nil && res.Installed {
		s.pushOn(crl, peer, res.Closed)
	}
	if errors.Is(err, ErrNotNewer) {
		return nil // a newer list arrived meanwhile
	}
	return err
}

// accept verifies data and installs it if it is newer than the installed
// list, then stores it, audits it and closes the connections it revokes.
// source names the sender in the audit log. res is nil if nothing was
// installed and the node does not already hold this list; a non-nil res
// with an error means the list was installed but not stored.
func (s *Service) accept(source string, data []byte) (res *Result, crl *pki.CRL, err error) {
	s.installMu.Lock()
	crl, err = s.id.VerifyCRL(data)
	if err != nil {
		s.installMu.Unlock()
		s.refusedList(source, err)
		return nil, nil, err
	}
	if cur := s.id.CRL(); cur != nil {
		switch c := crl.Number.Cmp(cur.Number); {
		case c == 0 && bytes.Equal(crl.DER(), cur.DER()):
			s.installMu.Unlock()
			return &Result{Number: cur.Number, Revoked: len(cur.Revoked)}, cur, nil
		case c == 0:
			err = fmt.Errorf("%w: another list with the installed number %s (two copies of the CA directory?)", ErrNotNewer, cur.Number)
		case c < 0:
			err = fmt.Errorf("%w: offered number %s, installed %s", ErrNotNewer, crl.Number, cur.Number)
		}
		if err != nil {
			s.installMu.Unlock()
			s.refusedList(source, err)
			return nil, nil, err
		}
	}
	newly, err := s.id.InstallCRL(crl)
	if err != nil { // cannot happen: verified and newer under installMu
		s.installMu.Unlock()
		return nil, nil, err
	}
	storeErr := pki.WriteCRLFile(s.o.Path, crl)
	s.installMu.Unlock()

	res = &Result{Number: crl.Number, Installed: true, Revoked: len(crl.Revoked)}
	var list []string
	for _, e := range newly {
		res.Newly = append(res.Newly, e.Serial)
		list = append(list, pki.FormatSerial(e.Serial))
	}
	s.log.Warn("revocation list accepted", "from", source, "crl_number", crl.Number, "revoked", len(crl.Revoked), "newly", list)
	s.audit(pki.AuditEvent{Kind: pki.AuditRevocation, Peer: source, Outcome: "accepted",
		Reason: fmt.Sprintf("CRL number %s accepted from %s: %d certificates revoked, newly %s",
			crl.Number, source, len(crl.Revoked), strings.Join(list, ", "))})
	for _, serial := range list {
		s.audit(pki.AuditEvent{Kind: pki.AuditRevocation, Peer: source, Serial: serial, Outcome: "revoked",
			Reason: fmt.Sprintf("certificate serial %s revoked by CRL number %s", serial, crl.Number)})
	}
	if crl.Contains(s.id.Serial()) {
		s.log.Error("this node's own certificate is revoked: every peer that has the list refuses it; issue the node a new certificate",
			"serial", pki.FormatSerial(s.id.Serial()), "crl_number", crl.Number)
		s.audit(pki.AuditEvent{Kind: pki.AuditRevocation, Peer: s.id.Address.String(), Serial: pki.FormatSerial(s.id.Serial()),
			Outcome: "self_revoked", Reason: fmt.Sprintf("this node's own certificate is revoked by CRL number %s", crl.Number)})
	}
	if storeErr != nil {
		s.log.Error("revocation list installed but not stored: after a restart the node holds its older list until it pulls this one again",
			"path", s.o.Path, "err", storeErr)
		err = fmt.Errorf("revocation: CRL number %s installed (refused from now on) but not stored: %w", crl.Number, storeErr)
	}
	res.Closed = s.sweep()
	return res, crl, err
}

// sweep closes the established connections whose peer certificate is
// revoked, audits them and announces their addresses.
func (s *Service) sweep() []messaging.RevokedConn {
	crl := s.id.CRL()
	if crl == nil {
		return nil
	}
	closed := s.o.Messaging.CloseRevoked(s.id.Revoked)
	for _, c := range closed {
		dir := "outbound"
		if c.Inbound {
			dir = "inbound"
		}
		s.audit(pki.AuditEvent{Kind: pki.AuditRevocation, Peer: c.Peer.String(), Serial: pki.FormatSerial(c.Serial),
			Outcome: "connection_closed", Reason: fmt.Sprintf("established %s internode connection closed: peer certificate serial %s revoked by CRL number %s",
				dir, pki.FormatSerial(c.Serial), crl.Number)})
		s.announce(c.Peer, c.Serial)
	}
	return closed
}

// closedPeers returns the addresses of closed connections: the push skips
// them (our handshake would refuse their certificate anyway).
func closedPeers(closed []messaging.RevokedConn) map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	for _, c := range closed {
		m[c.Peer] = true
	}
	return m
}

// push sends crl to every live member not in skip and waits for their
// answers. A member that answers with a newer number is pulled from.
func (s *Service) push(ctx context.Context, crl *pki.CRL, skip map[netip.Addr]bool) []PushResult {
	var targets []netip.Addr
	for _, p := range s.o.Peers() {
		if p != s.id.Address && !skip[p] {
			targets = append(targets, p)
		}
	}
	out := make([]PushResult, len(targets))
	var wg sync.WaitGroup
	for i, p := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.pushTo(ctx, p, crl)
		}()
	}
	wg.Wait()
	return out
}

func (s *Service) pushTo(ctx context.Context, peer netip.Addr, crl *pki.CRL) PushResult {
	ctx, cancel := context.WithTimeout(ctx, s.o.RequestTimeout)
	defer cancel()
	resp, err := s.o.Messaging.Request(ctx, peer, messaging.VerbCRLPush, crl.DER())
	if err != nil {
		s.log.Info("revocation list not pushed; the member pulls it later", "peer", peer, "crl_number", crl.Number, "err", err)
		return PushResult{Peer: peer, Err: err.Error()}
	}
	n, err := parseNumber(resp)
	if err != nil {
		return PushResult{Peer: peer, Err: err.Error()}
	}
	if n.Cmp(crl.Number) > 0 {
		s.spawnPull(peer)
	}
	return PushResult{Peer: peer, Number: n}
}

// pushOn pushes a list received from one member on to the others, in the
// background.
func (s *Service) pushOn(crl *pki.CRL, from netip.Addr, closed []messaging.RevokedConn) {
	skip := closedPeers(closed)
	skip[from] = true
	s.spawn(func() { s.push(s.ctx, crl, skip) })
}

// handlePush serves CRL_PUSH: the payload is a list (DER). The answer is
// this node's CRL number afterwards, so a pusher with an older list pulls
// the newer one; a list that does not verify is answered with an error.
func (s *Service) handlePush(_ context.Context, from netip.Addr, payload []byte) ([]byte, error) {
	res, crl, err := s.accept(from.String(), payload)
	if res != nil && res.Installed {
		s.pushOn(crl, from, res.Closed)
	}
	if err != nil && !errors.Is(err, ErrNotNewer) && res == nil {
		return nil, err
	}
	return s.Number().Bytes(), nil
}

// handlePull serves CRL_PULL: the payload is the asker's CRL number
// (big-endian, empty for none). The answer is this node's list if it is
// newer and not expired, else empty; if the asker's is newer, this node
// pulls from it. An expired list is kept (it still refuses older lists)
// but not handed out: every certificate on it has expired, and the asker
// would refuse it.
func (s *Service) handlePull(_ context.Context, from netip.Addr, payload []byte) ([]byte, error) {
	offered, err := parseNumber(payload)
	if err != nil {
		return nil, err
	}
	if cur := s.id.CRL(); cur != nil && cur.Number.Cmp(offered) > 0 {
		if cur.Expired(s.o.Now()) {
			return nil, nil
		}
		return cur.DER(), nil
	}
	if offered.Cmp(s.Number()) > 0 {
		s.spawnPull(from)
	}
	return nil, nil
}

func parseNumber(b []byte) (*big.Int, error) {
	if len(b) > maxNumberBytes {
		return nil, fmt.Errorf("revocation: CRL number of %d bytes, more than %d", len(b), maxNumberBytes)
	}
	return new(big.Int).SetBytes(b), nil
}

// spawnPull pulls from peer in the background, one pull per peer at a
// time.
func (s *Service) spawnPull(peer netip.Addr) {
	if peer == s.id.Address || !peer.IsValid() {
		return
	}
	s.mu.Lock()
	if s.pulling[peer] {
		s.mu.Unlock()
		return
	}
	s.pulling[peer] = true
	s.mu.Unlock()
	started := s.spawn(func() {
		defer s.donePulling(peer)
		if err := s.Pull(s.ctx, peer); err != nil && s.ctx.Err() == nil {
			s.log.Debug("revocation list pull failed", "peer", peer, "err", err)
		}
	})
	if !started {
		s.donePulling(peer)
	}
}

func (s *Service) donePulling(peer netip.Addr) {
	s.mu.Lock()
	delete(s.pulling, peer)
	s.mu.Unlock()
}

// spawn runs fn on a goroutine Close waits for, unless the Service is
// closed.
func (s *Service) spawn(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// loop pulls from a random live member and sweeps connections every
// Interval, and audits refused handshakes.
func (s *Service) loop() {
	defer s.wg.Done()
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case p := <-s.events:
			s.handshakeRefused(p)
		case <-t.C:
			s.sweep()
			if peers := s.o.Peers(); len(peers) > 0 {
				s.spawnPull(peers[rand.IntN(len(peers))])
			}
		}
	}
}

// revokedPeer is the identity's hook, on a handshake goroutine: it passes
// the first refusal per certificate and side per AuditInterval to the
// loop, without blocking.
func (s *Service) revokedPeer(p pki.RevokedPeer) {
	if !s.allow(fmt.Sprintf("handshake/%s/%t", pki.FormatSerial(p.Serial), p.Inbound)) {
		return
	}
	select {
	case s.events <- p:
	default:
	}
}

func (s *Service) handshakeRefused(p pki.RevokedPeer) {
	reason := fmt.Sprintf("TLS handshake refused: the server this node dialed presented revoked certificate serial %s for %s (CRL number %s)",
		pki.FormatSerial(p.Serial), p.Address, p.CRLNumber)
	if p.Inbound {
		reason = fmt.Sprintf("TLS handshake refused: a client presented revoked certificate serial %s for %s (CRL number %s), "+
			"before proving it holds the key; the connection's source is counted in the noise log",
			pki.FormatSerial(p.Serial), p.Address, p.CRLNumber)
	}
	s.audit(pki.AuditEvent{Kind: pki.AuditRevocation, Peer: p.Address.String(), Serial: pki.FormatSerial(p.Serial),
		Outcome: "refused", Reason: reason})
	if !p.Inbound {
		s.announce(p.Address, p.Serial)
	}
}

// refusedList logs and (rate-limited per sender) audits a refused list.
func (s *Service) refusedList(source string, err error) {
	s.log.Warn("revocation list refused", "from", source, "err", err)
	if s.allow("list/" + source) {
		s.audit(pki.AuditEvent{Kind: pki.AuditRevocation, Peer: source, Outcome: "refused",
			Reason: fmt.Sprintf("revocation list from %s refused: %v", source, err)})
	}
}

// allow reports whether the event keyed key may be recorded now: the first
// time, then at most once per AuditInterval.
func (s *Service) allow(key string) bool {
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.audited[key]; ok && now.Sub(last) < s.o.AuditInterval {
		return false
	}
	if len(s.audited) >= maxTracked {
		clear(s.audited)
	}
	s.audited[key] = now
	return true
}

// announce calls OnRevoked once per serial.
func (s *Service) announce(addr netip.Addr, serial *big.Int) {
	key := pki.FormatSerial(serial)
	s.mu.Lock()
	if s.announced[key] {
		s.mu.Unlock()
		return
	}
	if len(s.announced) >= maxTracked {
		clear(s.announced)
	}
	s.announced[key] = true
	s.mu.Unlock()
	s.log.Warn("revoked certificate in use", "peer", addr, "serial", key)
	if s.o.OnRevoked != nil {
		s.o.OnRevoked(addr, serial)
	}
}

func (s *Service) audit(ev pki.AuditEvent) {
	if s.o.Audit == nil {
		return
	}
	if err := s.o.Audit.Record(ev); err != nil {
		s.log.Error("membership audit log: record failed", "kind", ev.Kind, "err", err)
	}
}
