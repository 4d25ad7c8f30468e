package admin

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteStatusShape(t *testing.T) {
	o1, o2 := 0.5, 0.5
	st := Status{Endpoints: []Endpoint{
		{Address: "127.0.0.2", DC: "dc1", Rack: "r1", Up: false, State: "Normal", LoadBytes: 2048, Tokens: []int64{1, 2}, HostID: "h2", Owns: &o2},
		{Address: "127.0.0.1", DC: "dc1", Rack: "r1", Up: true, State: "Normal", LoadBytes: 100, Tokens: []int64{3}, HostID: "h1", Owns: &o1},
	}}
	var b bytes.Buffer
	WriteStatus(&b, st)
	want := `Datacenter: dc1
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load       Tokens  Owns   Host ID  Rack
UN  127.0.0.1  100 bytes  1       50.0%  h1       r1
DN  127.0.0.2  2.00 KiB   2       50.0%  h2       r1

`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestAdminRequiresToken(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(Options{Addr: "127.0.0.1:0", TokenFile: filepath.Join(dir, "admin.token"), Node: fakeNode{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fi, err := os.Stat(filepath.Join(dir, "admin.token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	resp, err := http.Get("http://" + s.Addr().String() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: status %d", resp.StatusCode)
	}
	tok, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	st, err := NewClient(s.Addr().String(), string(tok)).Status("")
	if err != nil || len(st.Endpoints) != 1 {
		t.Fatalf("with token: %+v %v", st, err)
	}
	if _, err := NewClient(s.Addr().String(), "wrong").Status(""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token accepted: %v", err)
	}
	if _, err := Start(Options{Addr: "10.0.0.1:7199", TokenFile: filepath.Join(dir, "x"), Node: fakeNode{}}); err == nil {
		t.Fatal("a non-loopback admin address must be refused")
	}
}

type fakeNode struct{}

func (fakeNode) Status(string) (Status, error) {
	return Status{Endpoints: []Endpoint{{Address: "127.0.0.1", Up: true}}}, nil
}
func (fakeNode) GossipInfo() []GossipEndpoint { return nil }
func (fakeNode) Describe() Description        { return Description{} }
func (fakeNode) Info() Info                   { return Info{} }
func (fakeNode) Flush() error                 { return nil }
func (fakeNode) Compact() error               { return nil }
func (fakeNode) Drain() error                 { return nil }
