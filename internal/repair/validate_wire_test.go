package repair

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ringdb/ringdb/internal/storage"
)

func TestValidateRequestRoundTrip(t *testing.T) {
	for _, req := range []ValidateRequest{
		{Table: storage.TableID{1, 2, 3}, Range: rng(-5, 99), Depth: 0},
		{Table: storage.TableID{0xff}, Range: rng(maxTok, minTok), Depth: MaxWireDepth},
		{Range: rng(7, 7), Depth: DefaultDepth},
	} {
		enc := req.AppendBinary([]byte("x"))[1:]
		got, err := DecodeValidateRequest(enc)
		if err != nil || got != req {
			t.Fatalf("DecodeValidateRequest(%x) = %+v, %v; want %+v", enc, got, err, req)
		}
	}
}

func TestDecodeValidateRequestErrors(t *testing.T) {
	valid := ValidateRequest{Range: rng(1, 2), Depth: 3}.AppendBinary(nil)
	deep := ValidateRequest{Range: rng(1, 2), Depth: MaxWireDepth + 1}.AppendBinary(nil)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"short":     valid[:len(valid)-1],
		"trailing":  append(bytes.Clone(valid), 0),
		"version 0": append([]byte{0}, valid[1:]...),
		"version 2": append([]byte{2}, valid[1:]...),
		"too deep":  deep,
		"depth 255": append(bytes.Clone(valid[:len(valid)-1]), 255),
	} {
		if _, err := DecodeValidateRequest(b); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: err = %v, want ErrBadRequest", name, err)
		}
	}
}

func FuzzDecodeValidateRequest(f *testing.F) {
	f.Add(ValidateRequest{Range: rng(1, 2), Depth: 3}.AppendBinary(nil))
	f.Add(ValidateRequest{Table: storage.TableID{9}, Range: rng(maxTok, minTok), Depth: MaxWireDepth}.AppendBinary(nil))
	f.Add([]byte{})
	f.Add([]byte{ValidateVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeValidateRequest(b)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		if req.Depth < 0 || req.Depth > MaxWireDepth {
			t.Fatalf("decoded depth %d", req.Depth)
		}
		if re := req.AppendBinary(nil); !bytes.Equal(re, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", re, b)
		}
	})
}
