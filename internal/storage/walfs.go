package storage

import (
	"errors"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// periodicWALFS gives commitlog_sync: periodic Cassandra's guarantee: a
// write is acknowledged once the commit log has handed it to the OS (so a
// process crash, kill -9 included, loses nothing), and the commit log is
// fsynced every SyncPeriod (so a machine crash loses at most that much).
//
// Pebble acknowledges a NoSync commit while its WAL record may still sit
// in the log writer's user-space buffer, which a process crash loses. So
// the engine commits with Sync — Pebble's commit then waits until its log
// writer has written the record to the file — and this file system turns
// the WAL files' fsync into a no-op, recording the file instead; syncAll
// fsyncs them for real (the periodic loop, Close, and every WAL file when
// Pebble closes it after a rotation).
type periodicWALFS struct {
	vfs.FS

	mu   sync.Mutex
	open map[*deferredSyncFile]struct{}
}

func newPeriodicWALFS(fs vfs.FS) *periodicWALFS {
	return &periodicWALFS{FS: fs, open: map[*deferredSyncFile]struct{}{}}
}

// isWAL reports whether a file name is one of Pebble's write-ahead logs
// ("000123.log", or "000123-001.log" for a failover segment).
func (fs *periodicWALFS) isWAL(name string) bool {
	return strings.HasSuffix(fs.PathBase(name), ".log")
}

// Create implements vfs.FS.
func (fs *periodicWALFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	return fs.track(name, f, err)
}

// ReuseForWrite implements vfs.FS (Pebble recycles old WAL files).
func (fs *periodicWALFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	return fs.track(newname, f, err)
}

func (fs *periodicWALFS) track(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !fs.isWAL(name) {
		return f, err
	}
	d := &deferredSyncFile{File: f, fs: fs}
	fs.mu.Lock()
	fs.open[d] = struct{}{}
	fs.mu.Unlock()
	return d, nil
}

// durable completes a pebble.Sync write that must be on disk when it
// returns whatever the SyncMode (metadata, hints, truncations): in periodic
// mode Pebble's sync of the WAL is deferred, so the WAL is fsynced here.
func (e *Engine) durable(err error) error {
	if err != nil || e.walFS == nil {
		return err
	}
	return e.walFS.syncAll()
}

// syncAll fsyncs every open WAL file.
func (fs *periodicWALFS) syncAll() error {
	fs.mu.Lock()
	files := make([]*deferredSyncFile, 0, len(fs.open))
	for f := range fs.open {
		files = append(files, f)
	}
	fs.mu.Unlock()
	var errs []error
	for _, f := range files {
		errs = append(errs, f.realSync())
	}
	return errors.Join(errs...)
}

// deferredSyncFile is a WAL file whose fsyncs are deferred to syncAll.
type deferredSyncFile struct {
	vfs.File
	fs *periodicWALFS

	mu     sync.Mutex // serialises the real fsync with Close
	closed bool
}

// Sync is deferred to the periodic fsync: the data has been written to the
// OS when Pebble calls it.
func (f *deferredSyncFile) Sync() error { return nil }

// SyncData is deferred like Sync.
func (f *deferredSyncFile) SyncData() error { return nil }

// SyncTo is deferred like Sync; it reports a full sync so that callers do
// not fall back to Sync.
func (f *deferredSyncFile) SyncTo(int64) (bool, error) { return true, nil }

// realSync fsyncs the file unless it is closed.
func (f *deferredSyncFile) realSync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	return f.File.Sync()
}

// Close fsyncs the file for real (a rotated-out WAL is durable before it is
// let go), then closes it.
func (f *deferredSyncFile) Close() error {
	f.fs.mu.Lock()
	delete(f.fs.open, f)
	f.fs.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	return errors.Join(f.File.Sync(), f.File.Close())
}
