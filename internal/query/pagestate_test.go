package query

import (
	"bytes"
	"testing"
)

func TestPageStateRoundTrip(t *testing.T) {
	for _, s := range []pageState{
		{token: -5, key: []byte("k"), clustering: []byte{1, 2, 3}, rowsSent: 10, ppCount: 3},
		{token: 1 << 62, key: nil, partitionDone: true, staticDone: true},
		{token: -1 << 63, key: bytes.Repeat([]byte{0xff}, 300), clustering: bytes.Repeat([]byte{0}, 500), rowsSent: 1 << 40},
	} {
		got, err := decodePageState(s.encode())
		if err != nil {
			t.Fatal(err)
		}
		if got.token != s.token || !bytes.Equal(got.key, s.key) || !bytes.Equal(got.clustering, s.clustering) ||
			got.rowsSent != s.rowsSent || got.ppCount != s.ppCount || got.partitionDone != s.partitionDone || got.staticDone != s.staticDone {
			t.Fatalf("round trip: %+v != %+v", got, s)
		}
	}
}

// FuzzDecodePageState: the paging state comes from the client; any bytes
// must give a state or a protocol error, never a panic.
func FuzzDecodePageState(f *testing.F) {
	f.Add((&pageState{token: 3, key: []byte("abc"), clustering: []byte{9}}).encode())
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodePageState(b)
		if err == nil {
			if len(s.key) > len(b) || len(s.clustering) > len(b) {
				t.Fatal("decoded more bytes than given")
			}
		}
	})
}
