package messaging

import (
	"errors"
	"fmt"
	"net/netip"
)

var (
	// ErrQueueFull is returned by Send and Request when the lane's outbound
	// queue to the peer already holds MaxQueueBytesPerPeer bytes.
	ErrQueueFull = errors.New("messaging: outbound queue full")
	// ErrClosed is returned after Close, and to requests pending when the
	// Service closes.
	ErrClosed = errors.New("messaging: service closed")
	// ErrTimeout is returned by Request when its deadline (the context's,
	// or RequestTimeout) passes before the response arrives.
	ErrTimeout = errors.New("messaging: request timed out")
	// ErrConnectionLost is returned by Request when the connection carrying
	// the request failed before the response arrived; the peer may or may
	// not have executed it.
	ErrConnectionLost = errors.New("messaging: connection lost before response")
	// ErrFrameTooLarge is returned when a payload exceeds the lane's frame
	// limit (MaxFrameSize, or 1 MiB on the urgent lane).
	ErrFrameTooLarge = errors.New("messaging: payload exceeds maximum frame size")
)

// RemoteError is returned by Request when the peer's handler returned an
// error (or no handler is registered for the verb there).
type RemoteError struct {
	// From is the peer that answered.
	From netip.Addr
	// Verb is the request's verb.
	Verb Verb
	// Message is the handler's error text, truncated to maxErrorLen bytes.
	Message string
}

// Error implements error.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("messaging: %v from %v: %s", e.Verb, e.From, e.Message)
}

// maxErrorLen bounds the error text sent in an error response.
const maxErrorLen = 4096
