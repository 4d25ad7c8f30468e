package coordinator

import (
	"bytes"
	"context"
	"net/netip"

	"github.com/ringdb/ringdb/internal/consistency"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
)

// readTargets picks the replicas a read contacts: the closest live ones,
// enough for cl (per DC for EACH_QUORUM, local DC for LOCAL_*).
func (c *Coordinator) readTargets(k *schema.Keyspace, token int64, cl consistency.Level) ([]netip.Addr, int, error) {
	strat, rf, err := c.strategy(k)
	if err != nil {
		return nil, 0, err
	}
	natural := strat.NaturalEndpoints(c.o.Topology.Ring(), token)
	if len(natural) == 0 {
		natural = []netip.Addr{c.self}
	}
	block, perDC, err := blockFor(cl, rf, c.o.LocalDC)
	if err != nil {
		return nil, 0, err
	}
	if cl == consistency.Any {
		return nil, 0, cqlerr.Invalidf("ANY ConsistencyLevel is only supported for writes")
	}
	tr := newTracker(cl, block, perDC, c.o.LocalDC, c.dcOf)
	var live []netip.Addr
	for _, ep := range c.sortByProximity(natural) {
		if c.alive(ep) {
			live = append(live, ep)
		}
	}
	if err := tr.available(live); err != nil {
		return nil, 0, err
	}
	var targets []netip.Addr
	if perDC != nil {
		need := map[string]int{}
		for dc, n := range perDC {
			need[dc] = n
		}
		for _, ep := range live {
			if dc := c.dcOf(ep); need[dc] > 0 {
				need[dc]--
				targets = append(targets, ep)
			}
		}
	} else {
		for _, ep := range live {
			if len(targets) == block {
				break
			}
			if cl.IsLocal() && c.dcOf(ep) != c.o.LocalDC {
				continue
			}
			targets = append(targets, ep)
		}
	}
	return targets, block, nil
}

// digestOf is the digest of a (possibly absent) partition.
func digestOf(m *storage.Mutation) []byte {
	if m == nil {
		return []byte{0}
	}
	return storage.Digest(m)
}

// ReadPartition reads one partition at consistency cl and calls fn for
// each live row (per q). Replicas are asked within the read timeout and
// the request ends early when ctx does.
func (c *Coordinator) ReadPartition(ctx context.Context, t *schema.Table, token int64, key []byte, q storage.PartitionQuery, cl consistency.Level, fn func(*storage.Row) bool) error {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	k, err := c.keyspaceOf(storage.TableID(t.ID))
	if err != nil {
		return err
	}
	targets, block, err := c.readTargets(k, token, cl)
	if err != nil {
		return err
	}
	tid := storage.TableID(t.ID)
	if len(targets) == 1 && targets[0] == c.self {
		return c.o.Engine.ReadPartition(tid, token, key, q, fn)
	}
	// Replicas answer the whole slice: with a row limit, replicas that
	// disagree could each stop at different rows and the merge could not
	// tell a row deleted on one replica from a row it never read (the
	// short-read problem). The limit applies after reconciliation.
	rq := q
	rq.Limit = 0
	m, err := c.readReconciled(ctx, &readCommand{table: tid, token: token, key: key, q: rq}, cl, targets, block)
	if err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	return storage.ReadMutation(m, q, c.now(), fn)
}

// readFrom asks one replica for data or a digest.
func (c *Coordinator) readFrom(ctx context.Context, ep netip.Addr, cmd *readCommand) response {
	if ep == c.self {
		m, err := c.o.Engine.ReadPartitionRawQuery(cmd.table, cmd.token, cmd.key, cmd.q)
		if err != nil {
			return response{ep: ep, err: err}
		}
		if cmd.digest {
			return response{ep: ep, data: digestOf(m)}
		}
		return response{ep: ep, m: m, data: digestOf(m)}
	}
	verb := messaging.VerbRead
	if cmd.digest {
		verb = messaging.VerbReadDigest
	}
	b, err := c.o.Messenger.Request(ctx, ep, verb, encodeRead(cmd))
	if err != nil {
		return response{ep: ep, err: err}
	}
	if cmd.digest {
		return response{ep: ep, data: b}
	}
	ms, err := decodeMutations(b)
	if err != nil {
		return response{ep: ep, err: err}
	}
	var m *storage.Mutation
	if len(ms) > 0 {
		m = ms[0]
	}
	return response{ep: ep, m: m, data: digestOf(m)}
}

// readAll sends cmd to every target (data from the first, digests from
// the others unless full) on owned goroutines; the answers arrive on the
// returned channel.
func (c *Coordinator) readAll(ctx context.Context, cmd readCommand, targets []netip.Addr, full bool) chan response {
	results := make(chan response, len(targets))
	for i, ep := range targets {
		rc := cmd
		rc.digest = !full && i > 0
		if !c.goOwned(func() { results <- c.readFrom(ctx, ep, &rc) }) {
			results <- response{ep: ep, err: errStopping}
		}
	}
	return results
}

// readReconciled runs the data + digest protocol and, on a digest
// mismatch, full data reads and blocking read repair, all within the read
// timeout.
func (c *Coordinator) readReconciled(ctx context.Context, cmd *readCommand, cl consistency.Level, targets []netip.Addr, block int) (*storage.Mutation, error) {
	ctx, cancel := c.withTimeout(ctx, c.o.ReadTimeout)
	defer cancel()
	timeout := func(received int, data bool) func() error {
		return func() error { return readTimeout(cl, received, block, data) }
	}
	results := c.readAll(ctx, *cmd, targets, false)
	var data *response
	digests := map[netip.Addr][]byte{}
	for range targets {
		select {
		case r := <-results:
			if r.err != nil {
				continue
			}
			digests[r.ep] = r.data
			if r.ep == targets[0] {
				data = &r
			}
		case <-ctx.Done():
			return nil, c.ended(ctx, timeout(len(digests), data != nil))
		}
	}
	if len(digests) < len(targets) || data == nil {
		return nil, readTimeout(cl, len(digests), block, data != nil)
	}
	match := true
	for _, d := range digests {
		match = match && bytes.Equal(d, data.data)
	}
	if match {
		return data.m, nil
	}
	// Digest mismatch: full data from every target, reconcile, repair.
	full := c.readAll(ctx, *cmd, targets, true)
	versions := map[netip.Addr]*storage.Mutation{}
	for range targets {
		select {
		case r := <-full:
			if r.err != nil {
				return nil, readTimeout(cl, len(versions), block, true)
			}
			versions[r.ep] = r.m
		case <-ctx.Done():
			return nil, c.ended(ctx, timeout(len(versions), true))
		}
	}
	merged := mergeVersions(versions)
	if merged == nil {
		return nil, nil
	}
	if err := c.repairReplicas(ctx, versions, merged); err != nil {
		return nil, c.ended(ctx, timeout(block, true))
	}
	return merged, nil
}

// mergeVersions reconciles the replicas' versions of a partition (nil if
// no replica has it).
func mergeVersions(versions map[netip.Addr]*storage.Mutation) *storage.Mutation {
	var all []*storage.Mutation
	for _, m := range versions {
		if m != nil {
			all = append(all, m)
		}
	}
	if len(all) == 0 {
		return nil
	}
	return storage.MergeMutations(all...)
}

// repairReplicas sends merged to every replica whose version differs and
// waits for them (blocking read repair). A replica that fails is logged;
// the read still answers. It returns an error only if ctx ends first.
func (c *Coordinator) repairReplicas(ctx context.Context, versions map[netip.Addr]*storage.Mutation, merged *storage.Mutation) error {
	want := digestOf(merged)
	payload := encodeMutations([]*storage.Mutation{merged})
	repairs := make(chan error, len(versions))
	n := 0
	for ep, m := range versions {
		if bytes.Equal(digestOf(m), want) {
			continue
		}
		n++
		ok := c.goOwned(func() {
			if ep == c.self {
				repairs <- c.o.Engine.Apply([]*storage.Mutation{merged})
				return
			}
			_, err := c.o.Messenger.Request(ctx, ep, messaging.VerbMutation, payload)
			repairs <- err
		})
		if !ok {
			repairs <- errStopping
		}
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-repairs:
			if err != nil {
				c.log.Warn("read repair failed", "err", err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if n > 0 {
		c.readRepairs.Add(int64(n))
		c.log.Debug("read repair", "replicas_repaired", n)
	}
	return nil
}
