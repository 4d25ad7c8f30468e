package exposure

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// WriteText writes the report for people: one line per finding
// (severity, target:port, what was found, the fix) and a summary line.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, f := range r.Findings {
		where := f.Target
		if f.Port != 0 {
			where = net.JoinHostPort(f.Target, strconv.Itoa(f.Port))
		}
		fmt.Fprintf(&b, "%-6s %-21s %s", f.Severity, where, f.Title)
		if f.Detail != "" {
			b.WriteString(": " + f.Detail)
		}
		if f.Fix != "" {
			b.WriteString(" -- fix: " + f.Fix)
		}
		b.WriteByte('\n')
	}
	conns := 0
	for _, t := range r.Targets {
		conns += t.Connections
	}
	s := r.Summary
	fmt.Fprintf(&b, "summary: %d HIGH, %d MEDIUM, %d LOW, %d INFO (%s, %s)\n",
		s.High, s.Medium, s.Low, s.Info, plural(len(r.Targets), "target"), plural(conns, "connection"))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON document: targets,
// findings (severity, target, port, id, title, detail, fix) and summary.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// plural is "1 target", "2 targets".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
