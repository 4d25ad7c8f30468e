package frame

import (
	"bytes"
	"reflect"
	"testing"
)

func FuzzReadFrame(f *testing.F) {
	q := encodeQuery(&Query{Query: "SELECT 1", Params: sampleParams()[1]})
	f.Add(append(AppendHeader(nil, Header{Version: VersionRequest, Opcode: OpQuery, Length: int32(len(q))}), q...))
	f.Add(AppendHeader(nil, Header{Version: VersionRequest, Opcode: OpOptions}))
	f.Add([]byte{0x05, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{0x04, 0x05, 0, 1, 7, 0x7f, 0xff, 0xff, 0xff})
	const maxBody = 1 << 16
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), maxBody)
		for {
			h, body, err := r.Next()
			if err != nil {
				return
			}
			if len(body) != int(h.Length) || len(body) > maxBody {
				t.Fatalf("body %d for header %+v", len(body), h)
			}
			for _, c := range []Compression{NoCompression, LZ4, Snappy} {
				req, _, err := OpenRequest(h, body, c, maxBody, nil)
				if err != nil {
					continue
				}
				decodeAny(h.Opcode, req.Body)
			}
		}
	})
}

// decodeAny runs the decoder for op over body, for its panics only.
func decodeAny(op Opcode, body []byte) {
	switch op {
	case OpStartup:
		_, _ = DecodeStartup(body)
	case OpAuthResponse:
		_, _ = DecodeAuthResponse(body)
	case OpRegister:
		_, _ = DecodeRegister(body)
	case OpPrepare:
		_, _ = DecodePrepare(body)
	case OpQuery:
		_, _ = DecodeQuery(body)
	case OpExecute:
		_, _ = DecodeExecute(body)
	case OpBatch:
		_, _ = DecodeBatch(body)
	}
}

func FuzzDecodeQuery(f *testing.F) {
	for _, p := range sampleParams() {
		f.Add(encodeQuery(&Query{Query: "SELECT * FROM t WHERE k = ?", Params: p}))
	}
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0x41, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		q, err := DecodeQuery(in)
		if err != nil {
			return
		}
		again, err := DecodeQuery(encodeQuery(&q))
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Fatalf("re-encoding changed the query: %v\n%+v\n%+v", err, q, again)
		}
	})
}

func FuzzDecodeExecute(f *testing.F) {
	for _, p := range sampleParams() {
		f.Add(encodeExecute(&Execute{ID: []byte{1, 2, 3}, Params: p}))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := DecodeExecute(in)
		if err != nil {
			return
		}
		again, err := DecodeExecute(encodeExecute(&e))
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("re-encoding changed the execute: %v\n%+v\n%+v", err, e, again)
		}
	})
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(encodeBatch(&Batch{
		Type: BatchLogged,
		Statements: []BatchStatement{
			{Query: "INSERT INTO t (k) VALUES (?)", Values: []Value{{Bytes: []byte{1}}}},
			{Prepared: true, ID: []byte{1}, Values: []Value{{}, {Unset: true}}},
		},
		Consistency: Quorum, Flags: QueryFlagDefaultTimestamp | QueryFlagSerialConsistency,
		SerialConsistency: Serial, DefaultTimestamp: 1, HasTimestamp: true,
	}))
	f.Add([]byte{0, 0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := DecodeBatch(in)
		if err != nil {
			return
		}
		again, err := DecodeBatch(encodeBatch(&b))
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Fatalf("re-encoding changed the batch: %v\n%+v\n%+v", err, b, again)
		}
	})
}

func FuzzDecompress(f *testing.F) {
	for _, c := range []Compression{LZ4, Snappy} {
		in, _ := Compress(c, nil, bytes.Repeat([]byte("abc"), 50))
		f.Add(byte(c), in)
	}
	f.Add(byte(LZ4), []byte{0xff, 0xff, 0xff, 0xff, 0x1f})
	f.Add(byte(Snappy), []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, alg byte, in []byte) {
		c := Compression(alg % 3)
		out, err := Decompress(c, nil, in, limit)
		if err == nil && len(out) > limit {
			t.Fatalf("%v: %d bytes over the %d limit", c, len(out), limit)
		}
		comp, err := Compress(c, nil, in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decompress(c, nil, comp, len(in))
		if err != nil || !bytes.Equal(back, in) {
			t.Fatalf("%v: round trip failed: %v", c, err)
		}
	})
}
