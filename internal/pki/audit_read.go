package pki

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// AuditRecord is one membership log line decoded.
type AuditRecord struct {
	Time        time.Time `json:"time"`
	Kind        AuditKind `json:"kind"`
	Peer        string    `json:"peer"`
	HostID      string    `json:"host_id"`
	Serial      string    `json:"serial,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Outcome     string    `json:"outcome,omitempty"`
	Reason      string    `json:"reason"`
}

// ReadMembership returns the membership log's lines (JSON objects, without
// their newline) whose time is at or after since (every line if since is
// zero), oldest first: the rotated file <path>.1, then the current one. If
// limit > 0 only the newest limit lines are returned. Lines that are not a
// record with a time (a torn line after a crash) are skipped.
//
// It reads a consistent snapshot: both files are opened, and the size of
// the current one taken, under the log's lock; records appended or a
// rotation made while reading are not seen.
func (l *AuditLog) ReadMembership(since time.Time, limit int) ([]json.RawMessage, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrAuditLogClosed
	}
	old, err := os.Open(l.path + ".1")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.mu.Unlock()
		return nil, fmt.Errorf("pki: audit: read: %w", err)
	}
	cur, err := os.Open(l.path)
	size := l.size
	l.mu.Unlock()
	if old != nil {
		defer old.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("pki: audit: read: %w", err)
	}
	defer cur.Close()

	var out []json.RawMessage
	if old != nil {
		if out, err = scanAuditLines(old, since, limit, out); err != nil {
			return nil, err
		}
	}
	if out, err = scanAuditLines(io.NewSectionReader(cur, 0, size), since, limit, out); err != nil {
		return nil, err
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// scanAuditLines appends to out the complete lines of r that are records
// at or after since, keeping at most about 2*limit of them if limit > 0.
func scanAuditLines(r io.Reader, since time.Time, limit int, out []json.RawMessage) ([]json.RawMessage, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil // a last line without newline is torn
			}
			return out, fmt.Errorf("pki: audit: read: %w", err)
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		var rec struct {
			Time string `json:"time"`
		}
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, rec.Time)
		if err != nil || (!since.IsZero() && t.Before(since)) {
			continue
		}
		out = append(out, json.RawMessage(line))
		if limit > 0 && len(out) >= 2*limit {
			out = append(out[:0], out[len(out)-limit:]...)
		}
	}
}
