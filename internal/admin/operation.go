package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// An Operation is a long-running admin command (decommission, removenode,
// repair, cleanup): it reports progress through report, one line at a
// time, and returns its outcome. ctx is cancelled when the admin server
// closes (the node stops), not when nodetool disconnects: an operation
// that changed the ring's state runs to its end once begun.
type Operation func(ctx context.Context, report func(line string)) error

// Line prefixes of an operation's response: each line of the body is one
// of these, a tab, and text.
const (
	opProgress = "progress"
	opDone     = "done"
	opError    = "error"
)

// serveOperation runs op for a request, streaming its progress lines to
// the client as they come (flushed one by one) and then its outcome. The
// operation keeps running when the client goes away.
func (s *Server) serveOperation(w http.ResponseWriter, op Operation) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	var mu sync.Mutex
	gone := false
	write := func(kind, text string) {
		mu.Lock()
		defer mu.Unlock()
		if gone {
			return
		}
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if _, err := fmt.Fprintf(w, "%s\t%s\n", kind, l); err != nil {
				gone = true
				return
			}
		}
		if fl != nil {
			fl.Flush()
		}
	}
	err := op(s.ctx, func(line string) { write(opProgress, line) })
	if err != nil {
		write(opError, err.Error())
		return
	}
	write(opDone, "ok")
}

// decodeBody decodes a request's JSON body (at most 64 KiB) into v; an
// empty body leaves v as it is.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	if len(b) > 64<<10 {
		return errors.New("request body too large")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("bad request body: %w", err)
	}
	return nil
}

// operation posts args to path and calls progress with each progress line
// the node sends until the operation ends; it returns the operation's
// error. It does not time out: an operation may run for hours.
func (c *Client) operation(path string, args any, progress func(line string)) error {
	body, err := json.Marshal(args)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return fmt.Errorf("nodetool: failed to connect to %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("nodetool: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return readOperation(resp.Body, progress)
}

// readOperation reads an operation's response lines.
func readOperation(r io.Reader, progress func(line string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var failure []string
	for sc.Scan() {
		kind, text, _ := strings.Cut(sc.Text(), "\t")
		switch kind {
		case opProgress:
			if progress != nil {
				progress(text)
			}
		case opError:
			failure = append(failure, text)
		case opDone:
			return nil
		}
	}
	if len(failure) > 0 {
		return errors.New(strings.Join(failure, "\n"))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("nodetool: connection to the node lost: %w", err)
	}
	return errors.New("nodetool: the node closed the connection before the operation ended (did it stop?)")
}

// runOperation serves POST /v1/ops/{name}.
func (s *Server) runOperation(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	factory, ok := s.opts.Operations[name]
	if !ok {
		http.Error(w, fmt.Sprintf("unknown operation %q", name), http.StatusNotFound)
		return
	}
	var args json.RawMessage
	if err := decodeBody(r, &args); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	op, err := factory(args)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.opts.Logger != nil {
		s.opts.Logger.Info("admin operation started", "operation", name)
	}
	s.serveOperation(w, op)
}

// Operation runs the node's operation name with args (marshalled as
// JSON), calling progress with each progress line, and returns its
// outcome. It waits as long as the operation runs.
func (c *Client) Operation(name string, args any, progress func(line string)) error {
	return c.operation("/v1/ops/"+name, args, progress)
}
