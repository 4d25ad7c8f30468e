package repair

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"net/netip"

	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// This file is the replica side of repair (Cassandra's Validator): the
// tree of one table over one range, built from a scan of the local data.

// Validate builds this node's tree of table over r at depth (in [0,
// MaxDepth]): every partition in r with content (tombstones included, as
// storage.ScanRaw returns them), partitions sharing a token folded into one
// digest. It scans in batches of Options.ScanBatch partitions, so memory
// holds the tree and one batch's partition at a time, never the range's
// data. At most Options.MaxValidations run at once on a node (local and
// remote requests together); Validate waits for a slot, bounded by ctx.
func (s *Service) Validate(ctx context.Context, table storage.TableID, r ring.Range, depth int) (*Tree, error) {
	select {
	case s.validations <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("repair: validation of %v waiting for a slot: %w", r, context.Cause(ctx))
	}
	defer func() { <-s.validations }()
	t, err := NewTree(r, depth)
	if err != nil {
		return nil, err
	}
	f := folder{tree: t}
	for _, sp := range streaming.Spans(table, r) {
		if err := s.scanSpan(ctx, sp, f.add); err != nil {
			return nil, fmt.Errorf("repair: validation of %v: %w", r, err)
		}
	}
	if err := f.flush(); err != nil {
		return nil, fmt.Errorf("repair: validation of %v: %w", r, err)
	}
	t.Finish()
	return t, nil
}

// scanSpan calls add with each partition of span sp in (token, key) order,
// ScanBatch partitions per storage scan, checking ctx between partitions.
func (s *Service) scanSpan(ctx context.Context, sp storage.TokenSpan, add func(*storage.Mutation) error) error {
	q := storage.PartitionQuery{Static: true} // the whole partition
	pos := storage.PartitionPos{Token: sp.First, Inclusive: true}
	for {
		n := 0
		var last *storage.Mutation
		var ferr error
		err := s.o.Engine.ScanRaw(sp.Table, pos, sp.Last, q, s.o.ScanBatch, func(m *storage.Mutation) bool {
			n++
			last = m
			if ferr = ctx.Err(); ferr == nil {
				ferr = add(m)
			}
			return ferr == nil
		})
		switch {
		case err != nil:
			return fmt.Errorf("scan tokens [%d, %d]: %w", sp.First, sp.Last, err)
		case ferr != nil:
			return ferr
		case n < s.o.ScanBatch:
			return nil // the span is exhausted
		}
		pos = storage.PartitionPos{Token: last.Token, Key: last.Key}
	}
}

// folder adds partitions to a tree, folding those that share a token into
// one digest: SHA-256 over each one's digest length (8 bytes big-endian)
// and digest, in key order. A token with a single partition gets that
// partition's storage.Digest.
type folder struct {
	tree  *Tree
	has   bool // a token is pending
	tok   ring.Token
	first []byte    // digest of the pending token's first partition
	h     hash.Hash // set once a second partition shares tok
	lenb  [8]byte
}

// add takes the next partition in (token, key) order.
func (f *folder) add(m *storage.Mutation) error {
	d := storage.Digest(m)
	if f.has && m.Token == f.tok {
		if f.h == nil {
			f.h = sha256.New()
			f.write(f.first)
		}
		f.write(d)
		return nil
	}
	if err := f.flush(); err != nil {
		return err
	}
	f.has, f.tok, f.first = true, m.Token, d
	return nil
}

func (f *folder) write(d []byte) {
	binary.BigEndian.PutUint64(f.lenb[:], uint64(len(d)))
	f.h.Write(f.lenb[:])
	f.h.Write(d)
}

// flush adds the pending token to the tree.
func (f *folder) flush() error {
	if !f.has {
		return nil
	}
	d := f.first
	if f.h != nil {
		d = f.h.Sum(nil)
		f.h = nil
	}
	f.has = false
	return f.tree.Add(f.tok, d)
}

// serveValidate answers a member's REPAIR_VALIDATE with this node's tree.
func (s *Service) serveValidate(ctx context.Context, from netip.Addr, payload []byte) ([]byte, error) {
	if !s.o.Admitted(from) {
		return nil, fmt.Errorf("%s refused: %s is not a member of this cluster", messaging.VerbRepairValidate, from)
	}
	req, err := DecodeValidateRequest(payload)
	if err != nil {
		return nil, err
	}
	if !tableKnown(s.o.Schema(), req.Table) {
		return nil, fmt.Errorf("repair: validation of %v: table %x is not in this node's schema", req.Range, req.Table[:])
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.ValidationTimeout)
	defer cancel()
	t, err := s.Validate(ctx, req.Table, req.Range, req.Depth)
	if err != nil {
		return nil, err
	}
	s.o.Logger.Debug("repair: validated a range for a peer", "peer", from.String(), "range", req.Range.String(),
		"partitions", t.Count())
	return t.AppendBinary(make([]byte, 0, EncodedLen(t.Depth()))), nil
}

// tree returns replica ep's tree of table over r: built here for this
// node, asked for with REPAIR_VALIDATE otherwise. The answer must be a
// tree of the range and depth asked for.
func (s *Service) tree(ctx context.Context, ep netip.Addr, table storage.TableID, r ring.Range) (*Tree, error) {
	if ep == s.o.Self {
		return s.Validate(ctx, table, r, s.o.Depth)
	}
	rctx, cancel := context.WithTimeout(ctx, s.o.ValidationTimeout)
	defer cancel()
	req := ValidateRequest{Table: table, Range: r, Depth: s.o.Depth}
	resp, err := s.o.Transport.Request(rctx, ep, messaging.VerbRepairValidate, req.AppendBinary(nil))
	if err != nil {
		return nil, fmt.Errorf("repair: tree of %s: %w", ep, err)
	}
	if len(resp) != EncodedLen(s.o.Depth) { // before DecodeTree allocates
		return nil, fmt.Errorf("repair: tree of %s: %d bytes, want %d for depth %d: %w",
			ep, len(resp), EncodedLen(s.o.Depth), s.o.Depth, ErrMalformed)
	}
	t, err := DecodeTree(resp)
	if err != nil {
		return nil, fmt.Errorf("repair: tree of %s: %w", ep, err)
	}
	if t.Range() != r || t.Depth() != s.o.Depth {
		return nil, fmt.Errorf("repair: tree of %s covers %v at depth %d, asked for %v at depth %d",
			ep, t.Range(), t.Depth(), r, s.o.Depth)
	}
	return t, nil
}
