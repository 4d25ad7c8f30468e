package frame

// Encoders for requests and decoders for responses, used only by tests to
// round-trip what the package decodes and encodes.

import (
	"net/netip"
)

func encodeParams(dst []byte, p *QueryParams) []byte {
	dst = AppendConsistency(dst, p.Consistency)
	dst = append(dst, p.Flags)
	if p.Flags&QueryFlagValues != 0 {
		dst = AppendShort(dst, uint16(len(p.Values)))
		for i, v := range p.Values {
			if p.Flags&QueryFlagNamesForValues != 0 {
				dst = AppendString(dst, p.Names[i])
			}
			dst = AppendValue(dst, v)
		}
	}
	if p.Flags&QueryFlagPageSize != 0 {
		dst = AppendInt(dst, p.PageSize)
	}
	if p.Flags&QueryFlagPagingState != 0 {
		dst = AppendBytes(dst, p.PagingState)
	}
	if p.Flags&QueryFlagSerialConsistency != 0 {
		dst = AppendConsistency(dst, p.SerialConsistency)
	}
	if p.Flags&QueryFlagDefaultTimestamp != 0 {
		dst = AppendLong(dst, p.DefaultTimestamp)
	}
	return dst
}

func encodeQuery(q *Query) []byte {
	return encodeParams(AppendLongString(nil, q.Query), &q.Params)
}

func encodeExecute(e *Execute) []byte {
	return encodeParams(AppendShortBytes(nil, e.ID), &e.Params)
}

func encodeBatch(b *Batch) []byte {
	dst := []byte{b.Type}
	dst = AppendShort(dst, uint16(len(b.Statements)))
	for _, s := range b.Statements {
		if s.Prepared {
			dst = append(dst, 1)
			dst = AppendShortBytes(dst, s.ID)
		} else {
			dst = append(dst, 0)
			dst = AppendLongString(dst, s.Query)
		}
		dst = AppendShort(dst, uint16(len(s.Values)))
		for _, v := range s.Values {
			dst = AppendValue(dst, v)
		}
	}
	dst = AppendConsistency(dst, b.Consistency)
	dst = append(dst, b.Flags)
	// Fields a batch decodes and drops.
	if b.Flags&QueryFlagValues != 0 {
		dst = AppendShort(dst, 0)
	}
	if b.Flags&QueryFlagPageSize != 0 {
		dst = AppendInt(dst, 0)
	}
	if b.Flags&QueryFlagPagingState != 0 {
		dst = AppendNull(dst)
	}
	if b.Flags&QueryFlagSerialConsistency != 0 {
		dst = AppendConsistency(dst, b.SerialConsistency)
	}
	if b.Flags&QueryFlagDefaultTimestamp != 0 {
		dst = AppendLong(dst, b.DefaultTimestamp)
	}
	return dst
}

// decodeErrorBody is the client-side decoder of an ERROR body.
func decodeErrorBody(b []byte) (ErrorResponse, error) {
	c := NewCursor(b)
	var e ErrorResponse
	e.Code = ErrorCode(c.Int())
	e.Message = c.Str()
	switch e.Code {
	case CodeUnavailable:
		e.Consistency = c.Consistency()
		e.Required = c.Int()
		e.Alive = c.Int()
	case CodeWriteTimeout:
		e.Consistency = c.Consistency()
		e.Received = c.Int()
		e.BlockFor = c.Int()
		e.WriteType = c.Str()
	case CodeReadTimeout:
		e.Consistency = c.Consistency()
		e.Received = c.Int()
		e.BlockFor = c.Int()
		e.DataPresent = c.Byte() != 0
	case CodeReadFailure:
		e.Consistency = c.Consistency()
		e.Received = c.Int()
		e.BlockFor = c.Int()
		e.NumFailures = c.Int()
		e.DataPresent = c.Byte() != 0
	case CodeWriteFailure:
		e.Consistency = c.Consistency()
		e.Received = c.Int()
		e.BlockFor = c.Int()
		e.NumFailures = c.Int()
		e.WriteType = c.Str()
	case CodeFunctionFailure:
		e.Keyspace = c.Str()
		e.Function = c.Str()
		e.ArgTypes = c.StrList()
	case CodeAlreadyExists:
		e.Keyspace = c.Str()
		e.Table = c.Str()
	case CodeUnprepared:
		e.UnpreparedID = c.ShortBytes()
	}
	if c.Remaining() != 0 {
		c.Failf("%d trailing bytes", c.Remaining())
	}
	return e, c.Err()
}

func decodeSchemaChange(c *Cursor) SchemaChange {
	var sc SchemaChange
	sc.ChangeType = c.Str()
	sc.Target = c.Str()
	sc.Keyspace = c.Str()
	switch sc.Target {
	case TargetKeyspace:
	case TargetFunction, TargetAggregate:
		sc.Name = c.Str()
		sc.ArgTypes = c.StrList()
	default:
		sc.Name = c.Str()
	}
	return sc
}

// decodeOption reads an [option] for the few types tests use (native types
// only: an id with no value).
func decodeOption(c *Cursor) []byte {
	id := c.Short()
	return AppendShort(nil, id)
}

func decodeColumnSpecs(c *Cursor, n int, global bool) []ColumnSpec {
	var ks, tbl string
	if global {
		ks, tbl = c.Str(), c.Str()
	}
	cols := make([]ColumnSpec, n)
	for i := range cols {
		if global {
			cols[i].Keyspace, cols[i].Table = ks, tbl
		} else {
			cols[i].Keyspace, cols[i].Table = c.Str(), c.Str()
		}
		cols[i].Name = c.Str()
		cols[i].Type = decodeOption(c)
	}
	return cols
}

func decodeRowsMetadata(c *Cursor) RowsMetadata {
	var md RowsMetadata
	flags := c.Int()
	n := int(c.Int())
	if flags&MetaHasMorePages != 0 {
		md.PagingState = c.Bytes()
	}
	if flags&MetaNoMetadata != 0 {
		md.NoMetadata = true
		md.Columns = make([]ColumnSpec, n)
		return md
	}
	md.Columns = decodeColumnSpecs(c, n, flags&MetaGlobalTablesSpec != 0)
	return md
}

func decodePrepared(c *Cursor) PreparedResult {
	var p PreparedResult
	p.ID = c.ShortBytes()
	flags := c.Int()
	n := int(c.Int())
	pk := int(c.Int())
	for range pk {
		p.PKIndexes = append(p.PKIndexes, c.Short())
	}
	p.BindColumns = decodeColumnSpecs(c, n, flags&MetaGlobalTablesSpec != 0)
	p.Result = decodeRowsMetadata(c)
	return p
}

type decodedRows struct {
	md   RowsMetadata
	rows [][][]byte
}

func decodeRows(c *Cursor) decodedRows {
	var r decodedRows
	r.md = decodeRowsMetadata(c)
	n := int(c.Int())
	for range n {
		row := make([][]byte, len(r.md.Columns))
		for j := range row {
			row[j] = c.Bytes()
		}
		r.rows = append(r.rows, row)
	}
	return r
}

type decodedEvent struct {
	typ    string
	change string
	addr   netip.AddrPort
	schema SchemaChange
}

func decodeEvent(c *Cursor) decodedEvent {
	var e decodedEvent
	e.typ = c.Str()
	switch e.typ {
	case EventSchemaChange:
		e.schema = decodeSchemaChange(c)
	default:
		e.change = c.Str()
		e.addr = c.Inet()
	}
	return e
}
