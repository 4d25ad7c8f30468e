package streaming

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ringdb/ringdb/internal/messaging"
)

// Bounds of a stream request.
const (
	// MaxRequestTransfers bounds the transfers of one stream request.
	MaxRequestTransfers = 1 << 16
	// maxDescLen bounds a request's description.
	maxDescLen = 64
	// DefaultRequestTimeout bounds a stream request when the caller's
	// context has no deadline: the receiver pulls everything before it
	// answers.
	DefaultRequestTimeout = 24 * time.Hour
)

// Request asks peer to pull transfers into its engine (each from the
// member its Peer field names, usually the caller) and returns once it has
// pulled them all, or with its error. It is how a node hands data to a
// receiver: a decommissioning node its ranges to their new replicas, a
// repair coordinator a differing range to a replica that lacks it. The
// receiver runs Pull with desc; a transfer it refuses or fails comes back
// as a *messaging.RemoteError naming the source and span. ctx bounds the
// whole request (DefaultRequestTimeout when it has no deadline).
func (s *Service) Request(ctx context.Context, peer netip.Addr, desc string, transfers []Transfer) error {
	if len(transfers) == 0 {
		return nil
	}
	if len(transfers) > MaxRequestTransfers {
		return fmt.Errorf("streaming: %d transfers exceed a request's %d", len(transfers), MaxRequestTransfers)
	}
	timeout := DefaultRequestTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if s.o.PeerAlive != nil && !s.o.PeerAlive(peer) {
		return fmt.Errorf("streaming: %s is down (the failure detector convicted it)", peer)
	}
	if _, err := s.request(ctx, peer, messaging.VerbStreamRequest, appendStreamRequest(nil, desc, transfers), timeout); err != nil {
		return fmt.Errorf("streaming: %s pulling %d spans: %w", peer, len(transfers), err)
	}
	return nil
}

// serveRequest pulls the transfers a member asks this node to pull. Every
// source must be a member too.
func (s *Service) serveRequest(ctx context.Context, from netip.Addr, payload []byte) ([]byte, error) {
	if !s.o.Admitted(from) {
		return nil, fmt.Errorf("%s refused: %s is not a member of this cluster", messaging.VerbStreamRequest, from)
	}
	desc, transfers, err := decodeStreamRequest(payload)
	if err != nil {
		return nil, err
	}
	var sources []netip.Addr
	for _, t := range transfers {
		if !slices.Contains(sources, t.Peer) {
			if !s.o.Admitted(t.Peer) {
				return nil, fmt.Errorf("%s refused: source %s is not a member of this cluster", messaging.VerbStreamRequest, t.Peer)
			}
			sources = append(sources, t.Peer)
		}
	}
	s.o.Logger.Info("streaming: pulling spans at a peer's request", "peer", from.String(), "operation", desc, "spans", len(transfers))
	if err := s.Pull(ctx, desc, transfers); err != nil {
		return nil, err
	}
	return nil, nil
}

// appendStreamRequest encodes a stream request: version, description,
// transfer count, then each transfer's source address (as 16 bytes) and span.
func appendStreamRequest(b []byte, desc string, ts []Transfer) []byte {
	if len(desc) > maxDescLen {
		desc = desc[:maxDescLen]
	}
	b = append(b, wireVersion, byte(len(desc)))
	b = append(b, desc...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ts)))
	for _, t := range ts {
		a := t.Peer.As16()
		b = append(b, a[:]...)
		b = append(b, t.Span.Table[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(t.Span.First))
		b = binary.BigEndian.AppendUint64(b, uint64(t.Span.Last))
	}
	return b
}

const transferLen = 16 + 16 + 8 + 8

func decodeStreamRequest(b []byte) (string, []Transfer, error) {
	if len(b) < 2 {
		return "", nil, errShort
	}
	if b[0] != wireVersion {
		return "", nil, fmt.Errorf("streaming: unknown stream request version %d", b[0])
	}
	dl := int(b[1])
	if dl > maxDescLen {
		return "", nil, errors.New("streaming: stream request description too long")
	}
	if len(b) < 2+dl+4 {
		return "", nil, errShort
	}
	desc := string(b[2 : 2+dl])
	n := binary.BigEndian.Uint32(b[2+dl:])
	rest := b[2+dl+4:]
	if n == 0 || n > MaxRequestTransfers {
		return "", nil, fmt.Errorf("streaming: stream request with %d transfers (1 to %d)", n, MaxRequestTransfers)
	}
	if uint64(len(rest)) != uint64(n)*transferLen {
		return "", nil, errors.New("streaming: stream request length does not match its transfer count")
	}
	ts := make([]Transfer, n)
	for i := range ts {
		p := rest[i*transferLen:]
		t := &ts[i]
		t.Peer = netip.AddrFrom16([16]byte(p[:16])).Unmap()
		copy(t.Span.Table[:], p[16:32])
		t.Span.First = int64(binary.BigEndian.Uint64(p[32:]))
		t.Span.Last = int64(binary.BigEndian.Uint64(p[40:]))
		if t.Span.First > t.Span.Last {
			return "", nil, fmt.Errorf("streaming: empty span [%d, %d]", t.Span.First, t.Span.Last)
		}
		if !t.Peer.IsValid() || t.Peer.IsUnspecified() {
			return "", nil, errors.New("streaming: stream request names no source")
		}
	}
	return desc, ts, nil
}
