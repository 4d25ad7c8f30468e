// Package admin serves ringdb's admin API (the JMX port 7199 equivalent)
// and is the client nodetool uses. The API listens on a loopback address
// only and every request must carry the node's admin token (written to
// <data-dir>/admin.token, mode 0600, at start), so another local user
// without read access to the data directory cannot drive the node.
//
// The package owns the HTTP plumbing and the nodetool output formats; the
// node supplies its state through the Node interface.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Endpoint is one node as nodetool status/ring show it.
type Endpoint struct {
	Address       string   `json:"address"`
	DC            string   `json:"dc"`
	Rack          string   `json:"rack"`
	Up            bool     `json:"up"`
	State         string   `json:"state"` // Normal, Joining, Leaving, Moving
	LoadBytes     uint64   `json:"load_bytes"`
	Tokens        []int64  `json:"tokens"`
	HostID        string   `json:"host_id"`
	Owns          *float64 `json:"owns,omitempty"` // fraction 0..1
	SchemaVersion string   `json:"schema_version"`
}

// Status is the cluster as this node sees it.
type Status struct {
	Effective bool       `json:"effective"` // Owns is effective ownership of a keyspace
	Endpoints []Endpoint `json:"endpoints"`
}

// GossipEndpoint is one endpoint of nodetool gossipinfo.
type GossipEndpoint struct {
	Address    string        `json:"address"`
	Generation int32         `json:"generation"`
	Heartbeat  int32         `json:"heartbeat"`
	States     []GossipState `json:"states"`
}

// GossipState is one application state.
type GossipState struct {
	Name    string `json:"name"`
	Version int32  `json:"version"`
	Value   string `json:"value"`
}

// Description is nodetool describecluster.
type Description struct {
	Name           string              `json:"name"`
	Snitch         string              `json:"snitch"`
	Partitioner    string              `json:"partitioner"`
	SchemaVersions map[string][]string `json:"schema_versions"`
}

// Info is nodetool info.
type Info struct {
	HostID          string  `json:"host_id"`
	Gossip          bool    `json:"gossip_active"`
	NativeTransport bool    `json:"native_transport_active"`
	LoadBytes       uint64  `json:"load_bytes"`
	GenerationNo    int32   `json:"generation"`
	UptimeSeconds   int64   `json:"uptime_seconds"`
	HeapMemoryMB    float64 `json:"heap_mb"`
	DC              string  `json:"dc"`
	Rack            string  `json:"rack"`
	Tokens          int     `json:"tokens"`
	ClusterName     string  `json:"cluster_name"`
	ListenAddress   string  `json:"listen_address"`
	NativeAddress   string  `json:"native_address"`
	PendingHints    int     `json:"pending_hints"`
	ReleaseVersion  string  `json:"release_version"`
	CommitlogSync   string  `json:"commitlog_sync"`
	PercentRepaired float64 `json:"percent_repaired"`
}

// Node is what the admin API asks of the running node.
type Node interface {
	Status(keyspace string) (Status, error)
	GossipInfo() []GossipEndpoint
	Describe() Description
	Info() Info
	Flush() error
	Compact() error
	// Drain stops serving clients, announces the shutdown to the cluster and
	// flushes everything to disk (before stopping the process).
	Drain() error
}

// Options configure the admin server.
type Options struct {
	// Addr is host:port; the host must be a loopback address.
	Addr string
	// TokenFile is where the admin token is written (mode 0600).
	TokenFile string
	Node      Node
	Logger    *slog.Logger
	// MembershipLog, if set, is served at GET /v1/membership-log
	// (nodetool membership-log).
	MembershipLog MembershipLog
	// Revocation, if set, takes CRLs at POST /v1/revocation (nodetool
	// revoke).
	Revocation Revocation
	// JoinTokens, if set, serves /v1/join-tokens (nodetool join-token).
	JoinTokens JoinTokens
	// Streams, if set, serves GET /v1/netstats (nodetool netstats).
	Streams Streams
	// Operations are the long-running commands (decommission, removenode,
	// repair, cleanup...) by name, served at POST /v1/ops/{name}: the
	// request body is the JSON arguments, decoded by the Operation's
	// factory; the response streams its progress (Client.Operation).
	Operations map[string]OperationFactory
	// Now is the clock for relative --since durations. Default time.Now.
	Now func() time.Time
}

// OperationFactory builds an operation from its JSON arguments (nil when
// the request had no body), or refuses them.
type OperationFactory func(args json.RawMessage) (Operation, error)

// Server is the admin HTTP server.
type Server struct {
	opts  Options
	token string
	srv   *http.Server
	ln    net.Listener
	done  chan error
	// ctx is cancelled by Close: it ends the operations in flight.
	ctx    context.Context
	cancel context.CancelFunc
}

// Start writes a fresh admin token and starts listening.
func Start(o Options) (*Server, error) {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin: bad address %q: %w", o.Addr, err)
	}
	if a, err := netip.ParseAddr(host); err != nil || !a.IsLoopback() {
		return nil, fmt.Errorf("admin: %q is not a loopback address; the admin endpoint is never exposed", host)
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	tok := hex.EncodeToString(buf)
	if err := os.MkdirAll(filepath.Dir(o.TokenFile), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(o.TokenFile, []byte(tok+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("admin: write token: %w", err)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w", o.Addr, err)
	}
	s := &Server{opts: o, token: tok, ln: ln, done: make(chan error, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.auth(func(w http.ResponseWriter, r *http.Request) {
		st, err := o.Node.Status(r.URL.Query().Get("keyspace"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, st)
	}))
	mux.HandleFunc("GET /v1/gossipinfo", s.auth(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, o.Node.GossipInfo()) }))
	mux.HandleFunc("GET /v1/describecluster", s.auth(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, o.Node.Describe()) }))
	mux.HandleFunc("GET /v1/info", s.auth(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, o.Node.Info()) }))
	mux.HandleFunc("POST /v1/flush", s.auth(func(w http.ResponseWriter, r *http.Request) { writeErr(w, o.Node.Flush()) }))
	mux.HandleFunc("POST /v1/compact", s.auth(func(w http.ResponseWriter, r *http.Request) { writeErr(w, o.Node.Compact()) }))
	mux.HandleFunc("POST /v1/drain", s.auth(func(w http.ResponseWriter, r *http.Request) { writeErr(w, o.Node.Drain()) }))
	mux.HandleFunc("GET /v1/membership-log", s.auth(s.membershipLog))
	mux.HandleFunc("GET /v1/netstats", s.auth(s.netstats))
	mux.HandleFunc("POST /v1/revocation", s.auth(s.revocation))
	mux.HandleFunc("POST /v1/join-tokens", s.auth(s.joinTokens))
	mux.HandleFunc("GET /v1/join-tokens", s.auth(s.joinTokens))
	mux.HandleFunc("DELETE /v1/join-tokens/{id}", s.auth(s.joinTokens))
	mux.HandleFunc("POST /v1/ops/{name}", s.auth(s.runOperation))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the server.
func (s *Server) Close() error {
	s.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if e := <-s.done; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	want := []byte("Bearer " + s.token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			if s.opts.Logger != nil {
				s.opts.Logger.Warn("admin request without a valid token", "remote", r.RemoteAddr, "path", r.URL.Path)
			}
			http.Error(w, "missing or wrong admin token", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]string{"result": "ok"})
}

// Client talks to a node's admin API.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// NewClient returns a client for host:port with the given token.
func NewClient(addr, token string) *Client {
	return &Client{base: "http://" + addr, token: strings.TrimSpace(token), hc: &http.Client{Timeout: 60 * time.Second}}
}

func (c *Client) do(method, path string, out any) error {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("nodetool: failed to connect to %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return fmt.Errorf("nodetool: %s: %s", resp.Status, strings.TrimSpace(b.String()))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Status fetches nodetool status data (keyspace may be "").
func (c *Client) Status(keyspace string) (Status, error) {
	var st Status
	path := "/v1/status"
	if keyspace != "" {
		path += "?keyspace=" + keyspace
	}
	err := c.do("GET", path, &st)
	return st, err
}

// GossipInfo fetches gossip state.
func (c *Client) GossipInfo() ([]GossipEndpoint, error) {
	var g []GossipEndpoint
	err := c.do("GET", "/v1/gossipinfo", &g)
	return g, err
}

// Describe fetches describecluster data.
func (c *Client) Describe() (Description, error) {
	var d Description
	err := c.do("GET", "/v1/describecluster", &d)
	return d, err
}

// Info fetches nodetool info data.
func (c *Client) Info() (Info, error) {
	var i Info
	err := c.do("GET", "/v1/info", &i)
	return i, err
}

// Flush asks the node to flush memtables.
func (c *Client) Flush() error { return c.do("POST", "/v1/flush", nil) }

// Compact asks the node for a major compaction.
func (c *Client) Compact() error { return c.do("POST", "/v1/compact", nil) }

// Drain asks the node to stop serving, leave gossip and flush.
func (c *Client) Drain() error { return c.do("POST", "/v1/drain", nil) }
