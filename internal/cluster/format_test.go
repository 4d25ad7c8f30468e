package cluster

import (
	"math"
	"slices"
	"testing"
)

func TestTokensFormatAndParse(t *testing.T) {
	for _, tc := range []struct {
		tokens []int64
		text   string
	}{
		{nil, ""},
		{[]int64{0}, "0"},
		{[]int64{-3, 7, 42}, "-3,7,42"},
		{[]int64{math.MinInt64, math.MaxInt64}, "-9223372036854775808,9223372036854775807"},
	} {
		if got := formatTokens(tc.tokens); got != tc.text {
			t.Errorf("formatTokens(%v) = %q, want %q", tc.tokens, got, tc.text)
		}
		if got := parseTokens(tc.text); !slices.Equal(got, tc.tokens) {
			t.Errorf("parseTokens(%q) = %v, want %v", tc.text, got, tc.tokens)
		}
	}
}

// A malformed TOKENS value yields no token at all, never a prefix.
func TestParseTokensMalformed(t *testing.T) {
	for _, s := range []string{
		"a", "1,a", "1,,2", "1,", ",1", " 1", "1 ,2", "+", "0x10", "1;2", "1.5",
		"9223372036854775808", "-9223372036854775809",
	} {
		if got := parseTokens(s); got != nil {
			t.Errorf("parseTokens(%q) = %v, want nil", s, got)
		}
	}
}

func TestUUIDFormatAndParse(t *testing.T) {
	id := [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	const canonical = "01234567-89ab-cdef-fedc-ba9876543210"
	if got := formatUUID(id); got != canonical {
		t.Fatalf("formatUUID = %q", got)
	}
	if got := formatUUID([16]byte{}); got != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("formatUUID(zero) = %q", got)
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{canonical, true},
		{"0123456789abcdeffedcba9876543210", true},     // no dashes
		{"01234567-89AB-CDEF-FEDC-BA9876543210", true}, // upper case
		{"0123-456789ab-cdef-fedcba98-76543210", true}, // dashes are ignored wherever they are
		{"", false},
		{"01234567-89ab-cdef-fedc-ba987654321", false},   // 31 digits
		{"01234567-89ab-cdef-fedc-ba98765432100", false}, // 33 digits
		{"0123456g-89ab-cdef-fedc-ba9876543210", false},  // not hex
		{"{01234567-89ab-cdef-fedc-ba9876543210}", false},
		{"01234567 89ab cdef fedc ba9876543210", false},
	} {
		got, ok := parseUUID(tc.in)
		if ok != tc.ok || (ok && got != id) {
			t.Errorf("parseUUID(%q) = %x, %v; want ok=%v", tc.in, got, ok, tc.ok)
		}
		if !ok && got != ([16]byte{}) {
			t.Errorf("parseUUID(%q) returned %x with false", tc.in, got)
		}
	}
}
