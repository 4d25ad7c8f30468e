package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
)

// Revocation is the node's revocation list distribution as the admin API
// uses it (POST /v1/revocation, nodetool revoke).
type Revocation interface {
	// SubmitCRL hands the node a CRL (PEM or DER) signed by the cluster CA.
	// It is refused (an error) unless it verifies and is newer than the
	// node's; else it is installed, stored and pushed to the live members.
	SubmitCRL(ctx context.Context, crl []byte) (RevokeResult, error)
}

// RevokeResult is what handing a node a CRL did.
type RevokeResult struct {
	CRLNumber string `json:"crl_number"`
	// Installed is false when the node already held this list (it was
	// pushed to the members again).
	Installed bool `json:"installed"`
	// Revoked is the number of certificates on the list.
	Revoked int `json:"revoked"`
	// Newly are the serials (decimal) the previous list did not revoke.
	Newly []string `json:"newly_revoked"`
	// Closed are the open connections closed because of it.
	Closed []ClosedConn `json:"closed_connections"`
	// Pushed is the outcome of the push to each live member.
	Pushed []PushOutcome `json:"pushed"`
	// Warning is set when the list was installed but something went wrong
	// (it could not be stored).
	Warning string `json:"warning,omitempty"`
}

// ClosedConn is one connection closed because its peer's certificate was
// revoked.
type ClosedConn struct {
	Peer    string `json:"peer"`
	Serial  string `json:"serial"`
	Inbound bool   `json:"inbound"`
}

// PushOutcome is the outcome of pushing the list to one member.
type PushOutcome struct {
	Peer      string `json:"peer"`
	CRLNumber string `json:"crl_number,omitempty"` // the member's afterwards
	Error     string `json:"error,omitempty"`
}

// revocation serves POST /v1/revocation: the body is the CRL.
func (s *Server) revocation(w http.ResponseWriter, r *http.Request) {
	if s.opts.Revocation == nil {
		http.Error(w, "this node does not distribute revocation lists", http.StatusNotImplemented)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, pki.MaxCRLBytes+1))
	if err != nil {
		http.Error(w, "read the CRL: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > pki.MaxCRLBytes {
		http.Error(w, fmt.Sprintf("CRL larger than %d bytes", pki.MaxCRLBytes), http.StatusRequestEntityTooLarge)
		return
	}
	res, err := s.opts.Revocation.SubmitCRL(r.Context(), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, res)
}

// Revoke hands the node the CRL in data (nodetool revoke). The node
// answers once it has installed the list and its live members have
// answered the push.
func (c *Client) Revoke(data []byte) (RevokeResult, error) {
	var res RevokeResult
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/v1/revocation", bytes.NewReader(data))
	if err != nil {
		return res, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/pkix-crl")
	resp, err := c.hc.Do(req)
	if err != nil {
		return res, fmt.Errorf("nodetool: failed to connect to %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return res, fmt.Errorf("nodetool: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return res, errors.New("nodetool: unreadable answer: " + err.Error())
	}
	return res, nil
}

// WriteRevokeResult prints what handing the node a CRL did.
func WriteRevokeResult(w io.Writer, r RevokeResult) {
	if r.Installed {
		fmt.Fprintf(w, "CRL number %s installed: %d certificates revoked", r.CRLNumber, r.Revoked)
		if len(r.Newly) > 0 {
			fmt.Fprintf(w, ", newly serial %s", strings.Join(r.Newly, ", "))
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "CRL number %s was already installed (%d certificates revoked); pushed again\n", r.CRLNumber, r.Revoked)
	}
	for _, c := range r.Closed {
		dir := "outbound"
		if c.Inbound {
			dir = "inbound"
		}
		fmt.Fprintf(w, "closed %s connection with %s (serial %s)\n", dir, field(c.Peer), field(c.Serial))
	}
	for _, p := range r.Pushed {
		if p.Error != "" {
			fmt.Fprintf(w, "push to %s failed: %q (it pulls the list when it is back)\n", field(p.Peer), p.Error)
		} else {
			fmt.Fprintf(w, "pushed to %s: it holds CRL number %s\n", field(p.Peer), field(p.CRLNumber))
		}
	}
	if len(r.Pushed) == 0 {
		fmt.Fprintln(w, "no live member to push to (members pull the list when they see this node)")
	}
	if r.Warning != "" {
		fmt.Fprintf(w, "WARNING: %s\n", r.Warning)
	}
}
