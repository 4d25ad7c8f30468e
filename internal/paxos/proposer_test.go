package paxos

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var errDown = errors.New("replica down")

// timeoutOf returns err as a *TimeoutError or fails the test.
func timeoutOf(t *testing.T, err error) *TimeoutError {
	t.Helper()
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("error %v is not a *TimeoutError", err)
	}
	return te
}

func TestCASApplies(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, _ := testProposer(t, tc)
	f := &checkFn{update: "v1"}
	out, err := runCAS(t, context.Background(), p, tc, 2, 2, f)
	if err != nil || !out.Applied || out.Contentions != 0 {
		t.Fatalf("CAS: %+v %v", out, err)
	}
	if got := f.calls(); len(got) != 1 || got[0] != out.Ballot || got[0].Micros() != testEpoch.UnixMicro() {
		t.Fatalf("check called with %v, outcome ballot %v", got, out.Ballot)
	}
	for i := range tc.addrs {
		st := tc.state(i, "k")
		if st.Committed == nil || st.Committed.Ballot != out.Ballot || string(st.Committed.Update) != "v1" || st.Accepted != nil {
			t.Errorf("replica %d state %+v", i, st)
		}
		if got := tc.logs[tc.addrs[i]].list(); !slices.Equal(got, []string{"k=v1"}) {
			t.Errorf("replica %d applied %v", i, got)
		}
	}
	for _, op := range []string{"prepare", "propose", "commit"} {
		if n := len(tc.callsOf(op)); n != 3 {
			t.Errorf("%d %s calls, want 3", n, op)
		}
	}
}

func TestCASSerialReadProposesNothing(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, _ := testProposer(t, tc)
	f := &checkFn{} // never applies
	out, err := runCAS(t, context.Background(), p, tc, 2, 2, f)
	if err != nil || out.Applied || out.Ballot.IsZero() {
		t.Fatalf("serial read: %+v %v", out, err)
	}
	if n := len(tc.callsOf("propose")) + len(tc.callsOf("commit")); n != 0 {
		t.Fatalf("a read sent %d proposals/commits", n)
	}
}

func TestCASCheckError(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, _ := testProposer(t, tc)
	boom := errors.New("read timeout")
	_, err := runCAS(t, context.Background(), p, tc, 2, 2, &checkFn{update: "x", err: boom})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "read and check") {
		t.Fatalf("error %v", err)
	}
	if len(tc.callsOf("propose")) != 0 {
		t.Fatal("proposed after a failed check")
	}
}

func TestCASRefusedPrepareObservesAndBacksOff(t *testing.T) {
	tc := newTestCluster(t, 3)
	high := NewBallot(testEpoch.Add(time.Hour).UnixMicro(), 1) // a rival with a fast clock
	for i := range 3 {
		tc.setState(t, i, "k", AcceptorState{Promised: high})
	}
	p, clk := testProposer(t, tc)
	f := &checkFn{update: "v"}
	out, err := runCAS(t, context.Background(), p, tc, 2, 2, f)
	if err != nil || !out.Applied || out.Contentions != 1 {
		t.Fatalf("CAS: %+v %v", out, err)
	}
	if !out.Ballot.After(high) || out.Ballot.Micros() != high.Micros()+1 {
		t.Fatalf("retry ballot %v not just after the refusing %v", out.Ballot, high)
	}
	if got := clk.slept(); !slices.Equal(got, []time.Duration{DefaultInitialBackoff}) {
		t.Fatalf("slept %v, want one initial backoff", got)
	}
	if got := f.calls(); len(got) != 1 {
		t.Fatalf("check called %d times, want 1 (not in the lost round)", len(got))
	}
}

// rivalPreparesFirst makes a rival promise a ballot just after each of ours
// on the replica before our prepare reaches it.
func rivalPreparesFirst(tc *testCluster, ops ...string) func(context.Context, call) error {
	return func(_ context.Context, c call) error {
		if slices.Contains(ops, c.op) {
			_, err := tc.accs[c.to].Prepare("k", NewBallot(c.ballot.Micros()+1, 99))
			return err
		}
		return nil
	}
}

func TestCASBackoffGrowsUntilContentionTimeout(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, clk := testProposer(t, tc)
	tc.setHooks(rivalPreparesFirst(tc, "prepare"), nil)
	out, err := runCAS(t, context.Background(), p, tc, 2, 2, &checkFn{update: "v"})
	te := timeoutOf(t, err)
	if te.Phase != PhasePrepare || !errors.Is(err, ErrContention) || te.Unknown || te.Required != 2 || te.Acks != 0 {
		t.Fatalf("contention timeout %+v", te)
	}
	ms := time.Millisecond
	want := []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms}
	for total := 150 * ms; total < DefaultContentionTimeout; total += 100 * ms {
		want = append(want, 100*ms)
	}
	if got := clk.slept(); !slices.Equal(got, want) {
		t.Fatalf("backoffs %v, want %v", got, want)
	}
	if te.Contentions != len(want) || out.Contentions != len(want) {
		t.Fatalf("contentions %d/%d, want %d", te.Contentions, out.Contentions, len(want))
	}
	if !strings.Contains(err.Error(), "CAS operation timed out: received 0 of 2 required responses after 13 contention retries") {
		t.Fatalf("message %q", err)
	}
}

func TestCASBackoffOptions(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, clk := testProposer(t, tc, func(o *ProposerOptions) {
		o.InitialBackoff, o.MaxBackoff, o.ContentionTimeout = 3*time.Millisecond, 7*time.Millisecond, 20*time.Millisecond
	})
	tc.setHooks(rivalPreparesFirst(tc, "prepare"), nil)
	_, err := runCAS(t, context.Background(), p, tc, 2, 2, &checkFn{update: "v"})
	timeoutOf(t, err)
	ms := time.Millisecond
	if got, want := clk.slept(), []time.Duration{3 * ms, 6 * ms, 7 * ms, 7 * ms}; !slices.Equal(got, want) {
		t.Fatalf("backoffs %v, want %v", got, want)
	}
}

func TestCASBackoffIsRandomBelowBound(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, clk := testProposer(t, tc, func(o *ProposerOptions) { o.Rand = nil })
	tc.setHooks(rivalPreparesFirst(tc, "prepare"), nil)
	_, _ = runCAS(t, context.Background(), p, tc, 2, 2, &checkFn{update: "v"})
	sleeps := clk.slept()
	distinct := map[time.Duration]bool{}
	for i, d := range sleeps {
		bound := min(DefaultInitialBackoff<<i, DefaultMaxBackoff)
		if d < 0 || d > bound {
			t.Fatalf("backoff %d is %v, bound %v", i, d, bound)
		}
		distinct[d] = true
	}
	if len(sleeps) < 10 || len(distinct) < len(sleeps)/2 {
		t.Fatalf("backoffs %v do not look random", sleeps)
	}
}

func TestCASFullyRefusedProposalRetries(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, _ := testProposer(t, tc)
	var once sync.Once
	f := &checkFn{update: "v"}
	// Between our prepare and our proposal, a rival prepares everywhere.
	f.during = func(b Ballot) {
		once.Do(func() {
			for _, a := range tc.addrs {
				_, _ = tc.accs[a].Prepare("k", NewBallot(b.Micros()+1, 99))
			}
		})
	}
	out, err := runCAS(t, context.Background(), p, tc, 2, 2, f)
	if err != nil || !out.Applied || out.Contentions != 1 {
		t.Fatalf("CAS: %+v %v", out, err)
	}
	calls := f.calls()
	if len(calls) != 2 || out.Ballot != calls[1] {
		t.Fatalf("check ballots %v, outcome %v", calls, out.Ballot)
	}
	for _, c := range tc.callsOf("commit") {
		if c.ballot == calls[0] {
			t.Fatalf("the refused round's proposal was committed: %v", c)
		}
	}
}

func TestCASPartialAcceptanceIsUnknown(t *testing.T) {
	// What happens to the proposals to replicas 2 and 3 (replica 1 accepts).
	cases := map[string]func(tc *testCluster, c call) error{
		"two errors": func(*testCluster, call) error { return errDown },
		"two refusals": func(tc *testCluster, c call) error {
			_, err := tc.accs[c.to].Prepare("k", NewBallot(c.ballot.Micros()+1, 99))
			return err
		},
	}
	for name, fail := range cases {
		t.Run(name, func(t *testing.T) {
			tc := newTestCluster(t, 3)
			p, _ := testProposer(t, tc)
			tc.setHooks(func(_ context.Context, c call) error {
				if c.op == "propose" && c.to != tc.addrs[0] {
					return fail(tc, c)
				}
				return nil
			}, nil)
			f := &checkFn{update: "v"}
			_, err := runCAS(t, context.Background(), p, tc, 2, 2, f)
			te := timeoutOf(t, err)
			if te.Phase != PhasePropose || !te.Unknown || te.Acks != 1 || te.Required != 2 {
				t.Fatalf("timeout %+v", te)
			}
			if n := len(f.calls()); n != 1 {
				t.Fatalf("a partially accepted proposal was retried (%d checks)", n)
			}
			if !strings.Contains(err.Error(), "outcome unknown") {
				t.Fatalf("message %q", err)
			}
		})
	}
}

func TestCASUndeliveredProposals(t *testing.T) {
	notSent := errors.New("no connection: " + ErrNotDelivered.Error())
	notSentErr := func() error { return errors.Join(notSent, ErrNotDelivered) }
	t.Run("refused and undelivered retries", func(t *testing.T) {
		tc := newTestCluster(t, 3)
		p, _ := testProposer(t, tc)
		var proposals atomic.Int32
		tc.setHooks(func(_ context.Context, c call) error {
			if c.op != "propose" || proposals.Add(1) > 3 {
				return nil
			}
			if c.to == tc.addrs[0] {
				_, err := tc.accs[c.to].Prepare("k", NewBallot(c.ballot.Micros()+1, 99))
				return err
			}
			return notSentErr()
		}, nil)
		f := &checkFn{update: "v"}
		out, err := runCAS(t, context.Background(), p, tc, 2, 2, f)
		if err != nil || !out.Applied || out.Contentions != 1 || len(f.calls()) != 2 {
			t.Fatalf("CAS %+v %v, %d checks", out, err, len(f.calls()))
		}
	})
	t.Run("all undelivered is a known failure", func(t *testing.T) {
		tc := newTestCluster(t, 3)
		p, _ := testProposer(t, tc)
		tc.setHooks(func(_ context.Context, c call) error {
			if c.op == "propose" {
				return notSentErr()
			}
			return nil
		}, nil)
		_, err := runCAS(t, context.Background(), p, tc, 2, 2, &checkFn{update: "v"})
		te := timeoutOf(t, err)
		if te.Phase != PhasePropose || te.Unknown || !errors.Is(err, ErrNotDelivered) {
			t.Fatalf("timeout %+v", te)
		}
	})
	t.Run("refused, undelivered and failed is unknown", func(t *testing.T) {
		tc := newTestCluster(t, 3)
		p, _ := testProposer(t, tc)
		tc.setHooks(func(_ context.Context, c call) error {
			switch {
			case c.op != "propose":
				return nil
			case c.to == tc.addrs[0]:
				_, err := tc.accs[c.to].Prepare("k", NewBallot(c.ballot.Micros()+1, 99))
				return err
			case c.to == tc.addrs[1]:
				return notSentErr()
			}
			return errDown
		}, nil)
		_, err := runCAS(t, context.Background(), p, tc, 2, 2, &checkFn{update: "v"})
		if te := timeoutOf(t, err); te.Phase != PhasePropose || !te.Unknown || te.Acks != 0 {
			t.Fatalf("timeout %+v", te)
		}
	})
}

func TestCASLostAnswerToAcceptedProposalIsUnknown(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, _ := testProposer(t, tc)
	// Replicas 2 and 3 accept, but their answers are lost.
	tc.setHooks(nil, func(_ context.Context, c call) error {
		if c.op == "propose" && c.to != tc.addrs[0] {
			return errDown
		}
		return nil
	})
	_, err := runCAS(t, context.Background(), p, tc, 2, 2, &checkFn{update: "v"})
	if te := timeoutOf(t, err); te.Phase != PhasePropose || !te.Unknown {
		t.Fatalf("timeout %+v", te)
	}
	// A later round finishes it: the update was chosen.
	tc.setHooks(nil, nil)
	out, err := runCAS(t, context.Background(), p, tc, 2, 2, &checkFn{})
	if err != nil || out.Applied {
		t.Fatalf("read: %+v %v", out, err)
	}
	for i := range 3 {
		if st := tc.state(i, "k"); st.Committed == nil || string(st.Committed.Update) != "v" {
			t.Errorf("replica %d: the accepted update was not finished: %+v", i, st)
		}
	}
}

func TestCASFinishesInProgressProposal(t *testing.T) {
	tc := newTestCluster(t, 3)
	old := testEpoch.Add(-time.Minute).UnixMicro()
	committed := &Proposal{Ballot: NewBallot(old, 1), Update: []byte("c0")}
	accepted := &Proposal{Ballot: NewBallot(old+10, 2), Update: []byte("interrupted")}
	// Two of three replicas accepted it: any quorum of promises shows it.
	tc.setState(t, 0, "k", AcceptorState{Promised: accepted.Ballot, Accepted: accepted, Committed: committed})
	tc.setState(t, 1, "k", AcceptorState{Promised: accepted.Ballot, Accepted: accepted, Committed: committed})
	tc.setState(t, 2, "k", AcceptorState{Promised: committed.Ballot, Committed: committed})
	p, clk := testProposer(t, tc)
	f := &checkFn{update: "mine"}
	out, err := runCAS(t, context.Background(), p, tc, 2, 2, f)
	if err != nil || !out.Applied || out.Contentions != 0 || len(clk.slept()) != 0 {
		t.Fatalf("CAS: %+v %v (slept %v)", out, err, clk.slept())
	}
	prepares := tc.callsOf("prepare")
	first := prepares[0].ballot
	var proposals []call
	for _, c := range tc.callsOf("propose") {
		if c.to == tc.addrs[0] {
			proposals = append(proposals, c)
		}
	}
	if len(proposals) != 2 || proposals[0].update != "interrupted" || proposals[0].ballot != first ||
		proposals[1].update != "mine" || !proposals[1].ballot.After(first) {
		t.Fatalf("proposals to replica 1: %v (first ballot %v)", proposals, first)
	}
	if got := f.calls(); len(got) != 1 || got[0] != proposals[1].ballot {
		t.Fatalf("check ran at %v, want only in the new round %v", got, proposals[1].ballot)
	}
	if n := len(prepares); n != 6 {
		t.Fatalf("%d prepares, want 2 rounds of 3", n)
	}
	for i := range 3 {
		if got := tc.logs[tc.addrs[i]].list(); !slices.Equal(got, []string{"k=interrupted", "k=mine"}) {
			t.Errorf("replica %d applied %v", i, got)
		}
	}
}

func TestCASIgnoresAcceptedOlderThanCommit(t *testing.T) {
	tc := newTestCluster(t, 3)
	old := testEpoch.Add(-time.Minute).UnixMicro()
	stale := &Proposal{Ballot: NewBallot(old, 1), Update: []byte("stale")}
	committed := &Proposal{Ballot: NewBallot(old+10, 2), Update: []byte("c")}
	tc.setState(t, 0, "k", AcceptorState{Promised: stale.Ballot, Accepted: stale})
	tc.setState(t, 1, "k", AcceptorState{Promised: committed.Ballot, Committed: committed})
	tc.setState(t, 2, "k", AcceptorState{Promised: committed.Ballot, Committed: committed})
	p, _ := testProposer(t, tc)
	out, err := runCAS(t, context.Background(), p, tc, 3, 3, &checkFn{update: "mine"})
	if err != nil || !out.Applied {
		t.Fatalf("CAS: %+v %v", out, err)
	}
	for _, c := range tc.callsOf("propose") {
		if c.update == "stale" {
			t.Fatalf("re-proposed an accepted proposal older than the most recent commit: %v", c)
		}
	}
	// Replica 1 missed the commit: repaired, and its stale proposal cleared.
	if got := tc.logs[tc.addrs[0]].list(); !slices.Equal(got, []string{"k=c", "k=mine"}) {
		t.Fatalf("replica 1 applied %v", got)
	}
}

func TestCASRepairsLaggingReplicasBeforeChecking(t *testing.T) {
	tc := newTestCluster(t, 3)
	old := testEpoch.Add(-time.Minute).UnixMicro()
	c1 := &Proposal{Ballot: NewBallot(old, 1), Update: []byte("c1")}
	c2 := &Proposal{Ballot: NewBallot(old+10, 1), Update: []byte("c2")}
	tc.setState(t, 0, "k", AcceptorState{Promised: c2.Ballot, Committed: c2})
	tc.setState(t, 1, "k", AcceptorState{Promised: c1.Ballot, Committed: c1})
	// replica 3 has nothing at all
	p, _ := testProposer(t, tc)
	f := &checkFn{update: "mine"}
	f.during = func(Ballot) {
		for i := 1; i < 3; i++ {
			if !slices.Contains(tc.logs[tc.addrs[i]].list(), "k=c2") {
				t.Errorf("replica %d had not applied the most recent commit when the check ran", i+1)
			}
		}
	}
	out, err := runCAS(t, context.Background(), p, tc, 3, 3, f)
	if err != nil || !out.Applied {
		t.Fatalf("CAS: %+v %v", out, err)
	}
	var repairs []netip.Addr
	for _, c := range tc.callsOf("commit") {
		if c.update == "c2" {
			repairs = append(repairs, c.to)
		}
	}
	slices.SortFunc(repairs, netip.Addr.Compare)
	if !slices.Equal(repairs, tc.addrs[1:]) {
		t.Fatalf("repaired %v, want %v", repairs, tc.addrs[1:])
	}
	if n := len(tc.callsOf("prepare")); n != 3 {
		t.Fatalf("%d prepares: the round should go on after the repair", n)
	}
}

func TestCASRepairFailureStartsANewRound(t *testing.T) {
	tc := newTestCluster(t, 3)
	old := testEpoch.Add(-time.Minute).UnixMicro()
	c := &Proposal{Ballot: NewBallot(old, 1), Update: []byte("c")}
	tc.setState(t, 0, "k", AcceptorState{Promised: c.Ballot, Committed: c})
	var failed atomic.Bool
	tc.setHooks(func(_ context.Context, cl call) error {
		if cl.op == "commit" && cl.update == "c" && cl.to == tc.addrs[2] && !failed.Swap(true) {
			return errDown
		}
		return nil
	}, nil)
	p, clk := testProposer(t, tc)
	f := &checkFn{update: "mine"}
	out, err := runCAS(t, context.Background(), p, tc, 3, 3, f)
	if err != nil || !out.Applied || out.Contentions != 1 || len(clk.slept()) != 1 || len(f.calls()) != 1 {
		t.Fatalf("CAS: %+v %v, slept %v, checks %v", out, err, clk.slept(), f.calls())
	}
}

func TestCASRestartsWhenCommitIsNotOlderThanBallot(t *testing.T) {
	tc := newTestCluster(t, 3)
	now := testEpoch.UnixMicro()
	// A rival committed at our clock's exact microsecond with a lower
	// tiebreak: our first ballot (now, 5) is promised, but an update
	// stamped at `now` would not be newer than the committed one.
	c := &Proposal{Ballot: NewBallot(now, 1), Update: []byte("c")}
	for i := range 3 {
		tc.setState(t, i, "k", AcceptorState{Promised: c.Ballot, Committed: c})
	}
	p, clk := testProposer(t, tc)
	f := &checkFn{update: "mine"}
	out, err := runCAS(t, context.Background(), p, tc, 2, 2, f)
	if err != nil || !out.Applied || out.Contentions != 0 || len(clk.slept()) != 0 {
		t.Fatalf("CAS: %+v %v", out, err)
	}
	if got := f.calls(); len(got) != 1 || got[0].Micros() != now+1 {
		t.Fatalf("check ballots %v, want one at micros %d", got, now+1)
	}
}

func TestCASQuorumArithmetic(t *testing.T) {
	down := func(n int, ops ...string) func(tc *testCluster) func(context.Context, call) error {
		return func(tc *testCluster) func(context.Context, call) error {
			return func(_ context.Context, c call) error {
				if (len(ops) == 0 || slices.Contains(ops, c.op)) && slices.Index(tc.addrs, c.to) < n {
					return errDown
				}
				return nil
			}
		}
	}
	cases := []struct {
		name                  string
		replicas, quorum, cl  int
		hook                  func(*testCluster) func(context.Context, call) error
		phase                 Phase
		acks, required        int
		wantApplied, wantFail bool
	}{
		{name: "5/3 with 2 down", replicas: 5, quorum: 3, cl: 3, hook: down(2), wantApplied: true},
		{name: "5/3 with 3 down", replicas: 5, quorum: 3, cl: 3, hook: down(3), wantFail: true, phase: PhasePrepare, acks: 2, required: 3},
		{name: "3/2 commit ONE with 2 commits failing", replicas: 3, quorum: 2, cl: 1, hook: down(2, "commit"), wantApplied: true},
		{name: "3/2 commit QUORUM with 2 commits failing", replicas: 3, quorum: 2, cl: 2, hook: down(2, "commit"),
			wantApplied: true, wantFail: true, phase: PhaseCommit, acks: 1, required: 2},
		{name: "4/3 (a pending replica) with 1 down", replicas: 4, quorum: 3, cl: 3, hook: down(1), wantApplied: true},
		{name: "1/1", replicas: 1, quorum: 1, cl: 1, wantApplied: true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tc := newTestCluster(t, tt.replicas)
			if tt.hook != nil {
				tc.setHooks(tt.hook(tc), nil)
			}
			p, _ := testProposer(t, tc)
			out, err := runCAS(t, context.Background(), p, tc, tt.quorum, tt.cl, &checkFn{update: "v"})
			if out.Applied != tt.wantApplied {
				t.Errorf("applied %v, want %v", out.Applied, tt.wantApplied)
			}
			if !tt.wantFail {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			te := timeoutOf(t, err)
			// Acks counts what arrived before failure was certain: at most
			// the live replicas.
			if te.Phase != tt.phase || te.Acks > tt.acks || te.Required != tt.required || te.Unknown {
				t.Fatalf("timeout %+v", te)
			}
			if !errors.Is(err, errDown) {
				t.Fatalf("error %v does not wrap the replica's", err)
			}
		})
	}
}

func TestCASCommitTimeoutMessage(t *testing.T) {
	te := &TimeoutError{Phase: PhaseCommit, Acks: 1, Required: 2}
	if got, want := te.Error(), "Operation timed out - received only 1 responses. (paxos commit)"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}

// blockUntilCancelled blocks calls matching match until their context ends.
func blockUntilCancelled(match func(call) bool) func(context.Context, call) error {
	return func(ctx context.Context, c call) error {
		if match(c) {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
}

func TestCASReturnsAtCommitAcksWithoutWaitingForSlowReplicas(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, _ := testProposer(t, tc)
	// Commits to replicas 2 and 3 hang until cancelled.
	tc.setHooks(nil, blockUntilCancelled(func(c call) bool { return c.op == "commit" && c.to != tc.addrs[0] }))
	out, err := runCAS(t, context.Background(), p, tc, 2, 1, &checkFn{update: "v"})
	if err != nil || !out.Applied {
		t.Fatalf("CAS: %+v %v", out, err)
	}
	// The slow replicas did receive the commit (delivered before the wait).
	for i := range 3 {
		if st := tc.state(i, "k"); st.Committed == nil {
			t.Errorf("replica %d never received the commit", i+1)
		}
	}
}

func TestCASContextCancelled(t *testing.T) {
	for _, op := range []string{"prepare", "propose", "commit"} {
		t.Run(op, func(t *testing.T) {
			tc := newTestCluster(t, 3)
			p, _ := testProposer(t, tc)
			// The hook blocks after delivery, so a blocked proposal is accepted.
			tc.setHooks(nil, blockUntilCancelled(func(c call) bool { return c.op == op }))
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			out, err := runCAS(t, ctx, p, tc, 2, 2, &checkFn{update: "v"})
			te := timeoutOf(t, err)
			if !errors.Is(err, context.Canceled) || te.Phase != Phase(op) {
				t.Fatalf("error %v", err)
			}
			if te.Unknown != (op == "propose") || out.Applied != (op == "commit") {
				t.Fatalf("unknown %v, applied %v", te.Unknown, out.Applied)
			}
		})
	}
	t.Run("deadline during backoff", func(t *testing.T) {
		tc := newTestCluster(t, 3)
		p, _ := testProposer(t, tc, func(o *ProposerOptions) { o.Clock = SystemClock() })
		tc.setHooks(rivalPreparesFirst(tc, "prepare"), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := runCAS(t, ctx, p, tc, 2, 2, &checkFn{update: "v"})
		if te := timeoutOf(t, err); !errors.Is(err, context.DeadlineExceeded) || te.Phase != PhasePrepare || te.Unknown {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("repairing a lagging replica", func(t *testing.T) {
		tc := newTestCluster(t, 3)
		c := &Proposal{Ballot: NewBallot(testEpoch.Add(-time.Minute).UnixMicro(), 1), Update: []byte("c")}
		tc.setState(t, 0, "k", AcceptorState{Promised: c.Ballot, Committed: c})
		tc.setHooks(blockUntilCancelled(func(cl call) bool { return cl.op == "commit" }), nil)
		p, _ := testProposer(t, tc)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		f := &checkFn{update: "v"}
		_, err := runCAS(t, ctx, p, tc, 3, 3, f)
		if te := timeoutOf(t, err); te.Phase != PhasePrepare || te.Unknown || te.Required != 2 || len(f.calls()) != 0 {
			t.Fatalf("error %+v, checks %v", te, f.calls())
		}
	})
	t.Run("expired before proposing", func(t *testing.T) {
		tc := newTestCluster(t, 3)
		p, _ := testProposer(t, tc)
		ctx, cancel := context.WithCancel(context.Background())
		f := &checkFn{update: "v", during: func(Ballot) { cancel() }}
		_, err := runCAS(t, ctx, p, tc, 2, 2, f)
		if te := timeoutOf(t, err); te.Phase != PhasePropose || te.Unknown || len(tc.callsOf("propose")) != 0 {
			t.Fatalf("error %+v, %d proposals", te, len(tc.callsOf("propose")))
		}
	})
}

func TestCASArguments(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, _ := testProposer(t, tc)
	a := tc.addrs
	f := (&checkFn{update: "v"}).fn
	for _, tt := range []struct {
		replicas   []netip.Addr
		quorum, cl int
		fn         CheckFunc
		want       string
	}{
		{a, 1, 1, f, "quorum 1 of 3"},
		{a, 4, 1, f, "quorum 4 of 3"},
		{nil, 1, 1, f, "quorum 1 of 0"},
		{a, 2, 0, f, "commitAcks 0"},
		{a, 2, 4, f, "commitAcks 4"},
		{[]netip.Addr{a[0], a[1], a[0]}, 2, 2, f, "listed twice"},
		{a, 2, 2, nil, "nil CheckFunc"},
	} {
		_, err := p.CAS(context.Background(), "k", tt.replicas, tt.quorum, tt.cl, tt.fn)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CAS(%v, %d, %d): %v, want %q", tt.replicas, tt.quorum, tt.cl, err, tt.want)
		}
	}
	if len(tc.callsOf("")) != 0 {
		t.Error("invalid CAS sent messages")
	}
}

func TestNewProposerValidation(t *testing.T) {
	_, err := NewProposer(ProposerOptions{MaxBackoff: -1})
	for _, want := range []string{"Transport is required", "Ballots is required", "MaxBackoff is -1ns"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	p, err := NewProposer(ProposerOptions{Transport: newTestCluster(t, 1), Ballots: NewBallotGenerator(time.Now, 1)})
	if err != nil {
		t.Fatal(err)
	}
	o := p.o
	if o.ContentionTimeout != time.Second || o.InitialBackoff != 10*time.Millisecond || o.MaxBackoff != 100*time.Millisecond ||
		o.Clock == nil || o.Rand == nil || o.Logger == nil {
		t.Fatalf("defaults %+v", o)
	}
}

// Many concurrent CAS calls through one Proposer on one key. Each ends
// applied, with an unknown outcome (its proposal was accepted by a minority
// before a rival's prepare overtook it: Cassandra's CAS write timeout), or
// lost to contention; every applied update reached every replica, and no
// update reached a replica unless its CAS applied or is unknown.
func TestCASConcurrentCallers(t *testing.T) {
	tc := newTestCluster(t, 3)
	p, _ := testProposer(t, tc, func(o *ProposerOptions) {
		o.Clock = SystemClock()
		o.ContentionTimeout = 10 * time.Second
		o.Ballots = NewBallotGenerator(time.Now, 5)
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	status := map[string]string{}
	for i := range 8 {
		wg.Go(func() {
			update := string(rune('a' + i))
			f := &checkFn{update: update}
			out, err := p.CAS(context.Background(), "k", tc.addrs, 2, 2, f.fn)
			var te *TimeoutError
			s := "applied"
			switch {
			case err == nil && out.Applied:
			case errors.As(err, &te) && te.Unknown:
				s = "unknown"
			case errors.As(err, &te) && errors.Is(err, ErrContention):
				s = "failed"
			default:
				t.Errorf("CAS %s: %+v %v", update, out, err)
			}
			mu.Lock()
			status["k="+update] = s
			mu.Unlock()
		})
	}
	wg.Wait()
	if n := tc.inflight.Load(); n != 0 {
		t.Fatalf("%d calls running", n)
	}
	applied := 0
	for u, s := range status {
		if s == "applied" {
			applied++
			for i, a := range tc.addrs {
				if !slices.Contains(tc.logs[a].list(), u) {
					t.Errorf("applied %s missing on replica %d", u, i+1)
				}
			}
		}
	}
	for i, a := range tc.addrs {
		for _, u := range tc.logs[a].list() {
			if status[u] == "failed" {
				t.Errorf("replica %d applied %s whose CAS failed", i+1, u)
			}
		}
	}
	if applied == 0 {
		t.Fatalf("nothing applied: %v", status)
	}
	t.Logf("outcomes: %v", status)
}
