package consistency

import "testing"

func TestNamesRoundTrip(t *testing.T) {
	for l := Any; l <= LocalOne; l++ {
		got, ok := Parse(l.String())
		if !ok || got != l || !l.Valid() {
			t.Errorf("%d: String %q, Parse %v %v", l, l.String(), got, ok)
		}
	}
	if Level(11).Valid() || Level(11).String() != "UNKNOWN(11)" {
		t.Errorf("level 11: %v %q", Level(11).Valid(), Level(11).String())
	}
	if _, ok := Parse("quorum"); ok {
		t.Error("names are case-sensitive, as Cassandra prints them")
	}
}

func TestKinds(t *testing.T) {
	for l := Any; l <= LocalOne; l++ {
		serial := l == Serial || l == LocalSerial
		local := l == LocalOne || l == LocalQuorum || l == LocalSerial
		if l.IsSerial() != serial || l.IsLocal() != local {
			t.Errorf("%s: serial %v local %v", l, l.IsSerial(), l.IsLocal())
		}
	}
}
