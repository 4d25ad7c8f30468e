package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Owner-signed state (docs/decisions/009-owner-signed-gossip.md).
//
// Every endpoint signs what it gossips about itself with its own key: its
// heartbeat (HeartBeatPayload) and each application state
// (StatePayload). The signatures travel with the values (HeartBeatState.Sig,
// VersionedValue.Sig), so a state relayed by any peer is verified against
// its owner's certificate, gossiped as the owner's CERT state. Only the
// owner can therefore change its generation, STATUS, TOKENS, HOST_ID,
// DC/RACK or schema and roles versions; a relay can only withhold or
// delay them, or replay older values, which lose to newer versions.

// Signer signs the local node's values (in ringdb, with the key of its node
// certificate; pki.StateSigner).
type Signer interface {
	// Sign returns the signature of payload (a HeartBeatPayload or
	// StatePayload of the local node).
	Sign(payload []byte) ([]byte, error)
	// Certificate returns the certificate (DER) whose key Sign uses; it is
	// gossiped as the local node's CERT state.
	Certificate() []byte
}

// Verifier verifies states received about an endpoint (in ringdb, against
// the cluster CA and revocation list; pki.StateVerifier).
type Verifier interface {
	// CheckCertificate reports whether cert (DER, the endpoint's CERT
	// state) is a valid certificate of this cluster for endpoint ep.
	CheckCertificate(ep netip.Addr, cert []byte) error
	// Verify reports whether sig is a signature of payload by the key of
	// cert, which passed CheckCertificate.
	Verify(cert []byte, payload, sig []byte) bool
}

// Binder may be implemented by a Verifier to bind an endpoint's identity:
// CheckBinding is asked about every verified entry that gives endpoint ep
// a new CERT or HOST_ID (hostID "" when none is known yet), after its
// signatures verified; an error refuses the entry (EventForged, naming the
// sender, without dropping the rest of the message: an honest relay may
// carry it). In ringdb the cluster member implements it (the address ↔
// host id ↔ certificate binding, decision 010). firstHand reports that the
// entry came from ep itself (the sending peer is ep, authenticated by its
// TLS certificate), not through a relay.
type Binder interface {
	CheckBinding(ep netip.Addr, cert []byte, hostID string, firstHand bool) error
}

// Tags that start each signed payload, so a heartbeat signature can never
// be taken for a state's.
const (
	payloadHeartBeat = 'H'
	payloadState     = 'S'
)

// HeartBeatPayload returns the bytes endpoint ep signs for its heartbeat:
//
//	'H' addr generation:u32be version:u32be
//
// with addr as on the wire (length byte, then 4 or 16 bytes).
func HeartBeatPayload(ep netip.Addr, generation, version int32) []byte {
	b := make([]byte, 0, 26)
	b = append(b, payloadHeartBeat)
	b = appendAddr(b, ep.Unmap())
	b = binary.BigEndian.AppendUint32(b, uint32(generation))
	return binary.BigEndian.AppendUint32(b, uint32(version))
}

// StatePayload returns the bytes endpoint ep signs for application state
// k = value at version, in generation:
//
//	'S' addr generation:u32be key:u8 version:u32be len:u32be value
func StatePayload(ep netip.Addr, generation int32, k ApplicationState, version int32, value string) []byte {
	b := make([]byte, 0, 31+len(value))
	b = append(b, payloadState)
	b = appendAddr(b, ep.Unmap())
	b = binary.BigEndian.AppendUint32(b, uint32(generation))
	b = append(b, byte(k))
	b = binary.BigEndian.AppendUint32(b, uint32(version))
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// errUnverifiable wraps a certificate problem (missing, invalid, revoked,
// not the endpoint's): the state cannot be verified, which an honest relay
// may cause (e.g. a certificate revoked here but not yet there).
var errUnverifiable = errors.New("unverifiable")

// errForged wraps a missing or wrong signature: only a forger (or a broken
// peer) sends one.
var errForged = errors.New("forged")

// errBinding wraps a refusal by the Verifier's Binder.
var errBinding = errors.New("identity binding")

// verifyEntry checks the owner's signatures on the parts of remote (a state
// of known endpoint e, nil if unknown) that applying it would change: all
// of it when whole (a new endpoint or generation), else the heartbeat and
// the application states newer than e's. With no Verifier it accepts
// everything.
func (g *Gossiper) verifyEntry(from, ep netip.Addr, e *endpoint, remote *EndpointState, whole bool) error {
	v := g.cfg.Verifier
	if v == nil {
		return nil
	}
	newer := func(k ApplicationState, rv VersionedValue) bool {
		if whole {
			return true
		}
		lv, ok := e.states[k]
		return !ok || rv.Version > lv.Version
	}
	hbNew := whole || remote.HeartBeat.Version > e.hb.Version
	var stale []ApplicationState
	for k, rv := range remote.States {
		if !newer(k, rv) {
			stale = append(stale, k)
		}
	}
	if !hbNew && len(stale) == len(remote.States) {
		return nil // nothing would change
	}
	var cert string
	if rv, ok := remote.States[AppCert]; ok && newer(AppCert, rv) {
		cert = rv.Value
	} else if e != nil {
		cert = e.states[AppCert].Value
	}
	if cert == "" {
		return fmt.Errorf("%w: no certificate known for %s", errUnverifiable, ep)
	}
	certDER := []byte(cert)
	if err := v.CheckCertificate(ep, certDER); err != nil {
		return fmt.Errorf("%w: certificate of %s: %v", errUnverifiable, ep, err)
	}
	gen := remote.HeartBeat.Generation
	if hbNew {
		if len(remote.HeartBeat.Sig) == 0 {
			return fmt.Errorf("%w: unsigned heartbeat (generation %d, version %d)", errForged, gen, remote.HeartBeat.Version)
		}
		if !v.Verify(certDER, HeartBeatPayload(ep, gen, remote.HeartBeat.Version), remote.HeartBeat.Sig) {
			return fmt.Errorf("%w: heartbeat signature (generation %d, version %d) does not verify", errForged, gen, remote.HeartBeat.Version)
		}
	}
	for _, k := range sortedKeys(remote.States) {
		rv := remote.States[k]
		if !newer(k, rv) {
			continue
		}
		if len(rv.Sig) == 0 {
			return fmt.Errorf("%w: unsigned %s (generation %d, version %d)", errForged, k, gen, rv.Version)
		}
		if !v.Verify(certDER, StatePayload(ep, gen, k, rv.Version, rv.Value), rv.Sig) {
			return fmt.Errorf("%w: %s signature (generation %d, version %d) does not verify", errForged, k, gen, rv.Version)
		}
	}
	if b, ok := v.(Binder); ok {
		rh, newHost := remote.States[AppHostID]
		newHost = newHost && newer(AppHostID, rh)
		if rc, ok := remote.States[AppCert]; whole || newHost || (ok && newer(AppCert, rc)) {
			host := rh.Value
			if !newHost && !whole && e != nil {
				host = e.states[AppHostID].Value
			}
			if err := b.CheckBinding(ep, certDER, host, from.Unmap() == ep); err != nil {
				return fmt.Errorf("%w: %v", errBinding, err)
			}
		}
	}
	return nil
}

// sign signs payload with the local Signer (nil without one). A failure
// leaves the value unsigned and is reported as EventRejected.
func (g *Gossiper) sign(payload []byte, what string) []byte {
	if g.cfg.Signer == nil {
		return nil
	}
	sig, err := g.cfg.Signer.Sign(payload)
	if err != nil {
		g.emit(Event{Kind: EventRejected, Endpoint: g.self, Reason: "signing local " + what + " failed (peers will refuse it): " + err.Error()})
		return nil
	}
	return sig
}

// tokenCount returns the number of tokens in a TOKENS value without
// parsing them.
func tokenCount(v string) int {
	if v == "" {
		return 0
	}
	return strings.Count(v, ",") + 1
}
