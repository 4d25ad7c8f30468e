// Package protocol serves the CQL native protocol (v4) on the client port:
// it accepts connections, runs each connection's handshake (OPTIONS,
// STARTUP, SASL PLAIN authentication), reads frames, runs requests
// concurrently (many stream ids in flight per connection, bounded), and
// writes responses and EVENTs back with the negotiated compression.
//
// It owns sockets and goroutines only; statements are executed by
// internal/query, and every failure becomes the protocol error the client
// expects through cqlerr. Frames are decoded by internal/protocol/frame,
// which never panics on bad input.
package protocol
