package paxos

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// applyLog records the updates an acceptor applied.
type applyLog struct {
	mu      sync.Mutex
	applied []string
	fail    error
}

func (l *applyLog) apply(key string, update []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	l.applied = append(l.applied, key+"="+string(update))
	return nil
}

func (l *applyLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.applied)
}

func newTestAcceptor(t *testing.T) (*Acceptor, *memStore, *applyLog) {
	t.Helper()
	store, log := newMemStore(), &applyLog{}
	a, err := NewAcceptor(AcceptorOptions{Store: store, Apply: log.apply})
	if err != nil {
		t.Fatal(err)
	}
	return a, store, log
}

func bal(m int64) Ballot { return NewBallot(m, 1) }

func prop(m int64, u string) Proposal { return Proposal{Ballot: bal(m), Update: []byte(u)} }

func TestNewAcceptorValidation(t *testing.T) {
	_, err := NewAcceptor(AcceptorOptions{Stripes: -1})
	for _, want := range []string{"Store is required", "Apply is required", "Stripes is -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestPreparePromisesOnlyNewerBallots(t *testing.T) {
	a, store, _ := newTestAcceptor(t)
	r, err := a.Prepare("k", bal(10))
	if err != nil || !r.Promised || r.Ballot != bal(10) {
		t.Fatalf("first prepare: %+v %v", r, err)
	}
	if got := store.state("k").Promised; got != bal(10) {
		t.Fatalf("saved promise %v, want %v", got, bal(10))
	}
	for _, b := range []Ballot{bal(10), bal(9), NewBallot(10, 0), {}} {
		saves := store.saveCount()
		r, err := a.Prepare("k", b)
		if err != nil || r.Promised {
			t.Errorf("prepare %v after promising %v: %+v %v", b, bal(10), r, err)
		}
		if r.Ballot != bal(10) {
			t.Errorf("refusal of %v carries %v, want the promised %v", b, r.Ballot, bal(10))
		}
		if store.saveCount() != saves {
			t.Errorf("refusal of %v saved state", b)
		}
	}
	if r, _ := a.Prepare("k", NewBallot(10, 2)); !r.Promised {
		t.Error("same micros, higher tiebreak not promised")
	}
	if r, _ := a.Prepare("other", bal(1)); !r.Promised {
		t.Error("keys are not independent")
	}
}

func TestPrepareSavesBeforeAnswering(t *testing.T) {
	a, store, _ := newTestAcceptor(t)
	var savedBeforeAnswer AcceptorState
	store.onSave = func(_ string, st AcceptorState) { savedBeforeAnswer = st }
	done := make(chan PrepareResponse, 1)
	release := make(chan struct{})
	store.failSave = func(string) error { <-release; return nil }
	go func() {
		r, _ := a.Prepare("k", bal(5))
		done <- r
	}()
	select {
	case r := <-done:
		t.Fatalf("prepare answered %+v before its promise was saved", r)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if r := <-done; !r.Promised || savedBeforeAnswer.Promised != bal(5) {
		t.Fatalf("answer %+v, saved %+v", r, savedBeforeAnswer)
	}

	// A failed save is no promise.
	store.failSave = func(string) error { return errors.New("disk full") }
	r, err := a.Prepare("k", bal(6))
	if err == nil || r.Promised || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("prepare with a failing store: %+v %v", r, err)
	}
	store.failSave = nil
	if got := store.state("k").Promised; got != bal(5) {
		t.Fatalf("promise after a failed save %v, want %v", got, bal(5))
	}
	// And the unsaved promise does not hold: the next prepare of 6 is promised.
	if r, _ := a.Prepare("k", bal(6)); !r.Promised {
		t.Fatal("the promise that failed to save was remembered")
	}
}

func TestPrepareResponseCarriesAcceptedAndCommitted(t *testing.T) {
	a, _, _ := newTestAcceptor(t)
	if err := a.Commit("k", prop(3, "c3")); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := a.Propose("k", prop(5, "p5")); !ok || err != nil {
		t.Fatalf("propose: %v %v", ok, err)
	}
	want := PrepareResponse{Ballot: bal(5), Accepted: &Proposal{bal(5), []byte("p5")}, Committed: &Proposal{bal(3), []byte("c3")}}
	r, err := a.Prepare("k", bal(4)) // refused
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("refusal: %+v %v\nwant %+v", r, err, want)
	}
	r, _ = a.Prepare("k", bal(7)) // promised
	want.Promised, want.Ballot = true, bal(7)
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("promise: %+v\nwant %+v", r, want)
	}
}

func TestProposeRules(t *testing.T) {
	a, store, _ := newTestAcceptor(t)
	if _, err := a.Prepare("k", bal(10)); err != nil {
		t.Fatal(err)
	}
	if ok, promised, err := a.Propose("k", prop(9, "old")); ok || err != nil || promised != bal(10) {
		t.Errorf("older proposal: %v %v %v, want refused with %v", ok, promised, err, bal(10))
	}
	if store.state("k").Accepted != nil {
		t.Error("refused proposal was stored")
	}
	if ok, promised, err := a.Propose("k", prop(10, "same")); !ok || err != nil || promised != bal(10) {
		t.Errorf("proposal at the promised ballot: %v %v %v", ok, promised, err)
	}
	st := store.state("k")
	if st.Accepted == nil || string(st.Accepted.Update) != "same" || st.Promised != bal(10) {
		t.Errorf("state after accept %+v", st)
	}
	// A newer proposal without a prepare is accepted and raises the promise.
	if ok, _, _ := a.Propose("k", prop(12, "newer")); !ok {
		t.Error("newer proposal refused")
	}
	if st := store.state("k"); st.Promised != bal(12) || string(st.Accepted.Update) != "newer" {
		t.Errorf("state after newer accept %+v", st)
	}
	if r, _ := a.Prepare("k", bal(11)); r.Promised {
		t.Error("prepare older than an accepted ballot promised")
	}
	if _, _, err := a.Propose("k", Proposal{}); err == nil {
		t.Error("zero-ballot proposal accepted")
	}
	// A failed save is no acceptance.
	store.failSave = func(string) error { return errors.New("io") }
	if ok, _, err := a.Propose("k", prop(13, "x")); ok || err == nil {
		t.Errorf("propose with failing save: %v %v", ok, err)
	}
}

func TestCommitRules(t *testing.T) {
	a, store, log := newTestAcceptor(t)
	if ok, _, _ := a.Propose("k", prop(5, "v5")); !ok {
		t.Fatal("propose refused")
	}
	if err := a.Commit("k", prop(5, "v5")); err != nil {
		t.Fatal(err)
	}
	st := store.state("k")
	if st.Accepted != nil || st.Committed == nil || st.Committed.Ballot != bal(5) {
		t.Fatalf("commit did not clear the accepted proposal or record itself: %+v", st)
	}

	// Accepted newer than a commit stays.
	if ok, _, _ := a.Propose("k", prop(8, "v8")); !ok {
		t.Fatal("propose refused")
	}
	if err := a.Commit("k", prop(7, "v7")); err != nil {
		t.Fatal(err)
	}
	if st := store.state("k"); st.Accepted == nil || st.Accepted.Ballot != bal(8) || st.Committed.Ballot != bal(7) {
		t.Fatalf("commit of 7 with 8 accepted: %+v", st)
	}

	// An older commit is applied but does not move Committed back.
	if err := a.Commit("k", prop(6, "v6")); err != nil {
		t.Fatal(err)
	}
	if st := store.state("k"); st.Committed.Ballot != bal(7) || st.Accepted.Ballot != bal(8) {
		t.Fatalf("older commit regressed the state: %+v", st)
	}
	if got, want := log.list(), []string{"k=v5", "k=v7", "k=v6"}; !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}

	// A commit at or after the accepted ballot clears it.
	if err := a.Commit("k", prop(8, "v8")); err != nil {
		t.Fatal(err)
	}
	if st := store.state("k"); st.Accepted != nil || st.Committed.Ballot != bal(8) {
		t.Fatalf("commit of the accepted ballot: %+v", st)
	}
}

func TestCommitRaisesPromise(t *testing.T) {
	a, store, _ := newTestAcceptor(t)
	if _, err := a.Prepare("k", bal(3)); err != nil {
		t.Fatal(err)
	}
	// A replica repaired by a commit it never voted for.
	if err := a.Commit("k", prop(9, "v9")); err != nil {
		t.Fatal(err)
	}
	if st := store.state("k"); st.Promised != bal(9) {
		t.Fatalf("promise after commit of 9: %v", st.Promised)
	}
	if r, _ := a.Prepare("k", bal(5)); r.Promised || r.Ballot != bal(9) {
		t.Fatalf("prepare older than the commit: %+v", r)
	}
	if ok, _, _ := a.Propose("k", prop(8, "late")); ok {
		t.Fatal("proposal older than the commit accepted")
	}
	// An older commit does not lower the promise.
	if err := a.Commit("k", prop(4, "v4")); err != nil {
		t.Fatal(err)
	}
	if st := store.state("k"); st.Promised != bal(9) {
		t.Fatalf("older commit changed the promise to %v", st.Promised)
	}
}

func TestCommitAppliesBeforeRecording(t *testing.T) {
	a, store, log := newTestAcceptor(t)
	log.fail = errors.New("apply failed")
	err := a.Commit("k", prop(5, "v5"))
	if err == nil || !errors.Is(err, log.fail) {
		t.Fatalf("commit with failing apply: %v", err)
	}
	if st := store.state("k"); st.Committed != nil || store.saveCount() != 0 {
		t.Fatalf("failed apply recorded the commit: %+v", st)
	}
	log.fail = nil
	var appliedAtSave []string
	store.onSave = func(string, AcceptorState) { appliedAtSave = log.list() }
	if err := a.Commit("k", prop(5, "v5")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(appliedAtSave, []string{"k=v5"}) {
		t.Fatalf("state saved before the update was applied (applied then: %v)", appliedAtSave)
	}
	if err := a.Commit("k", Proposal{}); err == nil {
		t.Fatal("zero-ballot commit accepted")
	}
}

func TestAcceptorLoadError(t *testing.T) {
	a, store, _ := newTestAcceptor(t)
	store.failLoad = func(string) error { return errors.New("corrupt sstable") }
	if _, err := a.Prepare("k", bal(1)); err == nil || !strings.Contains(err.Error(), "corrupt sstable") {
		t.Errorf("prepare: %v", err)
	}
	if _, _, err := a.Propose("k", prop(1, "")); err == nil {
		t.Error("propose: no error")
	}
	if err := a.Commit("k", prop(1, "")); err == nil {
		t.Error("commit: no error")
	}
}

func TestAcceptorStateSurvivesRestart(t *testing.T) {
	a, store, log := newTestAcceptor(t)
	_, _ = a.Prepare("k", bal(4))
	_, _, _ = a.Propose("k", prop(4, "v4"))
	b, err := NewAcceptor(AcceptorOptions{Store: store, Apply: log.apply})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Prepare("k", bal(3))
	if err != nil || r.Promised || r.Accepted == nil || string(r.Accepted.Update) != "v4" {
		t.Fatalf("restarted acceptor forgot its state: %+v %v", r, err)
	}
}

// Concurrent prepares of one key are serialised: the promises saved are
// strictly increasing and every promised ballot was newer than all saved
// before it.
func TestAcceptorSerialisesKey(t *testing.T) {
	a, store, _ := newTestAcceptor(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var promised []Ballot
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				b := NewBallot(int64(i), uint64(w))
				if r, err := a.Prepare("k", b); err == nil && r.Promised {
					mu.Lock()
					promised = append(promised, b)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	var last Ballot
	for _, s := range store.saves {
		if !s.st.Promised.After(last) {
			t.Fatalf("saved promise %v after %v", s.st.Promised, last)
		}
		last = s.st.Promised
	}
	if len(promised) != len(store.saves) {
		t.Fatalf("%d promises answered, %d saved", len(promised), len(store.saves))
	}
	if want := NewBallot(199, 7); last != want {
		t.Fatalf("final promise %v, want %v", last, want)
	}
}

// A key whose save is stuck does not block a key on another stripe.
func TestAcceptorKeysOnOtherStripesProceed(t *testing.T) {
	a, store, _ := newTestAcceptor(t)
	other := ""
	for i := range 1000 {
		if k := fmt.Sprint("k", i); a.stripe(k) != a.stripe("stuck") {
			other = k
			break
		}
	}
	entered, release := make(chan struct{}), make(chan struct{})
	store.failSave = func(key string) error {
		if key == "stuck" {
			close(entered)
			<-release
		}
		return nil
	}
	go func() { _, _ = a.Prepare("stuck", bal(1)) }()
	<-entered
	done := make(chan error, 1)
	go func() { _, err := a.Prepare(other, bal(1)); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a key on another stripe waited for the stuck one")
	}
	close(release)
}
