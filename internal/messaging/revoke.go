package messaging

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"sync"
)

// Revocation of open connections. The TLS configurations refuse a revoked
// certificate at every new handshake (package pki); CloseRevoked closes the
// connections that were authenticated before the certificate was revoked.

// errPeerRevoked is the cause given to requests failed by CloseRevoked.
var errPeerRevoked = errors.New("peer certificate revoked")

// RevokedConn is one established connection closed by CloseRevoked.
type RevokedConn struct {
	// Peer is the connection's authenticated peer address.
	Peer netip.Addr
	// Serial is the serial number of the peer's certificate.
	Serial *big.Int
	// Inbound is true for a connection the peer dialled.
	Inbound bool
}

// authConns maps the TCP connection of every authenticated inbound
// connection to its TLS connection, so that CloseRevoked can look at the
// peer certificate (Service.authed).
type authConns struct {
	mu    sync.Mutex
	conns map[net.Conn]*tls.Conn
}

// trackInbound records an authenticated inbound connection until the
// returned function is called (when the connection ends). serveConn calls
// it once the handshake has accepted the peer.
func (s *Service) trackInbound(raw net.Conn, tc *tls.Conn) (untrack func()) {
	a := &s.authed
	a.mu.Lock()
	if a.conns == nil {
		a.conns = make(map[net.Conn]*tls.Conn)
	}
	a.conns[raw] = tc
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		delete(a.conns, raw)
		a.mu.Unlock()
	}
}

// peerLeaf returns the peer's leaf certificate of a completed handshake.
func peerLeaf(tc *tls.Conn) *x509.Certificate {
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return nil
	}
	return st.PeerCertificates[0]
}

// CloseRevoked closes every established internode connection, inbound and
// outbound, whose peer certificate revoked reports, and returns them.
// Requests in flight on a closed outbound connection fail with
// ErrConnectionLost; an outbound lane dials again for its next message, and
// that handshake is checked against the current revocation list. revoked
// is called without any lock of the Service held.
//
// A connection whose handshake completes concurrently with the call (it
// was verified against the previous list) may be missed: callers that
// revoke call it again later (package revocation sweeps on every tick).
func (s *Service) CloseRevoked(revoked func(*x509.Certificate) bool) []RevokedConn {
	var out []RevokedConn

	a := &s.authed
	a.mu.Lock()
	type in struct {
		raw net.Conn
		tc  *tls.Conn
	}
	ins := make([]in, 0, len(a.conns))
	for raw, tc := range a.conns {
		ins = append(ins, in{raw, tc})
	}
	a.mu.Unlock()
	for _, c := range ins {
		cert := peerLeaf(c.tc)
		if cert == nil || !revoked(cert) {
			continue
		}
		c.raw.Close() // serveConn ends and untracks it
		out = append(out, RevokedConn{Peer: addrPortOf(c.raw.RemoteAddr()).Addr(), Serial: cert.SerialNumber, Inbound: true})
	}

	s.mu.Lock()
	var lanes []*outLane
	for _, p := range s.peers {
		for _, l := range p {
			if l != nil {
				lanes = append(lanes, l)
			}
		}
	}
	s.mu.Unlock()
	for _, l := range lanes {
		l.mu.Lock()
		conn, gen := l.raw, l.gen
		l.mu.Unlock()
		if conn == nil {
			continue
		}
		cert := peerLeaf(conn.tls)
		if cert == nil || !revoked(cert) {
			continue
		}
		l.connLost(conn, gen, errPeerRevoked)
		out = append(out, RevokedConn{Peer: l.to, Serial: cert.SerialNumber})
	}
	for _, c := range out {
		s.log.Warn("internode connection closed: peer certificate revoked", "peer", c.Peer, "serial", c.Serial, "inbound", c.Inbound)
	}
	return out
}
