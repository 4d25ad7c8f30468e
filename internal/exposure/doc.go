// Package exposure is the network exposure check behind `ringdb audit`:
// it probes the ports a Cassandra-compatible node listens on (internode
// 7000/7001, native CQL 9042, management 7199) on hosts the operator is
// authorized to test, and reports what a stranger on the network could do
// with them, one Finding per observation, each with a severity and the
// hardening step that fixes it.
//
// What it sends is fixed and small: a TLS ClientHello (with a throwaway,
// self-signed client certificate made in memory for the run), Cassandra's
// internode handshake (magic 0xCA552DFA and a header carrying a messaging
// version), CQL OPTIONS (on a port that answers TLS, also one in
// cleartext, which tells whether TLS is optional), STARTUP (at protocol
// v5, v4 and v3), at most one login (cassandra/cassandra) and one SELECT
// from system.local, one unauthenticated HTTP GET, and the Java RMI
// transport header. Nothing else is ever written to a target.
//
// Bounds: every dial, handshake and read has a deadline (Options.Timeout),
// every connection reads at most Options.MaxRead bytes, a target gets at
// most Options.MaxConnsPerTarget connections (the default ports use at
// most 10 of the default 16), and at most Options.Concurrency targets are
// probed at once, each with one connection open at a time, so at most
// Options.Concurrency connections are open at any moment. A public
// (globally routable) address is reported and not scanned unless
// Options.AllowPublic is set; the unspecified address (0.0.0.0, ::),
// multicast groups and the broadcast address are not hosts and are
// refused as usage errors.
//
// The decoders of what a target sends (CQL frames, the Cassandra handshake
// reply, the RMI acknowledgement, HTTP status lines) treat the bytes as
// hostile: they never panic, allocate only what the capped input holds, and
// every string taken from a target is cleaned of control characters before
// it reaches a report.
package exposure
