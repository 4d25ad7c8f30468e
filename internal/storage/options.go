package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// SyncMode is cassandra.yaml's commitlog_sync: when a write's WAL record is
// fsynced relative to the acknowledgement.
type SyncMode int

const (
	// SyncPeriodic (commitlog_sync: periodic, the default) acknowledges writes
	// once the WAL writer has written them to the OS and fsyncs the WAL every
	// SyncPeriod (see periodicWALFS). A machine crash loses up to SyncPeriod
	// of acknowledged writes; a process crash loses none.
	SyncPeriodic SyncMode = iota
	// SyncBatch (commitlog_sync: batch) acknowledges a write only after its
	// WAL record is fsynced; concurrent writers share fsyncs (group commit).
	SyncBatch
)

// String returns the cassandra.yaml spelling of m.
func (m SyncMode) String() string {
	switch m {
	case SyncPeriodic:
		return "periodic"
	case SyncBatch:
		return "batch"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Default option values.
const (
	// DefaultSyncPeriod is commitlog_sync_period's default.
	DefaultSyncPeriod = 10 * time.Second
	// DefaultGCGrace is gc_grace_seconds' default (10 days).
	DefaultGCGrace = 10 * 24 * time.Hour
	// DefaultCacheSize is the default Pebble block cache size (64 MiB).
	DefaultCacheSize = 64 << 20
)

// Options configure an Engine. The zero value is valid: every field has a
// default, filled by Open.
type Options struct {
	// SyncMode is commitlog_sync. Default SyncPeriodic.
	SyncMode SyncMode
	// SyncPeriod is commitlog_sync_period: how often periodic mode fsyncs the
	// WAL. Default 10s. Ignored in batch mode.
	SyncPeriod time.Duration
	// Logger receives Pebble's log lines and the engine's own. Default
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock used for TTL expiry and gc_grace. Default time.Now.
	Now func() time.Time
	// GCGrace returns a table's gc_grace_seconds: how long tombstones are
	// kept before compaction may purge them. Default 10 days for every table.
	// It is called from compactions and reads and must be fast and
	// goroutine-safe.
	GCGrace func(TableID) time.Duration
	// CacheSize is the Pebble block cache size in bytes. Default 64 MiB.
	CacheSize int64
	// GCInterval is how often the tombstone gc pass runs in the background
	// (it prepares tombstones older than gc_grace for purging by Pebble's
	// compactions; Compact purges at once). Default 1h; negative disables.
	GCInterval time.Duration
}

// withDefaults returns o with every unset field filled in, or an error
// naming every invalid field.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	switch o.SyncMode {
	case SyncPeriodic, SyncBatch:
	default:
		errs = append(errs, fmt.Errorf("storage: commitlog_sync: unknown mode %d", int(o.SyncMode)))
	}
	if o.SyncPeriod < 0 {
		errs = append(errs, fmt.Errorf("storage: commitlog_sync_period: negative (%v)", o.SyncPeriod))
	}
	if o.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("storage: cache size: negative (%d)", o.CacheSize))
	}
	if len(errs) > 0 {
		return o, errors.Join(errs...)
	}
	if o.SyncPeriod == 0 {
		o.SyncPeriod = DefaultSyncPeriod
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.GCGrace == nil {
		o.GCGrace = func(TableID) time.Duration { return DefaultGCGrace }
	}
	if o.GCInterval == 0 {
		o.GCInterval = time.Hour
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	return o, nil
}
