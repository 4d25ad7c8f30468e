package query

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ringdb/ringdb/internal/cql"
	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/schema"
	"github.com/ringdb/ringdb/internal/types"
)

// restrictionTables are the tables the restriction tests analyse WHERE
// clauses against: t has a single partition key column, three ascending
// clustering columns, a static and collections; p2 a composite partition
// key; d clustering columns of mixed order.
var restrictionTables = []string{
	"CREATE TABLE t (k int, c1 int, c2 int, c3 int, s int static, v int, l list<int>, st set<text>, m map<text, int>, PRIMARY KEY (k, c1, c2, c3))",
	"CREATE TABLE p2 (a int, b text, c int, v int, PRIMARY KEY ((a, b), c))",
	"CREATE TABLE d (k int, a int, b int, v int, PRIMARY KEY (k, a, b)) WITH CLUSTERING ORDER BY (a ASC, b DESC)",
}

// analyzeWhere parses "SELECT * FROM table WHERE where" and analyses its
// WHERE clause with the bound values.
func analyzeWhere(tp *testProc, table, where string, vals []Value) (*restrictions, error) {
	tp.t.Helper()
	stmt, err := cql.Parse("SELECT * FROM " + table + " WHERE " + where)
	if err != nil {
		tp.t.Fatalf("%s: %v", where, err)
	}
	t := tp.p.schema.Current().Table("ks", table)
	if t == nil {
		tp.t.Fatalf("no table %s", table)
	}
	c := &evalCtx{p: tp.p, values: vals, now: tp.p.opts.Now(), ctx: context.Background()}
	return c.analyze(t, stmt.(*cql.SelectStatement).Where)
}

// describe renders the analysed restrictions canonically: the partition
// key values, the token range, the clustering prefix (and IN tuples), the
// clustering slice and its position, the per-row filters and the flags.
func describe(r *restrictions) string {
	t := r.t
	var parts []string
	var pk []string
	for i, vs := range r.pkValues {
		if vs != nil {
			pk = append(pk, t.PartitionKey[i].Name+"="+fmtList(t.PartitionKey[i].Type, vs))
		}
	}
	if len(pk) > 0 {
		full := ""
		if r.pkFull {
			full = " full"
		}
		parts = append(parts, "pk["+strings.Join(pk, " ")+"]"+full)
	}
	if r.hasToken {
		lo, hi := "(", ")"
		if r.tokenStartInc {
			lo = "["
		}
		if r.tokenEndI {
			hi = "]"
		}
		parts = append(parts, fmt.Sprintf("token%s%s, %s%s", lo, fmtToken(r.tokenStart), fmtToken(r.tokenEnd), hi))
	}
	if len(r.ckPrefix) > 0 {
		var ps []string
		for i, vs := range r.ckPrefix {
			if vs == nil && r.multiTuples != nil && i == len(r.ckPrefix)-1 {
				var names, tuples []string
				for j := range r.multiTuples[0] {
					names = append(names, t.Clustering[i+j].Name)
				}
				for _, tup := range r.multiTuples {
					tuples = append(tuples, fmtTuple(t, i, tup))
				}
				ps = append(ps, "("+strings.Join(names, ", ")+")="+strings.Join(tuples, "|"))
				continue
			}
			ps = append(ps, t.Clustering[i].Name+"="+fmtList(t.Clustering[i].Type, vs))
		}
		parts = append(parts, "prefix["+strings.Join(ps, " ")+"]")
	}
	parts = append(parts, fmt.Sprintf("pos=%d", r.slicePos))
	if r.sliceStart.set || r.sliceEnd.set {
		s := "slice"
		for _, b := range []struct {
			b       bound
			op, opI string
		}{{r.sliceStart, ">", ">="}, {r.sliceEnd, "<", "<="}} {
			if !b.b.set {
				continue
			}
			op := b.op
			if b.b.inclusive {
				op = b.opI
			}
			s += " " + op + fmtTuple(t, r.slicePos, b.b.vals)
		}
		parts = append(parts, s)
	}
	if len(r.filters) > 0 {
		var fs []string
		for _, f := range r.filters {
			fs = append(fs, fmtFilter(f))
		}
		parts = append(parts, "filters["+strings.Join(fs, ", ")+"]")
	}
	for _, tf := range r.tupleFilters {
		var names []string
		for _, col := range tf.cols {
			names = append(names, col.Name)
		}
		parts = append(parts, "tuple("+strings.Join(names, ", ")+")"+tf.op.String()+fmtTuple(t, tf.cols[0].Position, tf.vals))
	}
	if r.usesFilter {
		parts = append(parts, "filtering")
	}
	if r.empty {
		parts = append(parts, "empty")
	}
	return strings.Join(parts, "; ")
}

func fmtToken(v int64) string {
	switch v {
	case math.MinInt64:
		return "min"
	case math.MaxInt64:
		return "max"
	}
	return fmt.Sprint(v)
}

func fmtVal(t *types.Type, v []byte) string {
	if v == nil {
		return "null"
	}
	return types.Format(t, v)
}

func fmtList(t *types.Type, vs [][]byte) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmtVal(t, v)
	}
	return strings.Join(out, "|")
}

// fmtTuple formats values of the clustering columns from position pos.
func fmtTuple(t *schema.Table, pos int, vs [][]byte) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmtVal(t.Clustering[pos+i].Type, v)
	}
	return "(" + strings.Join(out, ", ") + ")"
}

func fmtFilter(f filter) string {
	typ := f.col.Type
	switch {
	case f.key != nil:
		return fmt.Sprintf("%s[%s]=%s", f.col.Name, fmtVal(typ.Key(), f.key), fmtVal(typ.Value(), f.value))
	case f.op == cql.OpIn:
		return f.col.Name + " IN " + fmtList(typ, f.values)
	case f.op == cql.OpContainsKey:
		return f.col.Name + " CONTAINS KEY " + fmtVal(typ.Key(), f.value)
	case f.op == cql.OpContains && typ.Kind == types.Map:
		return f.col.Name + " CONTAINS " + fmtVal(typ.Value(), f.value)
	case f.op == cql.OpContains:
		return f.col.Name + " CONTAINS " + fmtVal(typ.Key(), f.value)
	}
	return f.col.Name + f.op.String() + fmtVal(typ, f.value)
}

func intTuple(vs ...int32) []byte {
	fields := make([][]byte, len(vs))
	for i, v := range vs {
		fields[i] = types.IntValue(v)
	}
	return types.BuildTuple(fields)
}

// TestAnalyzeClassification: each kind of relation lands where the read
// path expects it (partition keys, token range, clustering prefix, slice,
// per-row filters), with the flags that decide ALLOW FILTERING.
func TestAnalyzeClassification(t *testing.T) {
	tp := newTestProc(t, Options{})
	for _, q := range restrictionTables {
		tp.exec(q)
	}
	for _, tc := range []struct {
		table, where string
		vals         []Value
		want         string
	}{
		// Partition key = / IN.
		{"t", "k = 1", nil, "pk[k=1] full; pos=0"},
		{"t", "k IN (2, 1)", nil, "pk[k=2|1] full; pos=0"},
		{"t", "k IN ()", nil, "pk[k=] full; pos=0; empty"},
		// IN ? binds one list of the column's type.
		{"t", "k IN ?", []Value{{Bytes: types.EncodeCollection([][]byte{types.IntValue(2), types.IntValue(1)})}}, "pk[k=2|1] full; pos=0"},
		{"t", "k = 1 AND c1 IN ?", []Value{{Bytes: types.EncodeCollection([][]byte{types.IntValue(3)})}}, "pk[k=1] full; prefix[c1=3]; pos=1"},
		{"t", "k = 1 AND c3 IN ? ALLOW FILTERING", []Value{{Bytes: types.EncodeCollection([][]byte{types.IntValue(4)})}}, "pk[k=1] full; pos=0; filters[c3 IN 4]; filtering"},
		{"t", "k = ?", []Value{{Bytes: types.IntValue(5)}}, "pk[k=5] full; pos=0"},
		{"p2", "a = 1 AND b = 'x'", nil, "pk[a=1 b=x] full; pos=0"},
		{"p2", "b IN ('x', 'y') AND a = 1", nil, "pk[a=1 b=x|y] full; pos=0"},
		{"p2", "a = 1", nil, "pos=0; filters[a IN 1]; filtering"},
		{"p2", "v = 2 AND b = 'x'", nil, "pos=0; filters[v=2, b IN x]; filtering"},
		// token().
		{"t", "token(k) > 5", nil, "token(5, max]; pos=0"},
		{"t", "token(k) >= 5 AND token(k) < 10", nil, "token[5, 10); pos=0"},
		{"t", "token(k) <= -3", nil, "token[min, -3]; pos=0"},
		{"t", "token(k) = 7", nil, "token[7, 7]; pos=0"},
		{"t", "token(k) > ?", []Value{{Bytes: types.BigintValue(-9)}}, "token(-9, max]; pos=0"},
		{"p2", "token(a, b) < 0", nil, "token[min, 0); pos=0"},
		// Clustering prefix = / IN.
		{"t", "k = 1 AND c1 = 2", nil, "pk[k=1] full; prefix[c1=2]; pos=1"},
		{"t", "k = 1 AND c1 IN (3, 1) AND c2 = 5", nil, "pk[k=1] full; prefix[c1=3|1 c2=5]; pos=2"},
		{"t", "c1 = 1 AND c2 = 2 AND c3 = 3 AND k = 1", nil, "pk[k=1] full; prefix[c1=1 c2=2 c3=3]; pos=3"},
		{"t", "c1 = 1", nil, "prefix[c1=1]; pos=1"},
		{"t", "k = 1 AND c2 = 5", nil, "pk[k=1] full; pos=0; filters[c2 IN 5]; filtering"},
		{"t", "k = 1 AND c1 = 1 AND c3 IN (1, 2)", nil, "pk[k=1] full; prefix[c1=1]; pos=1; filters[c3 IN 1|2]; filtering"},
		{"t", "k = 1 AND c1 IN ()", nil, "pk[k=1] full; prefix[c1=]; pos=1; empty"},
		// Clustering slices, single column.
		{"t", "k = 1 AND c1 > 1", nil, "pk[k=1] full; pos=0; slice >(1)"},
		{"t", "k = 1 AND c1 >= 1 AND c1 < 3", nil, "pk[k=1] full; pos=0; slice >=(1) <(3)"},
		{"t", "k = 1 AND c1 = 1 AND c2 <= 4", nil, "pk[k=1] full; prefix[c1=1]; pos=1; slice <=(4)"},
		{"t", "k = 1 AND c2 > 1", nil, "pk[k=1] full; pos=0; filters[c2>1]; filtering"},
		{"t", "k = 1 AND c2 >= 1", nil, "pk[k=1] full; pos=0; filters[c2>=1]; filtering"},
		{"t", "k = 1 AND c3 < 2", nil, "pk[k=1] full; pos=0; filters[c3<2]; filtering"},
		{"t", "k = 1 AND c3 <= 2", nil, "pk[k=1] full; pos=0; filters[c3<=2]; filtering"},
		{"t", "k = 1 AND c1 = 1 AND c3 > 0 AND c2 < 9", nil, "pk[k=1] full; prefix[c1=1]; pos=1; slice <(9); filters[c3>0]; filtering"},
		{"d", "k = 1 AND a > 1", nil, "pk[k=1] full; pos=0; slice >(1)"},
		{"d", "k = 1 AND a = 1 AND b < 5", nil, "pk[k=1] full; prefix[a=1]; pos=1; slice <(5)"},
		// Multi-column relations.
		{"t", "k = 1 AND (c1, c2) = (1, 2)", nil, "pk[k=1] full; prefix[c1=1 c2=2]; pos=2"},
		{"t", "k = 1 AND (c1, c2) = ?", []Value{{Bytes: intTuple(4, 5)}}, "pk[k=1] full; prefix[c1=4 c2=5]; pos=2"},
		{"t", "k = 1 AND (c1, c2) IN ((1, 2), (3, 4))", nil, "pk[k=1] full; prefix[(c1, c2)=(1, 2)|(3, 4)]; pos=2"},
		{"t", "k = 1 AND (c1, c2) IN ((1, 2), ?)", []Value{{Bytes: intTuple(7, 8)}}, "pk[k=1] full; prefix[(c1, c2)=(1, 2)|(7, 8)]; pos=2"},
		{"t", "k = 1 AND (c1, c2) IN ?", []Value{{Bytes: types.EncodeCollection([][]byte{intTuple(5, 6), intTuple(1, 1)})}},
			"pk[k=1] full; prefix[(c1, c2)=(5, 6)|(1, 1)]; pos=2"},
		{"t", "k = 1 AND c1 = 1 AND (c2, c3) IN ((2, 3))", nil, "pk[k=1] full; prefix[c1=1 (c2, c3)=(2, 3)]; pos=3"},
		{"t", "k = 1 AND (c1, c2) IN ()", nil, "pk[k=1] full; pos=0; empty"},
		{"t", "k = 1 AND (c1) IN ((1), (2))", nil, "pk[k=1] full; prefix[(c1)=(1)|(2)]; pos=1"},
		{"t", "k = 1 AND (c1, c2) > (1, 2)", nil, "pk[k=1] full; pos=0; slice >(1, 2)"},
		{"t", "k = 1 AND (c1, c2) >= (1, 2) AND (c1) < (3)", nil, "pk[k=1] full; pos=0; slice >=(1, 2) <(3)"},
		{"t", "k = 1 AND c1 = 1 AND (c2, c3) <= (2, 3)", nil, "pk[k=1] full; prefix[c1=1]; pos=1; slice <=(2, 3)"},
		{"t", "k = 1 AND (c2) > (1)", nil, "pk[k=1] full; pos=0; filters[c2>1]; filtering"},
		{"t", "k = 1 AND (c2) = (1)", nil, "pk[k=1] full; pos=0; filters[c2 IN 1]; filtering"},
		// Multi-column slices over columns of mixed order: the first
		// column bounds the read inclusively, the tuple is checked per row.
		{"d", "k = 1 AND (a, b) > (1, 2)", nil, "pk[k=1] full; pos=0; slice >=(1); tuple(a, b)>(1, 2)"},
		{"d", "k = 1 AND (a, b) <= (1, 2)", nil, "pk[k=1] full; pos=0; slice <=(1); tuple(a, b)<=(1, 2)"},
		{"d", "k = 1 AND (a, b) >= (0, 0) AND (a, b) < (3, 3)", nil, "pk[k=1] full; pos=0; slice >=(0) <=(3); tuple(a, b)>=(0, 0); tuple(a, b)<(3, 3)"},
		// Regular and static column filters.
		{"t", "v = 1", nil, "pos=0; filters[v=1]; filtering"},
		{"t", "v IN (1, 2)", nil, "pos=0; filters[v IN 1|2]; filtering"},
		{"t", "v > 1 AND s < 3", nil, "pos=0; filters[v>1, s<3]; filtering"},
		{"t", "k = 1 AND v >= 1 AND v <= 9", nil, "pk[k=1] full; pos=0; filters[v>=1, v<=9]; filtering"},
		{"t", "v IN ()", nil, "pos=0; filters[v IN ]; filtering; empty"},
		// CONTAINS, CONTAINS KEY, map entries.
		{"t", "l CONTAINS 3", nil, "pos=0; filters[l CONTAINS 3]; filtering"},
		{"t", "st CONTAINS 'x'", nil, "pos=0; filters[st CONTAINS x]; filtering"},
		{"t", "m CONTAINS 4", nil, "pos=0; filters[m CONTAINS 4]; filtering"},
		{"t", "m CONTAINS KEY 'a'", nil, "pos=0; filters[m CONTAINS KEY a]; filtering"},
		{"t", "m['a'] = 1", nil, "pos=0; filters[m[a]=1]; filtering"},
		{"t", "k = 1 AND m['b'] = ?", []Value{{Bytes: types.IntValue(2)}}, "pk[k=1] full; pos=0; filters[m[b]=2]; filtering"},
	} {
		t.Run(tc.table+": "+tc.where, func(t *testing.T) {
			tp.t = t
			r, err := analyzeWhere(tp, tc.table, tc.where, tc.vals)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(r); got != tc.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// TestAnalyzeErrors: the relations Cassandra refuses, with its messages.
func TestAnalyzeErrors(t *testing.T) {
	tp := newTestProc(t, Options{})
	for _, q := range restrictionTables {
		tp.exec(q)
	}
	const precedingC2 = "Clustering column c2 cannot be restricted (preceding column is not restricted)"
	for _, tc := range []struct {
		table, where string
		vals         []Value
		want         string
	}{
		// Columns.
		{"t", "x = 1", nil, "Undefined column name x"},
		{"t", "x['a'] = 1", nil, "Undefined column name x"},
		// Partition key.
		{"t", "k = 1 AND k = 2", nil, "k cannot be restricted by more than one relation if it includes an Equal"},
		{"t", "k IN (1) AND k = 2", nil, "k cannot be restricted by more than one relation if it includes an Equal"},
		{"t", "k > 1", nil, "Only EQ and IN relation are supported on the partition key (unless you use the token() function)"},
		{"t", "k <= 1", nil, "Only EQ and IN relation are supported on the partition key (unless you use the token() function)"},
		{"t", "k != 1", nil, `Unsupported "!=" relation: k != 1`},
		{"t", "k = null", nil, "Invalid null value in condition for column k"},
		{"t", "k = ?", []Value{{}}, "Invalid null value in condition for column k"},
		{"t", "k = ?", []Value{{Unset: true}}, "Invalid unset value for column k"},
		{"t", "k IN ?", []Value{{}}, "Invalid null value for IN restriction on k"},
		{"t", "k IN (1, null)", nil, "Invalid null value in condition for column k"},
		{"t", "k = 'a'", nil, `Invalid STRING constant (a) for "k" of type int`},
		{"t", "k = ?", nil, "There were 1 markers(?) in CQL but 0 bound variables"},
		// token().
		{"p2", "token(a) > 1", nil, "The token() function must be applied to all partition key components or none of them"},
		{"p2", "token(b, a) > 1", nil, "The token function arguments must be in the partition key order: a"},
		{"t", "token(k) > null", nil, "Invalid null token value"},
		{"t", "token(k) != 1", nil, "Unsupported operator != on token()"},
		// Clustering columns.
		{"t", "k = 1 AND c1 = 1 AND c1 = 2", nil, "c1 cannot be restricted by more than one relation if it includes an Equal"},
		{"t", "k = 1 AND (c1, c2) = (1, 2) AND c2 = 2", nil, "c2 cannot be restricted by more than one relation if it includes an Equal"},
		{"t", "k = 1 AND c1 > null", nil, "Invalid null value for column c1"},
		{"t", "k = 1 AND c1 != 1", nil, `Unsupported "!=" relation: c1 != 1`},
		{"t", "k = 1 AND c1 > 1 AND c1 > 2", nil, "More than one restriction was found for the start bound on c1"},
		{"t", "k = 1 AND c1 < 1 AND c1 <= 2", nil, "More than one restriction was found for the end bound on c1"},
		{"t", "k = 1 AND (c1, c2) > (1, 1) AND c1 >= 0", nil, "More than one restriction was found for the start bound on c1"},
		// Multi-column relations.
		{"t", "(x, c1) = (1, 1)", nil, "Undefined column name x"},
		{"t", "(k, c1) = (1, 1)", nil, "Multi-column relations can only be applied to clustering columns but was applied to: k"},
		{"t", "(c1, v) = (1, 1)", nil, "Multi-column relations can only be applied to clustering columns but was applied to: v"},
		{"t", "(c2, c1) = (1, 1)", nil, "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: (c2, c1)"},
		{"t", "(c1, c3) IN ((1, 1))", nil, "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: (c1, c3)"},
		{"t", "(c1, c2) = (1)", nil, "Expected 2 elements in value tuple, but got 1: (c1, c2)"},
		{"t", "(c1, c2) IN ((1, 2), (3))", nil, "Expected 2 elements in value tuple, but got 1: (c1, c2)"},
		{"t", "(c1, c2) > (1, 2, 3)", nil, "Expected 2 elements in value tuple, but got 3: (c1, c2)"},
		{"t", "(c1, c2) = (1, null)", nil, "Invalid null value in condition for column (c1, c2)"},
		{"t", "(c1, c2) != (1, 2)", nil, "Unsupported operator != in multi-column relation"},
		{"t", "k = 1 AND (c2, c3) > (1, 1)", nil, precedingC2},
		{"t", "k = 1 AND (c2) IN ((1))", nil, precedingC2},
		{"t", "k = 1 AND (c2, c3) IN ((1, 1))", nil, precedingC2},
		// Regular and static columns.
		{"t", "v != 1", nil, `Unsupported "!=" relation: v != 1`},
		{"t", "s != 1", nil, `Unsupported "!=" relation: s != 1`},
		{"t", "v > null", nil, "Invalid null value for column v"},
		{"t", "v IS NOT NULL", nil, "IS NOT NULL is only supported in materialized views"},
		{"t", "v LIKE 'a'", nil, "Unsupported operator LIKE"},
		// Collections.
		{"t", "v CONTAINS 1", nil, "Cannot use CONTAINS on non-collection column v"},
		{"t", "v CONTAINS KEY 1", nil, "Cannot use CONTAINS KEY on non-collection column v"},
		{"t", "l CONTAINS KEY 1", nil, "Cannot use CONTAINS KEY on non-map column l"},
		{"t", "st CONTAINS KEY 'a'", nil, "Cannot use CONTAINS KEY on non-map column st"},
		{"t", "l CONTAINS 'a'", nil, `Invalid STRING constant (a) for "l" of type int`},
		{"t", "v['a'] = 1", nil, "Column v is not a map"},
		{"t", "m[1] = 1", nil, `Invalid INTEGER constant (1) for "m" of type text`},
		{"t", "m['a'] = 'b'", nil, `Invalid STRING constant (b) for "m" of type int`},
	} {
		t.Run(tc.table+": "+tc.where, func(t *testing.T) {
			tp.t = t
			_, err := analyzeWhere(tp, tc.table, tc.where, tc.vals)
			wantErr(t, err, cqlerr.Invalid, tc.want)
		})
	}
}
