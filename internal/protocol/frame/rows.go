package frame

import (
	"encoding/binary"
	"fmt"
)

// Rows metadata flags ([int] <flags> of a Rows result or of a Prepared
// result's metadata, section 4.2.5.2).
const (
	MetaGlobalTablesSpec int32 = 0x0001
	MetaHasMorePages     int32 = 0x0002
	MetaNoMetadata       int32 = 0x0004
)

// ColumnSpec describes one column of a result or one bind marker.
type ColumnSpec struct {
	Keyspace string
	Table    string
	Name     string
	// Type is the column type's pre-encoded [option] bytes (an option id
	// [short] and its value, e.g. 0x000D for varchar), written verbatim.
	Type []byte
}

// RowsMetadata is the <metadata> of a Rows result or the result metadata of
// a Prepared result.
type RowsMetadata struct {
	// Columns describe the result columns. With NoMetadata only
	// len(Columns) is written.
	Columns []ColumnSpec
	// NoMetadata omits the column specs (the client asked to skip them, or
	// a prepared statement returns no rows).
	NoMetadata bool
	// PagingState, when non-nil, sets HasMorePages and is written as the
	// [bytes] <paging_state>.
	PagingState []byte
}

// globalSpec reports whether all columns share one keyspace and table, in
// which case the metadata carries a global table spec.
func globalSpec(cols []ColumnSpec) bool {
	if len(cols) == 0 {
		return false
	}
	for i := 1; i < len(cols); i++ {
		if cols[i].Keyspace != cols[0].Keyspace || cols[i].Table != cols[0].Table {
			return false
		}
	}
	return true
}

// appendColumnSpecs appends [<global_table_spec>?<col_spec_1>...<col_spec_n>].
func appendColumnSpecs(dst []byte, cols []ColumnSpec, global bool) []byte {
	if global {
		dst = AppendString(dst, cols[0].Keyspace)
		dst = AppendString(dst, cols[0].Table)
	}
	for i := range cols {
		if !global {
			dst = AppendString(dst, cols[i].Keyspace)
			dst = AppendString(dst, cols[i].Table)
		}
		dst = AppendString(dst, cols[i].Name)
		dst = append(dst, cols[i].Type...)
	}
	return dst
}

// AppendRowsMetadata appends <flags><columns_count>[<paging_state>]
// [<global_table_spec>?<col_spec_1>...<col_spec_n>]. The global table spec
// is used whenever every column belongs to the same table.
func AppendRowsMetadata(dst []byte, md *RowsMetadata) []byte {
	var flags int32
	global := !md.NoMetadata && globalSpec(md.Columns)
	if global {
		flags |= MetaGlobalTablesSpec
	}
	if md.PagingState != nil {
		flags |= MetaHasMorePages
	}
	if md.NoMetadata {
		flags |= MetaNoMetadata
	}
	dst = AppendInt(dst, flags)
	dst = AppendInt(dst, int32(len(md.Columns)))
	if md.PagingState != nil {
		dst = AppendBytes(dst, md.PagingState)
	}
	if md.NoMetadata {
		return dst
	}
	return appendColumnSpecs(dst, md.Columns, global)
}

// PreparedResult is a RESULT of kind Prepared.
type PreparedResult struct {
	// ID is the prepared statement id ([short bytes]).
	ID []byte
	// BindColumns describe the statement's bind markers, in order.
	BindColumns []ColumnSpec
	// PKIndexes are, for each partition key column of the statement's table
	// in order, the index of the bind marker that gives it; empty when not
	// all partition key columns are bound.
	PKIndexes []uint16
	// Result is the metadata of the rows the statement returns; NoMetadata
	// for statements that return none.
	Result RowsMetadata
}

// AppendResultPrepared appends a RESULT body of kind Prepared (v4 layout:
// <id><metadata><result_metadata>).
func AppendResultPrepared(dst []byte, p *PreparedResult) []byte {
	dst = AppendInt(dst, ResultPrepared)
	dst = AppendShortBytes(dst, p.ID)
	global := globalSpec(p.BindColumns)
	var flags int32
	if global {
		flags = MetaGlobalTablesSpec
	}
	dst = AppendInt(dst, flags)
	dst = AppendInt(dst, int32(len(p.BindColumns)))
	dst = AppendInt(dst, int32(len(p.PKIndexes)))
	for _, i := range p.PKIndexes {
		dst = AppendShort(dst, i)
	}
	dst = appendColumnSpecs(dst, p.BindColumns, global)
	return AppendRowsMetadata(dst, &p.Result)
}

// RowsWriter writes a RESULT of kind Rows into a reusable buffer without
// per-cell allocation: Begin writes the kind, the metadata and a row-count
// placeholder; cells are appended row by row; Finish patches the row count.
//
//	var rw frame.RowsWriter
//	rw.Begin(buf, &md)
//	for each row { for each column { rw.Cell(v) }; rw.EndRow() }
//	buf, err = rw.Finish()
//
// A cell can also be serialized straight into the buffer: BeginCell, append
// the value's bytes to rw.Buf, EndCell.
type RowsWriter struct {
	// Buf is the buffer being written. Between BeginCell and EndCell the
	// caller appends the cell's bytes to it directly.
	Buf []byte

	countAt int
	cellAt  int
	columns int
	inRow   int
	rows    int32
	err     error
}

// Begin starts a Rows result at the end of dst with metadata md.
func (w *RowsWriter) Begin(dst []byte, md *RowsMetadata) {
	dst = AppendInt(dst, ResultRows)
	dst = AppendRowsMetadata(dst, md)
	w.countAt = len(dst)
	w.Buf = append(dst, 0, 0, 0, 0)
	w.columns = len(md.Columns)
	w.inRow, w.rows, w.cellAt, w.err = 0, 0, -1, nil
}

// Cell appends a cell as [bytes]; nil is null.
func (w *RowsWriter) Cell(v []byte) {
	w.Buf = AppendBytes(w.Buf, v)
	w.inRow++
}

// Null appends a null cell.
func (w *RowsWriter) Null() {
	w.Buf = AppendNull(w.Buf)
	w.inRow++
}

// BeginCell starts a cell whose bytes the caller appends to w.Buf.
func (w *RowsWriter) BeginCell() {
	w.cellAt = len(w.Buf)
	w.Buf = append(w.Buf, 0, 0, 0, 0)
}

// EndCell ends the cell started by BeginCell, patching its length.
func (w *RowsWriter) EndCell() {
	if w.cellAt < 0 || w.cellAt+4 > len(w.Buf) {
		w.fail(fmt.Errorf("EndCell without BeginCell"))
		return
	}
	binary.BigEndian.PutUint32(w.Buf[w.cellAt:], uint32(len(w.Buf)-w.cellAt-4))
	w.cellAt = -1
	w.inRow++
}

// EndRow ends the current row.
func (w *RowsWriter) EndRow() {
	if w.inRow != w.columns {
		w.fail(fmt.Errorf("row %d has %d cells, want %d", w.rows, w.inRow, w.columns))
	}
	w.inRow = 0
	w.rows++
}

// Rows returns the number of rows ended so far.
func (w *RowsWriter) Rows() int { return int(w.rows) }

// Len returns the current length of the buffer, for page-size decisions.
func (w *RowsWriter) Len() int { return len(w.Buf) }

func (w *RowsWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Finish patches the row count and returns the buffer. It reports an error
// if a row had the wrong number of cells or a row was left unfinished; the
// buffer is returned either way.
func (w *RowsWriter) Finish() ([]byte, error) {
	if w.inRow != 0 {
		w.fail(fmt.Errorf("unfinished row with %d cells", w.inRow))
	}
	binary.BigEndian.PutUint32(w.Buf[w.countAt:], uint32(w.rows))
	return w.Buf, w.err
}
