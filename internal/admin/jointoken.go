package admin

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// JoinTokens is the node's join token issuer as the admin API uses it
// (nodetool join-token). A node that holds no CA answers every call with an
// error telling the operator what to do instead.
type JoinTokens interface {
	// CreateJoinToken makes a one-time token valid for ttl (0: the
	// default).
	CreateJoinToken(ttl time.Duration) (JoinToken, error)
	// ListJoinTokens lists the tokens the node issued, oldest first.
	ListJoinTokens() ([]JoinTokenInfo, error)
	// RevokeJoinToken withdraws an unused token.
	RevokeJoinToken(id string) error
}

// JoinToken is a token just created.
type JoinToken struct {
	// Token is what the new node is started with (--join-token).
	Token string `json:"token"`
	// ID names it (list, revoke, the audit log).
	ID      string    `json:"id"`
	Expires time.Time `json:"expires"`
	// Issuer is where it is redeemed (this node's internode address).
	Issuer string `json:"issuer"`
	// CAFingerprint is the SHA-256 of the CA certificate the token pins.
	CAFingerprint string `json:"ca_fingerprint"`
}

// JoinTokenInfo is one token as listed: never its secret.
type JoinTokenInfo struct {
	ID      string    `json:"id"`
	State   string    `json:"state"` // unused, used, revoked, expired
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Set once used (the admission) or revoked.
	At          time.Time `json:"at,omitzero"`
	Address     string    `json:"address,omitempty"`
	Serial      string    `json:"serial,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	HostID      string    `json:"host_id,omitempty"`
}

// joinTokens serves POST, GET /v1/join-tokens and DELETE
// /v1/join-tokens/{id}.
func (s *Server) joinTokens(w http.ResponseWriter, r *http.Request) {
	jt := s.opts.JoinTokens
	if jt == nil {
		http.Error(w, "this node does not issue join tokens", http.StatusNotImplemented)
		return
	}
	switch r.Method {
	case http.MethodPost:
		var ttl time.Duration
		if v := r.URL.Query().Get("ttl"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				http.Error(w, fmt.Sprintf("ttl %q is not a positive duration (30m, 1h, 24h)", v), http.StatusBadRequest)
				return
			}
			ttl = d
		}
		tok, err := jt.CreateJoinToken(ttl)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, tok)
	case http.MethodGet:
		list, err := jt.ListJoinTokens()
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		if list == nil {
			list = []JoinTokenInfo{}
		}
		writeJSON(w, list)
	case http.MethodDelete:
		writeErr(w, jt.RevokeJoinToken(r.PathValue("id")))
	}
}

// CreateJoinToken asks the node for a join token valid for ttl (0: the
// node's default).
func (c *Client) CreateJoinToken(ttl time.Duration) (JoinToken, error) {
	var t JoinToken
	path := "/v1/join-tokens"
	if ttl > 0 {
		path += "?ttl=" + url.QueryEscape(ttl.String())
	}
	err := c.do("POST", path, &t)
	return t, err
}

// ListJoinTokens lists the node's join tokens.
func (c *Client) ListJoinTokens() ([]JoinTokenInfo, error) {
	var l []JoinTokenInfo
	err := c.do("GET", "/v1/join-tokens", &l)
	return l, err
}

// RevokeJoinToken withdraws an unused join token.
func (c *Client) RevokeJoinToken(id string) error {
	return c.do("DELETE", "/v1/join-tokens/"+url.PathEscape(strings.TrimSpace(id)), nil)
}

// WriteJoinToken prints a token just created: the token alone on its
// first line (for scripts: `head -1`), then what it is.
func WriteJoinToken(w io.Writer, t JoinToken) {
	fmt.Fprintln(w, t.Token)
	fmt.Fprintf(w, "id:             %s\n", t.ID)
	fmt.Fprintf(w, "expires:        %s (one use)\n", t.Expires.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "redeemed at:    %s\n", t.Issuer)
	fmt.Fprintf(w, "CA fingerprint: %s\n", t.CAFingerprint)
	fmt.Fprintln(w, "start the new node with: ringdb server --join-token <token> --seeds <seed IPs> --listen-address <its IP>")
}

// WriteJoinTokens prints the token list, one line each.
func WriteJoinTokens(w io.Writer, l []JoinTokenInfo) {
	if len(l) == 0 {
		fmt.Fprintln(w, "no join tokens")
		return
	}
	fmt.Fprintf(w, "%-16s  %-7s  %-20s  %s\n", "ID", "State", "Expires", "Admitted")
	for _, t := range l {
		adm := ""
		if t.State == "used" {
			adm = fmt.Sprintf("%s serial %s at %s", field(t.Address), field(t.Serial), t.At.UTC().Format(time.RFC3339))
			if t.HostID != "" {
				adm += " host " + field(t.HostID)
			}
		}
		fmt.Fprintf(w, "%-16s  %-7s  %-20s  %s\n", field(t.ID), field(t.State), t.Expires.UTC().Format(time.RFC3339), adm)
	}
}
