package tsbound

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	c := New("schema", 100)
	c.Add("a", 100) // the bound itself is accepted
	if c.Err() != nil {
		t.Fatal("a timestamp at the bound was refused")
	}
	c.Add("b", 101)
	c.Add("c", 1<<62)
	var e *Error
	if err := c.Err(); !errors.As(err, &e) || e.What != "b" || e.Timestamp != 101 || e.Count != 2 || !e.FutureTimestamp() {
		t.Fatalf("got %#v", err)
	}
	if got, want := e.Error(), "schema: b at 101 µs is beyond the accepted bound 100 µs (and 1 more); nothing merged"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}
