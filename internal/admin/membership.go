package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
)

// MembershipLog is the node's membership audit log as the admin API reads
// it (*pki.AuditLog implements it).
type MembershipLog interface {
	// ReadMembership returns the records at or after since (all if zero),
	// oldest first, the newest limit of them if limit > 0.
	ReadMembership(since time.Time, limit int) ([]json.RawMessage, error)
}

// ParseSince parses nodetool's --since: a duration before now ("90m",
// "1h30m", or whole days "7d") or an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("since %q: a duration before now must not be negative", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: want a duration (90m, 2h, 7d) or an RFC 3339 time (2025-06-01T10:00:00Z)", s)
}

// membershipLog serves GET /v1/membership-log?since=DURATION|RFC3339&limit=N:
// a JSON array of the membership log's records, oldest first.
func (s *Server) membershipLog(w http.ResponseWriter, r *http.Request) {
	if s.opts.MembershipLog == nil {
		http.Error(w, "this node has no membership audit log", http.StatusNotImplemented)
		return
	}
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		now := time.Now
		if s.opts.Now != nil {
			now = s.opts.Now
		}
		t, err := ParseSince(v, now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		since = t
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("limit %q: want a number >= 0", v), http.StatusBadRequest)
			return
		}
		limit = n
	}
	lines, err := s.opts.MembershipLog.ReadMembership(since, limit)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// Written by hand rather than with json.Encoder, which would rewrite
	// the records (HTML escaping): nodetool --json prints them as logged.
	var b bytes.Buffer
	b.WriteString("[")
	for i, ln := range lines {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
		b.Write(ln)
	}
	b.WriteString("\n]\n")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b.Bytes())
}

// MembershipLog fetches the node's membership audit records at or after
// since (all if zero), oldest first; the newest limit of them if limit > 0.
// Each is one JSON object as written in the log.
func (c *Client) MembershipLog(since time.Time, limit int) ([]json.RawMessage, error) {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/membership-log"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var lines []json.RawMessage
	err := c.do("GET", path, &lines)
	return lines, err
}

// WriteMembershipLog prints membership records one a line:
//
//	2025-06-01T10:00:00Z  forged_state  peer=127.0.0.159 serial=42 outcome=refused reason="…"
//
// Values that come from peers are quoted when they hold anything but
// printable characters, so a record cannot forge lines on a terminal. A
// line that is not a record is printed quoted.
func WriteMembershipLog(w io.Writer, lines []json.RawMessage) error {
	for _, ln := range lines {
		var r pki.AuditRecord
		if err := json.Unmarshal(ln, &r); err != nil {
			if _, err := fmt.Fprintf(w, "unreadable record %q\n", ln); err != nil {
				return err
			}
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s  %s", r.Time.UTC().Format(time.RFC3339), field(string(r.Kind)))
		sep := "  "
		for _, kv := range [][2]string{{"peer", r.Peer}, {"host_id", r.HostID}, {"serial", r.Serial},
			{"fingerprint", r.Fingerprint}, {"outcome", r.Outcome}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "%s%s=%s", sep, kv[0], field(kv[1]))
				sep = " "
			}
		}
		if r.Reason != "" {
			fmt.Fprintf(&b, "%sreason=%q", sep, r.Reason)
		}
		b.WriteByte('\n')
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// WriteMembershipLogJSON prints the records as they are in the log, one
// JSON object a line.
func WriteMembershipLogJSON(w io.Writer, lines []json.RawMessage) error {
	for _, ln := range lines {
		if _, err := fmt.Fprintf(w, "%s\n", ln); err != nil {
			return err
		}
	}
	return nil
}

// field quotes s unless it is a non-empty run of printable, non-space
// ASCII without quotes.
func field(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '"' {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
