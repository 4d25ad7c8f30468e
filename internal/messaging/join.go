package messaging

import (
	"crypto/tls"
	"slices"
)

// The join exchange on the storage port (Options.JoinTLS, Options.Join).
//
// The acceptor's TLS configuration is chosen per ClientHello: one that
// offers the join protocol gets JoinTLS (no client certificate, that
// protocol only); every other one gets ServerTLS (mutual TLS, no
// application protocol). handshake then hands a connection that negotiated
// the join protocol to Options.Join and never to the ringdb handshake: it
// stays in the handshake budget, under the handshake deadline, and is
// closed when Join returns.

// acceptJoins makes the acceptor's TLS configuration serve join
// ClientHellos with joinCfg.
func (s *Service) acceptJoins(joinCfg *tls.Config) {
	jc := joinCfg.Clone()
	jc.MinVersion = tls.VersionTLS13
	jc.MaxVersion = 0
	jc.SessionTicketsDisabled = true
	jc.GetConfigForClient = nil
	s.joinProto = jc.NextProtos[0]
	prev := s.serverTLS.GetConfigForClient
	s.serverTLS.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		if slices.Contains(hi.SupportedProtos, s.joinProto) {
			return jc, nil
		}
		if prev != nil {
			return prev(hi)
		}
		return nil, nil
	}
}

// isJoin reports whether a completed TLS handshake is a join connection.
func (s *Service) isJoin(st tls.ConnectionState) bool {
	return s.joinProto != "" && st.NegotiatedProtocol == s.joinProto
}
