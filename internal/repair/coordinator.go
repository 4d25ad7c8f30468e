package repair

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/streaming"
)

// This file is the coordinator side of repair (Cassandra's
// ActiveRepairService and RepairJob): the node nodetool runs on plans the
// sessions, gathers the replicas' trees and streams what differs.

// Summary is the outcome of one repair command.
type Summary struct {
	// Command is the command's number on this node (#1, #2, ...).
	Command int64
	// Keyspaces are the keyspaces with sessions.
	Keyspaces int
	// Ranges are the sessions (keyspace ranges) run.
	Ranges int
	// Jobs are the (range, table) comparisons run, failed ones included.
	Jobs int
	// Failed are the jobs that failed.
	Failed int
	// Differing are the jobs whose replicas differed.
	Differing int
	// SubRanges are the differing sub-ranges streamed, summed over the
	// replica pairs.
	SubRanges int
	// Pairs are the replica pairs that streamed (both ways).
	Pairs int
	// Partitions are the partitions in the differing leaves, summed over
	// both sides of every pair: an upper bound of the partitions streamed.
	Partitions uint64
	// Elapsed is the command's duration.
	Elapsed time.Duration
}

// jobResult is the outcome of one table's repair on one range.
type jobResult struct {
	syncs []Sync
}

func (r jobResult) subRanges() (n int) {
	for _, s := range r.syncs {
		n += len(s.Ranges)
	}
	return n
}

func (r jobResult) partitions() (n uint64) {
	for _, s := range r.syncs {
		n += s.PartitionsA + s.PartitionsB
	}
	return n
}

// Repair runs cmd with this node as coordinator (nodetool repair) and
// reports progress through report, one line per keyspace, per range and
// table, and a final summary. A range with a replica down, or whose trees
// or streams fail, fails with an error naming it and the others go on; the
// command then returns an error counting the failures and naming the first.
// Writes during the repair are safe: trees built at different moments can
// only differ more, which streams more (streaming merges, newest cell
// wins, tombstones included).
func (s *Service) Repair(ctx context.Context, cmd Command, report func(string)) (Summary, error) {
	sum := Summary{Command: s.commands.Add(1)}
	start := s.o.Now()
	plans, err := Plan(s.o.Schema(), s.o.Ring(), s.o.Self, cmd)
	if err != nil {
		return sum, fmt.Errorf("repair command #%d: %w", sum.Command, err)
	}
	say := func(msg string, args ...any) {
		line := fmt.Sprintf(msg, args...)
		report(line)
		s.o.Logger.Info(line)
	}
	var first error
	for _, kp := range plans {
		if kp.Skipped != "" {
			say("Repair command #%d: keyspace %s skipped: %s", sum.Command, kp.Keyspace, kp.Skipped)
			continue
		}
		sum.Keyspaces++
		say("Starting repair command #%d, repairing keyspace %s with repair options (parallelism: parallel, primary range: %t, incremental: false, full: true, tables: [%s], # of ranges: %d)",
			sum.Command, kp.Keyspace, cmd.PrimaryRange, tableNames(kp.Tables), len(kp.Sessions))
		for i, sess := range kp.Sessions {
			sum.Ranges++
			for _, tbl := range kp.Tables {
				res, err := s.repairJob(ctx, sess, tbl)
				if ctx.Err() != nil {
					return sum, fmt.Errorf("repair command #%d interrupted: %w", sum.Command, context.Cause(ctx))
				}
				sum.Jobs++
				prefix := fmt.Sprintf("Repair session %d/%d for range %v of %s.%s", i+1, len(kp.Sessions), sess.Range, kp.Keyspace, tbl.Name)
				if err != nil {
					sum.Failed++
					if first == nil {
						first = fmt.Errorf("range %v of %s.%s: %w", sess.Range, kp.Keyspace, tbl.Name, err)
					}
					say("%s failed: %v", prefix, err)
					continue
				}
				sum.add(res)
				say("%s finished: %s", prefix, describe(sess.Replicas, res))
			}
		}
	}
	sum.Elapsed = s.o.Now().Sub(start)
	say("Repair command #%d finished in %s: %d keyspaces, %d ranges, %d range-table jobs (%d failed), %d with differences: %d differing sub-ranges streamed both ways between %d replica pairs (%d partitions in the differing leaves)",
		sum.Command, sum.Elapsed.Round(time.Millisecond), sum.Keyspaces, sum.Ranges, sum.Jobs, sum.Failed, sum.Differing, sum.SubRanges, sum.Pairs, sum.Partitions)
	if first != nil {
		return sum, fmt.Errorf("repair command #%d failed: %d of %d range-table jobs failed; first: %w", sum.Command, sum.Failed, sum.Jobs, first)
	}
	return sum, nil
}

// add counts a successful job.
func (sum *Summary) add(r jobResult) {
	if len(r.syncs) == 0 {
		return
	}
	sum.Differing++
	sum.SubRanges += r.subRanges()
	sum.Pairs += len(r.syncs)
	sum.Partitions += r.partitions()
}

// describe is a finished job's progress line: in sync, or what differed
// between which replicas.
func describe(replicas []netip.Addr, r jobResult) string {
	if len(r.syncs) == 0 {
		return fmt.Sprintf("%d replicas in sync", len(replicas))
	}
	pairs := len(replicas) * (len(replicas) - 1) / 2
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d replica pairs differed in %d sub-ranges, streamed both ways (", len(r.syncs), pairs, r.subRanges())
	for i, sy := range r.syncs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s <-> %s: %d sub-ranges, %d/%d partitions", sy.A, sy.B, len(sy.Ranges), sy.PartitionsA, sy.PartitionsB)
	}
	b.WriteString(")")
	return b.String()
}

// repairJob repairs one table on one range: it checks that every replica
// is alive, gathers their trees, compares them pairwise and streams each
// differing pair's sub-ranges both ways.
func (s *Service) repairJob(ctx context.Context, sess Session, tbl TableRef) (res jobResult, err error) {
	for _, ep := range sess.Replicas {
		if !s.o.IsAlive(ep) {
			return jobResult{}, fmt.Errorf("repair: replica %s is down", ep)
		}
	}
	ctx, stop := s.watchReplicas(ctx, sess.Replicas)
	defer func() {
		if cause := stop(); cause != nil && err != nil {
			err = cause // the replica that went down, not the cancelled wait
		}
	}()
	trees, err := s.trees(ctx, sess, tbl.ID)
	if err != nil {
		return jobResult{}, err
	}
	syncs, err := Syncs(sess.Replicas, trees)
	if err != nil {
		return jobResult{}, err
	}
	for _, sy := range syncs {
		if err := s.sync(ctx, tbl.ID, sy); err != nil {
			return jobResult{}, err
		}
	}
	return jobResult{syncs: syncs}, nil
}

// replicaWatch is how often a running job checks that its replicas are
// still alive.
const replicaWatch = time.Second

// watchReplicas returns a context cancelled when one of replicas is
// marked down while the job runs (a request to a dead peer would
// otherwise wait for the validation timeout), and the function that ends
// the watch and returns why the context was cancelled, if it was.
func (s *Service) watchReplicas(ctx context.Context, replicas []netip.Addr) (context.Context, func() error) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(replicaWatch)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				for _, ep := range replicas {
					if ep != s.o.Self && !s.o.IsAlive(ep) {
						cancel(fmt.Errorf("repair: replica %s went down during the repair", ep))
						return
					}
				}
			}
		}
	})
	return ctx, func() error {
		close(done)
		wg.Wait()
		cause := context.Cause(ctx)
		cancel(nil)
		if errors.Is(cause, context.Canceled) {
			return nil
		}
		return cause
	}
}

// trees gathers every replica's tree of table over the session's range,
// all at once; it returns when all answered or failed.
func (s *Service) trees(ctx context.Context, sess Session, table storage.TableID) ([]*Tree, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	trees := make([]*Tree, len(sess.Replicas))
	errs := make([]error, len(sess.Replicas))
	var wg sync.WaitGroup
	for i, ep := range sess.Replicas {
		wg.Go(func() {
			trees[i], errs[i] = s.tree(ctx, ep, table, sess.Range)
			if errs[i] != nil {
				cancel() // the job fails: the others need not finish
			}
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, err
	}
	return trees, nil
}

// sync streams a pair's differing sub-ranges both ways at once: A pulls
// them from B and B from A. It returns when both ended.
func (s *Service) sync(ctx context.Context, table storage.TableID, sy Sync) error {
	var wg sync.WaitGroup
	var toA, toB error
	wg.Go(func() { toA = s.stream(ctx, sy.A, Transfers(table, sy.B, sy.Ranges)) })
	wg.Go(func() { toB = s.stream(ctx, sy.B, Transfers(table, sy.A, sy.Ranges)) })
	wg.Wait()
	if err := errors.Join(toA, toB); err != nil {
		return fmt.Errorf("repair: streaming between %s and %s: %w", sy.A, sy.B, err)
	}
	return nil
}

// stream has replica to pull transfers: this node pulls them itself,
// another is asked to (STREAM_REQUEST).
func (s *Service) stream(ctx context.Context, to netip.Addr, ts []streaming.Transfer) error {
	if to == s.o.Self {
		return s.o.Streamer.Pull(ctx, streamDesc, ts)
	}
	return s.o.Streamer.Request(ctx, to, streamDesc, ts)
}

// firstError returns the first error that is not a cancellation caused by
// another's failure, else the first error.
func firstError(errs []error) error {
	var first error
	for _, err := range errs {
		switch {
		case err == nil:
		case !errors.Is(err, context.Canceled):
			return err
		case first == nil:
			first = err
		}
	}
	return first
}
