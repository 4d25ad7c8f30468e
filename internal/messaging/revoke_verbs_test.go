package messaging

import "testing"

// TestCRLVerbs: the revocation verbs keep their wire numbers and travel on
// the bulk lane.
func TestCRLVerbs(t *testing.T) {
	for _, tc := range []struct {
		v    Verb
		n    uint8
		name string
	}{{VerbCRLPush, 16, "CRL_PUSH"}, {VerbCRLPull, 17, "CRL_PULL"}} {
		if uint8(tc.v) != tc.n || tc.v.String() != tc.name || !tc.v.Known() || tc.v.Urgent() || tc.v.lane() != laneBulk {
			t.Errorf("%v: number %d known %v urgent %v", tc.v, uint8(tc.v), tc.v.Known(), tc.v.Urgent())
		}
	}
}
