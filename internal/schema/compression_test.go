package schema

import (
	"errors"
	"maps"
	"testing"

	"github.com/ringdb/ringdb/internal/cqlerr"
)

// TestCompressionOption: WITH compression is stored as Cassandra 4.0 shows
// it in system_schema.tables (CompressionParams.asMap), and refused with
// its ConfigurationException messages.
func TestCompressionOption(t *testing.T) {
	lz4 := map[string]string{"chunk_length_in_kb": "16", "class": "org.apache.cassandra.io.compress.LZ4Compressor"}
	if got := DefaultOptions().Compression; !maps.Equal(got, lz4) {
		t.Fatalf("default compression %v", got)
	}
	for _, tc := range []struct {
		in   map[string]string
		want map[string]string
	}{
		{map[string]string{}, map[string]string{"enabled": "false"}},
		{map[string]string{"enabled": "false"}, map[string]string{"enabled": "false"}},
		{map[string]string{"enabled": "true", "class": "LZ4Compressor"}, lz4},
		{map[string]string{"class": "org.apache.cassandra.io.compress.LZ4Compressor"}, lz4},
		{map[string]string{"class": "SnappyCompressor", "chunk_length_in_kb": "64"},
			map[string]string{"chunk_length_in_kb": "64", "class": "org.apache.cassandra.io.compress.SnappyCompressor"}},
		{map[string]string{"class": "ZstdCompressor", "compression_level": "3", "min_compress_ratio": "2"},
			map[string]string{"chunk_length_in_kb": "16", "class": "org.apache.cassandra.io.compress.ZstdCompressor", "compression_level": "3", "min_compress_ratio": "2.0"}},
		{map[string]string{"class": "DeflateCompressor", "min_compress_ratio": "0"},
			map[string]string{"chunk_length_in_kb": "16", "class": "org.apache.cassandra.io.compress.DeflateCompressor"}},
	} {
		o := DefaultOptions()
		if err := o.Set("compression", OptionValue{Map: tc.in, IsMap: true}); err != nil {
			t.Fatalf("%v: %v", tc.in, err)
		}
		if !maps.Equal(o.Compression, tc.want) {
			t.Errorf("%v: stored %v, want %v", tc.in, o.Compression, tc.want)
		}
	}
	for _, tc := range []struct {
		in  map[string]string
		err string
	}{
		{map[string]string{"chunk_length_in_kb": "32"}, "Missing sub-option 'class' for the 'compression' option."},
		{map[string]string{"class": ""}, "The 'class' option must not be empty. To disable compression use 'enabled' : false"},
		{map[string]string{"enabled": "false", "class": "SnappyCompressor"}, "If the 'enabled' option is set to false no other options must be specified"},
		{map[string]string{"enabled": "false", "chunk_length_in_kb": "32"}, "If the 'enabled' option is set to false no other options must be specified"},
		{map[string]string{"class": "SnappyCompressor", "chunk_length_in_kb": "31"}, "chunk_length_in_kb must be a power of 2"},
		{map[string]string{"class": "SnappyCompressor", "chunk_length_in_kb": "0"}, "Invalid negative or null chunk_length_in_kb"},
		{map[string]string{"class": "SnappyCompressor", "chunk_length_in_kb": "x"}, "Invalid value for chunk_length_in_kb"},
		{map[string]string{"class": "SnappyCompressor", "min_compress_ratio": "-1"}, "Invalid negative min_compress_ratio"},
		{map[string]string{"class": "SnappyCompressor", "min_compress_ratio": "0.5"}, "min_compress_ratio can either be 0 or greater than or equal to 1"},
		{map[string]string{"class": "NoSuchCompressor"}, "Could not create Compression for type org.apache.cassandra.io.compress.NoSuchCompressor"},
		{map[string]string{"class": "SnappyCompressor", "level": "1"}, "Unknown compression options level"},
	} {
		o := DefaultOptions()
		err := o.Set("compression", OptionValue{Map: tc.in, IsMap: true})
		var ce *cqlerr.Error
		if !errors.As(err, &ce) || ce.Code != cqlerr.ConfigError || ce.Message != tc.err {
			t.Errorf("%v: got %v, want config error %q", tc.in, err, tc.err)
		}
	}
}
