package paxos

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/anishathalye/porcupine"
)

// The simulation runs Acceptors and concurrent Proposers doing
// compare-and-set on one register, over a network that delays, loses and
// reorders messages, inside a synctest bubble: time is virtual (seconds of
// timeouts and backoffs pass in milliseconds) and advances only when every
// goroutine is blocked. Each message's fate (loss, delay) is drawn from a
// source seeded by the seed and the message's identity, not from a shared
// stream, so it does not depend on goroutine scheduling. The history is
// checked for linearizability with porcupine.

type simConfig struct {
	seed           uint64
	acceptors      int
	clients        int
	opsPerClient   int
	loss           float64       // probability that a request or a response is lost
	notDelivered   float64       // share of lost requests reported as ErrNotDelivered
	maxDelay       time.Duration // one-way delay, uniform in [0, maxDelay)
	requestTimeout time.Duration // a lost message's call fails after this
	opTimeout      time.Duration // each operation's context (write_request_timeout)
	maxSkew        time.Duration // proposers' clocks differ by up to ±maxSkew
	commitAcks     int           // 0: quorum
	hideAccepted   bool          // injected bug: prepare responses drop Accepted
	hideCommitted  bool          // injected bug: prepare responses drop Committed
}

func (c simConfig) quorum() int { return c.acceptors/2 + 1 }

// simRegister is one replica's data: a value with its write timestamp,
// reconciled as Cassandra does (higher timestamp wins, then greater value).
type simRegister struct {
	mu     sync.Mutex
	val    int64
	micros int64
}

func encodeWrite(val, micros int64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(val)), uint64(micros))
}

func (r *simRegister) apply(update []byte) error {
	if len(update) != 16 {
		return fmt.Errorf("sim: bad update %x", update)
	}
	val, micros := int64(binary.BigEndian.Uint64(update)), int64(binary.BigEndian.Uint64(update[8:]))
	r.mu.Lock()
	defer r.mu.Unlock()
	if micros > r.micros || (micros == r.micros && val > r.val) {
		r.val, r.micros = val, micros
	}
	return nil
}

func (r *simRegister) read() (val, micros int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.val, r.micros
}

// simNet holds the replicas and draws message fates.
type simNet struct {
	cfg   simConfig
	addrs []netip.Addr
	accs  map[netip.Addr]*Acceptor
	data  map[netip.Addr]*simRegister

	mu         sync.Mutex
	seen       map[uint64]uint64 // message identity -> occurrences so far
	msgs, lost int
}

func newSimNet(t testing.TB, cfg simConfig) *simNet {
	n := &simNet{cfg: cfg, accs: map[netip.Addr]*Acceptor{}, data: map[netip.Addr]*simRegister{}, seen: map[uint64]uint64{}}
	for i := range cfg.acceptors {
		a := netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)})
		reg := &simRegister{}
		acc, err := NewAcceptor(AcceptorOptions{Store: newMemStore(), Apply: func(_ string, u []byte) error {
			return reg.apply(u)
		}})
		if err != nil {
			t.Fatal(err)
		}
		n.addrs = append(n.addrs, a)
		n.accs[a], n.data[a] = acc, reg
	}
	return n
}

// fate is what happens to one request and its response.
type fate struct {
	reqLost, notDelivered, respLost bool
	reqDelay, respDelay             time.Duration
}

// fate draws the fate of a message identified by its sender, kind, ballot,
// destination and how many identical messages came before.
func (n *simNet) fate(sender int, kind string, b Ballot, to netip.Addr) fate {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%v/%v", sender, kind, b, to)
	id := h.Sum64()
	n.mu.Lock()
	occurrence := n.seen[id]
	n.seen[id]++
	n.msgs++
	n.mu.Unlock()
	r := rand.New(rand.NewPCG(n.cfg.seed, id+occurrence*0x9e3779b97f4a7c15))
	delay := func() time.Duration { return time.Duration(r.Int64N(int64(n.cfg.maxDelay))) }
	f := fate{reqLost: r.Float64() < n.cfg.loss, respLost: r.Float64() < n.cfg.loss, reqDelay: delay(), respDelay: delay()}
	f.notDelivered = f.reqLost && r.Float64() < n.cfg.notDelivered
	if f.reqLost || f.respLost {
		n.mu.Lock()
		n.lost++
		n.mu.Unlock()
	}
	return f
}

var errSimTimeout = errors.New("sim: request timed out")

// send delivers act to a replica as the network would: after a delay, on a
// goroutine of its own (so a request already sent is delivered even if the
// caller stopped waiting), with the answer coming back after another.
func send[T any](ctx context.Context, n *simNet, sender int, kind string, b Ballot, to netip.Addr, act func() (T, error)) (T, error) {
	var zero T
	f := n.fate(sender, kind, b, to)
	if f.reqLost && f.notDelivered {
		return zero, fmt.Errorf("sim: no connection to %v: %w", to, ErrNotDelivered)
	}
	type answer struct {
		v   T
		err error
	}
	answers := make(chan answer, 1)
	if !f.reqLost {
		go func() {
			time.Sleep(f.reqDelay)
			v, err := act()
			time.Sleep(f.respDelay)
			if !f.respLost {
				answers <- answer{v, err}
			}
		}()
	}
	timer := time.NewTimer(n.cfg.requestTimeout)
	defer timer.Stop()
	select {
	case a := <-answers:
		return a.v, a.err
	case <-timer.C:
		return zero, errSimTimeout
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// simTransport is one proposer's view of the network.
type simTransport struct {
	n  *simNet
	id int
}

func (tr simTransport) Prepare(ctx context.Context, to netip.Addr, key string, b Ballot) (PrepareResponse, error) {
	return send(ctx, tr.n, tr.id, "prepare", b, to, func() (PrepareResponse, error) {
		r, err := tr.n.accs[to].Prepare(key, b)
		if tr.n.cfg.hideAccepted {
			r.Accepted = nil
		}
		if tr.n.cfg.hideCommitted {
			r.Committed = nil
		}
		return r, err
	})
}

func (tr simTransport) Propose(ctx context.Context, to netip.Addr, key string, p Proposal) (ProposeResponse, error) {
	return send(ctx, tr.n, tr.id, "propose", p.Ballot, to, func() (ProposeResponse, error) {
		ok, promised, err := tr.n.accs[to].Propose(key, p)
		return ProposeResponse{Accepted: ok, Promised: promised}, err
	})
}

func (tr simTransport) Commit(ctx context.Context, to netip.Addr, key string, p Proposal) error {
	_, err := send(ctx, tr.n, tr.id, "commit/"+string(p.Update), p.Ballot, to, func() (struct{}, error) {
		return struct{}{}, tr.n.accs[to].Commit(key, p)
	})
	return err
}

// readQuorum is the CheckFunc's read: the register from the first quorum
// of replicas to answer, reconciled by timestamp.
func (tr simTransport) readQuorum(ctx context.Context, b Ballot) (int64, error) {
	type reg struct{ val, micros int64 }
	results := make(chan reg, len(tr.n.addrs))
	errs := make(chan error, len(tr.n.addrs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, to := range tr.n.addrs {
		wg.Go(func() {
			r, err := send(ctx, tr.n, tr.id, "read", b, to, func() (reg, error) {
				v, m := tr.n.data[to].read()
				return reg{v, m}, nil
			})
			if err != nil {
				errs <- err
				return
			}
			results <- r
		})
	}
	defer wg.Wait()
	var best reg
	for got, failed := 0, 0; got < tr.n.cfg.quorum(); {
		select {
		case r := <-results:
			got++
			if r.micros > best.micros || (r.micros == best.micros && r.val > best.val) {
				best = r
			}
		case err := <-errs:
			if failed++; len(tr.n.addrs)-failed < tr.n.cfg.quorum() {
				return 0, fmt.Errorf("sim: quorum read: %w", err)
			}
		}
	}
	return best.val, nil
}

// simClock is a proposer's clock: the bubble's, skewed, at millisecond
// resolution (so that proposers often share a microsecond).
type simClock struct{ skew time.Duration }

func (c simClock) Now() time.Time { return time.Now().Add(c.skew).Truncate(time.Millisecond) }

func (c simClock) Sleep(ctx context.Context, d time.Duration) error {
	return SystemClock().Sleep(ctx, d)
}

// casInput and casOutput are a history's operations.
type casInput struct {
	read     bool
	exp, new int64
}

type casOutput struct {
	applied bool
	unknown bool
	seen    int64
}

// registerModel: a CAS applies when the register holds exp; one with an
// unknown outcome may or may not have applied.
var registerModel = porcupine.NondeterministicModel{
	Init: func() []any { return []any{int64(0)} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(int64), input.(casInput), output.(casOutput)
		switch {
		case in.read:
			if out.seen == s {
				return []any{s}
			}
		case out.unknown:
			if s == in.exp {
				return []any{in.new, s}
			}
			return []any{s}
		case out.applied:
			if s == in.exp {
				return []any{in.new}
			}
		case s != in.exp && out.seen == s:
			return []any{s}
		}
		return nil
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(casInput), output.(casOutput)
		if in.read {
			return fmt.Sprintf("read() -> %d", out.seen)
		}
		return fmt.Sprintf("cas(%d, %d) -> %+v", in.exp, in.new, out)
	},
}

// simStats counts what happened, to show the simulation exercised the
// paths it claims to.
type simStats struct {
	applied, notApplied, reads, unknown, commitTimeouts, failed, contentions, msgs, lost int
}

// runSim runs one simulation and returns its history.
func runSim(t *testing.T, cfg simConfig) ([]porcupine.Operation, simStats) {
	var history []porcupine.Operation
	var st simStats
	synctest.Test(t, func(t *testing.T) {
		n := newSimNet(t, cfg)
		start := time.Now()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for id := range cfg.clients {
			wg.Go(func() {
				ops, cs := runClient(t, n, id, start)
				mu.Lock()
				defer mu.Unlock()
				history = append(history, ops...)
				st.add(cs)
			})
		}
		wg.Wait()
		// Let the messages still in flight land: the bubble's clock stops
		// once this function returns.
		time.Sleep(2 * cfg.maxDelay)
		synctest.Wait()
		st.msgs, st.lost = n.msgs, n.lost
	})
	return history, st
}

func (s *simStats) add(o simStats) {
	s.applied += o.applied
	s.notApplied += o.notApplied
	s.reads += o.reads
	s.unknown += o.unknown
	s.commitTimeouts += o.commitTimeouts
	s.failed += o.failed
	s.contentions += o.contentions
}

// runClient runs one client's operations through its own Proposer.
func runClient(t *testing.T, n *simNet, id int, start time.Time) ([]porcupine.Operation, simStats) {
	cfg := n.cfg
	rng := rand.New(rand.NewPCG(cfg.seed, uint64(id)+1000))
	skew := time.Duration(rng.Int64N(int64(2*cfg.maxSkew)+1)) - cfg.maxSkew
	clock := simClock{skew: skew}
	tr := simTransport{n: n, id: id}
	p, err := NewProposer(ProposerOptions{
		Transport: tr,
		Ballots:   NewBallotGenerator(clock.Now, NewTiebreak([]byte{byte(id)}, uint32(id))),
		Clock:     clock,
		Rand:      rand.New(rand.NewPCG(cfg.seed, uint64(id))),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	commitAcks := cfg.commitAcks
	if commitAcks == 0 {
		commitAcks = cfg.quorum()
	}
	var ops []porcupine.Operation
	var st simStats
	var last int64
	for seq := range cfg.opsPerClient {
		time.Sleep(time.Duration(rng.Int64N(int64(5 * time.Millisecond))))
		in := casInput{read: rng.IntN(10) < 3, exp: last, new: int64(id*100000 + seq + 1)}
		if rng.IntN(10) == 0 {
			in.exp = int64(rng.IntN(cfg.clients))*100000 + 1 // sometimes a stale guess
		}
		var seen int64
		fn := func(ctx context.Context, b Ballot) ([]byte, bool, error) {
			v, err := tr.readQuorum(ctx, b)
			if err != nil {
				return nil, false, err
			}
			seen = v
			if in.read || v != in.exp {
				return nil, false, nil
			}
			return encodeWrite(in.new, b.Micros()), true, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), cfg.opTimeout)
		call := time.Since(start).Nanoseconds()
		out, err := p.CAS(ctx, "register", n.addrs, cfg.quorum(), commitAcks, fn)
		ret := time.Since(start).Nanoseconds()
		cancel()
		st.contentions += out.Contentions
		o, ok := classify(in, out, err, seen, &st)
		if !ok {
			continue
		}
		if o.unknown {
			ret = math.MaxInt64 // may take effect at any time later
		} else if !o.applied {
			last = o.seen
		} else {
			last = in.new
		}
		ops = append(ops, porcupine.Operation{ClientId: id, Input: in, Call: call, Output: o, Return: ret})
	}
	return ops, st
}

// classify turns a CAS result into a history output; ok is false for an
// operation that certainly had no effect (left out of the history).
func classify(in casInput, out Outcome, err error, seen int64, st *simStats) (casOutput, bool) {
	var te *TimeoutError
	switch {
	case err == nil && out.Applied:
		st.applied++
		return casOutput{applied: true}, true
	case err == nil && in.read:
		st.reads++
		return casOutput{seen: seen}, true
	case err == nil:
		st.notApplied++
		return casOutput{seen: seen}, true
	case errors.As(err, &te) && te.Phase == PhaseCommit:
		st.commitTimeouts++ // decided: applied
		return casOutput{applied: true}, true
	case errors.As(err, &te) && te.Unknown:
		st.unknown++
		return casOutput{unknown: true}, true
	}
	st.failed++
	return casOutput{}, false
}

// checkLinearizable checks history within timeout; it logs an illegal one
// (and writes porcupine's visualisation) when verbose.
func checkLinearizable(t *testing.T, history []porcupine.Operation, timeout time.Duration, verbose bool) porcupine.CheckResult {
	t.Helper()
	model := registerModel.ToModel()
	res, info := porcupine.CheckOperationsVerbose(model, history, timeout)
	if res == porcupine.Illegal && verbose {
		sort.Slice(history, func(i, j int) bool { return history[i].Call < history[j].Call })
		for _, op := range history {
			t.Logf("client %d [%d, %d] %s", op.ClientId, op.Call, op.Return, model.DescribeOperation(op.Input, op.Output))
		}
		if dir := t.TempDir(); porcupine.VisualizePath(model, info, dir+"/history.html") == nil {
			t.Logf("visualisation: %s/history.html", dir)
		}
	}
	return res
}

func defaultSim(seed uint64, acceptors, clients int) simConfig {
	return simConfig{
		seed: seed, acceptors: acceptors, clients: clients, opsPerClient: 200 / clients,
		loss: 0.05, notDelivered: 0.3, maxDelay: 3 * time.Millisecond, requestTimeout: 50 * time.Millisecond,
		opTimeout: 2 * time.Second, maxSkew: 20 * time.Millisecond,
	}
}

// simSeeds is the number of seeds per simulation shape:
// RINGDB_PAXOS_SIM_SEEDS when set (a longer soak), else a few.
func simSeeds(t *testing.T) uint64 {
	if env := os.Getenv("RINGDB_PAXOS_SIM_SEEDS"); env != "" {
		n, err := strconv.ParseUint(env, 10, 32)
		if err != nil {
			t.Fatalf("RINGDB_PAXOS_SIM_SEEDS=%q: %v", env, err)
		}
		return n
	}
	switch {
	case testing.Short():
		return 1
	case raceEnabled:
		return 2
	}
	return 6
}

// simShapes are the simulated clusters and networks.
var simShapes = []struct {
	name             string
	acceptors, users int
	tweak            func(*simConfig)
}{
	{name: "3 acceptors", acceptors: 3, users: 4},
	{name: "5 acceptors", acceptors: 5, users: 5},
	{name: "3 acceptors, commit ONE", acceptors: 3, users: 4, tweak: func(c *simConfig) { c.commitAcks = 1 }},
	// Answers often arrive after the caller gave up: many proposals are
	// accepted without the proposer knowing.
	{name: "5 acceptors, slow lossy network", acceptors: 5, users: 3, tweak: func(c *simConfig) {
		c.loss, c.maxDelay, c.requestTimeout, c.commitAcks = 0.05, 35*time.Millisecond, 50*time.Millisecond, 1
	}},
	// Clocks a second apart: ballots from the fast clocks keep winning.
	{name: "3 acceptors, skewed clocks", acceptors: 3, users: 4, tweak: func(c *simConfig) { c.maxSkew = time.Second }},
}

func TestSimulationLinearizable(t *testing.T) {
	for _, shape := range simShapes {
		for seed := range simSeeds(t) {
			cfg := defaultSim(seed+1, shape.acceptors, shape.users)
			if shape.tweak != nil {
				shape.tweak(&cfg)
			}
			t.Run(fmt.Sprintf("%s/seed-%d", shape.name, cfg.seed), func(t *testing.T) {
				history, st := runSim(t, cfg)
				t.Logf("%d ops in history: %+v", len(history), st)
				if res := checkLinearizable(t, history, time.Minute, true); res != porcupine.Ok {
					t.Fatalf("history is %s", res)
				}
				if st.applied+st.commitTimeouts+st.unknown == 0 || st.notApplied+st.reads == 0 || st.lost == 0 {
					t.Fatalf("the simulation exercised too little: %+v", st)
				}
			})
		}
	}
}

// The same seed gives the same history: message fates do not depend on
// goroutine scheduling, and virtual time orders everything else.
func TestSimulationReplays(t *testing.T) {
	cfg := defaultSim(7, 3, 4)
	a, sa := runSim(t, cfg)
	b, sb := runSim(t, cfg)
	key := func(h []porcupine.Operation) []string {
		var out []string
		for _, op := range h {
			out = append(out, fmt.Sprintf("%d %d %d %+v %+v", op.ClientId, op.Call, op.Return, op.Input, op.Output))
		}
		sort.Strings(out)
		return out
	}
	if sa != sb || !slices.Equal(key(a), key(b)) {
		t.Fatalf("two runs of seed %d differ: %+v vs %+v", cfg.seed, sa, sb)
	}
}

// The checker has teeth: with a bug injected, some seed gives a history
// that is not linearizable (found quickly; the seed loop is bounded).
func TestSimulationDetectsInjectedBugs(t *testing.T) {
	bugs := map[string]func(*simConfig){
		"proposer not finishing accepted proposals": func(c *simConfig) { c.hideAccepted = true },
		"proposer not seeing commits":               func(c *simConfig) { c.hideCommitted = true },
	}
	for name, inject := range bugs {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(100) {
				cfg := defaultSim(seed+100, 3, 4)
				cfg.opsPerClient, cfg.loss, cfg.commitAcks = 25, 0.15, 1
				inject(&cfg)
				history, _ := runSim(t, cfg)
				if checkLinearizable(t, history, 5*time.Second, false) == porcupine.Illegal {
					t.Logf("seed %d: not linearizable, as expected", cfg.seed)
					return
				}
			}
			t.Fatal("no seed exposed the injected bug")
		})
	}
}
