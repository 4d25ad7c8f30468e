package admin

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Streams is the node's streaming service as netstats shows it.
type Streams interface {
	// Netstats returns the streams in flight and the recently finished ones.
	Netstats() Netstats
}

// Netstats is `nodetool netstats`: the node's mode and its streams.
type Netstats struct {
	// Mode is the node's ring state: NORMAL, JOINING, LEAVING...
	Mode string `json:"mode"`
	// Active are the streams in flight; Recent the last finished ones.
	Active []StreamInfo `json:"active"`
	Recent []StreamInfo `json:"recent"`
}

// StreamInfo is one stream: an operation pulling spans into this node
// ("in") or a peer pulling from it ("out").
type StreamInfo struct {
	ID          string    `json:"id"`
	Direction   string    `json:"direction"`
	Description string    `json:"description"`
	Peers       []string  `json:"peers"`
	SpansTotal  int       `json:"spans_total"`
	SpansDone   int       `json:"spans_done"`
	Bytes       int64     `json:"bytes"`
	Pairs       int64     `json:"pairs"`
	Rate        float64   `json:"bytes_per_second"`
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended,omitzero"`
	Err         string    `json:"error,omitempty"`
}

func (s *Server) netstats(w http.ResponseWriter, _ *http.Request) {
	if s.opts.Streams == nil {
		writeJSON(w, Netstats{Mode: "NORMAL"})
		return
	}
	writeJSON(w, s.opts.Streams.Netstats())
}

// Netstats fetches GET /v1/netstats.
func (c *Client) Netstats() (Netstats, error) {
	var n Netstats
	err := c.do("GET", "/v1/netstats", &n)
	return n, err
}

// WriteNetstats prints netstats as nodetool does: the mode, then each
// stream with its peers, progress and rate.
func WriteNetstats(w io.Writer, n Netstats) {
	fmt.Fprintf(w, "Mode: %s\n", n.Mode)
	if len(n.Active) == 0 {
		fmt.Fprintln(w, "Not sending any streams.")
	}
	for _, s := range n.Active {
		writeStream(w, s)
	}
	if len(n.Recent) > 0 {
		fmt.Fprintln(w, "Recently finished streams:")
		for _, s := range n.Recent {
			writeStream(w, s)
		}
	}
}

func writeStream(w io.Writer, s StreamInfo) {
	verb := "Receiving from"
	if s.Direction == "out" {
		verb = "Sending to"
	}
	fmt.Fprintf(w, "%s %s %s\n", s.Description, s.ID, s.Started.UTC().Format(time.RFC3339))
	if s.Direction == "out" {
		fmt.Fprintf(w, "    %s %s: %d pairs, %s, %s/s\n", verb, strings.Join(s.Peers, ", "), s.Pairs, bytesHuman(s.Bytes), bytesHuman(int64(s.Rate)))
	} else {
		pct := 100.0
		if s.SpansTotal > 0 {
			pct = 100 * float64(s.SpansDone) / float64(s.SpansTotal)
		}
		fmt.Fprintf(w, "    %s %s: %d/%d spans (%.0f%%), %d pairs, %s, %s/s\n", verb, strings.Join(s.Peers, ", "),
			s.SpansDone, s.SpansTotal, pct, s.Pairs, bytesHuman(s.Bytes), bytesHuman(int64(s.Rate)))
	}
	if s.Err != "" {
		fmt.Fprintf(w, "    failed: %s\n", s.Err)
	}
}

// bytesHuman formats n bytes as nodetool does (KiB, MiB, GiB).
func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, suffix := float64(n), []string{"KiB", "MiB", "GiB", "TiB"}
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.2f %s", v, suffix[i])
}
