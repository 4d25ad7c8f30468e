// Package messaging owns ringdb's internode transport on port 7000
// (storage_port): the mutually authenticated TLS listener and dialer, the
// versioned ringdb handshake, framing, the verb table, per-peer outbound
// queues on two lanes, request/response matching, and the in-process
// loopback to the local node.
//
// # Protocol
//
// A connection is TCP from the dialer's listen address to the peer's
// listen address and storage_port, then TLS 1.3 with certificates required
// and verified both ways (the configurations come from package pki), then
// the handshake (handshake.go): the dialer sends magic "RNGD", its protocol
// version range, the cluster id, its claimed address and the lane; the
// acceptor answers with the chosen version and its own address, or with a
// one-byte reject code and closes. Then frames (frame.go): payload length,
// verb, kind (one-way, request, response, error) and message id.
//
// Each peer gets two outbound connections: the urgent lane (gossip, echo)
// and the bulk lane (mutations, reads, hints, schema), so bulk traffic never
// delays the failure detector. Requests are answered on the connection they
// arrived on.
//
// # Invariants
//
//   - A peer's identity is the IP SAN of its verified certificate
//     (Options.PeerAddress). The acceptor requires claimed address ==
//     certificate address == TCP source address; the dialer requires the
//     acceptor's certificate address and claimed address to equal the
//     address it dialed. Handlers receive only that authenticated address.
//   - Everything is bounded: handshake time and size, frame size per lane
//     (checked before allocating), outbound queue bytes per peer and lane
//     (Send fails fast with ErrQueueFull, never blocks), handlers in flight
//     per connection (the reader stops reading beyond them, pushing back
//     onto the sender's queue), and inbound connections in two separate
//     budgets (slots.go, Options "Connection budgets"): connections still in
//     the handshake, per source IP and in total, and authenticated
//     connections, a few per peer address, closed when idle. No flood of
//     unauthenticated connections, and no single certificate holder, can
//     take a member's connection slots.
//   - Every refusal of a peer is reported through Options.OnRefused and
//     counted (Service.Stats); the log gets at most one WARN line per
//     RefusalLogInterval about them.
//   - The one connection without a client certificate (join.go): with
//     Options.Join set, a TLS 1.3 ClientHello offering the join protocol
//     (JoinTLS.NextProtos, pki.JoinALPN) is served without requesting a
//     certificate, and the connection is handed to Options.Join — the
//     admission by join token — under the handshake deadline and within the
//     handshake budget, then closed. It never reaches the ringdb handshake,
//     a verb or a peer slot. A ClientHello without that protocol still
//     needs a verified certificate.
//
// # What this package must never do
//
// There is never a plaintext path: no listener or dialer without TLS, no
// option to disable client certificates or verification (the join
// protocol's connections are not peers and get no verb), and no byte of
// cluster data (not even the handshake or a reject code) before the TLS
// handshake has completed with an authenticated peer. A join connection
// gets nothing from this package; what Options.Join sends it is the
// admission layer's, which answers a joiner without a valid token with one
// status byte. It never decodes payloads (they belong to gossip, the
// coordinator and repair) and never creates certificates or keys (package
// pki does).
package messaging
