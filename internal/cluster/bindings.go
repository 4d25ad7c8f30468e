package cluster

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
)

// bindingsMetaKey is where the identity bindings are saved (with the
// ring members, by savePeers).
const bindingsMetaKey = "cluster/bindings"

// maxBindings bounds the bindings kept; beyond it new addresses are not
// bound (their states are still verified).
const maxBindings = 4096

// binding is the identity first seen in verified gossip for an address:
// its host id and the certificate (DER) it was gossiped under.
type binding struct {
	HostID string `json:"host_id"`
	Cert   []byte `json:"cert"`
}

// bindings is the address ↔ host id ↔ certificate table (decision 010,
// "Identity binding"). The zero value is not ready: use newBindings.
type bindings struct {
	mu    sync.Mutex
	by    map[netip.Addr]binding
	dirty bool // changed since the last save
}

func newBindings() *bindings { return &bindings{by: map[netip.Addr]binding{}} }

// bindingVerifier is the member's gossip verifier: the owner's
// certificate and signatures (the wrapped Verifier), then the identity
// binding (gossip.Binder).
type bindingVerifier struct {
	gossip.Verifier
	c *Cluster
}

// CheckBinding implements gossip.Binder: the first host id and
// certificate seen for ep in verified gossip are bound to it. A later
// state that changes the binding is accepted only
//
//   - first-hand, from ep itself over its own authenticated connection,
//     when it keeps one of the two: a new certificate under the bound host
//     id (rotation) or a new host id under the bound certificate (the same
//     key holder re-bootstrapped) — never through a relay, so a second
//     certificate for ep's address held elsewhere cannot take ep's
//     identity by gossiping through other members; or
//   - from anyone once the bound certificate no longer verifies (revoked
//     or expired: the operator retired it, which is the explicit
//     replacement), or after the binding was released (Cluster.Revoked).
//
// A state whose host id and certificate both differ is refused while the
// bound certificate verifies, first-hand or not. Every rebinding is
// audited.
func (v bindingVerifier) CheckBinding(ep netip.Addr, der []byte, hostID string, firstHand bool) error {
	c := v.c
	if hostID == "" || ep == c.o.Self {
		return nil
	}
	b := c.bindings
	b.mu.Lock()
	old, ok := b.by[ep]
	switch {
	case !ok && len(b.by) >= maxBindings:
		b.mu.Unlock()
		return nil
	case ok && old.HostID == hostID && string(old.Cert) == string(der):
		b.mu.Unlock()
		return nil
	case ok && v.Verifier.CheckCertificate(ep, old.Cert) == nil:
		if err := rebindRefusal(ep, old, der, hostID, firstHand); err != nil {
			b.mu.Unlock()
			return err
		}
	}
	b.by[ep] = binding{HostID: hostID, Cert: append([]byte(nil), der...)}
	b.dirty = true
	b.mu.Unlock()
	if ok {
		c.auditRebind(ep, old, der, hostID)
	}
	return nil
}

// rebindRefusal says why a change of ep's binding (whose certificate
// still verifies) is refused, or nil when it is a first-hand rotation.
func rebindRefusal(ep netip.Addr, old binding, der []byte, hostID string, firstHand bool) error {
	if old.HostID != hostID && string(old.Cert) != string(der) {
		return fmt.Errorf("%s is bound to host id %s under certificate serial %s; refused host id %s under certificate serial %s "+
			"(replace the node explicitly: revoke the bound certificate first)",
			ep, old.HostID, serialOf(old.Cert), hostID, serialOf(der))
	}
	if !firstHand {
		return fmt.Errorf("%s is bound to host id %s under certificate serial %s; a change to host id %s under certificate serial %s "+
			"is accepted only from %s itself, not relayed", ep, old.HostID, serialOf(old.Cert), hostID, serialOf(der), ep)
	}
	return nil
}

// auditRebind records that ep's binding changed (a rotation, or a
// replacement after the bound certificate was retired).
func (c *Cluster) auditRebind(ep netip.Addr, old binding, der []byte, hostID string) {
	if c.o.Audit == nil {
		return
	}
	serial, fp := certIdentity(string(der))
	c.record(pki.AuditEvent{Kind: pki.AuditAdmission, Peer: ep.String(), HostID: hostID, Serial: serial, Fingerprint: fp,
		Outcome: "rebound", Reason: fmt.Sprintf("identity rebound from host id %s, certificate serial %s", old.HostID, serialOf(old.Cert))})
}

// release forgets ep's binding (its certificate was revoked).
func (b *bindings) release(ep netip.Addr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.by[ep]; ok {
		delete(b.by, ep)
		b.dirty = true
	}
}

// load reads the saved bindings.
func (b *bindings) load(v []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return json.Unmarshal(v, &b.by)
}

// changed returns the bindings to save if they changed since the last
// call, and clears the mark.
func (b *bindings) changed() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.dirty {
		return nil, false
	}
	v, err := json.Marshal(b.by)
	if err != nil {
		return nil, false
	}
	b.dirty = false
	return v, true
}

// markDirty asks for the next save again (a save failed).
func (b *bindings) markDirty() {
	b.mu.Lock()
	b.dirty = true
	b.mu.Unlock()
}

// serialOf is the serial of a certificate (DER), "?" if it does not parse.
func serialOf(der []byte) string {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "?"
	}
	return cert.SerialNumber.String()
}
