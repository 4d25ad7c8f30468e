// Package protocol serves the CQL native protocol (v4) on the client port:
// it accepts connections, runs each connection's handshake (OPTIONS,
// STARTUP, SASL PLAIN authentication), reads frames, runs requests
// concurrently (many stream ids in flight per connection, bounded), and
// writes responses and EVENTs back with the negotiated compression.
//
// Each connection has a context, cancelled when the connection ends (the
// client goes away, a write stalls past WriteTimeout, or the server
// closes); every request runs under a child of it. Publishing an EVENT
// never waits for a client: events go through a bounded per-connection
// queue, and a client that lets it fill is disconnected (its driver
// reconnects and re-reads what it missed) and counted.
//
// It owns sockets and goroutines only; statements are executed by
// internal/query, and every failure becomes the protocol error the client
// expects through cqlerr. Frames are decoded by internal/protocol/frame,
// which never panics on bad input.
package protocol
