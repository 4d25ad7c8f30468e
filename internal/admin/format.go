package admin

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// FormatBytes renders a size as nodetool does ("103.7 KiB").
func FormatBytes(n uint64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.2f %s", f, units[i])
}

func byDC(eps []Endpoint) ([]string, map[string][]Endpoint) {
	m := map[string][]Endpoint{}
	for _, e := range eps {
		m[e.DC] = append(m[e.DC], e)
	}
	var dcs []string
	for dc := range m {
		dcs = append(dcs, dc)
		sort.Slice(m[dc], func(i, j int) bool { return addrLess(m[dc][i].Address, m[dc][j].Address) })
	}
	sort.Strings(dcs)
	return dcs, m
}

func addrLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func statusCode(e Endpoint) string {
	s := "D"
	if e.Up {
		s = "U"
	}
	switch e.State {
	case "Joining":
		return s + "J"
	case "Leaving":
		return s + "L"
	case "Moving":
		return s + "M"
	}
	return s + "N"
}

// WriteStatus renders nodetool status.
func WriteStatus(w io.Writer, st Status) {
	dcs, m := byDC(st.Endpoints)
	owns := "Owns"
	if st.Effective {
		owns = "Owns (effective)"
	}
	for _, dc := range dcs {
		title := "Datacenter: " + dc
		fmt.Fprintln(w, title)
		fmt.Fprintln(w, strings.Repeat("=", len(title)))
		fmt.Fprintln(w, "Status=Up/Down")
		fmt.Fprintln(w, "|/ State=Normal/Leaving/Joining/Moving")
		rows := [][]string{{"--", "Address", "Load", "Tokens", owns, "Host ID", "Rack"}}
		for _, e := range m[dc] {
			o := "?"
			if e.Owns != nil {
				o = fmt.Sprintf("%.1f%%", *e.Owns*100)
			}
			rows = append(rows, []string{statusCode(e), e.Address, FormatBytes(e.LoadBytes), fmt.Sprint(len(e.Tokens)), o, e.HostID, e.Rack})
		}
		writeTable(w, rows)
		fmt.Fprintln(w)
	}
}

// WriteRing renders nodetool ring.
func WriteRing(w io.Writer, st Status) {
	dcs, m := byDC(st.Endpoints)
	for _, dc := range dcs {
		fmt.Fprintf(w, "\nDatacenter: %s\n==========\n", dc)
		type tok struct {
			t int64
			e Endpoint
		}
		var toks []tok
		for _, e := range m[dc] {
			for _, t := range e.Tokens {
				toks = append(toks, tok{t, e})
			}
		}
		sort.Slice(toks, func(i, j int) bool { return toks[i].t < toks[j].t })
		rows := [][]string{{"Address", "Rack", "Status", "State", "Load", "Owns", "Token"}}
		if len(toks) > 0 {
			rows = append(rows, []string{"", "", "", "", "", "", fmt.Sprint(toks[len(toks)-1].t)})
		}
		for _, t := range toks {
			up := "Down"
			if t.e.Up {
				up = "Up"
			}
			o := "?"
			if t.e.Owns != nil {
				o = fmt.Sprintf("%.2f%%", *t.e.Owns*100)
			}
			rows = append(rows, []string{t.e.Address, t.e.Rack, up, t.e.State, FormatBytes(t.e.LoadBytes), o, fmt.Sprint(t.t)})
		}
		writeTable(w, rows)
	}
	fmt.Fprintln(w)
}

// WriteGossipInfo renders nodetool gossipinfo.
func WriteGossipInfo(w io.Writer, g []GossipEndpoint) {
	sort.Slice(g, func(i, j int) bool { return addrLess(g[i].Address, g[j].Address) })
	for _, e := range g {
		fmt.Fprintf(w, "/%s\n  generation:%d\n  heartbeat:%d\n", e.Address, e.Generation, e.Heartbeat)
		for _, s := range e.States {
			fmt.Fprintf(w, "  %s:%d:%s\n", s.Name, s.Version, s.Value)
		}
	}
}

// WriteDescribe renders nodetool describecluster.
func WriteDescribe(w io.Writer, d Description) {
	fmt.Fprintf(w, "Cluster Information:\n\tName: %s\n\tSnitch: %s\n\tDynamicEndPointSnitch: disabled\n\tPartitioner: %s\n\tSchema versions:\n", d.Name, d.Snitch, d.Partitioner)
	var vs []string
	for v := range d.SchemaVersions {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	for _, v := range vs {
		eps := d.SchemaVersions[v]
		sort.Slice(eps, func(i, j int) bool { return addrLess(eps[i], eps[j]) })
		fmt.Fprintf(w, "\t\t%s: [%s]\n\n", v, strings.Join(eps, ", "))
	}
}

// WriteInfo renders nodetool info.
func WriteInfo(w io.Writer, i Info) {
	rows := [][2]string{
		{"ID", i.HostID},
		{"Gossip active", fmt.Sprint(i.Gossip)},
		{"Native Transport active", fmt.Sprint(i.NativeTransport)},
		{"Load", FormatBytes(i.LoadBytes)},
		{"Generation No", fmt.Sprint(i.GenerationNo)},
		{"Uptime (seconds)", fmt.Sprint(i.UptimeSeconds)},
		{"Heap Memory (MB)", fmt.Sprintf("%.2f", i.HeapMemoryMB)},
		{"Data Center", i.DC},
		{"Rack", i.Rack},
		{"Pending hints", fmt.Sprint(i.PendingHints)},
		{"Commit log sync", i.CommitlogSync},
		{"Tokens", fmt.Sprintf("%d (see nodetool ring)", i.Tokens)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-23s: %s\n", r[0], r[1])
	}
}

func writeTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			if len(c) > width[i] {
				width[i] = len(c)
			}
		}
	}
	for _, r := range rows {
		var parts []string
		for i, c := range r {
			parts = append(parts, c+strings.Repeat(" ", width[i]-len(c)))
		}
		fmt.Fprintln(w, strings.TrimRight(strings.Join(parts, "  "), " "))
	}
}
