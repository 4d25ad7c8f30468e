package pki

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"
)

// AuditKind is the kind of a membership audit event.
type AuditKind string

// The membership audit event kinds.
const (
	AuditJoin       AuditKind = "join"        // a node joined the ring
	AuditLeave      AuditKind = "leave"       // a node left (decommission)
	AuditRemove     AuditKind = "remove"      // a node was removed (removenode)
	AuditRefused    AuditKind = "refused"     // a peer was refused (identity mismatch, wrong cluster…)
	AuditTLSFailure AuditKind = "tls_failure" // an internode TLS handshake failed
	AuditStatus     AuditKind = "status"      // a peer's gossip status changed

	// Membership events (fsynced to the membership log).
	AuditAdmission  AuditKind = "admission"    // a node was admitted (certificate issued or bound to a host id)
	AuditTokenUse   AuditKind = "token_use"    // a join token was presented (Outcome: accepted, reused, expired…)
	AuditRestart    AuditKind = "restart"      // a member came back with a new gossip generation
	AuditForged     AuditKind = "forged_state" // a forged or unverifiable state was refused (Peer: the sender)
	AuditRevocation AuditKind = "revocation"   // a certificate was revoked (CRL accepted) or a revoked peer refused

	// Handshake noise: aggregated per source and interval into the noise
	// log, never written to the membership log (see the package doc).
	AuditHandshake AuditKind = "handshake_refused" // an internode connection was refused before it was a peer
	AuditConnLimit AuditKind = "conn_limit"        // an internode connection was dropped by a connection limit
)

func (k AuditKind) valid() bool {
	switch k {
	case AuditJoin, AuditLeave, AuditRemove, AuditRefused, AuditTLSFailure, AuditStatus:
		return true
	case AuditAdmission, AuditTokenUse, AuditRestart, AuditForged, AuditRevocation, AuditHandshake, AuditConnLimit:
		return true
	}
	return false
}

// Noise reports whether events of kind k are handshake noise: aggregated
// into per-source counts in the noise log instead of being recorded one by
// one in the membership log. AuditTLSFailure, AuditHandshake and
// AuditConnLimit are noise; every other kind is a membership event.
func (k AuditKind) Noise() bool {
	switch k {
	case AuditTLSFailure, AuditHandshake, AuditConnLimit:
		return true
	}
	return false
}

// AuditEvent is one membership audit record.
type AuditEvent struct {
	// Time of the event; zero means "now" (AuditOptions.Now). Written in
	// UTC as RFC 3339 with nanoseconds.
	Time time.Time
	// Kind is required.
	Kind AuditKind
	// Peer is the peer's address as observed: an IP, or IP:port for a
	// connection's source address.
	Peer string
	// HostID is the peer's host id (UUID), if known.
	HostID string
	// Serial is the peer certificate's serial number (decimal), if known.
	Serial string
	// Fingerprint is the peer certificate's SHA-256 fingerprint (hex), if
	// known.
	Fingerprint string
	// Outcome is what was done: "accepted", "refused", "revoked"… (optional).
	Outcome string
	// Reason is a human-readable explanation.
	Reason string
}

// auditLine is the JSON shape of one membership record: time, kind, peer,
// host_id and reason are always present, the others only when known.
type auditLine struct {
	Time        string    `json:"time"`
	Kind        AuditKind `json:"kind"`
	Peer        string    `json:"peer"`
	HostID      string    `json:"host_id"`
	Serial      string    `json:"serial,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Outcome     string    `json:"outcome,omitempty"`
	Reason      string    `json:"reason"`
}

// AuditOptions tunes an AuditLog. The zero value is valid.
type AuditOptions struct {
	// MaxBytes is the size beyond which the log is rotated to <path>.1
	// (replacing the previous <path>.1) before the next record is written.
	// Default 64 MiB.
	MaxBytes int64
	// MaxFieldBytes truncates Peer, HostID and Reason (which may come from
	// untrusted peers) to this many bytes. Default 1024.
	MaxFieldBytes int
	// Now is the clock used for events with a zero Time and for closing
	// noise intervals. Default time.Now.
	Now func() time.Time

	// NoisePath is the handshake noise log. Default: the membership log's
	// path with ".noise" before its extension (membership-audit.log ->
	// membership-audit.noise.log). It is created at the first noise.
	NoisePath string
	// NoiseMaxBytes is the size beyond which the noise log is rotated to
	// <NoisePath>.1. Default 4 MiB.
	NoiseMaxBytes int64
	// NoiseInterval is the aggregation interval of handshake noise: one
	// summary line per source per interval. Default one minute.
	NoiseInterval time.Duration
	// MaxNoiseSources bounds the sources counted separately in one
	// interval; noise from further sources is counted in one
	// "other sources" line. Default 1024.
	MaxNoiseSources int

	// openFile opens the log file; tests inject faults. Default os.OpenFile.
	openFile func(name string, flag int, perm fs.FileMode) (auditFile, error)
}

// EnsureDefaults fills unset fields with their defaults and returns o.
func (o *AuditOptions) EnsureDefaults() *AuditOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.MaxFieldBytes <= 0 {
		o.MaxFieldBytes = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NoiseMaxBytes <= 0 {
		o.NoiseMaxBytes = 4 << 20
	}
	if o.NoiseInterval <= 0 {
		o.NoiseInterval = time.Minute
	}
	if o.MaxNoiseSources <= 0 {
		o.MaxNoiseSources = 1024
	}
	if o.openFile == nil {
		o.openFile = func(name string, flag int, perm fs.FileMode) (auditFile, error) {
			return os.OpenFile(name, flag, perm)
		}
	}
	return o
}

type auditFile interface {
	io.ReadWriteCloser
	io.ReaderAt
	Sync() error
	Stat() (fs.FileInfo, error)
	Chmod(fs.FileMode) error
}

// ErrAuditLogClosed is returned by Record after Close.
var ErrAuditLogClosed = errors.New("pki: audit log closed")

// AuditLog is the append-only membership audit log: one JSON object per
// line, each fsynced before Record returns. Handshake noise (see
// AuditKind.Noise) is aggregated into a separate noise log instead. It is
// safe for concurrent use.
type AuditLog struct {
	path string
	opts AuditOptions

	mu     sync.Mutex
	f      auditFile // nil until the first write for a lazily opened log
	size   int64
	closed bool

	noise *noiseAggregator // nil for the noise log itself
}

// OpenAuditLog opens (creating, mode 0600) the audit log at path with
// default AuditOptions.
func OpenAuditLog(path string) (*AuditLog, error) {
	return OpenAuditLogWithOptions(path, AuditOptions{})
}

// OpenAuditLogWithOptions opens the audit log at path for appending,
// creating it with mode 0600 (an existing file is tightened to 0600). If
// the existing file ends in a torn record (no final newline, after a
// crash), a newline is appended so the next record starts its own line;
// existing content is never modified.
func OpenAuditLogWithOptions(path string, o AuditOptions) (*AuditLog, error) {
	o.EnsureDefaults()
	l := &AuditLog{path: path, opts: o}
	if err := l.open(); err != nil {
		return nil, err
	}
	l.noise = newNoiseAggregator(path, o)
	return l, nil
}

func (l *AuditLog) open() error {
	_, statErr := os.Lstat(l.path)
	f, err := l.opts.openFile(l.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, keyMode)
	if err != nil {
		return fmt.Errorf("pki: open audit log: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		return fmt.Errorf("pki: open audit log %s: %w", l.path, err)
	}
	if err := f.Chmod(keyMode); err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		return fail(errors.New("not a regular file"))
	}
	size := fi.Size()
	if size > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err != nil {
			return fail(err)
		}
		if last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				return fail(err)
			}
			if err := f.Sync(); err != nil {
				return fail(err)
			}
			size++
		}
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := syncDir(filepath.Dir(l.path)); err != nil {
			return fail(err)
		}
	}
	l.f, l.size = f, size
	return nil
}

// Record records ev. A membership event is appended as one JSON line and
// fsynced before Record returns; the log is rotated first if the record
// would take it beyond AuditOptions.MaxBytes. Handshake noise
// (ev.Kind.Noise()) is only counted: it reaches the noise log as a
// per-source summary when its interval is over (or at FlushNoise/Close).
func (l *AuditLog) Record(ev AuditEvent) error {
	if !ev.Kind.valid() {
		return fmt.Errorf("pki: audit: unknown event kind %q", ev.Kind)
	}
	t := ev.Time
	if t.IsZero() {
		t = l.opts.Now()
	}
	max := l.opts.MaxFieldBytes
	if ev.Kind.Noise() && l.noise != nil {
		return l.noise.add(t, ev.Kind, ev.Peer, ev.Reason)
	}
	line, err := json.Marshal(auditLine{
		Time:        t.UTC().Format(time.RFC3339Nano),
		Kind:        ev.Kind,
		Peer:        truncate(ev.Peer, max),
		HostID:      truncate(ev.HostID, max),
		Serial:      truncate(ev.Serial, max),
		Fingerprint: truncate(ev.Fingerprint, max),
		Outcome:     truncate(ev.Outcome, max),
		Reason:      truncate(ev.Reason, max),
	})
	if err != nil {
		return fmt.Errorf("pki: audit: encode: %w", err)
	}
	return l.appendLine(append(line, '\n'), true)
}

// appendLine appends one encoded line (ending in a newline), rotating
// first if needed, and fsyncs it if sync is set. A log whose file is not
// open yet (the noise log) is opened here.
func (l *AuditLog) appendLine(line []byte, sync bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrAuditLogClosed
	}
	if l.f == nil {
		if err := l.open(); err != nil {
			return err
		}
	}
	if l.size > 0 && l.size+int64(len(line)) > l.opts.MaxBytes {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(line)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("pki: audit: write %s: %w", l.path, err)
	}
	if sync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("pki: audit: fsync %s: %w", l.path, err)
		}
	}
	return nil
}

// rotate renames the log to <path>.1 (replacing it) and opens a new log.
// On failure the current file stays in use.
func (l *AuditLog) rotate() error {
	old := l.path + ".1"
	if err := os.Rename(l.path, old); err != nil {
		return fmt.Errorf("pki: audit: rotate %s: %w", l.path, err)
	}
	prev, prevSize := l.f, l.size
	if err := l.open(); err != nil {
		// Put the old file back so that writes continue where they were.
		if rerr := os.Rename(old, l.path); rerr != nil {
			err = errors.Join(err, rerr)
		}
		l.f, l.size = prev, prevSize
		return fmt.Errorf("pki: audit: rotate: %w", err)
	}
	if err := prev.Close(); err != nil {
		return fmt.Errorf("pki: audit: close rotated log: %w", err)
	}
	return nil
}

// Close writes the pending noise summaries and closes the logs; later
// Records return ErrAuditLogClosed.
func (l *AuditLog) Close() error {
	var nerr error
	if l.noise != nil {
		nerr = l.noise.close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nerr
	}
	l.closed = true
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			return errors.Join(nerr, fmt.Errorf("pki: audit: close: %w", err))
		}
	}
	return nerr
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
