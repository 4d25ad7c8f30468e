package pki

import (
	"bytes"
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

// fakeClock is a settable clock for AuditOptions.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// noiseSummary is one line of the noise log.
type noiseSummary struct {
	Time        time.Time `json:"time"`
	IntervalEnd time.Time `json:"interval_end"`
	Kind        AuditKind `json:"kind"`
	Peer        string    `json:"peer"`
	Count       uint64    `json:"count"`
	SampleKind  AuditKind `json:"sample_kind"`
	Reason      string    `json:"reason"`
}

// readNoise reads the noise log (its rotated file first, if any).
func readNoise(t *testing.T, path string) []noiseSummary {
	t.Helper()
	var out []noiseSummary
	for _, p := range []string{path + ".1", path} {
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, ln := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if ln == "" {
				continue
			}
			var s noiseSummary
			if err := json.Unmarshal([]byte(ln), &s); err != nil {
				t.Fatalf("noise line %q: %v", ln, err)
			}
			out = append(out, s)
		}
	}
	return out
}

// membershipEvents are one event of every membership kind.
func membershipEvents(at time.Time) []AuditEvent {
	var evs []AuditEvent
	for i, k := range []AuditKind{AuditJoin, AuditLeave, AuditRemove, AuditRefused, AuditStatus,
		AuditAdmission, AuditTokenUse, AuditRestart, AuditForged, AuditRevocation} {
		evs = append(evs, AuditEvent{Time: at.Add(time.Duration(i) * time.Second), Kind: k, Peer: fmt.Sprintf("127.0.0.%d", 10+i),
			HostID: fmt.Sprintf("host-%d", i), Serial: fmt.Sprint(1000 + i), Fingerprint: fmt.Sprintf("%064x", i),
			Outcome: "refused", Reason: "reason " + string(k)})
	}
	return evs
}

// TestAuditNoiseCannotEraseMembership floods the log with 100k refused
// handshakes from 50 sources in one (fake) minute: the noise log gets one
// summary per source, the membership log is untouched, and neither that
// flood nor hours more of noise (rotating the noise log many times) can
// rotate a membership event away.
func TestAuditNoiseCannotEraseMembership(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "membership-audit.log")
	clk := newFakeClock()
	l, err := OpenAuditLogWithOptions(path, AuditOptions{Now: clk.Now, MaxBytes: 64 << 10, NoiseMaxBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got, want := l.NoisePath(), filepath.Join(dir, "membership-audit.noise.log"); got != want {
		t.Fatalf("noise path %s, want %s", got, want)
	}
	t0 := clk.Now()
	members := membershipEvents(t0.Add(-time.Hour))
	for _, ev := range members {
		if err := l.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	const sources, total = 50, 100_000
	kinds := []AuditKind{AuditHandshake, AuditTLSFailure, AuditConnLimit}
	for i := 0; i < total; i++ {
		clk.Set(t0.Add(time.Duration(i) * (time.Minute / total)))
		src := i % sources
		err := l.Record(AuditEvent{Kind: kinds[i%len(kinds)], Peer: fmt.Sprintf("10.0.%d.%d:%d", src/256, src%256, 1024+i%60000),
			Reason: fmt.Sprintf("tls handshake: junk %d", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("handshake noise reached the membership log: %d bytes -> %d bytes", len(before), len(after))
	}
	// The interval is over: the flusher (here called as its ticker would)
	// writes it.
	clk.Set(t0.Add(time.Minute))
	if err := l.noise.flush(clk.Now(), false); err != nil {
		t.Fatal(err)
	}
	noise := readNoise(t, l.NoisePath())
	if len(noise) > sources+1 || len(noise) < sources {
		t.Fatalf("%d noise lines for %d sources, want at most %d", len(noise), sources, sources+1)
	}
	var sum uint64
	seen := map[string]bool{}
	for _, s := range noise {
		sum += s.Count
		seen[s.Peer] = true
		if s.Kind != NoiseSummaryKind || !s.Time.Equal(t0) || !s.IntervalEnd.Equal(t0.Add(time.Minute)) ||
			!strings.HasPrefix(s.Reason, "tls handshake: junk ") || !s.SampleKind.Noise() || s.Count != total/sources {
			t.Fatalf("noise line %+v", s)
		}
	}
	if sum != total || len(seen) != sources || !seen["10.0.0.0"] || !seen["10.0.0.49"] {
		t.Fatalf("noise counts %d events from %d sources, want %d from %d", sum, len(seen), total, sources)
	}

	// Hours more of noise, 500 sources a minute: the noise log rotates
	// many times within its own small budget, the membership log never.
	for m := 1; m <= 120; m++ {
		for i := 0; i < 500; i++ {
			clk.Set(t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Millisecond))
			if err := l.Record(AuditEvent{Kind: AuditHandshake, Peer: fmt.Sprintf("10.1.%d.%d:4000", i/256, i%256), Reason: "junk"}); err != nil {
				t.Fatal(err)
			}
		}
		if m == 60 { // a membership event in the middle of it
			if err := l.Record(AuditEvent{Kind: AuditForged, Peer: "127.0.0.159", Serial: "42", Outcome: "refused", Reason: "STATUS for 127.0.0.152 not signed by it"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.FlushNoise(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{l.NoisePath(), l.NoisePath() + ".1"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("noise log did not rotate: %v", err)
		}
		if fi.Size() > 16<<10 {
			t.Fatalf("%s is %d bytes, max %d", p, fi.Size(), 16<<10)
		}
	}
	if _, err := os.Stat(path + ".1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the membership log rotated under noise: %v", err)
	}
	after, _ = os.ReadFile(path)
	if !bytes.HasPrefix(after, before) {
		t.Fatal("membership records were changed")
	}
	got, err := l.ReadMembership(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(members)+1 {
		t.Fatalf("%d membership records, want %d", len(got), len(members)+1)
	}
	for i, ev := range members {
		var r AuditRecord
		if err := json.Unmarshal(got[i], &r); err != nil {
			t.Fatal(err)
		}
		want := AuditRecord{Time: ev.Time.UTC(), Kind: ev.Kind, Peer: ev.Peer, HostID: ev.HostID, Serial: ev.Serial,
			Fingerprint: ev.Fingerprint, Outcome: ev.Outcome, Reason: ev.Reason}
		if r != want {
			t.Fatalf("record %d = %+v\nwant %+v", i, r, want)
		}
	}
	var last AuditRecord
	json.Unmarshal(got[len(got)-1], &last)
	if last.Kind != AuditForged || last.Peer != "127.0.0.159" || last.Serial != "42" {
		t.Fatalf("last record %+v", last)
	}
}

// TestAuditNoiseSourceCap: beyond MaxNoiseSources in one interval, the
// noise of further sources is counted in one "other sources" line.
func TestAuditNoiseSourceCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	clk := newFakeClock()
	l, err := OpenAuditLogWithOptions(path, AuditOptions{Now: clk.Now, MaxNoiseSources: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		l.Record(AuditEvent{Kind: AuditConnLimit, Peer: fmt.Sprintf("[fd00::1:%x]:7000", i%25), Reason: fmt.Sprintf("slots full %d", i)})
	}
	if n := len(l.noise.sources); n != 10 {
		t.Fatalf("%d sources tracked, cap 10", n)
	}
	if err := l.Close(); err != nil { // Close writes what is pending
		t.Fatal(err)
	}
	noise := readNoise(t, l.NoisePath())
	if len(noise) != 11 {
		t.Fatalf("%d lines, want 10 sources + other: %+v", len(noise), noise)
	}
	for i, s := range noise[:10] {
		if s.Peer != fmt.Sprintf("fd00::1:%x", i) || s.Count != 40 || s.Reason != fmt.Sprintf("slots full %d", i) || s.SampleKind != AuditConnLimit {
			t.Fatalf("line %d: %+v", i, s)
		}
	}
	if o := noise[10]; o.Peer != OtherNoiseSources || o.Count != 600 || o.Reason != "slots full 10" {
		t.Fatalf("other sources line %+v", o)
	}
	if data, _ := os.ReadFile(path); len(data) != 0 {
		t.Fatalf("membership log has %q", data)
	}
}

// TestAuditNoiseIntervals: an interval's summaries are written when a
// later interval's noise arrives, or by the flusher once the interval is
// over, and not before.
func TestAuditNoiseIntervals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	clk := newFakeClock()
	t0 := clk.Now()
	l, err := OpenAuditLogWithOptions(path, AuditOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec := func(at time.Duration, peer string) {
		t.Helper()
		clk.Set(t0.Add(at))
		if err := l.Record(AuditEvent{Kind: AuditHandshake, Peer: peer, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	rec(0, "10.0.0.1:1")
	rec(30*time.Second, "10.0.0.1:2")
	rec(59*time.Second, "10.0.0.2:3")
	if _, err := os.Stat(l.NoisePath()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("noise log written before the interval is over: %v", err)
	}
	rec(61*time.Second, "10.0.0.1:4") // next interval: minute 0 is written
	noise := readNoise(t, l.NoisePath())
	if len(noise) != 2 || noise[0].Peer != "10.0.0.1" || noise[0].Count != 2 || noise[1].Peer != "10.0.0.2" || noise[1].Count != 1 {
		t.Fatalf("after minute 0: %+v", noise)
	}
	// The flusher does nothing while minute 1 lasts, then writes it.
	if err := l.noise.flush(t0.Add(119*time.Second), false); err != nil {
		t.Fatal(err)
	}
	if n := len(readNoise(t, l.NoisePath())); n != 2 {
		t.Fatalf("minute 1 written before its end: %d lines", n)
	}
	if err := l.noise.flush(t0.Add(120*time.Second), false); err != nil {
		t.Fatal(err)
	}
	noise = readNoise(t, l.NoisePath())
	if len(noise) != 3 || noise[2].Peer != "10.0.0.1" || noise[2].Count != 1 || !noise[2].Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after minute 1: %+v", noise)
	}
	// A clock stepping back counts in the current interval.
	rec(5*time.Minute, "10.0.0.3:1")
	rec(4*time.Minute, "10.0.0.3:2")
	l.FlushNoise()
	noise = readNoise(t, l.NoisePath())
	if len(noise) != 4 || noise[3].Count != 2 || !noise[3].Time.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("after a clock step back: %+v", noise)
	}
}

// TestAuditMembershipFsyncedNoiseNot: every membership kind is written and
// fsynced before Record returns; noise never touches the membership file
// and its summaries are not fsynced.
func TestAuditMembershipFsyncedNoiseNot(t *testing.T) {
	var mu sync.Mutex
	ops := map[string][]string{}
	dir := t.TempDir()
	o := AuditOptions{openFile: func(name string, flag int, perm fs.FileMode) (auditFile, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		var tr []string
		mu.Lock()
		ops[filepath.Base(name)] = tr
		mu.Unlock()
		return namedTracker{auditFile: f, name: filepath.Base(name), mu: &mu, ops: ops}, nil
	}}
	l, err := OpenAuditLogWithOptions(filepath.Join(dir, "audit.log"), o)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range membershipEvents(time.Now()) {
		if err := l.Record(ev); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := ops["audit.log"]
		if len(got) != 2*(i+1) || got[len(got)-2] != "write" || got[len(got)-1] != "sync" {
			t.Fatalf("after %s: ops %v, want write+sync per record", ev.Kind, got)
		}
		mu.Unlock()
	}
	for i := 0; i < 100; i++ {
		if err := l.Record(AuditEvent{Kind: AuditTLSFailure, Peer: fmt.Sprintf("10.0.0.%d:99", i%3)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.FlushNoise(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if got := ops["audit.log"]; len(got) != 20 {
		t.Errorf("noise touched the membership log: %v", got)
	}
	if got := ops["audit.noise.log"]; strings.Join(got, " ") != "write write write" {
		t.Errorf("noise log ops %v, want three unsynced writes", got)
	}
	mu.Unlock()
	l.Close()
}

type namedTracker struct {
	auditFile
	name string
	mu   *sync.Mutex
	ops  map[string][]string
}

func (s namedTracker) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.ops[s.name] = append(s.ops[s.name], "write")
	s.mu.Unlock()
	return s.auditFile.Write(p)
}

func (s namedTracker) Sync() error {
	s.mu.Lock()
	s.ops[s.name] = append(s.ops[s.name], "sync")
	s.mu.Unlock()
	return s.auditFile.Sync()
}

// TestAuditReadMembershipSinceAcrossRotation: ReadMembership reads the
// rotated file then the current one, filters by time and limit, and skips
// a torn line.
func TestAuditReadMembershipSinceAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	os.WriteFile(path, []byte(`{"time":"2025-05-31T00:00:00Z","kind":"join","peer":"old","host_id":"","reason":""}`+"\n"+`{"time":"2025-05-31T00:00:01Z","ki`), 0o600)
	l, err := OpenAuditLogWithOptions(path, AuditOptions{MaxBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const n = 20 // ~130 bytes a record: the first ones are in <path>.1
	for i := 0; i < n; i++ {
		if err := l.Record(AuditEvent{Time: t0.Add(time.Duration(i) * time.Minute), Kind: AuditStatus, Peer: "127.0.0.2", Reason: fmt.Sprintf("r%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatal("no rotation happened")
	}
	reasons := func(since time.Time, limit int) []string {
		t.Helper()
		lines, err := l.ReadMembership(since, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ln := range lines {
			var r AuditRecord
			if err := json.Unmarshal(ln, &r); err != nil {
				t.Fatalf("%s: %v", ln, err)
			}
			out = append(out, r.Reason)
		}
		return out
	}
	all := reasons(time.Time{}, 0)
	if len(all) < 10 || all[len(all)-1] != "r19" {
		t.Fatalf("all: %q", all)
	}
	for i, r := range all {
		if want := fmt.Sprintf("r%02d", n-len(all)+i); r != want {
			t.Fatalf("record %d = %s, want %s (%q)", i, r, want, all)
		}
	}
	if got := reasons(t0.Add(15*time.Minute), 0); strings.Join(got, ",") != "r15,r16,r17,r18,r19" {
		t.Fatalf("since +15m: %q", got)
	}
	if got := reasons(t0.Add(15*time.Minute), 2); strings.Join(got, ",") != "r18,r19" {
		t.Fatalf("since +15m limit 2: %q", got)
	}
	if got := reasons(t0.Add(time.Hour), 0); len(got) != 0 {
		t.Fatalf("since +1h: %q", got)
	}
	l.Close()
	if _, err := l.ReadMembership(time.Time{}, 0); !errors.Is(err, ErrAuditLogClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// TestAuditConcurrentNoiseAndMembership runs membership records, noise,
// reads and flushes at once (for -race) and checks nothing is lost.
func TestAuditConcurrentNoiseAndMembership(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	clk := newFakeClock()
	t0 := clk.Now()
	l, err := OpenAuditLogWithOptions(path, AuditOptions{Now: clk.Now, MaxNoiseSources: 8, NoiseMaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 50
	const flooders, floods = 4, 2000
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := l.Record(AuditEvent{Kind: AuditJoin, Peer: fmt.Sprintf("w%d", w), Reason: fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for f := 0; f < flooders; f++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < floods; i++ {
				if f == 0 && i%500 == 0 {
					clk.Set(t0.Add(time.Duration(i/500) * time.Minute))
				}
				if err := l.Record(AuditEvent{Kind: AuditHandshake, Peer: fmt.Sprintf("10.0.%d.%d:1", f, i%10), Reason: "x"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			if _, err := l.ReadMembership(time.Time{}, 10); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			if err := l.FlushNoise(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAuditLines(t, path); len(got) != writers*each {
		t.Fatalf("%d membership lines, want %d", len(got), writers*each)
	}
	var sum uint64
	for _, s := range readNoise(t, noisePath(path)) {
		sum += s.Count
	}
	if sum != flooders*floods {
		t.Fatalf("noise counted %d events, want %d", sum, flooders*floods)
	}
}
