// Package tsbound refuses peer-supplied metadata timestamps beyond a bound
// (now + the allowed clock skew), so that a push stamped far in the future
// cannot win last-write-wins forever. Schema and role sync share it; it
// holds no state beyond one check and imports nothing of ringdb.
package tsbound

import "fmt"

// Error refuses a payload holding timestamps beyond the bound it was
// checked against; nothing of it was merged.
type Error struct {
	// Source names the kind of payload ("schema", "auth").
	Source string
	// What names the first offending timestamp, e.g. "table ks.t modified".
	What string
	// Timestamp is its value and NotAfter the bound (µs since the epoch).
	Timestamp, NotAfter int64
	// Count is how many timestamps of the payload were beyond the bound.
	Count int
}

func (e *Error) Error() string {
	more := ""
	if e.Count > 1 {
		more = fmt.Sprintf(" (and %d more)", e.Count-1)
	}
	return fmt.Sprintf("%s: %s at %d µs is beyond the accepted bound %d µs%s; nothing merged", e.Source, e.What, e.Timestamp, e.NotAfter, more)
}

// FutureTimestamp marks the error as a refusal for a timestamp beyond the
// bound (the cluster audits those).
func (e *Error) FutureTimestamp() bool { return true }

// Check collects the timestamps of one payload against NotAfter.
type Check struct {
	source   string
	notAfter int64
	first    *Error
	count    int
}

// New starts a check of a source's payload against notAfter.
func New(source string, notAfter int64) *Check { return &Check{source: source, notAfter: notAfter} }

// Add checks one timestamp; the first one beyond the bound is the one the
// error names.
func (c *Check) Add(what string, ts int64) {
	if ts <= c.notAfter {
		return
	}
	c.count++
	if c.first == nil {
		c.first = &Error{Source: c.source, What: what, Timestamp: ts, NotAfter: c.notAfter}
	}
}

// Err returns the *Error for the timestamps beyond the bound, or nil.
func (c *Check) Err() error {
	if c.first == nil {
		return nil
	}
	c.first.Count = c.count
	return c.first
}
