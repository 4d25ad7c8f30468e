package config

import (
	"net/netip"
	"testing"
)

// TestIsPublicSpecialPurpose: the blocks of the IANA special-purpose
// registries that are not globally reachable (documentation, benchmarking,
// reserved, broadcast, "this network", discard-only) are not public;
// ordinary unicast addresses just outside them are.
func TestIsPublicSpecialPurpose(t *testing.T) {
	for addr, public := range map[string]bool{
		"192.0.2.1": false, "198.51.100.200": false, "203.0.113.9": false, "2001:db8::1": false, "2001:db8:ffff::1": false,
		"3fff::1": false, "198.18.0.1": false, "198.19.255.254": false, "240.0.0.1": false, "255.255.255.255": false,
		"0.1.2.3": false, "100::1": false, "2001:2::1": false, "::ffff:192.0.2.1": false,
		"224.0.0.1": false, "ff02::1": false, "0.0.0.0": false, "::": false, "100.64.1.1": false, "169.254.1.1": false,
		"8.8.8.8": true, "192.0.3.1": true, "198.51.101.1": true, "203.0.114.1": true, "198.20.0.1": true,
		"2001:4860::1": true, "2001:db9::1": true, "223.255.255.254": true, "1.1.1.1": true,
	} {
		if got := IsPublic(netip.MustParseAddr(addr)); got != public {
			t.Errorf("IsPublic(%s) = %v, want %v", addr, got, public)
		}
	}
}
