package cluster

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// formatTokens encodes tokens as gossip's TOKENS value: decimal,
// comma-separated.
func formatTokens(t []int64) string {
	parts := make([]string, len(t))
	for i, v := range t {
		parts[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(parts, ",")
}

// parseTokens decodes a TOKENS value; nil when it is empty or any part
// is not a decimal int64 (a malformed value puts no token in the ring).
func parseTokens(s string) []int64 {
	if s == "" {
		return nil
	}
	var out []int64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// formatUUID writes u in the canonical 8-4-4-4-12 lower-case hex form.
func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// parseUUID reads a UUID written as 32 hex digits, dashes anywhere
// ignored; false for anything else.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		return u, false
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return u, false
	}
	copy(u[:], b)
	return u, true
}
