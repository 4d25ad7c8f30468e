package gossip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
)

// Wire format, version 2 (all integers varints unless noted):
//
//	message   = version:u8 kind:u8 body
//	SYN       = string(cluster) digests
//	ACK       = digests states
//	ACK2      = states
//	SHUTDOWN  = states (the sender's own)
//	ECHO_REQ, ECHO_RSP: empty body
//	digests   = n:uvarint { addr generation:varint maxVersion:varint }
//	states    = n:uvarint { addr generation:varint hbVersion:varint sig m:uvarint { key:u8 version:varint string(value) sig } }
//	sig       = string of at most MaxWireSigBytes (empty: unsigned)
//	addr      = len:u8 (4 or 16) bytes
//	string    = len:uvarint bytes
//
// Version 2 added the owner's signatures (sig) and the SHUTDOWN body;
// version 1 is refused. Trailing bytes, negative generations or versions,
// duplicate keys, oversized signatures and counts the remaining input
// cannot hold are errors.
const WireVersion = 2

// Hard limits of the wire format, independent of Config.
const (
	// MaxWireMessageBytes is the largest message Unmarshal accepts.
	MaxWireMessageBytes = 16 << 20
	// MaxWireEntries bounds digests or states in one message.
	MaxWireEntries = 1 << 14
	// MaxWireValueBytes bounds one application state value.
	MaxWireValueBytes = 1 << 20
	// MaxClusterNameBytes bounds the cluster name in a SYN.
	MaxClusterNameBytes = 256
	// MaxWireSigBytes bounds one signature (an ASN.1 ECDSA P-256
	// signature is at most 72 bytes; P-521's 139).
	MaxWireSigBytes = 160
)

const (
	minAddrBytes   = 5
	minDigestBytes = minAddrBytes + 2
	minStateBytes  = minAddrBytes + 4
	minEntryBytes  = 4
)

// Marshal encodes m (not m.To) in the current wire version.
func (m *Message) Marshal() []byte {
	b := make([]byte, 0, 64)
	b = append(b, WireVersion, byte(m.Kind))
	switch m.Kind {
	case KindSyn:
		var s Syn
		if m.Syn != nil {
			s = *m.Syn
		}
		b = appendString(b, s.ClusterName)
		b = appendDigests(b, s.Digests)
	case KindAck:
		var a Ack
		if m.Ack != nil {
			a = *m.Ack
		}
		b = appendDigests(b, a.Digests)
		b = appendStates(b, a.States)
	case KindAck2:
		var a Ack2
		if m.Ack2 != nil {
			a = *m.Ack2
		}
		b = appendStates(b, a.States)
	case KindShutdown:
		var s Shutdown
		if m.Shutdown != nil {
			s = *m.Shutdown
		}
		b = appendStates(b, s.States)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(append(b, 4), v[:]...)
	}
	v := a.As16()
	return append(append(b, 16), v[:]...)
}

func appendDigests(b []byte, ds []GossipDigest) []byte {
	b = binary.AppendUvarint(b, uint64(len(ds)))
	for _, d := range ds {
		b = appendAddr(b, d.Endpoint)
		b = binary.AppendVarint(b, int64(d.Generation))
		b = binary.AppendVarint(b, int64(d.MaxVersion))
	}
	return b
}

func appendStates(b []byte, ss []GossipState) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for i := range ss {
		s := &ss[i]
		b = appendAddr(b, s.Endpoint)
		b = binary.AppendVarint(b, int64(s.State.HeartBeat.Generation))
		b = binary.AppendVarint(b, int64(s.State.HeartBeat.Version))
		b = appendBytes(b, s.State.HeartBeat.Sig)
		b = binary.AppendUvarint(b, uint64(len(s.State.States)))
		for _, k := range sortedKeys(s.State.States) {
			vv := s.State.States[k]
			b = append(b, byte(k))
			b = binary.AppendVarint(b, int64(vv.Version))
			b = appendString(b, vv.Value)
			b = appendBytes(b, vv.Sig)
		}
	}
	return b
}

// ErrMalformed wraps every Unmarshal error.
var ErrMalformed = errors.New("gossip: malformed message")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// nonNegInt32 reads a varint that must fit a non-negative int32.
func (d *decoder) nonNegInt32(what string) int32 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	if v < 0 || v > math.MaxInt32 {
		d.fail("%s %d out of range", what, v)
		return 0
	}
	return int32(v)
}

// count reads an entry count and checks the remaining input can hold it.
func (d *decoder) count(minEach, limit int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(limit) || n > uint64(len(d.b)/minEach) {
		d.fail("count %d too large", n)
		return 0
	}
	return int(n)
}

func (d *decoder) string(limit int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(limit) || n > uint64(len(d.b)) {
		d.fail("string of %d bytes too long", n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// sig reads a signature; empty is nil.
func (d *decoder) sig() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > MaxWireSigBytes || n > uint64(len(d.b)) {
		d.fail("signature of %d bytes too long", n)
		return nil
	}
	if n == 0 {
		return nil
	}
	s := bytes.Clone(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) addr() netip.Addr {
	n := int(d.byte())
	if d.err != nil {
		return netip.Addr{}
	}
	if (n != 4 && n != 16) || len(d.b) < n {
		d.fail("bad address")
		return netip.Addr{}
	}
	var a netip.Addr
	if n == 4 {
		a = netip.AddrFrom4([4]byte(d.b[:4]))
	} else {
		a = netip.AddrFrom16([16]byte(d.b[:16])).Unmap()
	}
	d.b = d.b[n:]
	return a
}

func (d *decoder) digests() []GossipDigest {
	n := d.count(minDigestBytes, MaxWireEntries)
	if n == 0 {
		return nil
	}
	ds := make([]GossipDigest, 0, n)
	for range n {
		a := d.addr()
		g := d.nonNegInt32("generation")
		v := d.nonNegInt32("version")
		if d.err != nil {
			return nil
		}
		ds = append(ds, GossipDigest{Endpoint: a, Generation: g, MaxVersion: v})
	}
	return ds
}

func (d *decoder) states() []GossipState {
	n := d.count(minStateBytes, MaxWireEntries)
	if n == 0 {
		return nil
	}
	ss := make([]GossipState, 0, n)
	for range n {
		var s GossipState
		s.Endpoint = d.addr()
		s.State.HeartBeat.Generation = d.nonNegInt32("generation")
		s.State.HeartBeat.Version = d.nonNegInt32("version")
		s.State.HeartBeat.Sig = d.sig()
		m := d.count(minEntryBytes, maxAppStateKey+1)
		if m > 0 && d.err == nil {
			s.State.States = make(map[ApplicationState]VersionedValue, m)
		}
		for range m {
			k := ApplicationState(d.byte())
			v := d.nonNegInt32("version")
			val := d.string(MaxWireValueBytes)
			sig := d.sig()
			if d.err != nil {
				return nil
			}
			if k > maxAppStateKey {
				d.fail("application state %d out of range", k)
				return nil
			}
			if _, dup := s.State.States[k]; dup {
				d.fail("duplicate application state %s", k)
				return nil
			}
			s.State.States[k] = VersionedValue{Value: val, Version: v, Sig: sig}
		}
		if d.err != nil {
			return nil
		}
		ss = append(ss, s)
	}
	return ss
}

// Unmarshal decodes a message encoded by Marshal. It never panics and
// allocates in proportion to len(b).
func Unmarshal(b []byte) (Message, error) {
	if len(b) > MaxWireMessageBytes {
		return Message{}, fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(b), MaxWireMessageBytes)
	}
	d := &decoder{b: b}
	if v := d.byte(); d.err == nil && v != WireVersion {
		return Message{}, fmt.Errorf("%w: unsupported version %d", ErrMalformed, v)
	}
	m := Message{Kind: MessageKind(d.byte())}
	switch m.Kind {
	case KindSyn:
		s := &Syn{ClusterName: d.string(MaxClusterNameBytes)}
		s.Digests = d.digests()
		m.Syn = s
	case KindAck:
		a := &Ack{Digests: d.digests()}
		a.States = d.states()
		m.Ack = a
	case KindAck2:
		m.Ack2 = &Ack2{States: d.states()}
	case KindShutdown:
		m.Shutdown = &Shutdown{States: d.states()}
	case KindEchoRequest, KindEchoResponse:
	default:
		d.fail("unknown kind %d", m.Kind)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return Message{}, d.err
	}
	return m, nil
}
