package pki

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// OtherNoiseSources is the peer of the noise summary line that counts the
// noise of the sources beyond AuditOptions.MaxNoiseSources in an interval.
const OtherNoiseSources = "other sources"

// NoiseSummaryKind is the kind of the lines of the noise log.
const NoiseSummaryKind AuditKind = "noise_summary"

// maxNoiseReason bounds a noise summary's sample reason, so that the
// default noise log holds a whole interval of MaxNoiseSources lines.
const maxNoiseReason = 256

// noiseLine is the JSON shape of one line of the noise log: the noise of
// one source (or of all sources beyond the cap) in one interval.
type noiseLine struct {
	Time        string    `json:"time"`         // interval start
	IntervalEnd string    `json:"interval_end"` // interval end
	Kind        AuditKind `json:"kind"`         // NoiseSummaryKind
	Peer        string    `json:"peer"`         // source IP, or OtherNoiseSources
	Count       uint64    `json:"count"`        // events in the interval
	SampleKind  AuditKind `json:"sample_kind"`  // kind of the first event
	Reason      string    `json:"reason"`       // reason of the first event
}

// noiseCount is the noise of one source in the current interval.
type noiseCount struct {
	count  uint64
	kind   AuditKind
	reason string
}

// noiseAggregator counts handshake noise per source and interval and
// writes one summary line per source when the interval is over. Memory is
// bounded by MaxNoiseSources entries.
type noiseAggregator struct {
	opts AuditOptions
	sink *AuditLog // the noise log: opened lazily, rotated, never fsynced

	mu      sync.Mutex
	start   time.Time // start of the interval being counted; zero if none
	sources map[string]*noiseCount
	order   []string // sources in order of first event
	other   noiseCount
	closed  bool

	stop chan struct{}
	done chan struct{}
}

// noisePath derives the default noise log path from the membership log's.
func noisePath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + ".noise" + ext
}

// newNoiseAggregator starts the aggregator of the membership log at path,
// with a goroutine (stopped by close) that writes the summaries of an
// interval that is over even if no further noise arrives.
func newNoiseAggregator(path string, o AuditOptions) *noiseAggregator {
	np := o.NoisePath
	if np == "" {
		np = noisePath(path)
	}
	so := o
	so.MaxBytes = o.NoiseMaxBytes
	a := &noiseAggregator{
		opts:    o,
		sink:    &AuditLog{path: np, opts: so},
		sources: make(map[string]*noiseCount),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go a.run()
	return a
}

func (a *noiseAggregator) run() {
	defer close(a.done)
	tick := a.opts.NoiseInterval / 4
	if tick < time.Second {
		tick = time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			_ = a.flush(a.opts.Now(), false)
		}
	}
}

// source is the aggregation key of a peer: its IP without the port (a
// flood comes from many ports), or the (truncated) text if it is no
// address.
func (a *noiseAggregator) source(peer string) string {
	if ap, err := netip.ParseAddrPort(peer); err == nil {
		return ap.Addr().Unmap().String()
	}
	if ad, err := netip.ParseAddr(peer); err == nil {
		return ad.Unmap().String()
	}
	return truncate(peer, a.opts.MaxFieldBytes)
}

// add counts one noise event at t. An event of a later interval than the
// one being counted first writes that interval's summaries; an event of
// an earlier one (clock steps) is counted in the current interval.
func (a *noiseAggregator) add(t time.Time, kind AuditKind, peer, reason string) error {
	src := a.source(peer)
	w := t.Truncate(a.opts.NoiseInterval)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrAuditLogClosed
	}
	var err error
	if a.start.IsZero() {
		a.start = w
	} else if w.After(a.start) {
		err = a.writeLocked()
		a.start = w
	}
	c := a.sources[src]
	if c == nil {
		if len(a.sources) >= a.opts.MaxNoiseSources {
			c = &a.other
		} else {
			c = &noiseCount{}
			a.sources[src] = c
			a.order = append(a.order, src)
		}
	}
	if c.count == 0 {
		c.kind, c.reason = kind, truncate(reason, min(a.opts.MaxFieldBytes, maxNoiseReason))
	}
	c.count++
	return err
}

// flush writes the pending summaries if their interval is over at now, or
// whatever its end if all is set.
func (a *noiseAggregator) flush(now time.Time, all bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.start.IsZero() || (!all && now.Before(a.start.Add(a.opts.NoiseInterval))) {
		return nil
	}
	err := a.writeLocked()
	a.start = time.Time{}
	return err
}

// writeLocked writes one line per source of the current interval (in
// order of first event, then the other sources) and resets the counts.
func (a *noiseAggregator) writeLocked() error {
	start := a.start.UTC()
	end := start.Add(a.opts.NoiseInterval)
	var errs []error
	write := func(peer string, c *noiseCount) {
		line, err := json.Marshal(noiseLine{
			Time: start.Format(time.RFC3339Nano), IntervalEnd: end.Format(time.RFC3339Nano), Kind: NoiseSummaryKind,
			Peer: peer, Count: c.count, SampleKind: c.kind, Reason: c.reason,
		})
		if err == nil {
			err = a.sink.appendLine(append(line, '\n'), false)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, src := range a.order {
		write(src, a.sources[src])
	}
	if a.other.count > 0 {
		write(OtherNoiseSources, &a.other)
	}
	clear(a.sources)
	a.order = a.order[:0]
	a.other = noiseCount{}
	if len(errs) > 0 {
		return fmt.Errorf("pki: audit: noise log: %w", errors.Join(errs...))
	}
	return nil
}

// close stops the flusher, writes what is pending and closes the noise
// log.
func (a *noiseAggregator) close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	close(a.stop)
	<-a.done
	a.mu.Lock()
	var err error
	if !a.start.IsZero() {
		err = a.writeLocked()
		a.start = time.Time{}
	}
	a.mu.Unlock()
	return errors.Join(err, a.sink.Close())
}

// FlushNoise writes the pending handshake noise summaries to the noise log
// now, even if their interval is not over.
func (l *AuditLog) FlushNoise() error {
	if l.noise == nil {
		return nil
	}
	return l.noise.flush(time.Time{}, true)
}

// NoisePath returns the path of the handshake noise log.
func (l *AuditLog) NoisePath() string {
	if l.noise == nil {
		return ""
	}
	return l.noise.sink.path
}
