package server

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"path/filepath"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/pki"
	"github.com/ringdb/ringdb/internal/revocation"
)

// newRevocation loads the node's copy of the cluster's CRL into its
// identity (refusing to start if it does not verify or revokes this node)
// and registers the CRL verbs; the list then spreads by push and pull
// (package revocation).
func (n *Node) newRevocation() error {
	r, err := revocation.New(revocation.Options{Identity: n.identity, Messaging: n.msg,
		Path: filepath.Join(n.cfg.DataDir, pki.CRLFile), Audit: n.audit, Logger: n.log,
		Peers: func() []netip.Addr {
			var live []netip.Addr
			for _, p := range n.cluster.Peers() {
				if n.cluster.IsAlive(p.Address) {
					live = append(live, p.Address)
				}
			}
			return live
		},
		OnRevoked: func(addr netip.Addr, serial *big.Int) {
			// The node at addr used a revoked certificate: it leaves the
			// ring (marked out of it for the life of the process, dropped
			// from gossip, REMOVED_NODE, audited). nodetool removenode of
			// its host id re-replicates its ranges.
			if n.cluster != nil {
				n.cluster.Revoked(addr, serial)
			}
		}})
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	n.revocation = r
	r.Start()
	n.onClose("revocation", r.Close)
	return nil
}

// revocationAdmin is the admin API's view of the node's CRL distribution.
type revocationAdmin struct{ r *revocation.Service }

func (a revocationAdmin) SubmitCRL(ctx context.Context, crl []byte) (admin.RevokeResult, error) {
	res, err := a.r.Submit(ctx, crl)
	if res == nil {
		return admin.RevokeResult{}, err
	}
	out := admin.RevokeResult{CRLNumber: res.Number.String(), Installed: res.Installed, Revoked: res.Revoked}
	if err != nil {
		out.Warning = err.Error() // installed, not stored
	}
	for _, s := range res.Newly {
		out.Newly = append(out.Newly, pki.FormatSerial(s))
	}
	for _, c := range res.Closed {
		out.Closed = append(out.Closed, admin.ClosedConn{Peer: c.Peer.String(), Serial: pki.FormatSerial(c.Serial), Inbound: c.Inbound})
	}
	for _, p := range res.Pushed {
		po := admin.PushOutcome{Peer: p.Peer.String(), Error: p.Err}
		if p.Number != nil {
			po.CRLNumber = p.Number.String()
		}
		out.Pushed = append(out.Pushed, po)
	}
	return out, nil
}
