package frame

import "fmt"

// Query parameter flags (<flags> of QUERY and EXECUTE, section 4.1.4).
const (
	QueryFlagValues            byte = 0x01
	QueryFlagSkipMetadata      byte = 0x02
	QueryFlagPageSize          byte = 0x04
	QueryFlagPagingState       byte = 0x08
	QueryFlagSerialConsistency byte = 0x10
	QueryFlagDefaultTimestamp  byte = 0x20
	QueryFlagNamesForValues    byte = 0x40
)

// Batch types (<type> of BATCH, section 4.1.7).
const (
	BatchLogged   byte = 0
	BatchUnlogged byte = 1
	BatchCounter  byte = 2
)

// Request is a request frame body after decompression, with the optional
// custom payload split off.
type Request struct {
	// Body is the message itself, to pass to the Decode* function of the
	// header's opcode.
	Body []byte
	// CustomPayload is the frame's custom payload (FlagCustomPayload), nil
	// when absent. Values alias the body.
	CustomPayload map[string][]byte
	// Tracing is set when the client asked for the request to be traced.
	// (Requests never carry a tracing id; only responses do.)
	Tracing bool
}

// OpenRequest undoes the frame-level transforms of a request body: it
// decompresses it when FlagCompression is set (into scratch, whose grown
// form it returns for reuse; at most maxBody bytes) and splits off the
// [bytes map] custom payload when FlagCustomPayload is set. Errors wrap
// ErrDecompress or ErrMalformed; the server answers a PROTOCOL error on
// h.Stream.
func OpenRequest(h Header, body []byte, c Compression, maxBody int, scratch []byte) (Request, []byte, error) {
	if maxBody <= 0 {
		maxBody = MaxFrameBody
	}
	if h.Has(FlagCompression) {
		if c == NoCompression {
			return Request{}, scratch, fmt.Errorf("%w: compressed frame on a connection without compression", ErrMalformed)
		}
		out, err := Decompress(c, scratch[:0], body, maxBody)
		if err != nil {
			return Request{}, scratch, err
		}
		body, scratch = out, out
	}
	r := Request{Body: body, Tracing: h.Has(FlagTracing)}
	if h.Has(FlagCustomPayload) {
		cur := NewCursor(body)
		r.CustomPayload = cur.BytesMap()
		if err := cur.Err(); err != nil {
			return Request{}, scratch, fmt.Errorf("custom payload: %w", err)
		}
		r.Body = cur.Rest()
	}
	return r, scratch, nil
}

// DecodeStartup decodes a STARTUP body: a [string map] of options such as
// "CQL_VERSION" and "COMPRESSION".
func DecodeStartup(body []byte) (map[string]string, error) {
	c := NewCursor(body)
	m := c.StrMap()
	return m, wrap("STARTUP", c.Err())
}

// DecodeAuthResponse decodes an AUTH_RESPONSE body: a [bytes] token (nil
// when null). The token aliases body.
func DecodeAuthResponse(body []byte) ([]byte, error) {
	c := NewCursor(body)
	t := c.Bytes()
	return t, wrap("AUTH_RESPONSE", c.Err())
}

// DecodeRegister decodes a REGISTER body: a [string list] of event types
// ("TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE").
func DecodeRegister(body []byte) ([]string, error) {
	c := NewCursor(body)
	l := c.StrList()
	return l, wrap("REGISTER", c.Err())
}

// DecodePrepare decodes a PREPARE body: the query as a [long string].
func DecodePrepare(body []byte) (string, error) {
	c := NewCursor(body)
	q := c.LongStr()
	return q, wrap("PREPARE", c.Err())
}

// QueryParams are the <query_parameters> shared by QUERY and EXECUTE.
type QueryParams struct {
	// Consistency is the statement's consistency level.
	Consistency Consistency
	// Flags is the raw QueryFlag* byte.
	Flags byte
	// Values are the bound values, in order; they alias the body.
	Values []Value
	// Names are the values' bind-marker names when QueryFlagNamesForValues
	// is set (then len(Names) == len(Values)), else nil.
	Names []string
	// SkipMetadata asks for rows without metadata (QueryFlagSkipMetadata).
	SkipMetadata bool
	// PageSize is the requested page size; <= 0 means no paging (also when
	// QueryFlagPageSize is absent, which decodes as -1).
	PageSize int32
	// PagingState resumes a previous page; nil when absent. Aliases the body.
	PagingState []byte
	// SerialConsistency is the level of the Paxos phase; SERIAL when absent.
	SerialConsistency Consistency
	// DefaultTimestamp is the client-supplied write timestamp in
	// microseconds, valid when HasTimestamp.
	DefaultTimestamp int64
	// HasTimestamp reports whether DefaultTimestamp was supplied.
	HasTimestamp bool
}

// Query is a decoded QUERY request.
type Query struct {
	// Query is the CQL text.
	Query string
	// Params are the query parameters.
	Params QueryParams
}

// Execute is a decoded EXECUTE request.
type Execute struct {
	// ID is the prepared statement id ([short bytes]); aliases the body.
	ID []byte
	// Params are the query parameters.
	Params QueryParams
}

// BatchStatement is one statement of a BATCH.
type BatchStatement struct {
	// Prepared reports whether the statement is a prepared id (kind 1)
	// rather than query text (kind 0).
	Prepared bool
	// Query is the CQL text when !Prepared.
	Query string
	// ID is the prepared statement id when Prepared; aliases the body.
	ID []byte
	// Values are the bound values; they alias the body.
	Values []Value
}

// Batch is a decoded BATCH request.
type Batch struct {
	// Type is BatchLogged, BatchUnlogged or BatchCounter.
	Type byte
	// Statements are the batch's statements, in order.
	Statements []BatchStatement
	// Consistency is the batch's consistency level.
	Consistency Consistency
	// Flags is the raw flags byte (only 0x10, 0x20 and 0x40 are meaningful).
	Flags byte
	// SerialConsistency is the level of the Paxos phase; SERIAL when absent.
	SerialConsistency Consistency
	// DefaultTimestamp is the client-supplied timestamp, valid when
	// HasTimestamp.
	DefaultTimestamp int64
	// HasTimestamp reports whether DefaultTimestamp was supplied.
	HasTimestamp bool
}

// DecodeQuery decodes a QUERY body.
func DecodeQuery(body []byte) (Query, error) {
	c := NewCursor(body)
	var q Query
	q.Query = c.LongStr()
	decodeParams(&c, &q.Params)
	if err := c.Err(); err != nil {
		return Query{}, wrap("QUERY", err)
	}
	return q, nil
}

// DecodeExecute decodes an EXECUTE body (v4: <id><query_parameters>, no
// result metadata id).
func DecodeExecute(body []byte) (Execute, error) {
	c := NewCursor(body)
	var e Execute
	e.ID = c.ShortBytes()
	decodeParams(&c, &e.Params)
	if err := c.Err(); err != nil {
		return Execute{}, wrap("EXECUTE", err)
	}
	return e, nil
}

func decodeParams(c *Cursor, p *QueryParams) {
	p.Consistency = c.Consistency()
	p.Flags = c.Byte()
	p.PageSize = -1
	p.SerialConsistency = Serial
	if c.Err() != nil {
		return
	}
	if p.Flags&QueryFlagValues != 0 {
		p.Values, p.Names = decodeValues(c, p.Flags&QueryFlagNamesForValues != 0)
	}
	p.SkipMetadata = p.Flags&QueryFlagSkipMetadata != 0
	if p.Flags&QueryFlagPageSize != 0 {
		p.PageSize = c.Int()
	}
	if p.Flags&QueryFlagPagingState != 0 {
		p.PagingState = c.Bytes()
	}
	if p.Flags&QueryFlagSerialConsistency != 0 {
		p.SerialConsistency = c.Consistency()
	}
	if p.Flags&QueryFlagDefaultTimestamp != 0 {
		p.DefaultTimestamp = c.Long()
		p.HasTimestamp = true
	}
}

// decodeValues reads a [short] n then n [value]s, each preceded by a
// [string] name when named.
func decodeValues(c *Cursor, named bool) ([]Value, []string) {
	n := int(c.Short())
	if c.Err() != nil || n == 0 {
		return nil, nil
	}
	minSize := 4
	if named {
		minSize = 6
	}
	if !c.fits(n, minSize, "value list") {
		return nil, nil
	}
	vals := make([]Value, n)
	var names []string
	if named {
		names = make([]string, n)
	}
	for i := range vals {
		if named {
			names[i] = c.Str()
		}
		vals[i] = c.Value()
	}
	if c.Err() != nil {
		return nil, nil
	}
	return vals, names
}

// DecodeBatch decodes a BATCH body. As in Cassandra, values in a batch
// carry no names: the names-for-values flag (0x40), which the spec says
// "does not work", has no effect on how statements are read.
func DecodeBatch(body []byte) (Batch, error) {
	c := NewCursor(body)
	var b Batch
	b.Type = c.Byte()
	n := int(c.Short())
	if c.Err() == nil && b.Type > BatchCounter {
		c.Failf("unknown batch type %d", b.Type)
	}
	// Each statement is at least a kind byte, a 2-byte length and a [short]
	// value count.
	if c.Err() == nil && c.fits(n, 5, "batch") {
		b.Statements = make([]BatchStatement, n)
	}
	for i := range b.Statements {
		s := &b.Statements[i]
		switch kind := c.Byte(); kind {
		case 0:
			s.Query = c.LongStr()
		case 1:
			s.Prepared = true
			s.ID = c.ShortBytes()
		default:
			c.Failf("unknown batch statement kind %d", kind)
		}
		s.Values, _ = decodeValues(&c, false)
		if c.Err() != nil {
			break
		}
	}
	// The trailer is read with the QUERY parameters' layout, as Cassandra
	// does; the flags that make no sense for a batch (values, page size,
	// paging state) are read and dropped.
	var p QueryParams
	decodeParams(&c, &p)
	b.Consistency, b.Flags, b.SerialConsistency = p.Consistency, p.Flags, p.SerialConsistency
	b.DefaultTimestamp, b.HasTimestamp = p.DefaultTimestamp, p.HasTimestamp
	if err := c.Err(); err != nil {
		return Batch{}, wrap("BATCH", err)
	}
	return b, nil
}

func wrap(msg string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", msg, err)
}
