package storage

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashDirEnv carries the store directory to the crash child process.
const crashDirEnv = "RINGDB_STORAGE_CRASH_CHILD_DIR"

// crashRowKey is the clustering of acknowledged write id.
func crashRowKey(id int) []byte { return ck(fmt.Sprintf("%08d", id)) }

// TestCrashChild is the child side of TestCrashDurability; it does nothing
// unless started by it. It writes rows from several goroutines in
// SyncBatch mode and prints "ack <id>" after each Apply returns, until it
// is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashDurability")
	}
	e, err := Open(dir, Options{SyncMode: SyncBatch})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	const writers = 4
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += writers {
				m := mut(ins(crashRowKey(i), 1, cell(1, strconv.Itoa(i), 1)))
				if err := e.Apply([]*Mutation{m}); err != nil {
					fmt.Println("apply:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %d\n", i)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashDurability kills a SyncBatch writer with SIGKILL and checks that
// every write it acknowledged survives.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	const wantAcks = 300
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Bound the test: if the child stalls, kill it and fail on the count.
	watchdog := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer watchdog.Stop()

	acked := map[int]bool{}
	sc := bufio.NewScanner(stdout)
	for len(acked) < wantAcks && sc.Scan() {
		line := sc.Text()
		id, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			t.Logf("child: %s", line)
			continue
		}
		n, err := strconv.Atoi(id)
		if err != nil {
			t.Fatalf("bad ack line %q", line)
		}
		acked[n] = true
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < wantAcks {
		t.Fatalf("child acknowledged only %d writes", len(acked))
	}

	e := openTest(t, dir, nil, 0)
	present := map[string]bool{}
	if err := e.ReadPartition(tbl, 1, pk, PartitionQuery{}, func(r *Row) bool {
		present[string(r.Clustering)] = true
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if !present[string(crashRowKey(id))] {
			t.Errorf("acknowledged write %d lost after SIGKILL", id)
		}
	}
	t.Logf("%d acknowledged, %d present after restart", len(acked), len(present))
}
