package cluster

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/gocql/gocql"
)

// registerInput is one operation on register key: a SERIAL read, or a
// compare-and-set of expect to next.
type registerInput struct {
	key          int
	cas          bool
	expect, next int
}

// registerOutput is what the client saw: the value read (or the current
// value of a CAS that did not apply), whether a CAS applied, or that the
// outcome is unknown (a timeout or a dropped connection).
type registerOutput struct {
	value   int
	applied bool
	unknown bool
}

// registerModel is a set of integer registers, one partition per key.
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(registerInput).key
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return 0 },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(int), input.(registerInput), output.(registerOutput)
		switch {
		case !in.cas:
			return out.value == s, s
		case out.unknown: // placed anywhere after its call; it may or may not apply
			if s == in.expect {
				return true, in.next
			}
			return true, s
		case out.applied:
			return s == in.expect, in.next
		default:
			return s != in.expect && out.value == s, s
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(registerInput), output.(registerOutput)
		if !in.cas {
			return fmt.Sprintf("read(%d) -> %d", in.key, out.value)
		}
		return fmt.Sprintf("cas(%d, %d->%d) -> applied %v, now %d, unknown %v", in.key, in.expect, in.next, out.applied, out.value, out.unknown)
	},
}

// TestLWTLinearizableUnderKills: three nodes at RF=3, three clients each
// through its own coordinator run SERIAL reads and compare-and-sets on
// three registers for 40 s while one node at a time is killed with -9 and
// restarted. The history (a timed-out or dropped operation's outcome is
// unknown) must be linearizable per porcupine, and at least 70% of the
// operations must have a known outcome.
func TestLWTLinearizableUnderKills(t *testing.T) {
	lwtLinearizable(t, 3, []string{"127.0.0.41", "127.0.0.42", "127.0.0.43"})
}

// TestLWTLinearizableRF1UnderKills: the same with one replica per key on
// three nodes (the review found two coordinators both applying IF NOT
// EXISTS there): a register is unavailable while its replica is down.
func TestLWTLinearizableRF1UnderKills(t *testing.T) {
	lwtLinearizable(t, 1, []string{"127.0.0.44", "127.0.0.45", "127.0.0.46"})
}

func lwtLinearizable(t *testing.T, rf int, addrs []string) {
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	requirePortsFree(t, addrs...)
	c := newCluster(t)
	for _, a := range addrs {
		c.add(a, "--seeds", addrs[0])
	}
	for _, a := range addrs {
		c.start(c.nodes[a])
	}
	c.waitStatus(addrs[0], map[string]string{addrs[0]: "UN", addrs[1]: "UN", addrs[2]: "UN"}, 60*time.Second)
	admin := sessionOn(t, c, gocql.Quorum, addrs[0])
	for _, q := range []string{
		fmt.Sprintf("CREATE KEYSPACE lin WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}", rf),
		"CREATE TABLE lin.reg (k int PRIMARY KEY, v int)",
	} {
		if err := admin.Query(q).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	for k := range 3 {
		if err := admin.Query("INSERT INTO lin.reg (k, v) VALUES (?, 0) IF NOT EXISTS", k).Exec(); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	end := start.Add(40 * time.Second)
	var mu sync.Mutex
	var history []porcupine.Operation
	var wg sync.WaitGroup
	for i, a := range addrs {
		s := sessionOn(t, c, gocql.Quorum, a)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for n := 0; time.Now().Before(end) && n < 2000; n++ {
				op := runRegisterOp(s, rng, i, start)
				if op == nil {
					time.Sleep(50 * time.Millisecond) // the coordinator is down; not an assertion
					continue
				}
				mu.Lock()
				history = append(history, *op)
				mu.Unlock()
			}
		})
	}
	// The nemesis: kill -9 one node at a time, restart it, wait until the
	// others see it up.
	for victim := 0; time.Now().Add(12 * time.Second).Before(end); victim = (victim + 1) % 3 {
		time.Sleep(4 * time.Second) // traffic with every node up; not an assertion
		n := c.nodes[addrs[victim]]
		n.kill()
		time.Sleep(3 * time.Second) // traffic with a node down; not an assertion
		c.start(n)
		other := addrs[(victim+1)%3]
		c.waitStatus(other, map[string]string{addrs[victim]: "UN"}, 60*time.Second)
	}
	wg.Wait()

	known, unknown := 0, 0
	for _, op := range history {
		if op.Output.(registerOutput).unknown {
			unknown++
		} else {
			known++
		}
	}
	t.Logf("%d operations, %d with a known outcome, %d unknown", len(history), known, unknown)
	if known < 100 || float64(known) < 0.7*float64(len(history)) {
		t.Fatalf("%d of %d operations had a known outcome (want at least 70%% and 100)", known, len(history))
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, history, time.Minute)
	if res != porcupine.Ok {
		path := c.dir + "/lwt-history.html"
		_ = porcupine.VisualizePath(registerModel, info, path)
		t.Fatalf("history not linearizable (%v); visualization in %s", res, path)
	}
	// The check has teeth: the same history with one read changed to a
	// value no operation wrote is refused.
	bad := append([]porcupine.Operation(nil), history...)
	for i, op := range bad {
		if in := op.Input.(registerInput); !in.cas {
			bad[i].Output = registerOutput{value: 99}
			break
		}
	}
	if porcupine.CheckOperationsTimeout(registerModel, bad, time.Minute) != porcupine.Illegal {
		t.Fatal("a history with an impossible read passed the linearizability check")
	}
}

// runRegisterOp runs one random operation through s and returns it for
// the history, or nil when it certainly had no effect (a read that
// failed, or a CAS refused before it was sent).
func runRegisterOp(s *gocql.Session, rng *rand.Rand, client int, t0 time.Time) *porcupine.Operation {
	in := registerInput{key: rng.IntN(3), cas: rng.IntN(2) == 0, expect: rng.IntN(4), next: rng.IntN(4)}
	call := time.Since(t0).Nanoseconds()
	var out registerOutput
	var err error
	if in.cas {
		var cur int
		out.applied, err = s.Query("UPDATE lin.reg SET v = ? WHERE k = ? IF v = ?", in.next, in.key, in.expect).ScanCAS(&cur)
		out.value = cur
	} else {
		err = s.Query("SELECT v FROM lin.reg WHERE k = ?", in.key).Consistency(gocql.Consistency(gocql.Serial)).Scan(&out.value)
	}
	ret := time.Since(t0).Nanoseconds()
	if err != nil {
		var unavailable *gocql.RequestErrUnavailable
		if !in.cas || errors.As(err, &unavailable) || errors.Is(err, gocql.ErrNoConnections) {
			return nil // no effect: a failed read, or refused before any round
		}
		out = registerOutput{unknown: true}
		ret = math.MaxInt64
	}
	return &porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}
