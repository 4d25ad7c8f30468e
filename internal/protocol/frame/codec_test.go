package frame

import (
	"bytes"
	"errors"
	"math/rand"
	"net/netip"
	"reflect"
	"testing"
)

func TestPrimitivesRoundTrip(t *testing.T) {
	var b []byte
	b = AppendByte(b, 7)
	b = AppendShort(b, 0xfffe)
	b = AppendInt(b, -5)
	b = AppendLong(b, -1<<40)
	b = AppendString(b, "héllo")
	b = AppendLongString(b, "long")
	b = AppendUUID(b, [16]byte{15: 1})
	b = AppendStringList(b, []string{"a", "", "c"})
	b = AppendBytes(b, nil)
	b = AppendBytes(b, []byte{})
	b = AppendBytes(b, []byte{1, 2})
	b = AppendValue(b, Value{Unset: true})
	b = AppendValue(b, Value{})
	b = AppendValue(b, Value{Bytes: []byte{}})
	b = AppendShortBytes(b, []byte{3})
	b = AppendInet(b, netip.MustParseAddrPort("127.0.0.2:9042"))
	b = AppendInet(b, netip.MustParseAddrPort("[::1]:7000"))
	b = AppendConsistency(b, LocalOne)
	b = AppendStringMap(b, map[string]string{"b": "2", "a": "1"})
	b = AppendStringMultimap(b, map[string][]string{"k": {"x", "y"}})
	b = AppendBytesMap(b, map[string][]byte{"n": nil, "v": {1}})

	c := NewCursor(b)
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("byte", c.Byte(), byte(7))
	check("short", c.Short(), uint16(0xfffe))
	check("int", c.Int(), int32(-5))
	check("long", c.Long(), int64(-1<<40))
	check("string", c.Str(), "héllo")
	check("long string", c.LongStr(), "long")
	check("uuid", c.UUID(), [16]byte{15: 1})
	check("string list", c.StrList(), []string{"a", "", "c"})
	check("null bytes", c.Bytes(), []byte(nil))
	e := c.Bytes()
	if e == nil || len(e) != 0 {
		t.Errorf("empty bytes = %#v", e)
	}
	check("bytes", c.Bytes(), []byte{1, 2})
	check("unset", c.Value(), Value{Unset: true})
	if v := c.Value(); !v.IsNull() {
		t.Errorf("null value = %#v", v)
	}
	if v := c.Value(); v.IsNull() || v.Unset || len(v.Bytes) != 0 {
		t.Errorf("empty value = %#v", v)
	}
	check("short bytes", c.ShortBytes(), []byte{3})
	check("inet4", c.Inet(), netip.MustParseAddrPort("127.0.0.2:9042"))
	check("inet6", c.Inet(), netip.MustParseAddrPort("[::1]:7000"))
	check("consistency", c.Consistency(), LocalOne)
	check("string map", c.StrMap(), map[string]string{"a": "1", "b": "2"})
	check("multimap", c.StrMultimap(), map[string][]string{"k": {"x", "y"}})
	check("bytes map", c.BytesMap(), map[string][]byte{"n": nil, "v": {1}})
	if c.Err() != nil || c.Remaining() != 0 {
		t.Fatalf("err %v, remaining %d", c.Err(), c.Remaining())
	}
}

func TestCursorErrors(t *testing.T) {
	for name, in := range map[string][]byte{
		"short string":      {0, 5, 'a'},
		"negative long str": {0xff, 0xff, 0xff, 0xff},
		"huge list":         {0xff, 0xff, 0, 0},
		"bad value":         {0xff, 0xff, 0xff, 0xfd},
		"bad inet":          {5, 1, 2, 3, 4, 5, 0, 0, 0, 0},
	} {
		c := NewCursor(in)
		switch name {
		case "short string":
			c.Str()
		case "negative long str":
			c.LongStr()
		case "huge list":
			c.StrList()
		case "bad value":
			c.Value()
		case "bad inet":
			c.Inet()
		}
		if !errors.Is(c.Err(), ErrMalformed) {
			t.Errorf("%s: err = %v", name, c.Err())
		}
		// Sticky: later reads return zero values.
		if c.Int() != 0 || c.Str() != "" || c.Bytes() != nil {
			t.Errorf("%s: reads after error returned data", name)
		}
	}
}

func TestCompressionRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	random := make([]byte, 5000)
	rnd.Read(random)
	inputs := [][]byte{nil, {1}, []byte("hello hello hello hello hello"), bytes.Repeat([]byte("x"), 100000), random}
	for _, c := range []Compression{NoCompression, LZ4, Snappy} {
		for _, in := range inputs {
			comp, err := Compress(c, []byte("pre"), in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Decompress(c, nil, comp[3:], len(in))
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("%v len %d: err %v", c, len(in), err)
			}
			if len(in) > 0 {
				if _, err := Decompress(c, nil, comp[3:], len(in)-1); !errors.Is(err, ErrDecompress) {
					t.Fatalf("%v: limit not enforced: %v", c, err)
				}
			}
		}
	}
	// Cassandra's lz4 framing: 4-byte big-endian length prefix.
	comp, _ := Compress(LZ4, nil, []byte("abcd"))
	if !bytes.Equal(comp[:4], []byte{0, 0, 0, 4}) {
		t.Fatalf("lz4 prefix % x", comp[:4])
	}
	// Corrupt input.
	for _, c := range []Compression{LZ4, Snappy} {
		if _, err := Decompress(c, nil, []byte{0, 0, 0, 9, 0xff, 0xff}, 1<<20); !errors.Is(err, ErrDecompress) {
			t.Fatalf("%v corrupt: %v", c, err)
		}
	}
	// An lz4 prefix claiming far more than the block could hold.
	if _, err := Decompress(LZ4, nil, []byte{0x10, 0, 0, 0, 0}, 1<<30); !errors.Is(err, ErrDecompress) {
		t.Fatalf("lz4 impossible size: %v", err)
	}
	for name, want := range map[string]Compression{"lz4": LZ4, "LZ4": LZ4, "snappy": Snappy, "": NoCompression} {
		if got, ok := ParseCompression(name); !ok || got != want {
			t.Fatalf("ParseCompression(%q)", name)
		}
	}
	if _, ok := ParseCompression("zstd"); ok {
		t.Fatal("zstd accepted")
	}
}

func sampleParams() []QueryParams {
	return []QueryParams{
		{Consistency: One, PageSize: -1, SerialConsistency: Serial},
		{
			Consistency:  LocalQuorum,
			Flags:        QueryFlagValues | QueryFlagSkipMetadata | QueryFlagPageSize | QueryFlagPagingState | QueryFlagSerialConsistency | QueryFlagDefaultTimestamp,
			Values:       []Value{{Bytes: []byte{0, 0, 0, 1}}, {}, {Unset: true}, {Bytes: []byte{}}},
			SkipMetadata: true, PageSize: 5000, PagingState: []byte{9, 9},
			SerialConsistency: LocalSerial, DefaultTimestamp: 1234567890, HasTimestamp: true,
		},
		{
			Consistency: Quorum,
			Flags:       QueryFlagValues | QueryFlagNamesForValues,
			Values:      []Value{{Bytes: []byte("a")}, {Bytes: []byte("b")}},
			Names:       []string{"x", "y"},
			PageSize:    -1, SerialConsistency: Serial,
		},
	}
}

func TestQueryRoundTrip(t *testing.T) {
	for _, p := range sampleParams() {
		q := Query{Query: "SELECT * FROM ks.t WHERE k = ?", Params: p}
		got, err := DecodeQuery(encodeQuery(&q))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, q) {
			t.Fatalf("got %+v\nwant %+v", got, q)
		}
	}
}

func TestExecuteRoundTrip(t *testing.T) {
	for _, p := range sampleParams() {
		e := Execute{ID: []byte{0xde, 0xad}, Params: p}
		got, err := DecodeExecute(encodeExecute(&e))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("got %+v\nwant %+v", got, e)
		}
	}
}

func TestBatchRoundTrip(t *testing.T) {
	b := Batch{
		Type: BatchUnlogged,
		Statements: []BatchStatement{
			{Query: "INSERT INTO t (k) VALUES (1)"},
			{Prepared: true, ID: []byte{1, 2, 3}, Values: []Value{{Bytes: []byte{7}}, {}, {Unset: true}}},
		},
		Consistency: Two, Flags: QueryFlagSerialConsistency | QueryFlagDefaultTimestamp,
		SerialConsistency: LocalSerial, DefaultTimestamp: 42, HasTimestamp: true,
	}
	got, err := DecodeBatch(encodeBatch(&b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("got %+v\nwant %+v", got, b)
	}
	b2 := Batch{Type: BatchLogged, Consistency: One, SerialConsistency: Serial}
	if got, err := DecodeBatch(encodeBatch(&b2)); err != nil || got.Statements == nil && len(got.Statements) != 0 {
		t.Fatalf("empty batch: %v", err)
	}
	named := encodeBatch(&Batch{Consistency: One, Flags: QueryFlagNamesForValues,
		Statements: []BatchStatement{{Query: "q", Values: []Value{{Bytes: []byte{1}}}}}})
	if got, err := DecodeBatch(named); err != nil || !bytes.Equal(got.Statements[0].Values[0].Bytes, []byte{1}) {
		t.Fatalf("names flag in batch: %v", err)
	}
	bad := append([]byte{3}, encodeBatch(&Batch{Consistency: One})[1:]...)
	if _, err := DecodeBatch(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("batch type 3: %v", err)
	}
}

func TestSimpleRequestsRoundTrip(t *testing.T) {
	opts := map[string]string{"CQL_VERSION": "3.0.0", "COMPRESSION": "lz4"}
	if got, err := DecodeStartup(AppendStringMap(nil, opts)); err != nil || !reflect.DeepEqual(got, opts) {
		t.Fatalf("startup %v %v", got, err)
	}
	tok := []byte("\x00cassandra\x00cassandra")
	if got, err := DecodeAuthResponse(AppendBytes(nil, tok)); err != nil || !bytes.Equal(got, tok) {
		t.Fatalf("auth %v %v", got, err)
	}
	if got, err := DecodeAuthResponse(AppendBytes(nil, nil)); err != nil || got != nil {
		t.Fatalf("null auth %v %v", got, err)
	}
	ev := []string{EventTopologyChange, EventStatusChange, EventSchemaChange}
	if got, err := DecodeRegister(AppendStringList(nil, ev)); err != nil || !reflect.DeepEqual(got, ev) {
		t.Fatalf("register %v %v", got, err)
	}
	if got, err := DecodePrepare(AppendLongString(nil, "SELECT 1")); err != nil || got != "SELECT 1" {
		t.Fatalf("prepare %v %v", got, err)
	}
	for _, f := range []func([]byte) error{
		func(b []byte) error { _, err := DecodeStartup(b); return err },
		func(b []byte) error { _, err := DecodeAuthResponse(b); return err },
		func(b []byte) error { _, err := DecodeRegister(b); return err },
		func(b []byte) error { _, err := DecodePrepare(b); return err },
		func(b []byte) error { _, err := DecodeQuery(b); return err },
		func(b []byte) error { _, err := DecodeExecute(b); return err },
		func(b []byte) error { _, err := DecodeBatch(b); return err },
	} {
		if err := f([]byte{0}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated body: %v", err)
		}
	}
}

func TestOpenRequest(t *testing.T) {
	q := Query{Query: "SELECT now() FROM system.local", Params: QueryParams{Consistency: One, PageSize: -1, SerialConsistency: Serial}}
	msg := encodeQuery(&q)
	payload := map[string][]byte{"k": []byte("v")}
	plain := append(AppendBytesMap(nil, payload), msg...)
	for _, c := range []Compression{NoCompression, LZ4, Snappy} {
		h := Header{Version: VersionRequest, Flags: FlagCustomPayload | FlagTracing, Opcode: OpQuery}
		body := plain
		if c != NoCompression {
			h.Flags |= FlagCompression
			body, _ = Compress(c, nil, plain)
		}
		r, _, err := OpenRequest(h, body, c, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Tracing || !reflect.DeepEqual(r.CustomPayload, payload) || !bytes.Equal(r.Body, msg) {
			t.Fatalf("%v: %+v", c, r)
		}
		if c != NoCompression {
			if _, _, err := OpenRequest(h, body, c, len(plain)-1, nil); !errors.Is(err, ErrDecompress) {
				t.Fatalf("%v: limit: %v", c, err)
			}
		}
	}
	h := Header{Version: VersionRequest, Flags: FlagCompression, Opcode: OpQuery}
	if _, _, err := OpenRequest(h, msg, NoCompression, 0, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("compressed without negotiation: %v", err)
	}
}

func TestErrorRoundTrip(t *testing.T) {
	for _, e := range []ErrorResponse{
		{Code: CodeServerError, Message: "boom"},
		{Code: CodeProtocolError, Message: "bad frame"},
		{Code: CodeBadCredentials, Message: "Provided username cassandra and/or password are incorrect"},
		{Code: CodeUnavailable, Message: "Cannot achieve consistency level QUORUM", Consistency: Quorum, Required: 2, Alive: 1},
		{Code: CodeOverloaded, Message: "busy"},
		{Code: CodeIsBootstrapping, Message: "bootstrapping"},
		{Code: CodeTruncateError, Message: "truncate"},
		{Code: CodeWriteTimeout, Message: "wt", Consistency: One, Received: 0, BlockFor: 1, WriteType: WriteTypeSimple},
		{Code: CodeReadTimeout, Message: "rt", Consistency: All, Received: 2, BlockFor: 3, DataPresent: true},
		{Code: CodeReadFailure, Message: "rf", Consistency: LocalOne, Received: 0, BlockFor: 1, NumFailures: 1},
		{Code: CodeWriteFailure, Message: "wf", Consistency: EachQuorum, Received: 1, BlockFor: 4, NumFailures: 2, WriteType: WriteTypeBatch},
		{Code: CodeFunctionFailure, Message: "ff", Keyspace: "ks", Function: "fn", ArgTypes: []string{"int", "text"}},
		{Code: CodeSyntaxError, Message: "line 1:0 no viable alternative"},
		{Code: CodeUnauthorized, Message: "no"},
		{Code: CodeInvalid, Message: "invalid"},
		{Code: CodeConfigError, Message: "config"},
		{Code: CodeAlreadyExists, Message: "exists", Keyspace: "ks", Table: "t"},
		{Code: CodeUnprepared, Message: "unprepared", UnpreparedID: []byte{1, 2}},
	} {
		got, err := decodeErrorBody(AppendError(nil, &e))
		if err != nil {
			t.Fatalf("%v: %v", e.Code, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("%v: got %+v, want %+v", e.Code, got, e)
		}
		if e.Code.String() == "" {
			t.Fatal("empty code name")
		}
	}
}

func TestSimpleResponsesRoundTrip(t *testing.T) {
	c := NewCursor(AppendAuthenticate(nil, "org.apache.cassandra.auth.PasswordAuthenticator"))
	if c.Str() != "org.apache.cassandra.auth.PasswordAuthenticator" || c.Remaining() != 0 {
		t.Fatal("authenticate")
	}
	c = NewCursor(AppendAuthChallenge(nil, []byte{1}))
	if !bytes.Equal(c.Bytes(), []byte{1}) {
		t.Fatal("challenge")
	}
	c = NewCursor(AppendAuthSuccess(nil, nil))
	if c.Bytes() != nil || c.Err() != nil {
		t.Fatal("success")
	}
	opts := map[string][]string{OptionCQLVersion: {"3.4.5"}, OptionCompression: SupportedCompressions, OptionProtocolVersions: SupportedProtocolVersions}
	c = NewCursor(AppendSupported(nil, opts))
	if got := c.StrMultimap(); !reflect.DeepEqual(got, opts) {
		t.Fatalf("supported %v", got)
	}
	c = NewCursor(AppendResultVoid(nil))
	if c.Int() != ResultVoid || c.Remaining() != 0 {
		t.Fatal("void")
	}
	c = NewCursor(AppendResultSetKeyspace(nil, "ks"))
	if c.Int() != ResultSetKeyspace || c.Str() != "ks" {
		t.Fatal("set keyspace")
	}
	for _, sc := range []SchemaChange{
		{ChangeType: SchemaCreated, Target: TargetKeyspace, Keyspace: "ks"},
		{ChangeType: SchemaUpdated, Target: TargetTable, Keyspace: "ks", Name: "t"},
		{ChangeType: SchemaDropped, Target: TargetType, Keyspace: "ks", Name: "addr"},
		{ChangeType: SchemaCreated, Target: TargetFunction, Keyspace: "ks", Name: "f", ArgTypes: []string{"int"}},
		{ChangeType: SchemaCreated, Target: TargetAggregate, Keyspace: "ks", Name: "a", ArgTypes: []string{}},
	} {
		c = NewCursor(AppendResultSchemaChange(nil, &sc))
		if c.Int() != ResultSchemaChange {
			t.Fatal("kind")
		}
		if got := decodeSchemaChange(&c); !reflect.DeepEqual(got, sc) || c.Remaining() != 0 || c.Err() != nil {
			t.Fatalf("schema change %+v, want %+v", got, sc)
		}
		c = NewCursor(AppendEventSchemaChange(nil, &sc))
		if got := decodeEvent(&c); got.typ != EventSchemaChange || !reflect.DeepEqual(got.schema, sc) {
			t.Fatalf("schema event %+v", got)
		}
	}
	addr := netip.MustParseAddrPort("127.0.0.3:9042")
	c = NewCursor(AppendEventTopologyChange(nil, TopologyNewNode, addr))
	if got := decodeEvent(&c); !reflect.DeepEqual(got, decodedEvent{typ: EventTopologyChange, change: TopologyNewNode, addr: addr}) {
		t.Fatalf("topology %+v", got)
	}
	c = NewCursor(AppendEventStatusChange(nil, StatusDown, addr))
	if got := decodeEvent(&c); !reflect.DeepEqual(got, decodedEvent{typ: EventStatusChange, change: StatusDown, addr: addr}) {
		t.Fatalf("status %+v", got)
	}
}

var (
	typeInt  = []byte{0, 9}
	typeText = []byte{0, 0x0d}
)

func TestPreparedRoundTrip(t *testing.T) {
	for _, p := range []PreparedResult{
		{
			ID:          []byte{1, 2, 3, 4},
			BindColumns: []ColumnSpec{{"ks", "t", "k", typeInt}, {"ks", "t", "v", typeText}},
			PKIndexes:   []uint16{0},
			Result:      RowsMetadata{Columns: []ColumnSpec{{"ks", "t", "v", typeText}}},
		},
		{
			ID:          []byte{9},
			BindColumns: []ColumnSpec{{"ks", "a", "k", typeInt}, {"ks", "b", "v", typeText}},
			Result:      RowsMetadata{NoMetadata: true, Columns: []ColumnSpec{}},
		},
		{ID: []byte{8}, BindColumns: []ColumnSpec{}, Result: RowsMetadata{NoMetadata: true, Columns: []ColumnSpec{}}},
	} {
		c := NewCursor(AppendResultPrepared(nil, &p))
		if c.Int() != ResultPrepared {
			t.Fatal("kind")
		}
		got := decodePrepared(&c)
		if c.Err() != nil || c.Remaining() != 0 {
			t.Fatalf("err %v remaining %d", c.Err(), c.Remaining())
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("got %+v\nwant %+v", got, p)
		}
	}
}

func TestRowsWriter(t *testing.T) {
	cols := []ColumnSpec{{"ks", "t", "k", typeInt}, {"ks", "t", "v", typeText}}
	for _, md := range []RowsMetadata{
		{Columns: cols},
		{Columns: cols, PagingState: []byte{5, 5}},
		{Columns: []ColumnSpec{{"ks", "t", "k", typeInt}, {"ks", "u", "v", typeText}}},
		{Columns: cols, NoMetadata: true},
	} {
		var w RowsWriter
		prefix := []byte("hdr")
		w.Begin(prefix, &md)
		w.Cell([]byte{0, 0, 0, 1})
		w.Null()
		w.EndRow()
		w.BeginCell()
		w.Buf = append(w.Buf, 0, 0, 0, 2)
		w.EndCell()
		w.Cell([]byte("two"))
		w.EndRow()
		buf, err := w.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf, prefix) || w.Rows() != 2 {
			t.Fatal("prefix or count")
		}
		c := NewCursor(buf[3:])
		if c.Int() != ResultRows {
			t.Fatal("kind")
		}
		got := decodeRows(&c)
		if c.Err() != nil || c.Remaining() != 0 {
			t.Fatalf("err %v remaining %d", c.Err(), c.Remaining())
		}
		want := md
		if md.NoMetadata {
			want.Columns = make([]ColumnSpec, len(cols))
		}
		if !reflect.DeepEqual(got.md, want) {
			t.Fatalf("metadata %+v, want %+v", got.md, want)
		}
		wantRows := [][][]byte{{{0, 0, 0, 1}, nil}, {{0, 0, 0, 2}, []byte("two")}}
		if !reflect.DeepEqual(got.rows, wantRows) {
			t.Fatalf("rows %v", got.rows)
		}
	}
	// Wrong cell count is reported.
	var w RowsWriter
	w.Begin(nil, &RowsMetadata{Columns: cols})
	w.Cell(nil)
	w.EndRow()
	if _, err := w.Finish(); err == nil {
		t.Fatal("short row not reported")
	}
}

func TestRowsWriterNoAllocs(t *testing.T) {
	cols := []ColumnSpec{{"ks", "t", "k", typeInt}, {"ks", "t", "v", typeText}}
	md := RowsMetadata{Columns: cols}
	buf := make([]byte, 0, 1<<16)
	cell := []byte("value")
	var w RowsWriter
	allocs := testing.AllocsPerRun(100, func() {
		w.Begin(buf[:0], &md)
		for range 100 {
			w.Cell(cell)
			w.Null()
			w.EndRow()
		}
		buf, _ = w.Finish()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per result", allocs)
	}
}

func TestFrameWriterCompression(t *testing.T) {
	for _, c := range []Compression{LZ4, Snappy} {
		w := FrameWriter{Compression: c}
		warn := []string{"Batch for [ks.t] is of size 6.0KiB, exceeding specified threshold"}
		buf, start := w.Begin([]byte{0xaa}, 12, OpResult, &Extras{Warnings: warn})
		buf = AppendResultSetKeyspace(buf, "keyspace_with_a_long_name_keyspace_with_a_long_name")
		buf, err := w.Finish(buf, start)
		if err != nil {
			t.Fatal(err)
		}
		var hb [HeaderSize]byte
		copy(hb[:], buf[1:])
		h := ParseHeader(&hb)
		if h.Version != VersionResponse || h.Flags != FlagCompression|FlagWarning || h.Stream != 12 || h.Opcode != OpResult || int(h.Length) != len(buf)-1-HeaderSize {
			t.Fatalf("%v header %+v", c, h)
		}
		body, err := Decompress(c, nil, buf[1+HeaderSize:], MaxFrameBody)
		if err != nil {
			t.Fatal(err)
		}
		cur := NewCursor(body)
		if got := cur.StrList(); !reflect.DeepEqual(got, warn) {
			t.Fatalf("warnings %v", got)
		}
		if cur.Int() != ResultSetKeyspace || cur.Str() != "keyspace_with_a_long_name_keyspace_with_a_long_name" {
			t.Fatal("body")
		}
	}
}
