package schema

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/ringdb/ringdb/internal/types"
)

// systemDefs declares the system tables drivers and tools read, in a
// compact "name type" form; the first group of names is the partition key,
// the second the clustering columns.
var systemDefs = map[string][]sysTable{
	"system": {
		{"local", "key text, bootstrapped text, broadcast_address inet, broadcast_port int, cluster_name text, cql_version text, data_center text, gossip_generation int, host_id uuid, listen_address inet, listen_port int, native_protocol_version text, partitioner text, rack text, release_version text, rpc_address inet, rpc_port int, schema_version uuid, tokens set<text>, truncated_at map<uuid, blob>", "key", ""},
		{"peers", "peer inet, data_center text, host_id uuid, preferred_ip inet, rack text, release_version text, rpc_address inet, schema_version uuid, tokens set<text>", "peer", ""},
		{"peers_v2", "peer inet, peer_port int, data_center text, host_id uuid, native_address inet, native_port int, preferred_ip inet, preferred_port int, rack text, release_version text, schema_version uuid, tokens set<text>", "peer", "peer_port"},
		{"size_estimates", "keyspace_name text, table_name text, range_start text, range_end text, mean_partition_size bigint, partitions_count bigint", "keyspace_name", "table_name,range_start,range_end"},
	},
	"system_schema": {
		{"keyspaces", "keyspace_name text, durable_writes boolean, replication frozen<map<text, text>>", "keyspace_name", ""},
		{"tables", "keyspace_name text, table_name text, additional_write_policy text, bloom_filter_fp_chance double, caching frozen<map<text, text>>, cdc boolean, comment text, compaction frozen<map<text, text>>, compression frozen<map<text, text>>, crc_check_chance double, dclocal_read_repair_chance double, default_time_to_live int, extensions frozen<map<text, blob>>, flags frozen<set<text>>, gc_grace_seconds int, id uuid, max_index_interval int, memtable_flush_period_in_ms int, min_index_interval int, read_repair text, read_repair_chance double, speculative_retry text", "keyspace_name", "table_name"},
		{"columns", "keyspace_name text, table_name text, column_name text, clustering_order text, column_name_bytes blob, kind text, position int, type text", "keyspace_name", "table_name,column_name"},
		{"dropped_columns", "keyspace_name text, table_name text, column_name text, dropped_time timestamp, kind text, type text", "keyspace_name", "table_name,column_name"},
		{"types", "keyspace_name text, type_name text, field_names frozen<list<text>>, field_types frozen<list<text>>", "keyspace_name", "type_name"},
		{"functions", "keyspace_name text, function_name text, argument_types frozen<list<text>>, argument_names frozen<list<text>>, body text, called_on_null_input boolean, language text, return_type text", "keyspace_name", "function_name,argument_types"},
		{"aggregates", "keyspace_name text, aggregate_name text, argument_types frozen<list<text>>, final_func text, initcond text, return_type text, state_func text, state_type text", "keyspace_name", "aggregate_name,argument_types"},
		{"views", "keyspace_name text, view_name text, base_table_id uuid, base_table_name text, bloom_filter_fp_chance double, caching frozen<map<text, text>>, cdc boolean, comment text, compaction frozen<map<text, text>>, compression frozen<map<text, text>>, crc_check_chance double, dclocal_read_repair_chance double, default_time_to_live int, extensions frozen<map<text, blob>>, gc_grace_seconds int, id uuid, include_all_columns boolean, max_index_interval int, memtable_flush_period_in_ms int, min_index_interval int, read_repair_chance double, speculative_retry text, where_clause text", "keyspace_name", "view_name"},
		{"indexes", "keyspace_name text, table_name text, index_name text, kind text, options frozen<map<text, text>>", "keyspace_name", "table_name,index_name"},
		{"triggers", "keyspace_name text, table_name text, trigger_name text, options frozen<map<text, text>>", "keyspace_name", "table_name,trigger_name"},
	},
	"system_auth": {
		{"roles", "role text, can_login boolean, is_superuser boolean, member_of set<text>, salted_hash text", "role", ""},
		{"role_members", "role text, member text", "role", "member"},
		{"role_permissions", "role text, resource text, permissions set<text>", "role", "resource"},
		{"resource_role_permissons_index", "resource text, role text", "resource", "role"},
	},
	"system_distributed": {
		{"repair_history", "keyspace_name text, columnfamily_name text, id timeuuid, coordinator inet, exception_message text, exception_stacktrace text, finished_at timestamp, parent_id timeuuid, participants set<inet>, range_begin text, range_end text, started_at timestamp, status text", "keyspace_name,columnfamily_name", "id"},
	},
	"system_traces": {
		{"sessions", "session_id uuid, client inet, command text, coordinator inet, duration int, parameters map<text, text>, request text, started_at timestamp", "session_id", ""},
		{"events", "session_id uuid, event_id timeuuid, activity text, source inet, source_elapsed int, thread text", "session_id", "event_id"},
	},
	"system_virtual_schema": {
		{"keyspaces", "keyspace_name text", "keyspace_name", ""},
		{"tables", "keyspace_name text, table_name text, comment text", "keyspace_name", "table_name"},
		{"columns", "keyspace_name text, table_name text, column_name text, clustering_order text, column_name_bytes blob, kind text, position int, type text", "keyspace_name", "table_name,column_name"},
	},
}

type sysTable struct {
	name, columns, pk, ck string
}

// SystemKeyspaces returns fresh definitions of ringdb's system keyspaces.
// Their tables are Virtual: the query layer produces their rows.
func SystemKeyspaces() []*Keyspace {
	var out []*Keyspace
	for ksName, tables := range systemDefs {
		repl := map[string]string{"class": "org.apache.cassandra.locator.LocalStrategy"}
		switch ksName {
		case "system_auth":
			repl = map[string]string{"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"}
		case "system_distributed", "system_traces":
			repl = map[string]string{"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "3"}
		}
		k := &Keyspace{Name: ksName, Replication: repl, DurableWrites: true, System: true,
			Tables: map[string]*Table{}, Types: map[string]*types.Type{}}
		for _, st := range tables {
			d := TableDef{Keyspace: ksName, Name: st.name, PartitionKey: strings.Split(st.pk, ",")}
			if st.ck != "" {
				d.Clustering = strings.Split(st.ck, ",")
			}
			for _, col := range splitTop(st.columns) {
				i := strings.IndexByte(col, ' ')
				d.Columns = append(d.Columns, ColumnDef{Name: col[:i], Type: col[i+1:]})
			}
			t, err := BuildTable(k, d)
			if err != nil {
				panic(fmt.Sprintf("schema: bad system table %s.%s: %v", ksName, st.name, err))
			}
			sum := sha256.Sum256([]byte(ksName + "." + st.name))
			copy(t.ID[:], sum[:16])
			t.ID[6] = (t.ID[6] & 0x0f) | 0x30
			t.ID[8] = (t.ID[8] & 0x3f) | 0x80
			t.Virtual = true
			k.Tables[st.name] = t
		}
		out = append(out, k)
	}
	return out
}

// splitTop splits a column list at the commas that are not inside <...>.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}
