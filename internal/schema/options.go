package schema

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/ringdb/ringdb/internal/cqlerr"
)

// Options are a table's WITH options, kept and shown in
// system_schema.tables. Defaults are Cassandra 4.0's.
type Options struct {
	BloomFilterFPChance   float64           // bloom_filter_fp_chance; default 0.01
	Caching               map[string]string // caching; default keys=ALL, rows_per_partition=NONE
	Comment               string            // comment; default ""
	Compaction            map[string]string // compaction; default SizeTieredCompactionStrategy
	Compression           map[string]string // compression; default LZ4Compressor, 16 KiB chunks
	CRCCheckChance        float64           // crc_check_chance; default 1.0
	DefaultTTL            int32             // default_time_to_live in seconds; default 0 (none)
	GCGraceSeconds        int32             // gc_grace_seconds; default 864000 (10 days)
	MaxIndexInterval      int32             // max_index_interval; default 2048
	MemtableFlushPeriodMs int32             // memtable_flush_period_in_ms; default 0
	MinIndexInterval      int32             // min_index_interval; default 128
	SpeculativeRetry      string            // speculative_retry; default "99p"
	AdditionalWritePolicy string            // additional_write_policy; default "99p"
	ReadRepair            string            // read_repair; default "BLOCKING"
	CDC                   bool              // cdc; default false
	Extensions            map[string]string // extensions; default empty
}

// DefaultOptions returns Cassandra 4.0's table defaults.
func DefaultOptions() Options {
	return Options{
		BloomFilterFPChance: 0.01,
		Caching:             map[string]string{"keys": "ALL", "rows_per_partition": "NONE"},
		Compaction: map[string]string{
			"class":         "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
			"max_threshold": "32", "min_threshold": "4",
		},
		Compression: map[string]string{
			"chunk_length_in_kb": "16", "class": "org.apache.cassandra.io.compress.LZ4Compressor",
		},
		CRCCheckChance:        1.0,
		GCGraceSeconds:        864000,
		MaxIndexInterval:      2048,
		MinIndexInterval:      128,
		SpeculativeRetry:      "99p",
		AdditionalWritePolicy: "99p",
		ReadRepair:            "BLOCKING",
		Extensions:            map[string]string{},
	}
}

func (o Options) clone() Options {
	o.Caching = maps.Clone(o.Caching)
	o.Compaction = maps.Clone(o.Compaction)
	o.Compression = maps.Clone(o.Compression)
	o.Extensions = maps.Clone(o.Extensions)
	return o
}

// OptionValue is the value of one WITH option as written in CQL: exactly
// one of Text (string or number constant, as written), Map, or Bool is set.
type OptionValue struct {
	Text   string
	IsText bool
	Map    map[string]string
	IsMap  bool
}

// Set applies one WITH option, returning the Invalid/Config error Cassandra
// gives for an unknown property or a bad value.
func (o *Options) Set(name string, v OptionValue) error {
	num := func() (float64, error) {
		if !v.IsText {
			return 0, cqlerr.ConfigErrorf("Invalid value for property '%s'", name)
		}
		f, err := strconv.ParseFloat(v.Text, 64)
		if err != nil {
			return 0, cqlerr.ConfigErrorf("Invalid double value %s for '%s'", v.Text, name)
		}
		return f, nil
	}
	integer := func() (int32, error) {
		if !v.IsText {
			return 0, cqlerr.ConfigErrorf("Invalid value for property '%s'", name)
		}
		n, err := strconv.ParseInt(v.Text, 10, 32)
		if err != nil || n < 0 {
			return 0, cqlerr.ConfigErrorf("Invalid value %s for '%s': must be a non-negative integer", v.Text, name)
		}
		return int32(n), nil
	}
	text := func() (string, error) {
		if !v.IsText {
			return "", cqlerr.ConfigErrorf("Invalid value for property '%s'", name)
		}
		return v.Text, nil
	}
	mapv := func() (map[string]string, error) {
		if !v.IsMap {
			return nil, cqlerr.ConfigErrorf("Invalid value for property '%s': expected a map", name)
		}
		return maps.Clone(v.Map), nil
	}
	var err error
	switch name {
	case "bloom_filter_fp_chance":
		o.BloomFilterFPChance, err = num()
		if err == nil && (o.BloomFilterFPChance <= 0 || o.BloomFilterFPChance > 1) {
			err = cqlerr.ConfigErrorf("bloom_filter_fp_chance must be larger than 0 and less than or equal to 1.0 (got %s)", v.Text)
		}
	case "caching":
		o.Caching, err = mapv()
	case "comment":
		o.Comment, err = text()
	case "compaction":
		var m map[string]string
		if m, err = mapv(); err == nil {
			if m["class"] == "" {
				return cqlerr.ConfigErrorf("Missing sub-option 'class' for the 'compaction' option.")
			}
			if !strings.Contains(m["class"], ".") {
				m["class"] = "org.apache.cassandra.db.compaction." + m["class"]
			}
			o.Compaction = m
		}
	case "compression":
		var m map[string]string
		if m, err = mapv(); err == nil {
			if m, err = compressionParams(m); err == nil {
				o.Compression = m
			}
		}
	case "crc_check_chance":
		o.CRCCheckChance, err = num()
	case "default_time_to_live":
		o.DefaultTTL, err = integer()
		if err == nil && o.DefaultTTL > 20*365*86400 {
			err = cqlerr.ConfigErrorf("default_time_to_live must be less than or equal to %d (got %d)", 20*365*86400, o.DefaultTTL)
		}
	case "gc_grace_seconds":
		o.GCGraceSeconds, err = integer()
	case "max_index_interval":
		o.MaxIndexInterval, err = integer()
	case "min_index_interval":
		o.MinIndexInterval, err = integer()
	case "memtable_flush_period_in_ms":
		o.MemtableFlushPeriodMs, err = integer()
	case "speculative_retry":
		o.SpeculativeRetry, err = text()
	case "additional_write_policy":
		o.AdditionalWritePolicy, err = text()
	case "read_repair":
		o.ReadRepair, err = text()
		o.ReadRepair = strings.ToUpper(o.ReadRepair)
		if err == nil && o.ReadRepair != "BLOCKING" && o.ReadRepair != "NONE" {
			err = cqlerr.ConfigErrorf("Invalid read_repair value %s: must be BLOCKING or NONE", v.Text)
		}
	case "cdc":
		var s string
		if s, err = text(); err == nil {
			o.CDC, err = strconv.ParseBool(strings.ToLower(s))
		}
	case "extensions":
		o.Extensions, err = mapv()
	case "read_repair_chance", "dclocal_read_repair_chance":
		// Removed in Cassandra 4.0; accepted and ignored for old scripts.
		_, err = num()
	default:
		return cqlerr.ConfigErrorf("Unknown property '%s'", name)
	}
	if err != nil {
		if _, ok := err.(*cqlerr.Error); !ok {
			err = cqlerr.ConfigErrorf("Invalid value for property '%s': %v", name, err)
		}
	}
	return err
}

// String renders the options as the WITH clause of DESCRIBE output.
func (o Options) String() string {
	return fmt.Sprintf("bloom_filter_fp_chance = %v AND comment = '%s' AND default_time_to_live = %d AND gc_grace_seconds = %d",
		o.BloomFilterFPChance, strings.ReplaceAll(o.Comment, "'", "''"), o.DefaultTTL, o.GCGraceSeconds)
}
