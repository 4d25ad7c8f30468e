package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
)

// ServerConfig returns the TLS configuration for accepting internode
// connections: TLS 1.3 only, a client certificate is required and verified
// by crypto/tls against the cluster CA (ClientCAs), and VerifyConnection
// re-verifies the chain and checks the client leaf's ClientAuth usage,
// cluster id and single IP SAN. Session tickets are disabled, so every
// connection makes a full handshake against the current certificates.
func (id *Identity) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		MaxVersion:             tls.VersionTLS13,
		Certificates:           []tls.Certificate{id.Cert},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              id.CAPool,
		SessionTicketsDisabled: true,
		Time:                   id.now,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := id.verifyPeer(cs, x509.ExtKeyUsageClientAuth)
			return err
		},
	}
}

// ClientConfig returns the TLS configuration for dialing internode
// connections: TLS 1.3 only, presenting this node's certificate.
//
// SECURITY: InsecureSkipVerify is true ONLY because crypto/tls's built-in
// server verification also checks the server name, and internode peers are
// identified by the IP SAN of their certificate, not by a name: the
// messaging layer compares that address (PeerAddress) with the address it
// dialed and the one the peer claims. InsecureSkipVerify disables only the
// built-in check; VerifyConnection, which crypto/tls always runs before the
// handshake completes, performs the full verification itself: the server's
// leaf must chain to the cluster CA pool (no other roots, no
// intermediates), be valid now, allow ServerAuth, carry this cluster's id
// and exactly one IP SAN. A failure aborts the handshake. Never copy this
// config and drop VerifyConnection.
func (id *Identity) ClientConfig() *tls.Config {
	return id.clientConfig(netip.Addr{})
}

// ClientConfigFor is ClientConfig that additionally refuses a server whose
// certificate address is not expected (the address being dialed).
func (id *Identity) ClientConfigFor(expected netip.Addr) *tls.Config {
	return id.clientConfig(expected.Unmap())
}

func (id *Identity) clientConfig(expected netip.Addr) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{id.Cert},
		RootCAs:      id.CAPool,
		// See the SECURITY note on ClientConfig: verification is done in
		// VerifyConnection, never skipped.
		InsecureSkipVerify: true, //nolint:gosec // full verification in VerifyConnection
		Time:               id.now,
		VerifyConnection: func(cs tls.ConnectionState) error {
			addr, err := id.verifyPeer(cs, x509.ExtKeyUsageServerAuth)
			if err != nil {
				return err
			}
			if expected.IsValid() && addr != expected {
				return fmt.Errorf("pki: peer certificate is for %s, dialed %s", addr, expected)
			}
			return nil
		},
	}
}

// verifyPeer is the check both sides run on the peer's leaf certificate.
func (id *Identity) verifyPeer(cs tls.ConnectionState, usage x509.ExtKeyUsage) (netip.Addr, error) {
	if cs.Version != tls.VersionTLS13 {
		return netip.Addr{}, errors.New("pki: internode connections require TLS 1.3")
	}
	if len(cs.PeerCertificates) == 0 {
		return netip.Addr{}, errors.New("pki: peer presented no certificate")
	}
	addr, err := id.verifyLeaf(cs.PeerCertificates[0], usage)
	if err != nil {
		err = fmt.Errorf("pki: peer certificate refused: %w", err)
		var rev *RevokedError
		if errors.As(err, &rev) {
			if f := id.onRevoked.Load(); f != nil {
				(*f)(RevokedPeer{Address: rev.Address, Serial: rev.Serial, CRLNumber: rev.CRLNumber,
					Inbound: usage == x509.ExtKeyUsageClientAuth})
			}
			// A certificate verification error, so that the dialing
			// side reports it as a refused peer like the accepting side.
			err = &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
		}
		return netip.Addr{}, err
	}
	return addr, nil
}

// PeerAddress returns the single IP SAN of the peer's leaf certificate. It
// must be called only on the state of a completed handshake made with
// ServerConfig or ClientConfig, whose VerifyConnection has verified that
// leaf; the messaging layer compares the result with the address the peer
// claims in its handshake and with the TCP source address.
func PeerAddress(cs tls.ConnectionState) (netip.Addr, error) {
	if !cs.HandshakeComplete {
		return netip.Addr{}, errors.New("pki: TLS handshake not complete")
	}
	if len(cs.PeerCertificates) == 0 {
		return netip.Addr{}, errors.New("pki: peer presented no certificate")
	}
	addr, err := leafAddress(cs.PeerCertificates[0])
	if err != nil {
		return netip.Addr{}, fmt.Errorf("pki: peer address: %w", err)
	}
	return addr, nil
}
