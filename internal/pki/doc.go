// Package pki owns ringdb's internode identity: the cluster certificate
// authority, node certificates, the TLS configurations used on port 7000,
// the peer identity checks made on every internode connection, and the
// append-only membership audit log.
//
// # Identity
//
// A cluster is identified by a random cluster id (a UUID) generated when its
// CA is created and embedded in the CA certificate as the URI SAN
// "ringdb://cluster/<uuid>". Every node certificate is signed directly by
// that CA (the CA has MaxPathLen 0: there are no intermediates) and carries:
//
//   - the same cluster id URI SAN,
//   - exactly one IP SAN, the node's listen address,
//   - extended key usages ServerAuth and ClientAuth (a node both dials and
//     accepts internode connections with one certificate).
//
// Files (all PEM): a CA directory holds ca.key (0600) and ca.crt; a node
// certificates directory (--certs-dir) holds node.key (0600), node.crt and a
// copy of ca.crt. Keys and certificates are never overwritten: creating a CA
// or a node certificate where one exists is an error.
//
// # Invariants
//
//   - Internode TLS is TLS 1.3 only, mutually authenticated, full handshakes
//     only (no session resumption), and a connection is accepted only if the
//     peer's leaf chains to this cluster's CA, is valid now, has the right
//     extended key usage, carries this cluster's id and exactly one IP SAN.
//     Both the dialing and the accepting side check all of it in
//     tls.Config.VerifyConnection.
//   - The certificate's IP SAN is the peer's identity. PeerAddress returns it;
//     the messaging layer must compare it with the address the peer claims in
//     its handshake and gossip and with the TCP source address.
//   - The audit log is only ever appended to (O_APPEND) and fsynced per
//     record; the only loss of history is the bounded rotation
//     (<path> -> <path>.1, one old file kept).
//
// # What this package must never do
//
// It never opens network connections, never logs or returns private key
// material, and never weakens verification for convenience (no plaintext
// fallback, no "accept any certificate" mode).
package pki
