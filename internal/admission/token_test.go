package admission

import (
	"crypto/rand"
	"net/netip"
	"strings"
	"testing"
)

func randomToken(t testing.TB, issuer string) Token {
	t.Helper()
	tok := Token{Issuer: netip.MustParseAddrPort(issuer)}
	rand.Read(tok.CAFingerprint[:])
	rand.Read(tok.ID[:])
	rand.Read(tok.Secret[:])
	return tok
}

func TestTokenRoundTrip(t *testing.T) {
	for _, issuer := range []string{"127.0.0.1:7000", "10.1.2.3:65535", "[fd00::5]:7000"} {
		tok := randomToken(t, issuer)
		s := tok.String()
		if !strings.HasPrefix(s, TokenPrefix) || len(s) > MaxTokenTextLen {
			t.Fatalf("encoded token %q", s)
		}
		got, err := ParseToken("  " + s + "\n")
		if err != nil {
			t.Fatalf("%s: %v", issuer, err)
		}
		if got != tok {
			t.Fatalf("round trip: got %+v, want %+v", got, tok)
		}
	}
}

func TestParseTokenRefusesDamage(t *testing.T) {
	tok := randomToken(t, "127.0.0.1:7000")
	s := tok.String()
	flip := func(i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	zeroPort := tok
	zeroPort.Issuer = netip.AddrPortFrom(tok.Issuer.Addr(), 0)
	unspecified := tok
	unspecified.Issuer = netip.MustParseAddrPort("0.0.0.0:7000")
	for name, in := range map[string]string{
		"empty":            "",
		"no prefix":        s[len(TokenPrefix):],
		"other prefix":     "join2." + s[len(TokenPrefix):],
		"truncated":        s[:len(s)-1],
		"extended":         s + "A",
		"typo in secret":   flip(len(s) - 10),
		"typo in issuer":   flip(len(TokenPrefix) + 3),
		"not base64":       TokenPrefix + strings.Repeat("*", len(s)-len(TokenPrefix)),
		"padded":           s + "==",
		"too long":         TokenPrefix + strings.Repeat("A", MaxTokenTextLen),
		"port zero":        zeroPort.String(),
		"unspecified addr": unspecified.String(),
	} {
		if _, err := ParseToken(in); err == nil {
			t.Errorf("%s: %q accepted", name, in)
		}
	}
}

func TestParseTokenID(t *testing.T) {
	tok := randomToken(t, "127.0.0.1:7000")
	id, err := ParseTokenID(tok.ID.String())
	if err != nil || id != tok.ID {
		t.Fatalf("got %v, %v", id, err)
	}
	for _, bad := range []string{"", "zz", tok.ID.String() + "00", tok.ID.String()[:15]} {
		if _, err := ParseTokenID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseToken: any text either fails or decodes to a token that
// encodes back to the same text (trimmed).
func FuzzParseToken(f *testing.F) {
	f.Add(randomToken(f, "127.0.0.1:7000").String())
	f.Add(randomToken(f, "[::1]:7000").String())
	f.Add(TokenPrefix)
	f.Add("join1.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			return
		}
		if got := tok.String(); got != strings.TrimSpace(s) {
			t.Fatalf("decoded %q, re-encoded %q", s, got)
		}
	})
}
