package gossip

import (
	"math"
	"testing"
	"time"
)

func TestPhiRegularArrivals(t *testing.T) {
	fd := NewFailureDetector(FailureDetectorConfig{}, t0)
	now := t0
	for i := 0; i <= arrivalSampleSize; i++ {
		fd.Report(ipB, now)
		fd.Interpret(ipB, now) // as the gossiper's status check does every round
		now = now.Add(time.Second)
	}
	// The initial 2 s sample has been pushed out of the 1000-sample window.
	last := now.Add(-time.Second)
	if m, _ := fd.Mean(ipB); m != time.Second {
		t.Fatalf("mean %v", m)
	}
	for _, c := range []struct {
		after time.Duration
		phi   float64
	}{{0, 0}, {time.Second, PhiFactor}, {10 * time.Second, 10 * PhiFactor}, {18 * time.Second, 18 * PhiFactor}} {
		phi, ok := fd.Phi(ipB, last.Add(c.after))
		if !ok || math.Abs(phi-c.phi) > 1e-9 {
			t.Errorf("phi after %v = %v, want %v", c.after, phi, c.phi)
		}
	}
	// Threshold 8 is crossed between 18 and 19 s (8 * ln 10 = 18.42).
	for s := 1; s <= 19; s++ {
		if got, want := fd.Interpret(ipB, last.Add(time.Duration(s)*time.Second)), s >= 19; got != want {
			t.Errorf("Interpret after %d s = %v", s, got)
		}
	}
}

func TestPhiFirstReportUsesInitialInterval(t *testing.T) {
	fd := NewFailureDetector(FailureDetectorConfig{}, t0)
	if _, ok := fd.Phi(ipB, t0); ok {
		t.Fatal("phi for an unknown endpoint")
	}
	fd.Report(ipB, t0)
	if m, _ := fd.Mean(ipB); m != DefaultFDInitialInterval {
		t.Fatalf("mean %v", m)
	}
	phi, _ := fd.Phi(ipB, t0.Add(4*time.Second))
	if math.Abs(phi-2*PhiFactor) > 1e-9 {
		t.Fatalf("phi %v", phi)
	}
}

func TestPhiIrregularArrivals(t *testing.T) {
	fd := NewFailureDetector(FailureDetectorConfig{}, t0)
	now := t0
	fd.Report(ipB, now) // [2s]
	// Intervals 0.5 s, 1.5 s, and a 10 s gap (longer than MaxInterval: ignored).
	for _, iv := range []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond, 10 * time.Second, 1 * time.Second} {
		now = now.Add(iv)
		fd.Report(ipB, now)
	}
	m, _ := fd.Mean(ipB)
	if want := (2*time.Second + 500*time.Millisecond + 1500*time.Millisecond + time.Second) / 4; m != want {
		t.Fatalf("mean %v, want %v (10 s gap must be ignored)", m, want)
	}
	phi, _ := fd.Phi(ipB, now.Add(5*time.Second))
	if want := PhiFactor * 5 / 1.25; math.Abs(phi-want) > 1e-9 {
		t.Fatalf("phi %v want %v", phi, want)
	}
	// A bursty sender (short mean) is suspected sooner than a slow one.
	fast := NewFailureDetector(FailureDetectorConfig{InitialInterval: 100 * time.Millisecond}, t0)
	now = t0
	for i := 0; i < 100; i++ {
		fast.Report(ipC, now)
		now = now.Add(100 * time.Millisecond)
	}
	p, _ := fast.Phi(ipC, now.Add(time.Second))
	if p < 4 {
		t.Fatalf("phi for a 1 s silence after 100 ms arrivals = %v", p)
	}
}

func TestLocalPauseSuppressesConviction(t *testing.T) {
	fd := NewFailureDetector(FailureDetectorConfig{}, t0)
	fd.Report(ipB, t0)
	// The detector itself did not run for 60 s (a GC pause): no conviction
	// now, nor until MaxLocalPause has passed.
	if fd.Interpret(ipB, t0.Add(60*time.Second)) {
		t.Fatal("convicted right after a local pause")
	}
	if fd.Interpret(ipB, t0.Add(62*time.Second)) {
		t.Fatal("convicted within MaxLocalPause of a local pause")
	}
	fd.Interpret(ipB, t0.Add(64*time.Second))
	if !fd.Interpret(ipB, t0.Add(66*time.Second)) {
		t.Fatal("not convicted after the pause window")
	}
	fd.Remove(ipB)
	if fd.Interpret(ipB, t0.Add(67*time.Second)) {
		t.Fatal("removed endpoint convicted")
	}
}
