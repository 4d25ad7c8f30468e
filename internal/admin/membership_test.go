package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testAuditLog opens a membership log holding four membership events (3h,
// 2h, 30m and 1m before t0) and some handshake noise.
func testAuditLog(t *testing.T) *pki.AuditLog {
	t.Helper()
	l, err := pki.OpenAuditLogWithOptions(filepath.Join(t.TempDir(), "membership-audit.log"), pki.AuditOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, ev := range []pki.AuditEvent{
		{Time: t0.Add(-3 * time.Hour), Kind: pki.AuditAdmission, Peer: "127.0.0.4", HostID: "h4", Serial: "77", Outcome: "accepted", Reason: "join token"},
		{Time: t0.Add(-2 * time.Hour), Kind: pki.AuditJoin, Peer: "127.0.0.4", HostID: "h4", Reason: "NORMAL"},
		{Time: t0.Add(-30 * time.Minute), Kind: pki.AuditForged, Peer: "127.0.0.159", Serial: "99", Fingerprint: "ab12", Outcome: "refused", Reason: "STATUS of 127.0.0.152 <not signed>\nby it"},
		{Time: t0.Add(-time.Minute), Kind: pki.AuditRevocation, Peer: "127.0.0.159", Serial: "99", Outcome: "revoked"},
	} {
		if err := l.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		if err := l.Record(pki.AuditEvent{Time: t0.Add(-time.Minute), Kind: pki.AuditHandshake, Peer: "10.9.9.9:1234", Reason: "tls handshake: EOF"}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func kindsOf(t *testing.T, lines []json.RawMessage) string {
	t.Helper()
	var ks []string
	for _, ln := range lines {
		var r pki.AuditRecord
		if err := json.Unmarshal(ln, &r); err != nil {
			t.Fatalf("%s: %v", ln, err)
		}
		ks = append(ks, string(r.Kind))
	}
	return strings.Join(ks, ",")
}

func TestMembershipLogHandler(t *testing.T) {
	log := testAuditLog(t)
	s := &Server{opts: Options{MembershipLog: log, Now: func() time.Time { return t0 }}}
	get := func(query string) (int, string) {
		rec := httptest.NewRecorder()
		s.membershipLog(rec, httptest.NewRequest("GET", "/v1/membership-log"+query, nil))
		return rec.Code, rec.Body.String()
	}
	for _, c := range []struct{ query, want string }{
		{"", "admission,join,forged_state,revocation"},
		{"?since=1h", "forged_state,revocation"},
		{"?since=10m", "revocation"},
		{"?since=1d", "admission,join,forged_state,revocation"},
		{"?since=2025-06-01T10:00:00Z", "join,forged_state,revocation"}, // at or after
		{"?since=" + t0.Add(time.Second).Format(time.RFC3339), ""},
		{"?since=2h&limit=1", "revocation"},
	} {
		code, body := get(c.query)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.query, code, body)
		}
		var lines []json.RawMessage
		if err := json.Unmarshal([]byte(body), &lines); err != nil {
			t.Fatalf("%s: %q: %v", c.query, body, err)
		}
		if got := kindsOf(t, lines); got != c.want {
			t.Errorf("%s: %s, want %s", c.query, got, c.want)
		}
	}
	// Records are served byte for byte as logged.
	logged, err := log.ReadMembership(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var served []json.RawMessage
	_, body := get("")
	json.Unmarshal([]byte(body), &served)
	for i := range logged {
		if !bytes.Equal(served[i], logged[i]) {
			t.Errorf("record %d served as\n%s\nlogged as\n%s", i, served[i], logged[i])
		}
	}
	for _, q := range []string{"?since=yesterday", "?since=-1h", "?limit=-1", "?limit=x"} {
		if code, body := get(q); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}
	s = &Server{}
	if code, _ := get(""); code != http.StatusNotImplemented {
		t.Errorf("no membership log: %d, want 501", code)
	}
}

// TestMembershipLogClient goes through the real server, its token check
// and nodetool's client.
func TestMembershipLogClient(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(Options{Addr: "127.0.0.1:0", TokenFile: filepath.Join(dir, "admin.token"), Node: fakeNode{}, MembershipLog: testAuditLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	c := NewClient(s.Addr().String(), string(tok))
	all, err := c.MembershipLog(time.Time{}, 0)
	if err != nil || kindsOf(t, all) != "admission,join,forged_state,revocation" {
		t.Fatalf("all: %s %v", kindsOf(t, all), err)
	}
	recent, err := c.MembershipLog(t0.Add(-2*time.Hour), 0)
	if err != nil || kindsOf(t, recent) != "join,forged_state,revocation" {
		t.Fatalf("since -2h: %s %v", kindsOf(t, recent), err)
	}
	last, err := c.MembershipLog(t0.Add(-2*time.Hour), 2)
	if err != nil || kindsOf(t, last) != "forged_state,revocation" {
		t.Fatalf("since -2h limit 2: %s %v", kindsOf(t, last), err)
	}
	var b bytes.Buffer
	if err := WriteMembershipLogJSON(&b, recent); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 3 {
		t.Fatalf("json output %d lines: %s", n, b.String())
	}
	if _, err := NewClient(s.Addr().String(), "wrong").MembershipLog(time.Time{}, 0); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestWriteMembershipLog(t *testing.T) {
	l := testAuditLog(t)
	lines, err := l.ReadMembership(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines = append(lines, json.RawMessage(`not json`))
	var b bytes.Buffer
	if err := WriteMembershipLog(&b, lines); err != nil {
		t.Fatal(err)
	}
	want := `2025-06-01T09:00:00Z  admission  peer=127.0.0.4 host_id=h4 serial=77 outcome=accepted reason="join token"
2025-06-01T10:00:00Z  join  peer=127.0.0.4 host_id=h4 reason="NORMAL"
2025-06-01T11:30:00Z  forged_state  peer=127.0.0.159 serial=99 fingerprint=ab12 outcome=refused reason="STATUS of 127.0.0.152 <not signed>\nby it"
2025-06-01T11:59:00Z  revocation  peer=127.0.0.159 serial=99 outcome=revoked
unreadable record "not json"
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestParseSince(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"90m", t0.Add(-90 * time.Minute)},
		{"1h30m", t0.Add(-90 * time.Minute)},
		{"7d", t0.Add(-7 * 24 * time.Hour)},
		{"0s", t0},
		{"2025-05-01T00:00:00Z", time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"2025-05-01T02:00:00.5+02:00", time.Date(2025, 5, 1, 0, 0, 0, 5e8, time.UTC)},
	} {
		got, err := ParseSince(c.in, t0)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%s: %v %v, want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "-5m", "yesterday", "2025-05-01", "-1d"} {
		if _, err := ParseSince(in, t0); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
