package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/ring"
)

// maxQueuedEvents bounds the gossip events waiting for the event loop;
// beyond it events are dropped (counted, logged) and the next batch
// rebuilds the ring anyway.
const maxQueuedEvents = 1 << 16

// eventQueue hands gossip's events to the member's event loop: gossip's
// goroutine only appends and wakes (onEvents), so no reaction, ring
// rebuild or audit write can stall gossip rounds. The wake channel has
// room for one signal, so wake-ups coalesce while the loop is busy and the
// loop takes everything queued at once: one batch.
type eventQueue struct {
	mu           sync.Mutex
	events       []gossip.Event
	dropped      int
	rebuildAsked bool            // a ring rebuild was asked for (Cluster.Revoked)
	flushes      []chan struct{} // closed once the events queued before them are handled
	wake         chan struct{}
}

// onEvents is gossip's batch subscriber (on the gossip runtime's
// goroutine): it queues the batch for the event loop.
func (c *Cluster) onEvents(batch []gossip.Event) {
	q := &c.events
	q.mu.Lock()
	if room := maxQueuedEvents - len(q.events); len(batch) > room {
		q.dropped += len(batch) - room
		batch = batch[:room]
	}
	q.events = append(q.events, batch...)
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// rebuild asks the event loop for a ring rebuild (coalesced with the
// next batch).
func (q *eventQueue) rebuild() {
	q.mu.Lock()
	q.rebuildAsked = true
	q.mu.Unlock()
	q.signal()
}

// take returns and clears what is queued.
func (q *eventQueue) take() (events []gossip.Event, dropped int, rebuild bool, flushes []chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	events, dropped, rebuild, flushes = q.events, q.dropped, q.rebuildAsked, q.flushes
	q.events, q.dropped, q.rebuildAsked, q.flushes = nil, 0, false, nil
	return events, dropped, rebuild, flushes
}

// flushEvents waits until the events queued before the call have been
// handled by the event loop, or Stop.
func (c *Cluster) flushEvents() {
	ch := make(chan struct{})
	c.events.mu.Lock()
	c.events.flushes = append(c.events.flushes, ch)
	c.events.mu.Unlock()
	c.events.signal()
	select {
	case <-ch:
	case <-c.stop:
	}
}

// eventLoop is the member's goroutine that reacts to gossip events, a
// batch at a time, until Stop: the ring is rebuilt at most once per batch
// (only if an event of it can change the ring), then each event's
// reaction is carried out in order. Membership changes (NEW_NODE) are
// measured against the ring as this loop last saw it.
func (c *Cluster) eventLoop() {
	seen := c.ring.Load()
	for {
		select {
		case <-c.stop:
			return
		case <-c.events.wake:
		}
		batch, dropped, rebuild, flushes := c.events.take()
		if dropped > 0 {
			c.log.Warn("gossip events dropped: the member's event loop fell behind; the ring is rebuilt from gossip", "dropped", dropped)
		}
		if len(batch) > 0 || dropped > 0 || rebuild {
			seen = c.handleBatch(seen, batch, dropped > 0 || rebuild)
		}
		for _, f := range flushes {
			close(f)
		}
	}
}

// handleBatch reacts to one batch of events, given the ring as the loop
// saw it before them, and returns the ring after them. rebuild forces a
// ring rebuild.
func (c *Cluster) handleBatch(before *ring.TokenMetadata, batch []gossip.Event, rebuild bool) (after *ring.TokenMetadata) {
	for _, e := range batch {
		rebuild = rebuild || rebuildsRing(e)
	}
	after = c.ring.Load()
	if rebuild {
		after = c.rebuildRing()
	}
	snap := c.gossip.Snapshot()
	c.revokedStates(snap)
	joined := map[netip.Addr]bool{}
	for _, e := range batch {
		st := snap[e.Endpoint]
		peerSchema, _ := st.Get(gossip.AppSchema)
		peerRoles, _ := st.Get(gossip.AppAuthVersion)
		r := reactionTo(e, eventContext{self: c.o.Self,
			wasMember: before.IsMember(e.Endpoint) || joined[e.Endpoint], isMember: after.IsMember(e.Endpoint),
			peerSchema: peerSchema, peerRoles: peerRoles,
			localSchema: c.schemaVersion, localRoles: c.rolesVersion})
		if r.client != nil && r.client.change == changeNewNode {
			joined[e.Endpoint] = true
		}
		c.react(e, r, snap)
	}
	return after
}

// react carries out r about event e's endpoint; snap is gossip's states
// as of the event's batch.
func (c *Cluster) react(e gossip.Event, r reaction, snap map[netip.Addr]gossip.EndpointState) {
	ep := e.Endpoint
	left := 0
	if r.audit != nil && r.audit.sender && e.From.IsValid() {
		// A refusal: logged and audited within the sender's rate limit.
		var ok bool
		if ok, left = c.auditLimit.admit(e.From.String()+" "+string(r.audit.kind), c.clock.Now()); !ok {
			r.log, r.audit = nil, nil
		}
	}
	if r.markUp {
		c.markUp(ep)
	}
	if r.markDown {
		c.markDown(ep)
	}
	if r.log != nil {
		args := append([]any{"endpoint", ep.String()}, r.log.args...)
		if e.From.IsValid() && e.From != ep && r.audit != nil {
			args = append(args, "from", e.From.String())
		}
		c.log.Log(context.Background(), r.log.level, r.log.msg, args...)
	}
	if r.audit != nil {
		c.auditEvent(e, *r.audit, left, snap)
	}
	if r.client != nil {
		c.tellClients(ep, *r.client, snap)
	}
	if r.notifyUp && c.o.OnUp != nil {
		c.o.OnUp(ep)
	}
	if r.pullSchema {
		c.spawn(func() { c.pullSchema(ep) })
	}
	if r.pullRoles {
		c.spawn(func() { c.pullRoles(ep) })
	}
}

// tellClients hands a client event about ep to OnStatus or OnTopology.
func (c *Cluster) tellClients(ep netip.Addr, e clientEvent, snap map[netip.Addr]gossip.EndpointState) {
	st := snap[ep]
	native := nativeAddress(ep, &st, c.o.NativeAddress.Port())
	switch {
	case e.topology && c.o.OnTopology != nil:
		c.o.OnTopology(e.change, native)
	case !e.topology && c.o.OnStatus != nil:
		c.o.OnStatus(e.change == changeUp, native)
	}
}

// auditEvent writes the audit record a reaction to e asks for. A refusal
// (rec.sender) names the peer that sent the refused state, with the
// certificate it gossips when known, and the number of refusals of that
// sender left out before it (left; see auditLimiter); other records name
// the event's endpoint.
func (c *Cluster) auditEvent(e gossip.Event, rec auditRecord, left int, snap map[netip.Addr]gossip.EndpointState) {
	if c.o.Audit == nil {
		return
	}
	peer, reason := e.Endpoint, rec.reason
	if rec.sender && e.From.IsValid() {
		peer = e.From
		if e.From != e.Endpoint {
			reason = fmt.Sprintf("%s (state of %s, sent by %s)", reason, e.Endpoint, e.From)
		}
		if left > 0 {
			reason += fmt.Sprintf(" (and %d more such refusals of this sender since the previous record)", left)
		}
	}
	ev := pki.AuditEvent{Kind: rec.kind, Peer: peer.String(), Reason: reason, Outcome: rec.outcome}
	st := snap[peer]
	if id, ok := hostIDOf(&st); ok {
		ev.HostID = formatUUID(id)
	} else if peer == c.o.Self {
		ev.HostID = formatUUID(c.o.HostID)
	}
	if der, ok := st.Get(gossip.AppCert); ok {
		ev.Serial, ev.Fingerprint = certIdentity(der)
	}
	c.record(ev)
}

func (c *Cluster) record(ev pki.AuditEvent) {
	if err := c.o.Audit.Record(ev); err != nil {
		c.log.Error("membership audit log write failed", "err", err)
	}
}

// certIdentity returns the serial (decimal) and SHA-256 fingerprint (hex)
// of a gossiped certificate, "" for what does not parse.
func certIdentity(der string) (serial, fingerprint string) {
	sum := sha256.Sum256([]byte(der))
	cert, err := x509.ParseCertificate([]byte(der))
	if err != nil {
		return "", ""
	}
	return cert.SerialNumber.String(), hex.EncodeToString(sum[:])
}

// Audit rate limit of refusals: per sender and kind, at most
// senderAuditBurst records (and log lines) per senderAuditWindow on the
// member's clock; the next record counts those left out. A certificate
// holder sending forgery after forgery cannot flood the fsynced membership
// log or rotate older evidence away.
const (
	senderAuditBurst  = 10
	senderAuditWindow = time.Minute
	// maxAuditSenders bounds the senders tracked; when full the table
	// is emptied.
	maxAuditSenders = 1024
)

// auditLimiter is the refusal rate limit. The zero value is ready.
type auditLimiter struct {
	mu      sync.Mutex
	senders map[string]*senderAuditCount
}

type senderAuditCount struct {
	start    time.Time // of the current window
	recorded int       // records in the current window
	left     int       // refusals not recorded since the last record
}

// admit reports whether a refusal keyed key may be recorded at now, and
// how many were left out before it.
func (l *auditLimiter) admit(key string, now time.Time) (ok bool, left int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.senders == nil || len(l.senders) >= maxAuditSenders {
		l.senders = map[string]*senderAuditCount{}
	}
	r := l.senders[key]
	if r == nil {
		r = &senderAuditCount{start: now}
		l.senders[key] = r
	}
	if now.Sub(r.start) >= senderAuditWindow {
		r.start, r.recorded = now, 0
	}
	if r.recorded >= senderAuditBurst {
		r.left++
		return false, 0
	}
	r.recorded++
	left, r.left = r.left, 0
	return true, left
}
