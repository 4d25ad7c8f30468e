package admission

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// A join token as the operator copies it:
//
//	"join1." base64url(issuer address [16] (IPv4-mapped) | port uint16 |
//	                   CA fingerprint [32] | id [8] | secret [24] | check [4])
//
// check is the first 4 bytes of SHA-256("join1." | the bytes before it), so
// that a mistyped token is reported as malformed rather than as a refused
// token or a CA mismatch. The id names the token in `join-token list` and
// `revoke` and in the audit log; the secret proves possession and is never
// stored by the issuer (only its SHA-256).

// TokenPrefix starts every encoded join token.
const TokenPrefix = "join1."

const (
	tokenIDLen     = 8
	tokenSecretLen = 24
	tokenCheckLen  = 4
	tokenBodyLen   = 16 + 2 + sha256.Size + tokenIDLen + tokenSecretLen
	tokenLen       = tokenBodyLen + tokenCheckLen
	// MaxTokenTextLen bounds the text of a token (what the decoder reads).
	MaxTokenTextLen = 256
)

// TokenID identifies a join token (public: listed, audited).
type TokenID [tokenIDLen]byte

// String returns the id in lowercase hex.
func (id TokenID) String() string { return hex.EncodeToString(id[:]) }

// ParseTokenID parses a token id as String prints it.
func ParseTokenID(s string) (TokenID, error) {
	var id TokenID
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != tokenIDLen {
		return id, fmt.Errorf("admission: %q is not a join token id (%d hex digits)", s, 2*tokenIDLen)
	}
	copy(id[:], b)
	return id, nil
}

// Token is a decoded join token.
type Token struct {
	// Issuer is the internode address (listen address and storage port) of
	// the member that issued the token and redeems it.
	Issuer netip.AddrPort
	// CAFingerprint is the SHA-256 of the cluster CA certificate's DER:
	// the only trust a joiner has.
	CAFingerprint [sha256.Size]byte
	// ID names the token.
	ID TokenID
	// Secret proves possession of the token.
	Secret [tokenSecretLen]byte
}

// String encodes t as the operator copies it.
func (t Token) String() string {
	b := make([]byte, 0, tokenLen)
	a := t.Issuer.Addr().As16()
	b = append(b, a[:]...)
	b = binary.BigEndian.AppendUint16(b, t.Issuer.Port())
	b = append(b, t.CAFingerprint[:]...)
	b = append(b, t.ID[:]...)
	b = append(b, t.Secret[:]...)
	b = append(b, tokenCheck(b)...)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func tokenCheck(body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(TokenPrefix))
	h.Write(body)
	return h.Sum(nil)[:tokenCheckLen]
}

var errMalformedToken = errors.New("admission: malformed join token (copy it again from `ringdb nodetool join-token create`)")

// ParseToken decodes a join token (surrounding white space is ignored). It
// is safe for any input.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxTokenTextLen || !strings.HasPrefix(s, TokenPrefix) {
		return Token{}, errMalformedToken
	}
	text := s[len(TokenPrefix):]
	if strings.ContainsAny(text, "\r\n") { // the decoder would skip them
		return Token{}, errMalformedToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(text)
	if err != nil || len(b) != tokenLen {
		return Token{}, errMalformedToken
	}
	body := b[:tokenBodyLen]
	if string(tokenCheck(body)) != string(b[tokenBodyLen:]) {
		return Token{}, errMalformedToken
	}
	var t Token
	addr := netip.AddrFrom16([16]byte(body[:16])).Unmap()
	port := binary.BigEndian.Uint16(body[16:])
	if !addr.IsValid() || addr.IsUnspecified() || addr.IsMulticast() || port == 0 {
		return Token{}, fmt.Errorf("admission: join token names no usable issuer address (%v port %d)", addr, port)
	}
	t.Issuer = netip.AddrPortFrom(addr, port)
	rest := body[18:]
	copy(t.CAFingerprint[:], rest)
	rest = rest[sha256.Size:]
	copy(t.ID[:], rest)
	copy(t.Secret[:], rest[tokenIDLen:])
	return t, nil
}
