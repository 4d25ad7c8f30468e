package gossip

import (
	"math"
	"net/netip"
	"time"
)

// PhiFactor scales phi so that the threshold keeps Cassandra's historical
// meaning: 1/ln(10). (Cassandra's PHI_FACTOR.)
var PhiFactor = 1 / math.Ln10

// arrivalSampleSize is Cassandra's SAMPLE_SIZE: intervals kept per endpoint.
const arrivalSampleSize = 1000

// FailureDetectorConfig configures a FailureDetector.
type FailureDetectorConfig struct {
	// PhiConvictThreshold: Interpret convicts when phi exceeds it. Default 8.
	PhiConvictThreshold float64
	// InitialInterval is the first sample of every arrival window. Default 2 s.
	InitialInterval time.Duration
	// MaxInterval: longer intervals are ignored. Default InitialInterval.
	MaxInterval time.Duration
	// MaxLocalPause: see Config.MaxLocalPause. Default 5 s.
	MaxLocalPause time.Duration
}

// FailureDetector is Cassandra's phi-accrual failure detector with its
// exponential model: phi = PhiFactor * (now - last arrival) / mean interval.
// It is pure: callers pass the time, and it is not safe for concurrent use.
type FailureDetector struct {
	cfg           FailureDetectorConfig
	windows       map[netip.Addr]*arrivalWindow
	lastInterpret time.Time
	lastPause     time.Time
}

// NewFailureDetector returns a detector; now starts its local-pause clock.
func NewFailureDetector(cfg FailureDetectorConfig, now time.Time) *FailureDetector {
	if cfg.PhiConvictThreshold == 0 {
		cfg.PhiConvictThreshold = DefaultPhiConvictThreshold
	}
	if cfg.InitialInterval <= 0 {
		cfg.InitialInterval = DefaultFDInitialInterval
	}
	if cfg.MaxInterval <= 0 {
		cfg.MaxInterval = cfg.InitialInterval
	}
	if cfg.MaxLocalPause <= 0 {
		cfg.MaxLocalPause = DefaultMaxLocalPause
	}
	return &FailureDetector{cfg: cfg, windows: map[netip.Addr]*arrivalWindow{}, lastInterpret: now}
}

// arrivalWindow is a ring of the last arrivalSampleSize inter-arrival
// intervals (nanoseconds) with a running sum.
type arrivalWindow struct {
	last      time.Time
	intervals []int64
	next      int
	sum       int64
}

func (w *arrivalWindow) add(iv int64) {
	if len(w.intervals) < arrivalSampleSize {
		w.intervals = append(w.intervals, iv)
	} else {
		w.sum -= w.intervals[w.next]
		w.intervals[w.next] = iv
		w.next = (w.next + 1) % arrivalSampleSize
	}
	w.sum += iv
}

func (w *arrivalWindow) mean() float64 {
	if len(w.intervals) == 0 {
		return 0
	}
	return float64(w.sum) / float64(len(w.intervals))
}

// Report records a heartbeat arrival from ep (call it whenever ep's
// heartbeat version increases). The first report seeds the window with
// InitialInterval; intervals longer than MaxInterval are not recorded.
func (fd *FailureDetector) Report(ep netip.Addr, now time.Time) {
	w := fd.windows[ep]
	if w == nil {
		w = &arrivalWindow{}
		fd.windows[ep] = w
		w.add(int64(fd.cfg.InitialInterval))
	} else {
		iv := now.Sub(w.last)
		if iv >= 0 && iv <= fd.cfg.MaxInterval {
			w.add(int64(iv))
		}
	}
	w.last = now
}

// Phi returns ep's suspicion level, already scaled by PhiFactor so that it
// compares with the threshold. ok is false if ep was never reported.
func (fd *FailureDetector) Phi(ep netip.Addr, now time.Time) (phi float64, ok bool) {
	w := fd.windows[ep]
	if w == nil {
		return 0, false
	}
	m := w.mean()
	if m <= 0 {
		return 0, true
	}
	return PhiFactor * float64(now.Sub(w.last)) / m, true
}

// Mean returns the mean recorded interval for ep.
func (fd *FailureDetector) Mean(ep netip.Addr) (time.Duration, bool) {
	w := fd.windows[ep]
	if w == nil {
		return 0, false
	}
	return time.Duration(w.mean()), true
}

// Interpret reports whether ep should be convicted now: phi above the
// threshold, and the detector not recovering from a local pause (if Interpret
// was not called for MaxLocalPause, nobody is convicted for MaxLocalPause).
func (fd *FailureDetector) Interpret(ep netip.Addr, now time.Time) bool {
	w := fd.windows[ep]
	if w == nil {
		return false
	}
	diff := now.Sub(fd.lastInterpret)
	fd.lastInterpret = now
	if diff > fd.cfg.MaxLocalPause {
		fd.lastPause = now
		return false
	}
	if !fd.lastPause.IsZero() && now.Sub(fd.lastPause) < fd.cfg.MaxLocalPause {
		return false
	}
	phi, _ := fd.Phi(ep, now)
	return phi > fd.cfg.PhiConvictThreshold
}

// Remove forgets ep's arrival window.
func (fd *FailureDetector) Remove(ep netip.Addr) { delete(fd.windows, ep) }
