// Package pki owns ringdb's internode identity: the cluster certificate
// authority, node certificates, the TLS configurations used on port 7000,
// the peer identity checks made on every internode connection, and the
// append-only membership audit log.
//
// # Identity
//
// A cluster is identified by a random cluster id (a UUID) generated when its
// CA is created and embedded in the CA certificate as the URI SAN
// "urn:uuid:<uuid>" (certificates made before the neutral form carry
// "ringdb://cluster/<uuid>", still accepted). Certificates name no product,
// version or cluster name. Every node certificate is signed directly by
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
//     extended key usage, carries this cluster's id and exactly one IP SAN,
//     and is not on the installed revocation list (crl.go). Both the
//     dialing and the accepting side check all of it in
//     tls.Config.VerifyConnection.
//   - A revocation list is installed only if it is signed by this
//     cluster's CA and numbered higher than the installed one; the CA
//     numbers its lists 1, 2, 3… (CA.Revoke) and keeps an index of every
//     certificate it issued (issued.jsonl) to revoke by address.
//   - The certificate's IP SAN is the peer's identity. PeerAddress returns it;
//     the messaging layer must compare it with the address the peer claims in
//     its handshake and gossip and with the TCP source address.
//   - Certificates for join tokens (join.go, package admission) are signed
//     with IssueNode's template from a request whose signature proves the
//     key and whose single IP address the issuer checked (CA.IssueCSR), and
//     are indexed in issued.jsonl like every other. The joiner trusts only
//     the CA fingerprint its token pins (JoinClientConfig); the join TLS
//     configuration (JoinServerConfig) requests no client certificate and
//     serves only the JoinALPN protocol.
//   - The audit logs are only ever appended to (O_APPEND); the only loss of
//     history is each log's own bounded rotation (<path> -> <path>.1, one
//     old file kept). Handshake noise never reaches the membership log, so
//     it can never rotate a membership event away.
//
// # Audit logs
//
// AuditLog.Record sorts events into two files by kind (AuditKind.Noise):
//
//   - The membership log (<data-dir>/membership-audit.log): admission, join
//     token use, join, leave, removal, status changes, restart with a new
//     generation, forged or unverifiable state refused, refusals by the
//     cluster layer, revocation. One JSON object per line with time, kind
//     (the event), peer, host_id and reason always present, and serial,
//     fingerprint and outcome when known; each line is fsynced before
//     Record returns. It rotates at AuditOptions.MaxBytes (64 MiB), and
//     only membership events count towards that size. AuditLog.ReadMembership
//     reads it back (nodetool membership-log).
//   - The noise log (<data-dir>/membership-audit.noise.log): refused or failed
//     internode handshakes and connection-limit drops, which anyone who can
//     reach port 7000 can cause at line rate. They are not written one by
//     one: they are counted per source IP (the port ignored) per interval
//     (AuditOptions.NoiseInterval, one minute), and when the interval is
//     over one "noise_summary" line per source is written with the count
//     and the kind and reason of its first event. At most MaxNoiseSources
//     (1024) sources are counted separately per interval; the noise of any
//     further source goes to one "other sources" line, so memory and the
//     lines per interval are bounded whatever the flood. Summaries are not
//     fsynced (a crash may lose the current interval's counts), and the
//     noise log has its own small rotation (NoiseMaxBytes, 4 MiB).
//
// Separate files were chosen over one file with a noise-dropping retention
// policy: rotation stays a rename, membership records are never rewritten,
// and the two budgets cannot interfere.
//
// # What this package must never do
//
// It never opens network connections, never logs or returns private key
// material, and never weakens verification for convenience (no plaintext
// fallback, no "accept any certificate" mode).
package pki
