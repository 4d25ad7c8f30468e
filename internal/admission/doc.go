// Package admission admits new nodes into a cluster with one-time join
// tokens (docs/decisions/011-admission-and-join-tokens.md).
//
// An issuer is a member that holds the cluster CA (started with ca_dir /
// --ca-dir). `ringdb nodetool join-token create` asks it for a token
// (Issuer.CreateToken): a one-time secret with an expiry, stored hashed in
// the issuer's data directory (TokenStore, join-tokens.json), encoded
// together with the issuer's internode address and the SHA-256 fingerprint
// of the CA certificate (Token).
//
// A new node started with the token and an empty certificates directory
// (Join) generates its own key, dials the issuer's port 7000 from its
// listen address over TLS 1.3 without a client certificate, negotiating
// pki.JoinALPN, and accepts the server only if it presents a certificate
// chain to the CA the token pins. It sends one request (wire.go: the
// token's id and secret, its host id and a certificate signing request for
// its listen address) and reads one response (its node certificate and the
// CA certificate, or a status code), then closes.
//
// The issuer (Issuer.Serve, called by the messaging layer for join
// connections, which never become peers) checks, under one lock: the token
// exists, its secret matches (hashes compared in constant time), it is
// neither used, revoked nor expired; the request is signed by the key it
// names (ECDSA P-256) and names exactly the connection's TCP source
// address; that address is not a live member's and holds no unexpired,
// unrevoked certificate of the CA. Then the CA signs the certificate
// (indexed in issued.jsonl, so revoke-by-address finds it), the token is
// burned durably with the admission (address, serial, fingerprint, host
// id), and only then is the certificate sent. Every outcome is a
// membership audit event (token_use: accepted, reused, expired, unknown,
// revoked, refused; admission on success); outcomes a stranger without a
// token can cause (unknown tokens, malformed requests) are rate-limited so
// that nobody can flood the membership log with them.
//
// # What this package must never do
//
// It never sends anything but a one-byte status to a joiner whose token
// did not verify, never issues a certificate for an address other than the
// connection's source, never returns a certificate before the token is
// burned on disk, and never stores a token's secret (only its SHA-256).
package admission
