package admin

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type fakeRevocation struct{ got []byte }

func (f *fakeRevocation) SubmitCRL(_ context.Context, crl []byte) (RevokeResult, error) {
	f.got = crl
	if string(crl) == "old" {
		return RevokeResult{}, errors.New("CRL number 1 is not greater than the installed 2")
	}
	return RevokeResult{CRLNumber: "3", Installed: true, Revoked: 2, Newly: []string{"77"},
		Closed: []ClosedConn{{Peer: "127.0.0.3", Serial: "77", Inbound: true}},
		Pushed: []PushOutcome{{Peer: "127.0.0.2", CRLNumber: "3"}, {Peer: "127.0.0.4", Error: "timeout"}}}, nil
}

func TestRevokeEndpoint(t *testing.T) {
	dir := t.TempDir()
	rev := &fakeRevocation{}
	s, err := Start(Options{Addr: "127.0.0.1:0", TokenFile: filepath.Join(dir, "admin.token"), Node: fakeNode{}, Revocation: rev})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Post("http://"+s.Addr().String()+"/v1/revocation", "application/pkix-crl", strings.NewReader("crl"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || rev.got != nil {
		t.Fatalf("without a token: status %d, submitted %q", resp.StatusCode, rev.got)
	}
	tok, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	c := NewClient(s.Addr().String(), string(tok))
	res, err := c.Revoke([]byte("crl bytes"))
	if err != nil || string(rev.got) != "crl bytes" || res.CRLNumber != "3" || len(res.Pushed) != 2 {
		t.Fatalf("Revoke: %+v, %v (node got %q)", res, err, rev.got)
	}
	if _, err := c.Revoke([]byte("old")); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "not greater") {
		t.Fatalf("refused CRL: %v", err)
	}

	var b bytes.Buffer
	WriteRevokeResult(&b, res)
	want := `CRL number 3 installed: 2 certificates revoked, newly serial 77
closed inbound connection with 127.0.0.3 (serial 77)
pushed to 127.0.0.2: it holds CRL number 3
push to 127.0.0.4 failed: "timeout" (it pulls the list when it is back)
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}

	// A node without revocation says so.
	s2, err := Start(Options{Addr: "127.0.0.1:0", TokenFile: filepath.Join(dir, "admin2.token"), Node: fakeNode{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	tok2, _ := os.ReadFile(filepath.Join(dir, "admin2.token"))
	if _, err := NewClient(s2.Addr().String(), string(tok2)).Revoke([]byte("x")); err == nil || !strings.Contains(err.Error(), "501") {
		t.Fatalf("node without revocation: %v", err)
	}
}
