package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/ringdb/ringdb/internal/admin"
	"github.com/ringdb/ringdb/internal/admission"
	"github.com/ringdb/ringdb/internal/pki"
)

// Admission by join token (package admission, docs/decisions/011).

// joinWithToken obtains this node's certificate from the member named by
// the join token, into the empty certificates directory.
func (n *Node) joinWithToken() error {
	cfg, self := n.cfg, n.info.ListenAddress
	n.log.Info("no node certificate: joining with the join token", "certs_dir", cfg.CertsDir)
	res, err := admission.Join(context.Background(), admission.JoinOptions{Token: cfg.JoinToken, Self: self,
		CertsDir: cfg.CertsDir, HostID: n.info.HostID, Logger: n.log})
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	n.log.Info("node certificate obtained with the join token", "issuer", res.Issuer, "token", res.TokenID,
		"serial", res.Serial, "certs_dir", cfg.CertsDir)
	return nil
}

// newIssuer makes this node an issuer of join tokens when it is started
// with ca_dir: the CA there must be the cluster's (the one its own
// certificate chains to).
func (n *Node) newIssuer() error {
	cfg := n.cfg
	if cfg.CADir == "" {
		return nil
	}
	ca, err := pki.LoadCA(cfg.CADir)
	if err != nil {
		return fmt.Errorf("ca_dir: %w", err)
	}
	if !bytes.Equal(ca.CertDER(), n.identity.CACert().Raw) {
		return fmt.Errorf("ca_dir: the CA in %s (cluster %s) is not the one this node's certificate in %s chains to (cluster %s)",
			cfg.CADir, ca.ClusterID, cfg.CertsDir, n.identity.ClusterID)
	}
	store, err := admission.OpenTokenStore(filepath.Join(cfg.DataDir, admission.TokenStoreFile))
	if err != nil {
		return err
	}
	is, err := admission.NewIssuer(admission.IssuerOptions{CA: ca, Store: store,
		Address: netip.AddrPortFrom(n.info.ListenAddress, uint16(cfg.StoragePort)), InUse: n.addressInUse,
		Audit: n.audit, Logger: n.log})
	if err != nil {
		return err
	}
	n.issuer = is
	n.log.Warn("this node holds the cluster CA key and issues join tokens: protect it like the CA", "ca_dir", cfg.CADir)
	return nil
}

// addressInUse reports whether addr belongs to a live member: this node, a
// ring member or joining endpoint (up or down: a member is replaced
// explicitly), or an endpoint gossip sees alive.
func (n *Node) addressInUse(addr netip.Addr) (bool, string) {
	if addr == n.info.ListenAddress {
		return true, "this issuing node"
	}
	c := n.cluster
	if c == nil {
		return true, "cluster membership not known yet"
	}
	tm := c.Ring()
	switch {
	case tm.IsMember(addr):
		return true, "a ring member"
	case tm.IsPending(addr):
		return true, "a joining member"
	case c.IsAlive(addr):
		return true, "alive in gossip"
	}
	return false, ""
}

// joinTLS and joinHandler are the messaging options of an issuer (nil
// without one: port 7000 then accepts mutual TLS only).
func (n *Node) joinTLS() *tls.Config {
	if n.issuer == nil {
		return nil
	}
	return n.identity.JoinServerConfig()
}

func (n *Node) joinHandler() func(context.Context, net.Conn, netip.AddrPort) error {
	if n.issuer == nil {
		return nil
	}
	return n.issuer.Serve
}

// joinTokensAdmin is the admin API's view of the issuer.
type joinTokensAdmin struct{ n *Node }

// errNotIssuer tells the operator how to admit a node without an issuer.
func (a joinTokensAdmin) errNotIssuer() error {
	msg := "this node holds no cluster CA and cannot issue join tokens: start an issuing member with --ca-dir <CA directory> " +
		"(ca_dir in the config; its CA key is then on that machine), or issue the new node's certificate offline with " +
		"`ringdb cert node --dir <CA directory> --address <IP> --out <certs dir>`"
	if _, err := os.Stat(filepath.Join(a.n.cfg.CertsDir, "ca", pki.CAKeyFile)); err == nil {
		msg += fmt.Sprintf(" (this node's private CA is in %s)", filepath.Join(a.n.cfg.CertsDir, "ca"))
	}
	return errors.New(msg)
}

func (a joinTokensAdmin) CreateJoinToken(ttl time.Duration) (admin.JoinToken, error) {
	is := a.n.issuer
	if is == nil {
		return admin.JoinToken{}, a.errNotIssuer()
	}
	tok, rec, err := is.CreateToken(ttl)
	if err != nil {
		return admin.JoinToken{}, err
	}
	fp := pki.Fingerprint(a.n.identity.CACert().Raw)
	return admin.JoinToken{Token: tok, ID: rec.ID, Expires: rec.Expires,
		Issuer: netip.AddrPortFrom(a.n.info.ListenAddress, uint16(a.n.cfg.StoragePort)).String(), CAFingerprint: fp}, nil
}

func (a joinTokensAdmin) ListJoinTokens() ([]admin.JoinTokenInfo, error) {
	is := a.n.issuer
	if is == nil {
		return nil, a.errNotIssuer()
	}
	now := is.Now()
	var out []admin.JoinTokenInfo
	for _, r := range is.Tokens() {
		out = append(out, admin.JoinTokenInfo{ID: r.ID, State: r.Status(now), Created: r.Created, Expires: r.Expires,
			At: r.At, Address: r.Address, Serial: r.Serial, Fingerprint: r.Fingerprint, HostID: r.HostID})
	}
	return out, nil
}

func (a joinTokensAdmin) RevokeJoinToken(id string) error {
	if a.n.issuer == nil {
		return a.errNotIssuer()
	}
	return a.n.issuer.RevokeToken(id)
}
