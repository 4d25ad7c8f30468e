package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Engine is a node's storage engine: one Pebble instance holding every
// table's data and the metadata store. All methods are safe for concurrent
// use. An Engine must not be used after Close.
type Engine struct {
	db   *pebble.DB
	opts Options
	wo   *pebble.WriteOptions // data writes, per SyncMode
	// walFS defers the WAL's fsyncs to syncLoop in periodic mode (nil in
	// batch mode).
	walFS *periodicWALFS

	// gcMu is held shared by Apply and exclusively by the gc pass while it
	// decides and writes point deletions (see gcApply).
	gcMu sync.RWMutex

	// hintSeq is the sequence part of the last hint id (see hints.go).
	hintSeq atomic.Uint64
	// truncMu serializes TruncateTable's read-modify-write of a record.
	truncMu sync.Mutex

	closeOnce sync.Once
	closeErr  error
	stop      chan struct{} // closed by Close to stop syncLoop
	done      chan struct{} // closed when syncLoop returns
	gcDone    chan struct{} // closed when gcLoop returns
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*Engine, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	e.hintSeq.Store(uint64(time.Now().UnixNano()))
	cache := pebble.NewCache(opts.CacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		Cache:              cache,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{opts.Logger},
		Merger:             &pebble.Merger{Name: mergerName, Merge: e.merge},
	}
	if opts.SyncMode == SyncPeriodic {
		e.walFS = newPeriodicWALFS(vfs.Default)
		po.FS = e.walFS
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	e.db = db
	if opts.SyncMode == SyncBatch {
		e.wo = pebble.Sync
		close(e.done)
	} else {
		// Sync commits wait until the WAL record is written to the OS; the
		// fsync itself is deferred to syncLoop (see periodicWALFS).
		e.wo = pebble.Sync
		go e.syncLoop()
	}
	e.gcDone = make(chan struct{})
	if opts.GCInterval > 0 {
		go e.gcLoop()
	} else {
		close(e.gcDone)
	}
	return e, nil
}

// gcLoop runs the tombstone gc pass every GCInterval, so that tombstones
// older than gc_grace_seconds are purged by Pebble's ordinary compactions
// without an operator running a major compaction.
func (e *Engine) gcLoop() {
	defer close(e.gcDone)
	t := time.NewTicker(e.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			start := time.Now()
			if err := e.gcPass(); err != nil {
				e.opts.Logger.Error("storage: tombstone gc pass failed", "err", err)
				continue
			}
			e.opts.Logger.Debug("storage: tombstone gc pass done", "took", time.Since(start))
		}
	}
}

// syncLoop fsyncs the WAL every SyncPeriod (commitlog_sync: periodic).
func (e *Engine) syncLoop() {
	defer close(e.done)
	t := time.NewTicker(e.opts.SyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			if err := e.syncWAL(); err != nil {
				e.opts.Logger.Error("storage: periodic commit log sync failed", "err", err)
			}
		}
	}
}

// syncWAL fsyncs the WAL: in periodic mode every open WAL file, else an
// empty synced record forces everything before it to disk.
func (e *Engine) syncWAL() error {
	if e.walFS != nil {
		return e.walFS.syncAll()
	}
	return e.db.LogData(nil, pebble.Sync)
}

// Close stops background work, fsyncs the WAL and closes the store.
// Calling it again returns the first call's result.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		<-e.done
		<-e.gcDone
		errSync := e.syncWAL()
		errClose := e.db.Close()
		e.closeErr = errors.Join(errSync, errClose)
	})
	return e.closeErr
}

// encoder holds the reusable buffers of one Apply call.
type encoder struct {
	key  []byte
	val  []byte
	row  rowFragment
	hdr  headerFragment
	tmpH headerFragment
	rts  []rtEntry
}

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

// Apply writes the mutations atomically (one Pebble batch). Writes are blind
// merges: no existing data is read. In SyncBatch mode Apply returns only
// after the batch is fsynced to the WAL (concurrent callers share the
// fsync); in SyncPeriodic mode it returns once the batch is in the WAL and
// memtable. Apply does not modify or retain the mutations.
func (e *Engine) Apply(muts []*Mutation) error {
	enc := encoderPool.Get().(*encoder)
	defer encoderPool.Put(enc)
	b := e.db.NewBatch()
	defer b.Close()
	for _, m := range muts {
		if m == nil {
			continue
		}
		if err := enc.addMutation(b, m); err != nil {
			return err
		}
	}
	if b.Empty() {
		return nil
	}
	e.gcMu.RLock()
	defer e.gcMu.RUnlock()
	return b.Commit(e.wo)
}

func (enc *encoder) addMutation(b *pebble.Batch, m *Mutation) error {
	part := appendPartitionPrefix(enc.key[:0], m.Table, m.Token, m.Key)
	n := len(part)
	if !m.PartitionDeletion.IsLive() || len(m.RangeTombstones) > 0 {
		enc.rts = buildHeader(m, &enc.hdr, &enc.tmpH, enc.rts)
		if !enc.hdr.isEmpty() {
			enc.val = appendHeader(enc.val[:0], &enc.hdr)
			part = append(part[:n], kindHeader)
			if err := b.Merge(part, enc.val, nil); err != nil {
				return err
			}
		}
	}
	for i := range m.Rows {
		ru := &m.Rows[i]
		if ru.Static && len(ru.Clustering) > 0 {
			return fmt.Errorf("storage: static row update with clustering %x", ru.Clustering)
		}
		buildRow(ru, &enc.row)
		if enc.row.isEmpty() {
			continue
		}
		part = part[:n]
		if ru.Static {
			part = append(part, kindStatic)
		} else {
			part = append(part, kindRow)
			part = append(part, ru.Clustering...)
		}
		enc.val = appendRow(enc.val[:0], &enc.row)
		if err := b.Merge(part, enc.val, nil); err != nil {
			return err
		}
	}
	enc.key = part
	return nil
}

// buildRow converts ru into a canonical fragment (sorted unique cells and
// complex deletions, self-shadowed data removed). f aliases ru's bytes.
func buildRow(ru *RowUpdate, f *rowFragment) {
	f.reset()
	f.liveness = ru.Liveness
	if f.liveness.Timestamp == 0 {
		f.liveness = LivenessInfo{}
	}
	f.deletion = ru.Deletion
	if f.deletion.IsLive() {
		f.deletion = DeletionTime{}
	}
	for _, c := range ru.ComplexDeletions {
		if !c.Deletion.IsLive() {
			f.complex = mergeComplex(f.complex, c)
		}
	}
	f.cells = append(f.cells, ru.Cells...)
	sorted := true
	for i := range f.cells {
		c := &f.cells[i]
		if c.Tombstone {
			c.Value, c.TTL, c.ExpiresAt = nil, 0, 0
		} else {
			c.LocalDeletionTime = 0
			if c.ExpiresAt == 0 {
				c.TTL = 0
			}
		}
		if i > 0 && compareCellKey(&f.cells[i-1], c) >= 0 {
			sorted = false
		}
	}
	if !sorted {
		slices.SortStableFunc(f.cells, func(a, b Cell) int { return compareCellKey(&a, &b) })
		out := f.cells[:0]
		for i := range f.cells {
			if len(out) > 0 && compareCellKey(&out[len(out)-1], &f.cells[i]) == 0 {
				if cellWins(&f.cells[i], &out[len(out)-1]) {
					out[len(out)-1] = f.cells[i]
				}
				continue
			}
			out = append(out, f.cells[i])
		}
		f.cells = out
	}
	shadowRow(f, f.deletion)
}

// buildHeader converts m's partition deletion and range tombstones into a
// canonical header fragment in h (tmp is scratch). It returns scratch.
func buildHeader(m *Mutation, h, tmp *headerFragment, scratch []rtEntry) []rtEntry {
	h.reset()
	if !m.PartitionDeletion.IsLive() {
		h.deletion = m.PartitionDeletion
	}
	tmp.reset()
	for _, rt := range m.RangeTombstones {
		if rt.Deletion.IsLive() {
			continue
		}
		rt.Start, rt.End = normalizeBound(rt.Start), normalizeBound(rt.End)
		tmp.rts = append(tmp.rts, rtEntry{RangeTombstone: rt})
	}
	slices.SortStableFunc(tmp.rts, func(a, b rtEntry) int { return compareRT(&a.RangeTombstone, &b.RangeTombstone) })
	out := tmp.rts[:0]
	for _, rt := range tmp.rts {
		if len(out) > 0 && compareRT(&out[len(out)-1].RangeTombstone, &rt.RangeTombstone) == 0 {
			if rt.Deletion.Supersedes(out[len(out)-1].Deletion) {
				out[len(out)-1] = rt
			}
			continue
		}
		out = append(out, rt)
	}
	tmp.rts = out
	return mergeHeader(h, tmp, scratch)
}

// DropTable deletes all of a table's data (TRUNCATE, DROP TABLE) with a
// synced range deletion; disk space is reclaimed by later compactions.
func (e *Engine) DropTable(table TableID) error {
	return e.durable(e.db.DeleteRange(appendTablePrefix(nil, table), tableUpperBound(table), pebble.Sync))
}

// Flush writes the memtable to an sstable (nodetool flush).
func (e *Engine) Flush() error { return e.db.Flush() }

// Compact runs a full major compaction (nodetool compact). It first runs
// the gc pass (see gc.go), which prepares tombstones older than gc_grace to
// be purged, then flushes and compacts the whole key space, purging them.
func (e *Engine) Compact() error {
	if err := e.gcPass(); err != nil {
		return err
	}
	if err := e.db.Flush(); err != nil {
		return err
	}
	return e.db.Compact(context.Background(), []byte{0}, []byte{0xFF}, true)
}

// DiskUsage returns the bytes the store occupies on disk (sstables, WAL,
// manifests).
func (e *Engine) DiskUsage() uint64 { return e.db.Metrics().DiskSpaceUsage() }

// pebbleLogger routes Pebble's log lines to slog (its info lines at Debug
// level: they are routine WAL and compaction chatter).
type pebbleLogger struct{ l *slog.Logger }

// Infof implements pebble.Logger.
func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

// Errorf implements pebble.Logger.
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf implements pebble.Logger; Pebble expects it not to return.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble", "fatal", true)
	panic("pebble: " + msg)
}
