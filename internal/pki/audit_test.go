package pki

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func readAuditLines(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAuditLogAppendsParseableRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "membership.log")
	l, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.FixedZone("x", 3600))
	if err := l.Record(AuditEvent{Time: at, Kind: AuditJoin, Peer: "127.0.0.2", HostID: "0f8fad5b-d9cb-469f-a165-70867728950e", Reason: "bootstrap\ncomplete \"ok\""}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(AuditEvent{Kind: AuditRefused, Peer: "127.0.0.9:51234", Reason: "certificate address 127.0.0.8 != claimed 127.0.0.9"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(AuditEvent{Kind: "bogus"}); err == nil {
		t.Fatal("unknown kind accepted")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(AuditEvent{Kind: AuditJoin}); !errors.Is(err, ErrAuditLogClosed) {
		t.Fatalf("Record after Close: %v", err)
	}
	if m := fileMode(t, path); m != 0o600 {
		t.Fatalf("mode %#o, want 0600", m)
	}

	// Reopening appends; history is kept.
	l, err = OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(AuditEvent{Kind: AuditLeave, Peer: "127.0.0.3"}); err != nil {
		t.Fatal(err)
	}
	l.Close()

	lines := readAuditLines(t, path)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	want0 := map[string]string{"time": "2025-03-04T04:06:07.890123456Z", "kind": "join", "peer": "127.0.0.2",
		"host_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "reason": "bootstrap\ncomplete \"ok\""}
	if fmt.Sprint(lines[0]) != fmt.Sprint(want0) {
		t.Fatalf("line 0 = %v\nwant     %v", lines[0], want0)
	}
	if lines[1]["kind"] != "refused" || lines[2]["kind"] != "leave" || lines[2]["host_id"] != "" {
		t.Fatalf("lines %v", lines)
	}
	for _, ln := range lines[1:] {
		ts, err := time.Parse(time.RFC3339Nano, ln["time"])
		if err != nil || time.Since(ts) > time.Minute {
			t.Fatalf("time %q: %v", ln["time"], err)
		}
	}
}

func TestAuditLogTightensModeAndRepairsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	os.WriteFile(path, []byte(`{"time":"2025-01-01T00:00:00Z","kind":"join","peer":"a","host_id":"","reason":""}`+"\n"+`{"time":"2025-01-01T00:00:01Z","ki`), 0o644)
	os.Chmod(path, 0o644)
	l, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(AuditEvent{Kind: AuditStatus, Peer: "b", Reason: "NORMAL"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if m := fileMode(t, path); m != 0o600 {
		t.Fatalf("mode %#o, want 0600", m)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], `"ki`) {
		t.Fatalf("torn line not preserved as is: %q", lines)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(lines[2]), &m); err != nil || m["kind"] != "status" {
		t.Fatalf("record after torn line: %q, %v", lines[2], err)
	}
}

func TestAuditLogConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := l.Record(AuditEvent{Kind: AuditStatus, Peer: fmt.Sprintf("w%d", w), Reason: fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	l.Close()
	lines := readAuditLines(t, path)
	if len(lines) != writers*each {
		t.Fatalf("%d lines, want %d", len(lines), writers*each)
	}
	next := map[string]int{}
	for _, ln := range lines {
		if ln["reason"] != fmt.Sprint(next[ln["peer"]]) {
			t.Fatalf("writer %s: record %s out of order (want %d)", ln["peer"], ln["reason"], next[ln["peer"]])
		}
		next[ln["peer"]]++
	}
}

// syncTracker wraps the real file and records the order of writes and syncs.
type syncTracker struct {
	auditFile
	mu  *sync.Mutex
	ops *[]string
}

func (s syncTracker) Write(p []byte) (int, error) {
	s.mu.Lock()
	*s.ops = append(*s.ops, "write")
	s.mu.Unlock()
	return s.auditFile.Write(p)
}

func (s syncTracker) Sync() error {
	s.mu.Lock()
	*s.ops = append(*s.ops, "sync")
	s.mu.Unlock()
	return s.auditFile.Sync()
}

func TestAuditLogFsyncsEveryRecord(t *testing.T) {
	var mu sync.Mutex
	var ops []string
	failSync := false
	o := AuditOptions{openFile: func(name string, flag int, perm fs.FileMode) (auditFile, error) {
		if flag&os.O_APPEND == 0 {
			t.Errorf("audit log opened without O_APPEND")
		}
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		return syncTracker{auditFile: failingSync{f, &failSync}, mu: &mu, ops: &ops}, nil
	}}
	l, err := OpenAuditLogWithOptions(filepath.Join(t.TempDir(), "audit.log"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 3; i++ {
		if err := l.Record(AuditEvent{Kind: AuditJoin, Peer: "x"}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if n := len(ops); n < 2 || ops[n-2] != "write" || ops[n-1] != "sync" {
			t.Fatalf("after record %d ops = %v, want ... write sync", i, ops)
		}
		mu.Unlock()
	}
	failSync = true
	if err := l.Record(AuditEvent{Kind: AuditJoin}); err == nil || !strings.Contains(err.Error(), "fsync") {
		t.Fatalf("Record with failing fsync: %v", err)
	}
}

type failingSync struct {
	*os.File
	fail *bool
}

func (f failingSync) Sync() error {
	if *f.fail {
		return errors.New("injected fsync failure")
	}
	return f.File.Sync()
}

func TestAuditLogRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	const max = 1000
	l, err := OpenAuditLogWithOptions(path, AuditOptions{MaxBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100 // ~100 bytes a record: several rotations
	for i := 0; i < n; i++ {
		if err := l.Record(AuditEvent{Kind: AuditStatus, Peer: "127.0.0.1", Reason: fmt.Sprintf("r%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	cur, old := readAuditLines(t, path), readAuditLines(t, path+".1")
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > max {
			t.Errorf("%s is %d bytes, max %d", p, fi.Size(), max)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %#o", p, fi.Mode().Perm())
		}
	}
	if len(cur) == 0 || len(old) == 0 {
		t.Fatalf("current %d lines, old %d lines", len(cur), len(old))
	}
	// The two files hold the newest records, contiguous and in order.
	all := append(old, cur...)
	for i, ln := range all {
		want := fmt.Sprintf("r%03d", n-len(all)+i)
		if ln["reason"] != want {
			t.Fatalf("record %d = %s, want %s", i, ln["reason"], want)
		}
	}
	if _, err := os.Stat(path + ".2"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s.2 exists: only one old file is kept", path)
	}
}

func TestAuditLogTruncatesFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := OpenAuditLogWithOptions(path, AuditOptions{MaxFieldBytes: 11})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(AuditEvent{Kind: AuditRefused, Peer: "127.0.0.1", Reason: "ééééééééé"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	lines := readAuditLines(t, path)
	if got := lines[0]["reason"]; got != "ééééé" {
		t.Fatalf("reason %q, want 5 whole runes", got)
	}
}
