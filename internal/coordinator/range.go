package coordinator

import (
	"bytes"
	"context"
	"net/netip"
	"slices"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// rangePiece is a contiguous token interval (start excluded unless
// startInclusive, end included) with one replica set.
type rangePiece struct {
	start          int64
	startInclusive bool
	end            int64
	replicaToken   int64
}

// pieces splits the ring into pieces in token order from MinToken.
func pieces(tm *ring.TokenMetadata) []rangePiece {
	toks := tm.SortedTokens()
	if len(toks) == 0 {
		return []rangePiece{{start: ring.MinToken, startInclusive: true, end: ring.MaxToken, replicaToken: ring.MinToken}}
	}
	var out []rangePiece
	out = append(out, rangePiece{start: ring.MinToken, startInclusive: true, end: toks[0], replicaToken: toks[0]})
	for i := 1; i < len(toks); i++ {
		out = append(out, rangePiece{start: toks[i-1], end: toks[i], replicaToken: toks[i]})
	}
	if toks[len(toks)-1] != ring.MaxToken {
		out = append(out, rangePiece{start: toks[len(toks)-1], end: ring.MaxToken, replicaToken: toks[0]})
	}
	return out
}

// ScanPartitions calls fn for each partition after start up to and
// including endToken, in token order, with a function reading that
// partition's rows per q, reconciled from as many replicas of each token
// range as cl needs. It stops when fn returns false or ctx ends.
func (c *Coordinator) ScanPartitions(ctx context.Context, t *schema.Table, start storage.PartitionPos, endToken int64, q storage.PartitionQuery, cl consistency.Level, fn func(int64, []byte, storage.RowsFunc) bool) error {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	k, err := c.keyspaceOf(storage.TableID(t.ID))
	if err != nil {
		return err
	}
	// A client's page of a scan is bounded by range_request_timeout as a
	// whole, whether its replicas are remote (each page request has its
	// own timeout too) or this node alone (a filtering scan could
	// otherwise read the whole table for one page).
	ctx, cancel := c.withTimeout(ctx, c.o.RangeTimeout)
	defer cancel()
	sc := &rangeScan{c: c, k: k, tid: storage.TableID(t.ID), q: q, cl: cl, fn: fn}
	pos := start
	for _, pc := range pieces(c.o.Topology.Ring()) {
		// Skip pieces entirely before the start position or after the end.
		if pc.end < pos.Token || (pc.end == pos.Token && pos.Key == nil && !pos.Inclusive) {
			continue
		}
		if !pc.startInclusive && pc.start >= endToken {
			break
		}
		if pc.startInclusive && pc.start > endToken {
			break
		}
		pieceStart := pos
		if pc.start > pos.Token || (pc.start == pos.Token && !pc.startInclusive && (pos.Key != nil || pos.Inclusive)) {
			pieceStart = storage.PartitionPos{Token: pc.start, Inclusive: pc.startInclusive}
		}
		pieceEnd := min(pc.end, endToken)
		cont, err := sc.piece(ctx, pc.replicaToken, pieceStart, pieceEnd)
		if err != nil || !cont {
			return err
		}
		if pieceEnd == endToken {
			return nil
		}
		pos = storage.PartitionPos{Token: pieceEnd, Inclusive: false}
	}
	return nil
}

// rangePage is how many partitions one range-read request asks a replica
// for.
const rangePage = 128

// rangeScan is one ScanPartitions call.
type rangeScan struct {
	c   *Coordinator
	k   *schema.Keyspace
	tid storage.TableID
	q   storage.PartitionQuery
	cl  consistency.Level
	fn  func(int64, []byte, storage.RowsFunc) bool
}

// piece scans one token range with one replica set, page by page. It
// reports whether the caller wants more.
func (s *rangeScan) piece(ctx context.Context, replicaToken int64, start storage.PartitionPos, end int64) (bool, error) {
	c := s.c
	targets, block, err := c.readTargets(s.k, replicaToken, s.cl)
	if err != nil {
		return false, err
	}
	if len(targets) == 1 && targets[0] == c.self {
		return s.local(ctx, start, end)
	}
	for {
		if ctx.Err() != nil {
			return false, c.ended(ctx, func() error { return readTimeout(s.cl, 0, block, false) })
		}
		cmd := &rangeCommand{table: s.tid, start: start, endToken: end, q: s.q, maxPartitions: rangePage}
		merged, more, err := s.page(ctx, cmd, targets, block)
		if err != nil {
			return false, err
		}
		for _, m := range merged {
			if !s.fn(m.Token, m.Key, func(rf func(*storage.Row) bool) error {
				return storage.ReadMutation(m, s.q, c.now(), rf)
			}) {
				return false, nil
			}
		}
		if more == nil {
			return true, nil
		}
		start = storage.PartitionPos{Token: more.Token, Key: more.Key, Inclusive: false}
	}
}

// local scans a range this node alone serves, from its engine.
func (s *rangeScan) local(ctx context.Context, start storage.PartitionPos, end int64) (bool, error) {
	c := s.c
	cont := true
	err := c.o.Engine.ScanPartitions(s.tid, start, end, func(token int64, key []byte) bool {
		kk := append([]byte(nil), key...)
		cont = s.fn(token, kk, func(rf func(*storage.Row) bool) error {
			return c.o.Engine.ReadPartition(s.tid, token, kk, s.q, rf)
		})
		return cont && ctx.Err() == nil
	})
	if err == nil && cont && ctx.Err() != nil {
		return false, c.ended(ctx, func() error { return readTimeout(s.cl, 0, 1, false) })
	}
	return cont, err
}

// page asks every target for one page of the range, merges the answers
// up to the first partition a full page could be missing, and repairs the
// replicas that differ. more is the last partition merged when the range
// continues beyond it (nil at the end of the range).
func (s *rangeScan) page(ctx context.Context, cmd *rangeCommand, targets []netip.Addr, block int) (merged []*storage.Mutation, more *storage.Mutation, err error) {
	c := s.c
	rctx, cancel := c.withTimeout(ctx, c.o.RangeTimeout)
	defer cancel()
	results := make(chan rangeAnswer, len(targets))
	for _, ep := range targets {
		if !c.goOwned(func() { results <- c.rangeFrom(rctx, ep, cmd) }) {
			results <- rangeAnswer{ep: ep, err: errStopping}
		}
	}
	var lists [][]*storage.Mutation
	var from []netip.Addr
	for range targets {
		var r rangeAnswer
		select {
		case r = <-results:
		case <-rctx.Done():
			return nil, nil, c.ended(rctx, func() error { return readTimeout(s.cl, len(lists), block, false) })
		}
		if r.err != nil {
			return nil, nil, readTimeout(s.cl, len(lists), block, false)
		}
		lists = append(lists, r.ms)
		from = append(from, r.ep)
		if len(r.ms) == rangePage {
			if last := r.ms[len(r.ms)-1]; more == nil || posLess(last, more) {
				more = last
			}
		}
	}
	merged = mergeLists(lists, more)
	if len(lists) > 1 {
		c.repairRange(ctx, from, lists, merged)
	}
	return merged, more, nil
}

// rangeAnswer is one replica's page of a range read.
type rangeAnswer struct {
	ep  netip.Addr
	ms  []*storage.Mutation
	err error
}

// rangeFrom asks one replica (possibly this node) for a page of a range.
func (c *Coordinator) rangeFrom(ctx context.Context, ep netip.Addr, cmd *rangeCommand) rangeAnswer {
	if ep == c.self {
		ms, err := c.localRange(cmd)
		return rangeAnswer{ep: ep, ms: ms, err: err}
	}
	c.rangeRequests.Add(1)
	b, err := c.o.Messenger.Request(ctx, ep, messaging.VerbRangeRead, encodeRange(cmd))
	if err != nil {
		return rangeAnswer{ep: ep, err: err}
	}
	ms, err := decodeMutations(b)
	return rangeAnswer{ep: ep, ms: ms, err: err}
}

// repairRange sends each replica the reconciled version of every
// partition it returned differently or not at all (blocking read repair of
// a range read), bounded by the write timeout and by ctx.
func (c *Coordinator) repairRange(ctx context.Context, from []netip.Addr, lists [][]*storage.Mutation, merged []*storage.Mutation) {
	repairs := rangeRepairs(from, lists, merged)
	if len(repairs) == 0 {
		return
	}
	ctx, cancel := c.withTimeout(ctx, c.o.WriteTimeout)
	defer cancel()
	done := make(chan error, len(repairs))
	for ep, ms := range repairs {
		ok := c.goOwned(func() {
			if ep == c.self {
				done <- c.o.Engine.Apply(ms)
				return
			}
			_, err := c.o.Messenger.Request(ctx, ep, messaging.VerbMutation, encodeMutations(ms))
			done <- err
		})
		if !ok {
			done <- errStopping
		}
	}
	for range repairs {
		if err := <-done; err != nil {
			c.log.Warn("range read repair failed", "err", err)
		}
	}
}

// rangeRepairs returns, per replica, the merged partitions it returned
// differently or not at all.
func rangeRepairs(from []netip.Addr, lists [][]*storage.Mutation, merged []*storage.Mutation) map[netip.Addr][]*storage.Mutation {
	type pos struct {
		token int64
		key   string
	}
	repairs := map[netip.Addr][]*storage.Mutation{}
	for i, l := range lists {
		have := make(map[pos]*storage.Mutation, len(l))
		for _, m := range l {
			have[pos{m.Token, string(m.Key)}] = m
		}
		for _, m := range merged {
			if !bytes.Equal(digestOf(have[pos{m.Token, string(m.Key)}]), digestOf(m)) {
				repairs[from[i]] = append(repairs[from[i]], m)
			}
		}
	}
	return repairs
}

func posLess(a, b *storage.Mutation) bool {
	if a.Token != b.Token {
		return a.Token < b.Token
	}
	return bytes.Compare(a.Key, b.Key) < 0
}

// mergeLists merges replicas' partition lists by (token, key), keeping
// only partitions up to and including limit (when set).
func mergeLists(lists [][]*storage.Mutation, limit *storage.Mutation) []*storage.Mutation {
	var all []*storage.Mutation
	for _, l := range lists {
		for _, m := range l {
			if limit != nil && posLess(limit, m) {
				continue
			}
			all = append(all, m)
		}
	}
	slices.SortStableFunc(all, func(a, b *storage.Mutation) int {
		if posLess(a, b) {
			return -1
		}
		if posLess(b, a) {
			return 1
		}
		return 0
	})
	var out []*storage.Mutation
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].Token == all[i].Token && bytes.Equal(all[j].Key, all[i].Key) {
			j++
		}
		if j-i == 1 {
			out = append(out, all[i])
		} else {
			out = append(out, storage.MergeMutations(all[i:j]...))
		}
		i = j
	}
	return out
}

func (c *Coordinator) localRange(cmd *rangeCommand) ([]*storage.Mutation, error) {
	var out []*storage.Mutation
	err := c.o.Engine.ScanRaw(cmd.table, cmd.start, cmd.endToken, cmd.q, cmd.maxPartitions, func(m *storage.Mutation) bool {
		out = append(out, m)
		return true
	})
	return out, err
}
