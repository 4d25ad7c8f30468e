package schema

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ringdb/ringdb/internal/cqlerr"
)

// compressorPackage is where Cassandra looks for a compressor class named
// without a package.
const compressorPackage = "org.apache.cassandra.io.compress."

// compressorOptions lists Cassandra 4.0's compressors and the options each
// accepts besides class, chunk_length_in_kb and min_compress_ratio.
var compressorOptions = map[string][]string{
	compressorPackage + "LZ4Compressor":     {"lz4_compressor_type", "lz4_high_compressor_level"},
	compressorPackage + "SnappyCompressor":  nil,
	compressorPackage + "DeflateCompressor": nil,
	compressorPackage + "ZstdCompressor":    {"compression_level"},
	compressorPackage + "NoopCompressor":    nil,
}

// defaultChunkLength is Cassandra 4.0's default chunk length (16 KiB).
const defaultChunkLength = 16 * 1024

// compressionParams validates a compression option map and returns it as
// Cassandra 4.0 stores and shows it (CompressionParams.fromMap, then
// asMap): {'enabled': 'false'} when compression is disabled (by
// 'enabled': 'false' or by an empty map), else the options with the
// compressor's full class name, chunk_length_in_kb (default 16) and
// min_compress_ratio when not 0.
func compressionParams(opts map[string]string) (map[string]string, error) {
	enabled := func(v string, ok bool) bool { return !ok || strings.EqualFold(v, "true") }
	if len(opts) > 0 && enabled(opts["enabled"], hasKey(opts, "enabled")) && !hasKey(opts, "class") {
		return nil, cqlerr.ConfigErrorf("Missing sub-option 'class' for the 'compression' option.")
	}
	rest := maps.Clone(opts)
	ev, hasEnabled := rest["enabled"]
	delete(rest, "enabled")
	if !enabled(ev, hasEnabled) && len(rest) > 0 {
		return nil, cqlerr.ConfigErrorf("If the 'enabled' option is set to false no other options must be specified")
	}
	class, hasClass := rest["class"]
	delete(rest, "class")
	if hasClass && class == "" {
		return nil, cqlerr.ConfigErrorf("The 'class' option must not be empty. To disable compression use 'enabled' : false")
	}
	chunk, err := removeChunkLength(rest)
	if err != nil {
		return nil, err
	}
	ratio, err := removeMinCompressRatio(rest)
	if err != nil {
		return nil, err
	}
	if class != "" {
		if err := checkCompressor(&class, rest); err != nil {
			return nil, err
		}
	}
	if err := checkChunk(chunk, ratio); err != nil {
		return nil, err
	}
	if class == "" {
		return map[string]string{"enabled": "false"}, nil
	}
	rest["class"] = class
	rest["chunk_length_in_kb"] = strconv.Itoa(chunk / 1024)
	if ratio != 0 {
		rest["min_compress_ratio"] = javaDouble(ratio)
	}
	return rest, nil
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// removeChunkLength removes chunk_length_in_kb and returns it in bytes.
func removeChunkLength(opts map[string]string) (int, error) {
	v, ok := opts["chunk_length_in_kb"]
	if !ok {
		return defaultChunkLength, nil
	}
	delete(opts, "chunk_length_in_kb")
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, cqlerr.ConfigErrorf("Invalid value for chunk_length_in_kb")
	}
	if n > math.MaxInt32/1024 {
		return 0, cqlerr.ConfigErrorf("Value of chunk_length_in_kb is too large (%d)", n)
	}
	return int(n) * 1024, nil
}

// removeMinCompressRatio removes min_compress_ratio (default 0: always
// compress).
func removeMinCompressRatio(opts map[string]string) (float64, error) {
	v, ok := opts["min_compress_ratio"]
	if !ok {
		return 0, nil
	}
	delete(opts, "min_compress_ratio")
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, cqlerr.ConfigErrorf("Invalid value for min_compress_ratio")
	}
	return f, nil
}

// checkCompressor resolves the class name (adding Cassandra's package to a
// bare name) and checks that the compressor exists and accepts opts.
func checkCompressor(class *string, opts map[string]string) error {
	if !strings.Contains(*class, ".") {
		*class = compressorPackage + *class
	}
	accepted, ok := compressorOptions[*class]
	if !ok {
		return cqlerr.ConfigErrorf("Could not create Compression for type %s", *class)
	}
	keys := slices.Sorted(maps.Keys(opts))
	for _, k := range keys {
		if !slices.Contains(accepted, k) {
			return cqlerr.ConfigErrorf("Unknown compression options %s", k)
		}
	}
	return nil
}

// checkChunk is CompressionParams.validate: the chunk length is a positive
// power of two and min_compress_ratio is 0 or at least 1.
func checkChunk(chunk int, ratio float64) error {
	if chunk <= 0 {
		return cqlerr.ConfigErrorf("Invalid negative or null chunk_length_in_kb")
	}
	if chunk&(chunk-1) != 0 {
		return cqlerr.ConfigErrorf("chunk_length_in_kb must be a power of 2")
	}
	maxLen := math.Ceil(math.Min(float64(chunk)/ratio, math.MaxInt32))
	if maxLen < 0 {
		return cqlerr.ConfigErrorf("Invalid negative min_compress_ratio")
	}
	if maxLen > float64(chunk) && maxLen < math.MaxInt32 {
		return cqlerr.ConfigErrorf("min_compress_ratio can either be 0 or greater than or equal to 1")
	}
	return nil
}

// javaDouble formats f as Java's Double.toString does for ordinary values
// ("2.0", "1.5").
func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
