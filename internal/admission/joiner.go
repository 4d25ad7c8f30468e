package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ringdb/ringdb/internal/pki"
)

// JoinOptions configure Join.
type JoinOptions struct {
	// Token is the join token as `nodetool join-token create` printed it.
	Token string
	// Self is this node's listen address: the connection's source and the
	// certificate's address. Required.
	Self netip.Addr
	// CertsDir receives node.key, node.crt and ca.crt; it must hold none
	// of them. Required.
	CertsDir string
	// HostID is this node's host id, recorded by the issuer with the
	// admission.
	HostID [16]byte
	// Timeout bounds the whole join, retries included. Default 1 minute.
	Timeout time.Duration
	// AttemptTimeout bounds one connection (connect, TLS, exchange).
	// Default 10 s.
	AttemptTimeout time.Duration
	// Logger receives progress. Default: discard.
	Logger *slog.Logger
}

// JoinResult is what a successful Join obtained.
type JoinResult struct {
	Issuer  netip.AddrPort
	TokenID string
	Serial  string
}

// Join obtains this node's certificate with a join token: it generates the
// node key, dials the issuer the token names from Self, verifies it against
// the CA fingerprint the token pins (nothing else is trusted), sends a
// certificate signing request for Self with the token, and writes the
// certificate, the key and the CA certificate into CertsDir. Connection
// failures are retried until Timeout; a refusal by the issuer is final.
// The key is generated afresh at every call and never leaves this process
// except into CertsDir.
func Join(ctx context.Context, o JoinOptions) (JoinResult, error) {
	tok, err := ParseToken(o.Token)
	if err != nil {
		return JoinResult{}, err
	}
	self := o.Self.Unmap()
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Before the token is spent: the directory must be able to take the
	// result.
	for _, name := range []string{pki.NodeKeyFile, pki.NodeCrtFile, pki.CACertFile} {
		p := filepath.Join(o.CertsDir, name)
		if _, err := os.Lstat(p); err == nil {
			return JoinResult{}, fmt.Errorf("admission: %s exists: joining with a token needs a certificates directory without %s, %s and %s",
				p, pki.NodeKeyFile, pki.NodeCrtFile, pki.CACertFile)
		}
	}
	if err := os.MkdirAll(o.CertsDir, 0o700); err != nil {
		return JoinResult{}, fmt.Errorf("admission: certificates directory: %w", err)
	}
	key, err := pki.NewNodeKey()
	if err != nil {
		return JoinResult{}, err
	}
	csr, err := pki.NodeCSR(key, self)
	if err != nil {
		return JoinResult{}, err
	}
	req := Request{Version: wireVersion, ID: tok.ID, Secret: tok.Secret, HostID: o.HostID, CSR: csr}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	delay := 250 * time.Millisecond
	for {
		resp, err := exchange(ctx, tok, self, req, o.AttemptTimeout)
		if err == nil {
			if resp.Status != StatusOK {
				return JoinResult{}, refusalError(resp.Status, tok, self)
			}
			if err := pki.WriteJoinedIdentity(o.CertsDir, key, resp.Cert, resp.CA, tok.CAFingerprint, self); err != nil {
				return JoinResult{}, err
			}
			res := JoinResult{Issuer: tok.Issuer, TokenID: tok.ID.String()}
			if leaf, perr := parseSerial(resp.Cert); perr == nil {
				res.Serial = leaf
			}
			return res, nil
		}
		if !retryable(err) {
			return JoinResult{}, fmt.Errorf("admission: join through %s: %w", tok.Issuer, err)
		}
		o.Logger.Info("join: issuer not reachable yet; retrying", "issuer", tok.Issuer, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return JoinResult{}, fmt.Errorf("admission: join through %s: gave up after %v: %w", tok.Issuer, o.Timeout, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// exchange makes one attempt: connect from self, TLS pinned to the token's
// CA, one request, one response.
func exchange(ctx context.Context, tok Token, self netip.Addr, req Request, timeout time.Duration) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IP(self.AsSlice())}}
	raw, err := d.DialContext(ctx, "tcp", tok.Issuer.String())
	if err != nil {
		return Response{}, &dialError{err}
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	tc := tls.Client(raw, pki.JoinClientConfig(tok.CAFingerprint, tok.Issuer.Addr()))
	if err := tc.HandshakeContext(ctx); err != nil {
		return Response{}, &handshakeError{err}
	}
	if _, err := pki.JoinServerCA(tc.ConnectionState(), tok.CAFingerprint, tok.Issuer.Addr()); err != nil {
		return Response{}, err // VerifyConnection checked it already
	}
	if _, err := tc.Write(AppendRequest(nil, req)); err != nil {
		return Response{}, &handshakeError{err}
	}
	resp, err := readResponse(tc)
	if err != nil {
		return Response{}, &handshakeError{fmt.Errorf("reading the issuer's answer: %w", err)}
	}
	return resp, nil
}

type dialError struct{ err error }

func (e *dialError) Error() string { return "connect: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// retryable reports whether a failed attempt may succeed later: the issuer
// not listening yet, or the connection closed or reset before an answer
// (a connection budget, a restart). Certificate and pinning failures and
// refusals are final.
func retryable(err error) bool {
	var de *dialError
	if errors.As(err, &de) {
		return true
	}
	var he *handshakeError
	if !errors.As(err, &he) {
		return false
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}

// refusalError explains an issuer's refusal to the operator.
func refusalError(st Status, tok Token, self netip.Addr) error {
	var why string
	switch st {
	case StatusTokenRefused:
		why = "the token is unknown to the issuer or was revoked; create a new one with `ringdb nodetool join-token create` on the issuing member"
	case StatusTokenUsed:
		why = "the token was already used (join tokens are one-time); create a new one"
	case StatusTokenExpired:
		why = "the token has expired; create a new one (join-token create --ttl)"
	case StatusAddressMismatch:
		why = fmt.Sprintf("the issuer saw the connection come from another address than listen_address %s", self)
	case StatusAddressInUse:
		why = fmt.Sprintf("%s is the address of a live member or already holds a valid certificate of the cluster; replacing a node is explicit (revoke its certificate first; see the issuer's membership log)", self)
	case StatusMalformed:
		why = "the issuer could not read the request"
	case StatusVersion:
		why = "the issuer speaks another join protocol version"
	case StatusInternal:
		why = "the issuer failed (see its log); try again with a new token"
	default:
		why = st.String()
	}
	return fmt.Errorf("admission: join token %s refused by %s: %s", tok.ID, tok.Issuer, why)
}

// parseSerial returns the serial of a certificate (DER) as ringdb prints it.
func parseSerial(der []byte) (string, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return "", err
	}
	return pki.FormatSerial(leaf.SerialNumber), nil
}
