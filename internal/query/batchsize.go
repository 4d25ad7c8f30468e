package query

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/storage"
	"github.com/ringdb/ringdb/internal/types"
)

// Default batch size thresholds, as cassandra.yaml's
// batch_size_warn_threshold_in_kb (5) and batch_size_fail_threshold_in_kb
// (50) set them.
const (
	DefaultBatchSizeWarnThreshold = 5 * 1024
	DefaultBatchSizeFailThreshold = 50 * 1024
)

// checkBatchSize is Cassandra's guard on the size of an unconditional
// batch. Only a batch of more than one mutation (Cassandra's unit: one
// partition key of one keyspace) is measured; above the warn threshold it
// gets a client warning, above the fail threshold it is refused.
func (p *Processor) checkBatchSize(muts []*storage.Mutation, tables map[storage.TableID]*schema.Table) ([]string, error) {
	warnAt, failAt := p.opts.BatchSizeWarnThreshold, p.opts.BatchSizeFailThreshold
	if warnAt < 0 && failAt < 0 {
		return nil, nil
	}
	keys := map[string]bool{}
	for _, m := range muts {
		if t := tables[m.Table]; t != nil {
			keys[t.Keyspace+"\x00"+string(m.Key)] = true
		}
	}
	if len(keys) <= 1 {
		return nil, nil
	}
	size := batchDataSize(muts, tables)
	if failAt >= 0 && size > failAt && (warnAt < 0 || size > warnAt) {
		p.log.Error("batch too large", "tables", batchTableNames(muts, tables), "size", size, "threshold", failAt)
		return nil, cqlerr.Invalidf("Batch too large")
	}
	if warnAt < 0 || size <= warnAt {
		return nil, nil
	}
	msg := fmt.Sprintf("Batch for %s is of size %d, exceeding specified threshold of %d by %d.",
		batchTableNames(muts, tables), size, warnAt, size-warnAt)
	p.log.Warn(msg)
	return []string{msg}, nil
}

// batchTableNames renders the tables of a batch as Cassandra prints its set
// of table names ("[ks.a, ks.b]"), in sorted order.
func batchTableNames(muts []*storage.Mutation, tables map[storage.TableID]*schema.Table) string {
	seen := map[string]bool{}
	var names []string
	for _, m := range muts {
		t := tables[m.Table]
		if t == nil {
			continue
		}
		n := types.QuoteIdent(t.Keyspace) + "." + types.QuoteIdent(t.Name)
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return "[" + strings.Join(names, ", ") + "]"
}

// Sizes Cassandra 4.0 counts in PartitionUpdate.dataSize().
const (
	livenessSize         = 8  // row marker timestamp
	expiringLivenessSize = 16 // timestamp, TTL, local expiration time
	deletionSize         = 12 // DeletionTime: markedForDeleteAt, localDeletionTime
	cellOverhead         = 16 // timestamp, TTL, local deletion time
)

// sizedRow accumulates the writes of one row of one partition update.
type sizedRow struct {
	static   bool
	ck       []byte
	expiring bool
	complex  map[uint32]bool
	cells    map[string]int // column id and path -> value and path size
}

// batchDataSize is the size Cassandra 4.0 compares with the batch
// thresholds: the sum, over the partition updates (one per table and
// partition key), of their data size. Each row counts its clustering
// values, its liveness (8 bytes, 16 with a TTL) and its deletion (12
// bytes); each multi-cell column 12 bytes of complex deletion; each cell
// 16 bytes plus its value and cell path. The static row always counts
// (20 bytes when not written); partition and range deletions do not.
// Rows and cells written by several statements count once.
func batchDataSize(muts []*storage.Mutation, tables map[storage.TableID]*schema.Table) int {
	type partKey struct {
		table storage.TableID
		key   string
	}
	parts := map[partKey]map[string]*sizedRow{}
	for _, m := range muts {
		t := tables[m.Table]
		if t == nil {
			continue
		}
		pk := partKey{m.Table, string(m.Key)}
		rows := parts[pk]
		if rows == nil {
			rows = map[string]*sizedRow{}
			parts[pk] = rows
		}
		for i := range m.Rows {
			addSizedRow(t, rows, &m.Rows[i])
		}
	}
	size := 0
	for pk, rows := range parts {
		t := tables[pk.table]
		if _, ok := rows["s"]; !ok {
			size += livenessSize + deletionSize // the empty static row
		}
		for _, r := range rows {
			size += r.size(t)
		}
	}
	return size
}

// addSizedRow merges one row update into the rows of its partition.
func addSizedRow(t *schema.Table, rows map[string]*sizedRow, u *storage.RowUpdate) {
	k := "r" + string(u.Clustering)
	if u.Static {
		k = "s"
	}
	r := rows[k]
	if r == nil {
		r = &sizedRow{static: u.Static, ck: u.Clustering, complex: map[uint32]bool{}, cells: map[string]int{}}
		rows[k] = r
	}
	r.expiring = r.expiring || u.Liveness.TTL > 0
	for _, d := range u.ComplexDeletions {
		r.complex[d.Column] = true
	}
	for _, c := range u.Cells {
		idx := t.Slot(c.Column)
		if idx < 0 {
			continue
		}
		col := t.All[idx]
		if col.Type.IsMultiCell() {
			r.complex[c.Column] = true
		}
		n := cellOverhead + cellPathSize(col.Type, c.Path)
		if !c.Tombstone {
			n += len(c.Value)
		}
		r.cells[fmt.Sprintf("%d/%x", c.Column, c.Path)] = n
	}
}

// size is the row's dataSize() in Cassandra 4.0.
func (r *sizedRow) size(t *schema.Table) int {
	n := deletionSize + livenessSize
	if r.expiring {
		n = deletionSize + expiringLivenessSize
	}
	if !r.static && len(r.ck) > 0 {
		if vals, err := decodeClustering(t, r.ck, nil); err == nil {
			for _, v := range vals {
				n += len(v)
			}
		}
	}
	n += deletionSize * len(r.complex)
	for _, c := range r.cells {
		n += c
	}
	return n
}

// cellPathSize is the size of a cell path as Cassandra stores it: a list
// element's timeuuid, a set element or map key's value, a UDT field's
// 2-byte position. ringdb's paths are order-encoded, so they are decoded.
func cellPathSize(t *types.Type, path []byte) int {
	if len(path) == 0 {
		return 0
	}
	var kt *types.Type
	switch t.Kind {
	case types.List:
		kt = types.TimeuuidType
	case types.Set, types.Map:
		kt = t.Key()
	default:
		return len(path)
	}
	v, _, err := types.DecodeKey(kt, path, false)
	if err != nil {
		return len(path)
	}
	return len(v)
}
