package query

import (
	"encoding/binary"
	"net/netip"
	"sort"
	"strconv"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/types"
)

// PeerInfo describes another node for system.peers / peers_v2.
type PeerInfo struct {
	Address       netip.Addr
	Port          int
	NativeAddress netip.Addr
	NativePort    int
	DC, Rack      string
	HostID        [16]byte
	SchemaVersion [16]byte
	Tokens        []int64
	Release       string
}

// virtualRows returns the rows of a virtual (system) table, each row the
// values of table.All in order.
func (p *Processor) virtualRows(t *schema.Table) ([][][]byte, error) {
	sch := p.schema.Current()
	var rows [][][]byte
	add := func(vals ...[]byte) { rows = append(rows, vals) }
	text := types.TextValue
	switch t.Keyspace + "." + t.Name {
	case "system.local":
		n := p.opts.Node
		add(text("local"), // key
			text("COMPLETED"), // bootstrapped
			inet(n.ListenAddress), types.IntValue(int32(n.StoragePort)),
			text(n.ClusterName), text("3.4.5"), text(n.DC),
			types.IntValue(n.GossipGeneration), uuidBytes(n.HostID),
			inet(n.ListenAddress), types.IntValue(int32(n.StoragePort)),
			text("4"), text("org.apache.cassandra.dht.Murmur3Partitioner"),
			text(n.Rack), text(ReleaseVersion),
			inet(n.NativeAddress), types.IntValue(int32(n.NativePort)),
			uuidBytes(sch.Version), tokenSet(n.Tokens), nil)
	case "system.peers":
		for _, pr := range p.peers() {
			add(inet(pr.Address), text(pr.DC), uuidBytes(pr.HostID), nil, text(pr.Rack), text(pr.Release),
				inet(pr.NativeAddress), uuidBytes(pr.SchemaVersion), tokenSet(pr.Tokens))
		}
	case "system.peers_v2":
		for _, pr := range p.peers() {
			add(inet(pr.Address), types.IntValue(int32(pr.Port)), text(pr.DC), uuidBytes(pr.HostID),
				inet(pr.NativeAddress), types.IntValue(int32(pr.NativePort)), nil, nil, text(pr.Rack), text(pr.Release),
				uuidBytes(pr.SchemaVersion), tokenSet(pr.Tokens))
		}
	case "system_schema.keyspaces":
		for _, name := range sch.KeyspaceNames() {
			k := sch.Keyspaces[name]
			if name == "system_virtual_schema" {
				continue
			}
			add(text(name), types.BooleanValue(k.DurableWrites), textMap(k.Replication))
		}
	case "system_schema.tables":
		for _, name := range sch.KeyspaceNames() {
			k := sch.Keyspaces[name]
			if name == "system_virtual_schema" {
				continue
			}
			for _, tn := range k.TableNames() {
				tb := k.Tables[tn]
				o := tb.Options
				flags := [][]byte{text("compound")}
				add(text(name), text(tn), text(o.AdditionalWritePolicy), types.DoubleValue(o.BloomFilterFPChance),
					textMap(o.Caching), types.BooleanValue(o.CDC), text(o.Comment), textMap(o.Compaction), textMap(o.Compression),
					types.DoubleValue(o.CRCCheckChance), types.DoubleValue(0), types.IntValue(o.DefaultTTL),
					blobMap(o.Extensions), types.BuildSet(types.SetOf(types.TextType, true), flags),
					types.IntValue(o.GCGraceSeconds), uuidBytes(tb.ID), types.IntValue(o.MaxIndexInterval),
					types.IntValue(o.MemtableFlushPeriodMs), types.IntValue(o.MinIndexInterval), text(o.ReadRepair),
					types.DoubleValue(0), text(o.SpeculativeRetry))
			}
		}
	case "system_schema.columns":
		for _, name := range sch.KeyspaceNames() {
			k := sch.Keyspaces[name]
			if name == "system_virtual_schema" {
				continue
			}
			for _, tn := range k.TableNames() {
				cols := append([]*schema.Column(nil), k.Tables[tn].All...)
				sort.Slice(cols, func(i, j int) bool { return cols[i].Name < cols[j].Name }) // clustering order of system_schema.columns
				for _, c := range cols {
					add(text(name), text(tn), text(c.Name), text(c.ClusteringOrder()), types.BlobValue([]byte(c.Name)),
						text(c.Kind.String()), types.IntValue(int32(c.Position)), text(c.Type.String()))
				}
			}
		}
	case "system_schema.dropped_columns":
		for _, name := range sch.KeyspaceNames() {
			k := sch.Keyspaces[name]
			for _, tn := range k.TableNames() {
				tb := k.Tables[tn]
				names := make([]string, 0, len(tb.Dropped))
				for n := range tb.Dropped {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					d := tb.Dropped[n]
					add(text(name), text(tn), text(n), types.BigintValue(d.DroppedTime/1000), text(d.Kind.String()), text(d.Type))
				}
			}
		}
	case "system_schema.types":
		for _, name := range sch.KeyspaceNames() {
			k := sch.Keyspaces[name]
			names := append([]string(nil), k.TypeOrder...)
			sort.Strings(names)
			for _, tn := range names {
				u := k.Types[tn]
				var fn, ft [][]byte
				for i, f := range u.FieldNames {
					fn = append(fn, text(f))
					ft = append(ft, text(u.Elems[i].String()))
				}
				add(text(name), text(tn), types.BuildList(fn), types.BuildList(ft))
			}
		}
	case "system_auth.roles":
		if p.opts.Roles != nil {
			roles, err := p.opts.Roles.ListRoles()
			if err != nil {
				return nil, cqlerr.Serverf("listing roles: %v", err)
			}
			for _, r := range roles {
				var member [][]byte
				for _, m := range r.MemberOf {
					member = append(member, text(m))
				}
				var memberOf []byte
				if len(member) > 0 {
					memberOf = types.BuildSet(types.SetOf(types.TextType, false), member)
				}
				// salted_hash is never readable through CQL (decision 015):
				// the column exists, as in Cassandra, but is always null.
				add(text(r.Name), types.BooleanValue(r.CanLogin), types.BooleanValue(r.Superuser), memberOf, nil)
			}
		}
	case "system_auth.role_permissions":
		return p.rolePermissionRows()
	}
	return rows, nil
}

// rolePermissionRows returns system_auth.role_permissions: one row per
// role and resource with the permissions granted directly, ordered by
// role then resource (the table's key order).
func (p *Processor) rolePermissionRows() ([][][]byte, error) {
	if !p.authzOn() {
		return nil, nil
	}
	grants, err := p.opts.Authorizer.ListPermissions()
	if err != nil {
		return nil, cqlerr.Serverf("listing permissions: %v", err)
	}
	sort.Slice(grants, func(i, j int) bool {
		if grants[i].Role != grants[j].Role {
			return grants[i].Role < grants[j].Role
		}
		return grants[i].Resource < grants[j].Resource
	})
	var rows [][][]byte
	for _, g := range grants {
		var elems [][]byte
		for _, n := range g.Permissions {
			elems = append(elems, types.TextValue(n))
		}
		rows = append(rows, [][]byte{types.TextValue(g.Role), types.TextValue(g.Resource),
			types.BuildSet(types.SetOf(types.TextType, false), elems)})
	}
	return rows, nil
}

func (p *Processor) peers() []PeerInfo {
	if p.opts.Peers == nil {
		return nil
	}
	return p.opts.Peers()
}

func inet(a netip.Addr) []byte {
	if !a.IsValid() {
		return nil
	}
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

func uuidBytes(u [16]byte) []byte { return append([]byte(nil), u[:]...) }

func tokenSet(tokens []int64) []byte {
	elems := make([][]byte, len(tokens))
	for i, t := range tokens {
		elems[i] = types.TextValue(strconv.FormatInt(t, 10))
	}
	return types.BuildSet(types.SetOf(types.TextType, false), elems)
}

func textMap(m map[string]string) []byte {
	keys := make([][]byte, 0, len(m))
	vals := make([][]byte, 0, len(m))
	for k, v := range m {
		keys = append(keys, types.TextValue(k))
		vals = append(vals, types.TextValue(v))
	}
	return types.BuildMap(types.MapOf(types.TextType, types.TextType, true), keys, vals)
}

func blobMap(m map[string]string) []byte {
	keys := make([][]byte, 0, len(m))
	vals := make([][]byte, 0, len(m))
	for k, v := range m {
		keys = append(keys, types.TextValue(k))
		vals = append(vals, []byte(v))
	}
	return types.BuildMap(types.MapOf(types.TextType, types.BlobType, true), keys, vals)
}

// virtualSelect answers a SELECT on a virtual table: every restriction is
// checked in memory and pages are offsets into the produced rows.
func (p *Processor) virtualSelect(c *evalCtx, pl *selectPlan, params *Params) (*Result, error) {
	t, r := pl.t, pl.r
	all, err := p.virtualRows(t)
	if err != nil {
		return nil, err
	}
	offset := int64(0)
	if params != nil && len(params.PagingState) > 0 {
		if len(params.PagingState) != 9 || params.PagingState[0] != 0xF0 {
			return nil, cqlerr.Protocolf("Invalid value for the paging state")
		}
		offset = int64(binary.BigEndian.Uint64(params.PagingState[1:]))
	}
	rows := &Rows{}
	for _, x := range pl.sels {
		rows.Columns = append(rows.Columns, ColumnSpec{Keyspace: t.Keyspace, Table: t.Name, Name: x.name, Type: x.typ})
	}
	out := &output{pl: pl, rows: rows}
	if pl.agg {
		out.aggs = make([]aggState, len(pl.sels))
	}
	n := len(t.All)
	matched := int64(0)
	for i, vals := range all {
		rv := &rowView{vals: vals, ts: make([]int64, n), expires: make([]int64, n), ttl: make([]int32, n)}
		if !r.empty && !virtualMatch(r, rv) {
			continue
		}
		if r.empty {
			break
		}
		matched++
		if matched <= offset {
			continue
		}
		if out.total+offset >= pl.limit {
			break
		}
		if err := out.emit(c, rv, vals[0]); err != nil {
			return nil, err
		}
		if out.full && i < len(all)-1 && out.total+offset < pl.limit {
			ps := make([]byte, 9)
			ps[0] = 0xF0
			binary.BigEndian.PutUint64(ps[1:], uint64(offset+out.total))
			out.rows.PagingState = ps
			break
		}
	}
	out.last = nil
	if pl.agg {
		return out.finish(c)
	}
	return &Result{Kind: ResultRows, Rows: out.rows}, nil
}

// virtualMatch checks every restriction against an in-memory row.
func virtualMatch(r *restrictions, rv *rowView) bool {
	t := r.t
	for i, vals := range r.pkValues {
		if vals != nil && !containsValue(t.PartitionKey[i].Type, vals, rv.vals[i]) {
			return false
		}
	}
	base := len(t.PartitionKey)
	for i, vals := range r.ckPrefix {
		if vals == nil {
			continue
		}
		if !containsValue(t.Clustering[i].Type, vals, rv.vals[base+i]) {
			return false
		}
	}
	cmpBound := func(b bound) int {
		for i, v := range b.vals {
			col := t.Clustering[r.slicePos+i]
			if c := types.Compare(col.Type, rv.vals[base+r.slicePos+i], v); c != 0 {
				return c
			}
		}
		return 0
	}
	if r.sliceStart.set {
		c := cmpBound(r.sliceStart)
		if c < 0 || (c == 0 && !r.sliceStart.inclusive) {
			return false
		}
	}
	if r.sliceEnd.set {
		c := cmpBound(r.sliceEnd)
		if c > 0 || (c == 0 && !r.sliceEnd.inclusive) {
			return false
		}
	}
	return r.matches(rv)
}

func containsValue(t *types.Type, vals [][]byte, v []byte) bool {
	for _, x := range vals {
		if types.Compare(t, x, v) == 0 {
			return true
		}
	}
	return false
}
