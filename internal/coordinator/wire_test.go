package coordinator

import (
	"reflect"
	"testing"

	"github.com/ringdb/ringdb/internal/storage"
)

func TestReadCommandRoundTrip(t *testing.T) {
	c := &readCommand{table: storage.TableID{1, 2}, token: -42, key: []byte("key"), digest: true,
		q: storage.PartitionQuery{Reversed: true, Static: true, Limit: 10, Slices: []storage.Slice{
			{Start: storage.Bound{Prefix: []byte{1}, Inclusive: true}, End: storage.Bound{Prefix: []byte{9, 9}}}}}}
	got, err := decodeRead(encodeRead(c))
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	rc := &rangeCommand{table: storage.TableID{3}, start: storage.PartitionPos{Token: 5, Key: []byte("k")}, endToken: 99, maxPartitions: 100}
	got2, err := decodeRange(encodeRange(rc))
	if err != nil || !reflect.DeepEqual(got2, rc) {
		t.Fatalf("range round trip: %+v %v", got2, err)
	}
}

func FuzzDecodeRead(f *testing.F) {
	f.Add(encodeRead(&readCommand{key: []byte("k"), q: storage.PartitionQuery{Slices: []storage.Slice{{}}}}))
	f.Add(encodeRange(&rangeCommand{maxPartitions: 3}))
	f.Add([]byte{1, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeRead(b)
		_, _ = decodeRange(b)
		_, _ = decodeMutations(b)
	})
}
