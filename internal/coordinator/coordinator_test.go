package coordinator

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/storage"
)

// readV reads k through coordinator i at cl and returns v ("" if absent).
func (mc *memCluster) readV(ctx context.Context, i int, k string, cl consistency.Level) (string, error) {
	var v string
	err := mc.coords[i].ReadPartition(ctx, mc.table, mc.mutation(k, "", 0).Token, []byte(k), storage.PartitionQuery{}, cl, func(r *storage.Row) bool {
		for _, c := range r.Cells {
			v = string(c.Value)
		}
		return true
	})
	return v, err
}

// TestReadRepairsStaleReplicas: replicas disagree; a read at ALL returns
// the newest value and repairs the stale replicas before answering.
func TestReadRepairsStaleReplicas(t *testing.T) {
	mc := newMemCluster(t, 3, 3)
	if err := mc.coords[0].Apply(context.Background(), []*storage.Mutation{mc.mutation("a", "old", 10)}, consistency.All, consistency.WriteSimple); err != nil {
		t.Fatal(err)
	}
	// Only node 2 gets the newer write.
	if err := mc.eng[2].Apply([]*storage.Mutation{mc.mutation("a", "new", 20)}); err != nil {
		t.Fatal(err)
	}
	v, err := mc.readV(context.Background(), 0, "a", consistency.All)
	if err != nil || v != "new" {
		t.Fatalf("read at ALL: %q %v", v, err)
	}
	for i := range mc.coords {
		if got := mc.localValue(i, "a"); got != "new" {
			t.Fatalf("replica %d after read repair: %q", i, got)
		}
	}
	if mc.coords[0].ReadRepairs() != 2 {
		t.Fatalf("read repairs: %d, want 2", mc.coords[0].ReadRepairs())
	}
}

// TestReadTimeoutOnInjectedClock: a replica that never answers makes a
// QUORUM read fail with ReadTimeout (received/blockFor) once the read
// timeout passes on the coordinator's clock — no real time involved.
func TestReadTimeoutOnInjectedClock(t *testing.T) {
	mc := newMemCluster(t, 3, 3)
	mc.net.hold(messaging.VerbReadDigest, true)
	mc.net.hold(messaging.VerbRead, true)
	errc := make(chan error, 1)
	go func() {
		_, err := mc.readV(context.Background(), 0, "a", consistency.Quorum)
		errc <- err
	}()
	waitFor(t, 10*time.Second, "the digest request to block", func() bool { return mc.net.heldNow.Load() == 1 })
	select {
	case err := <-errc:
		t.Fatalf("read ended before its timeout: %v", err)
	default:
	}
	mc.clock.Advance(mc.coords[0].o.ReadTimeout)
	var err error
	select {
	case err = <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("read did not time out after the clock passed the read timeout")
	}
	var ce *cqlerr.Error
	if !errors.As(err, &ce) || ce.Code != cqlerr.ReadTimeout || ce.Required != 2 || ce.Alive != 1 || !ce.DataPresent {
		t.Fatalf("want ReadTimeout received 1 of 2 with data, got %#v", err)
	}
	if mc.coords[0].RequestsCancelled() != 0 {
		t.Fatal("a timeout counted as a cancellation")
	}
}

// TestWriteHintsUnacknowledgedReplica: a write at ONE succeeds on the
// local replica; the replica that never acknowledges gets a hint when the
// write timeout passes, from a goroutine the coordinator owns.
func TestWriteHintsUnacknowledgedReplica(t *testing.T) {
	mc := newMemCluster(t, 2, 2)
	mc.net.hold(messaging.VerbMutation, true)
	if err := mc.coords[0].Apply(context.Background(), []*storage.Mutation{mc.mutation("a", "x", 1)}, consistency.One, consistency.WriteSimple); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the mutation to block", func() bool { return mc.net.heldNow.Load() == 1 })
	if mc.coords[0].HintsStored() != 0 {
		t.Fatal("hinted before the write timeout")
	}
	mc.clock.Advance(mc.coords[0].o.WriteTimeout)
	waitFor(t, 10*time.Second, "the hint", func() bool { return mc.coords[0].HintsStored() == 1 })
}

// TestStopEndsReplicaWork: Stop cancels work still waiting on a replica
// and returns only when every goroutine the coordinator started has
// ended, having stored the hint for the unacknowledged write while the
// engine was still open; nothing leaks.
func TestStopEndsReplicaWork(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mc := newMemCluster(t, 2, 2)
	for _, c := range mc.coords {
		c.Start()
	}
	mc.net.hold(messaging.VerbMutation, true)
	if err := mc.coords[0].Apply(context.Background(), []*storage.Mutation{mc.mutation("a", "x", 1)}, consistency.One, consistency.WriteSimple); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the mutation to block", func() bool { return mc.net.heldNow.Load() == 1 })
	stopped := make(chan struct{})
	go func() {
		mc.coords[0].Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	if mc.net.heldNow.Load() != 0 {
		t.Fatal("Stop returned while a replica request was still running")
	}
	if mc.coords[0].HintsStored() != 1 {
		t.Fatalf("hints stored: %d, want 1", mc.coords[0].HintsStored())
	}
	// New requests are refused, not run on a stopping node.
	if err := mc.coords[0].Apply(context.Background(), []*storage.Mutation{mc.mutation("b", "x", 1)}, consistency.One, consistency.WriteSimple); err == nil {
		t.Fatal("Apply after Stop succeeded")
	}
	mc.close()
}

// TestStopWithoutStart: a coordinator that never started stops at once.
func TestStopWithoutStart(t *testing.T) {
	mc := newMemCluster(t, 1, 1)
	done := make(chan struct{})
	go func() {
		mc.coords[0].Stop()
		mc.coords[0].Stop() // idempotent
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop without Start blocked")
	}
}

// TestWriteCancelledByClient: when the client's context ends, the
// coordinator stops waiting at once and counts the cancellation.
func TestWriteCancelledByClient(t *testing.T) {
	mc := newMemCluster(t, 3, 3)
	mc.net.hold(messaging.VerbMutation, true)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- mc.coords[0].Apply(ctx, []*storage.Mutation{mc.mutation("a", "x", 1)}, consistency.All, consistency.WriteSimple)
	}()
	waitFor(t, 10*time.Second, "both remote mutations to block", func() bool { return mc.net.heldNow.Load() == 2 })
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("cancelled write at ALL reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write did not end when its context was cancelled")
	}
	if mc.coords[0].RequestsCancelled() != 1 {
		t.Fatalf("cancelled: %d", mc.coords[0].RequestsCancelled())
	}
}

// scanKeys runs a range scan through coordinator i and returns the keys
// in the order they came.
func (mc *memCluster) scanKeys(ctx context.Context, i int, cl consistency.Level) ([]string, error) {
	var keys []string
	var last int64 = -1 << 63
	err := mc.coords[i].ScanPartitions(ctx, mc.table, storage.PartitionPos{Token: -1 << 63, Inclusive: true}, 1<<63-1, storage.PartitionQuery{}, cl,
		func(token int64, key []byte, rows storage.RowsFunc) bool {
			if token < last {
				mc.t.Errorf("scan out of token order: %d after %d", token, last)
			}
			last = token
			n := 0
			if err := rows(func(*storage.Row) bool { n++; return true }); err != nil {
				mc.t.Error(err)
			}
			if n > 0 {
				keys = append(keys, string(key))
			}
			return true
		})
	return keys, err
}

// TestRangeScanReconcilesAndRepairs: partitions that only some replicas
// hold are returned once each, in token order, across every token range
// and more than one page per range, and the replicas that missed them
// are repaired.
func TestRangeScanReconcilesAndRepairs(t *testing.T) {
	mc := newMemCluster(t, 3, 3)
	const n = 700 // > rangePage partitions in some ranges
	for i := 0; i < n; i++ {
		k := fmt.Sprint("k", i)
		// Each partition is on one replica only, in turn.
		if err := mc.eng[i%3].Apply([]*storage.Mutation{mc.mutation(k, "v", 1)}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := mc.scanKeys(context.Background(), 0, consistency.All)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Fatalf("partition %s returned twice", k)
		}
		seen[k] = true
	}
	if len(seen) != n {
		t.Fatalf("scan at ALL returned %d partitions, want %d", len(seen), n)
	}
	// Repaired: every replica now answers a local scan completely.
	for i := range mc.coords {
		for j := 0; j < n; j += 97 {
			if mc.localValue(i, fmt.Sprint("k", j)) != "v" {
				t.Fatalf("replica %d missing k%d after range read repair", i, j)
			}
		}
	}
}

// TestRangeReadCancelledByClient: a range read whose replicas are slow
// ends as soon as its client's context is cancelled; the replica requests
// in flight are cancelled with it and no further range is requested.
func TestRangeReadCancelledByClient(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mc := newMemCluster(t, 3, 3)
	mc.net.hold(messaging.VerbRangeRead, true)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := mc.scanKeys(ctx, 0, consistency.Quorum)
		errc <- err
	}()
	waitFor(t, 10*time.Second, "a range request to block", func() bool { return mc.net.heldNow.Load() >= 1 })
	sent := mc.coords[0].RangeRequestsSent()
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("cancelled range read reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("range read did not end when its context was cancelled")
	}
	waitFor(t, 10*time.Second, "held range requests to be released", func() bool { return mc.net.heldNow.Load() == 0 })
	if mc.net.released.Load() != mc.net.heldTotal.Load() {
		t.Fatalf("released %d of %d held requests", mc.net.released.Load(), mc.net.heldTotal.Load())
	}
	if got := mc.coords[0].RangeRequestsSent(); got != sent {
		t.Fatalf("range requests sent after cancellation: %d -> %d", sent, got)
	}
	if mc.coords[0].RequestsCancelled() != 1 {
		t.Fatalf("cancelled: %d", mc.coords[0].RequestsCancelled())
	}
	mc.close()
}

// TestReplicaVerbsMembersOnly: a peer the cluster has not admitted (a
// certificate the CA signed for a node that never joined) can neither
// write to nor read from a replica; the refusal is reported once per
// interval with the count, and members are served as before.
func TestReplicaVerbsMembersOnly(t *testing.T) {
	mc := newMemCluster(t, 2, 2)
	stranger := netip.MustParseAddr("127.0.0.159")
	var reports []string
	replica := mc.coords[1]
	replica.o.Admitted = func(ep netip.Addr) bool { return ep != stranger }
	replica.o.OnRefused = func(from netip.Addr, v messaging.Verb, n int) {
		reports = append(reports, fmt.Sprintf("%s %s %d", from, v, n))
	}
	attacker := mc.net.endpoint(stranger)
	payload := encodeMutations([]*storage.Mutation{mc.mutation("a", "evil", 99)})
	for i := 0; i < 3; i++ {
		if _, err := attacker.Request(context.Background(), mc.addrs[1], messaging.VerbMutation, payload); err == nil {
			t.Fatal("a mutation from a non-member was applied")
		}
	}
	read := encodeRead(&readCommand{table: storage.TableID(mc.table.ID), token: mc.mutation("a", "", 0).Token, key: []byte("a")})
	if b, err := attacker.Request(context.Background(), mc.addrs[1], messaging.VerbRead, read); err == nil || b != nil {
		t.Fatalf("a read from a non-member answered %q %v", b, err)
	}
	if got := mc.localValue(1, "a"); got != "" {
		t.Fatalf("replica holds %q written by a non-member", got)
	}
	if replica.RefusedVerbs() != 4 || len(reports) != 1 || reports[0] != "127.0.0.159 MUTATION 1" {
		t.Fatalf("refused %d, reports %v", replica.RefusedVerbs(), reports)
	}
	mc.clock.Advance(replica.o.RefusalReportInterval)
	_, _ = attacker.Request(context.Background(), mc.addrs[1], messaging.VerbMutation, payload)
	if len(reports) != 2 || reports[1] != "127.0.0.159 MUTATION 4" {
		t.Fatalf("reports after the interval: %v", reports)
	}
	// Members still write through the replica.
	if err := mc.coords[0].Apply(context.Background(), []*storage.Mutation{mc.mutation("a", "ok", 1)}, consistency.All, consistency.WriteSimple); err != nil {
		t.Fatal(err)
	}
	if got := mc.localValue(1, "a"); got != "ok" {
		t.Fatalf("member write: %q", got)
	}
}

// TestLocalScanHasADeadline: a scan this node serves alone (a filtering
// scan reading far more than it returns) ends with ReadTimeout once
// range_request_timeout passes on the coordinator's clock.
func TestLocalScanHasADeadline(t *testing.T) {
	mc := newMemCluster(t, 1, 1)
	for i := 0; i < 50; i++ {
		if err := mc.eng[0].Apply([]*storage.Mutation{mc.mutation(fmt.Sprint("k", i), "v", 1)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	err := mc.coords[0].ScanPartitions(context.Background(), mc.table, storage.PartitionPos{Token: -1 << 63, Inclusive: true}, 1<<63-1,
		storage.PartitionQuery{}, consistency.One, func(int64, []byte, storage.RowsFunc) bool {
			if seen++; seen == 10 {
				mc.clock.Advance(mc.coords[0].o.RangeTimeout)
			}
			return true
		})
	var ce *cqlerr.Error
	if !errors.As(err, &ce) || ce.Code != cqlerr.ReadTimeout {
		t.Fatalf("want ReadTimeout, got %v after %d partitions", err, seen)
	}
	if seen >= 50 {
		t.Fatalf("the scan read every partition (%d) past its deadline", seen)
	}
}
