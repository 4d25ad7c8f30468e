package cluster

import (
	"crypto/x509"
	"math/big"
	"net/netip"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
)

// revokedEndpoint is an endpoint removed from the ring because its
// certificate was revoked: the revoked serial and the last gossip state
// this node held for it (for the client event and audit records about it
// after gossip forgot it).
type revokedEndpoint struct {
	serial *big.Int
	state  gossip.EndpointState
}

// Revoked removes the endpoint at ep from the ring because the
// certificate with this serial, which it used, was revoked (the
// revocation service's OnRevoked): the ring's way of making a revoked
// node leave at once; nodetool removenode of its host id then
// re-replicates its ranges (RemoveNode finds it by its last state). It
//
//   - records the exclusion for the life of the process: the ring built
//     from gossip leaves ep out (as if LEFT) as long as what gossip holds
//     for ep carries the revoked certificate or none;
//   - drops ep from gossip's endpoint table (RemoveEndpoint), which makes
//     the event loop rebuild the ring once, audit the removal and tell
//     clients REMOVED_NODE;
//   - audits a pki.AuditRevocation record "removed from the ring".
//
// Gossip cannot bring ep back: its states carry the revoked certificate,
// which the state verifier refuses against the installed CRL (on this run
// and, the CRL being stored, after a restart too). Only a state under
// another certificate for ep that verifies (the operator issued one: an
// explicit replacement) puts ep back in the ring.
//
// If gossip holds ep under a certificate other than the revoked one (the
// node rotated its certificate and an old connection was closed), ep is
// not removed. Revoked about this node, or again about the same serial,
// does nothing. It reports whether ep was removed.
func (c *Cluster) Revoked(ep netip.Addr, serial *big.Int) bool {
	if ep == c.o.Self || serial == nil {
		return false
	}
	st, known := c.gossip.Snapshot()[ep]
	if known {
		if cur, ok := gossipedSerial(&st); ok && cur.Cmp(serial) != 0 {
			c.log.Warn("a revoked certificate of this address was in use, but the node gossips another certificate: it stays in the ring",
				"peer", ep.String(), "revoked_serial", pki.FormatSerial(serial), "serial", cur.String())
			return false
		}
	}
	c.ringMu.Lock()
	if r, ok := c.revoked[ep]; ok && r.serial.Cmp(serial) == 0 {
		c.ringMu.Unlock()
		return false
	}
	r := revokedEndpoint{serial: new(big.Int).Set(serial)}
	if known {
		r.state = st.Clone()
	} else if prev, ok := c.revoked[ep]; ok {
		r.state = prev.state
	}
	c.revoked[ep] = r
	c.ringMu.Unlock()
	c.bindings.release(ep) // a replacement may bind the address anew

	c.log.Warn("certificate revoked: the node leaves the ring; run nodetool removenode with its host id to re-replicate its data",
		"peer", ep.String(), "serial", pki.FormatSerial(serial))
	if c.o.Audit != nil {
		ev := pki.AuditEvent{Kind: pki.AuditRevocation, Peer: ep.String(), Serial: pki.FormatSerial(serial),
			Outcome: "removed", Reason: "certificate revoked: removed from the ring"}
		if id, ok := hostIDOf(&r.state); ok {
			ev.HostID = formatUUID(id)
		}
		if der, ok := r.state.Get(gossip.AppCert); ok {
			_, ev.Fingerprint = certIdentity(der)
		}
		c.record(ev)
	}
	// Gossip's EventRemoved (when it knew ep) makes the event loop
	// rebuild the ring once and tell clients; when gossip no longer knew
	// ep, one rebuild is asked for directly (the last ring may still have
	// it).
	if known {
		c.gossip.RemoveEndpoint(ep)
	} else {
		c.events.rebuild()
	}
	return true
}

// gossipedSerial returns the serial of the certificate st gossips.
func gossipedSerial(st *gossip.EndpointState) (*big.Int, bool) {
	der, ok := st.Get(gossip.AppCert)
	if !ok {
		return nil, false
	}
	cert, err := x509.ParseCertificate([]byte(der))
	if err != nil {
		return nil, false
	}
	return cert.SerialNumber, true
}

// withoutRevoked removes from states the endpoints excluded for a revoked
// certificate: those gossip holds under the revoked certificate, or under
// no certificate it can read. The caller holds ringMu.
func (c *Cluster) withoutRevoked(states map[netip.Addr]gossip.EndpointState) {
	for ep, r := range c.revoked {
		st, ok := states[ep]
		if !ok {
			continue
		}
		if cur, ok := gossipedSerial(&st); ok && cur.Cmp(r.serial) != 0 {
			continue // a new certificate for the address: a replacement
		}
		delete(states, ep)
	}
}

// revokedStates adds to snap, for the reactions to events about them, the
// last state held for revoked endpoints that gossip forgot.
func (c *Cluster) revokedStates(snap map[netip.Addr]gossip.EndpointState) {
	c.ringMu.Lock()
	defer c.ringMu.Unlock()
	for ep, r := range c.revoked {
		if _, ok := snap[ep]; !ok && r.state.States != nil {
			snap[ep] = r.state
		}
	}
}
