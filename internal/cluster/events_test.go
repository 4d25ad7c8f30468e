package cluster

import (
	"reflect"
	"testing"

	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/pki"
)

func TestRebuildsRing(t *testing.T) {
	for _, tc := range []struct {
		e    gossip.Event
		want bool
	}{
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppStatus}, true},
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppTokens}, true},
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppDC}, true},
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppRack}, true},
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppSchema}, false},
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppLoad}, false},
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppHostID}, false},
		{gossip.Event{Kind: gossip.EventAlive}, true},
		{gossip.Event{Kind: gossip.EventRemoved}, true},
		{gossip.Event{Kind: gossip.EventJoined}, true},
		{gossip.Event{Kind: gossip.EventRestarted}, true},
		{gossip.Event{Kind: gossip.EventDead}, true}, // a removal may now apply
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppRemovals}, true},
		{gossip.Event{Kind: gossip.EventClusterMismatch}, false},
		{gossip.Event{Kind: gossip.EventRejected}, false},
		{gossip.Event{Kind: gossip.EventForged}, false},
		{gossip.Event{Kind: gossip.EventStateChanged, Key: gossip.AppCert}, false},
	} {
		if got := rebuildsRing(tc.e); got != tc.want {
			t.Errorf("rebuildsRing(%v) = %v", tc.e, got)
		}
	}
}

// TestReactionTo is the table of what each gossip event makes a member
// do: client EVENTs, audit records, logs, liveness bookkeeping, OnUp and
// metadata pulls.
func TestReactionTo(t *testing.T) {
	self, peer := addr(1), addr(2)
	const local, other = "schema-local", "schema-other"
	// ctx is the context of an event about peer; roles "" means no role
	// sync.
	ctx := func(was, is bool, peerSchema, peerRoles, roles string) eventContext {
		return eventContext{self: self, wasMember: was, isMember: is, peerSchema: peerSchema, peerRoles: peerRoles,
			localSchema: func() string { return local },
			localRoles:  func() (string, bool) { return roles, roles != "" }}
	}
	sc := func(k gossip.ApplicationState, v string) gossip.Event {
		return gossip.Event{Kind: gossip.EventStateChanged, Endpoint: peer, Key: k, Value: v}
	}
	for _, tc := range []struct {
		name string
		e    gossip.Event
		x    eventContext
		want reaction
	}{
		{"peer entered the ring: NEW_NODE, audited", sc(gossip.AppStatus, "NORMAL,1"), ctx(false, true, "", "", ""),
			reaction{log: info("node joined the ring"), audit: &auditRecord{kind: pki.AuditJoin, reason: "NORMAL"},
				client: &clientEvent{topology: true, change: changeNewNode}}},
		{"TOKENS can complete a join too", sc(gossip.AppTokens, "1"), ctx(false, true, "", "", ""),
			reaction{log: info("node joined the ring"), audit: &auditRecord{kind: pki.AuditJoin, reason: "NORMAL"},
				client: &clientEvent{topology: true, change: changeNewNode}}},
		{"DC and RACK too", sc(gossip.AppDC, "dc1"), ctx(false, true, "", "", ""),
			reaction{log: info("node joined the ring"), audit: &auditRecord{kind: pki.AuditJoin, reason: "NORMAL"},
				client: &clientEvent{topology: true, change: changeNewNode}}},
		{"already a member", sc(gossip.AppStatus, "NORMAL,1"), ctx(true, true, "", "", ""), reaction{}},
		{"not a member yet (BOOT)", sc(gossip.AppStatus, "BOOT,1"), ctx(false, false, "", "", ""), reaction{}},
		{"left the ring: no event here", sc(gossip.AppStatus, "LEFT,1,2"), ctx(true, false, "", "", ""), reaction{}},
		{"self entering the ring is not news", gossip.Event{Kind: gossip.EventStateChanged, Endpoint: self, Key: gossip.AppStatus},
			ctx(false, true, "", "", ""), reaction{}},
		{"a member change by another state is not a join", sc(gossip.AppLoad, "9"), ctx(false, true, "", "", ""), reaction{}},
		{"a schema version other than ours is pulled", sc(gossip.AppSchema, other), ctx(true, true, "", "", ""),
			reaction{pullSchema: true}},
		{"an empty schema version differs too", sc(gossip.AppSchema, ""), ctx(true, true, "", "", ""),
			reaction{pullSchema: true}},
		{"our schema version is not pulled", sc(gossip.AppSchema, local), ctx(true, true, "", "", ""), reaction{}},
		{"our own schema change is not pulled", gossip.Event{Kind: gossip.EventStateChanged, Endpoint: self, Key: gossip.AppSchema, Value: other},
			ctx(true, true, "", "", ""), reaction{}},
		{"a roles version other than ours is pulled", sc(gossip.AppAuthVersion, "r2"), ctx(true, true, "", "", "r1"),
			reaction{pullRoles: true}},
		{"our roles version is not pulled", sc(gossip.AppAuthVersion, "r1"), ctx(true, true, "", "", "r1"), reaction{}},
		{"no role sync, no roles pull", sc(gossip.AppAuthVersion, "r2"), ctx(true, true, "", "", ""), reaction{}},
		{"other states do nothing", sc(gossip.AppLoad, "12"), ctx(true, true, "", "", ""), reaction{}},
		{"alive: UP, OnUp, nothing to pull", gossip.Event{Kind: gossip.EventAlive, Endpoint: peer}, ctx(true, true, local, "r1", "r1"),
			reaction{markUp: true, log: info("node is up"), client: &clientEvent{change: changeUp}, notifyUp: true}},
		{"alive with other versions: pulls both", gossip.Event{Kind: gossip.EventAlive, Endpoint: peer}, ctx(true, true, other, "r2", "r1"),
			reaction{markUp: true, log: info("node is up"), client: &clientEvent{change: changeUp}, notifyUp: true, pullSchema: true, pullRoles: true}},
		{"alive without gossiped versions: no pull", gossip.Event{Kind: gossip.EventAlive, Endpoint: peer}, ctx(true, true, "", "", "r1"),
			reaction{markUp: true, log: info("node is up"), client: &clientEvent{change: changeUp}, notifyUp: true}},
		{"alive with roles but no role sync here", gossip.Event{Kind: gossip.EventAlive, Endpoint: peer}, ctx(true, true, "", "r2", ""),
			reaction{markUp: true, log: info("node is up"), client: &clientEvent{change: changeUp}, notifyUp: true}},
		{"dead: DOWN, audited", gossip.Event{Kind: gossip.EventDead, Endpoint: peer}, ctx(true, true, "", "", ""),
			reaction{markDown: true, log: warn("node is down"), audit: &auditRecord{kind: pki.AuditStatus, reason: "DOWN"}, client: &clientEvent{change: changeDown}}},
		{"removed: REMOVED_NODE, audited", gossip.Event{Kind: gossip.EventRemoved, Endpoint: peer}, ctx(true, true, "", "", ""),
			reaction{audit: &auditRecord{kind: pki.AuditRemove, reason: "removed from gossip"}, client: &clientEvent{topology: true, change: changeRemoved}}},
		{"another cluster: refused", gossip.Event{Kind: gossip.EventClusterMismatch, Endpoint: peer, Value: "other"}, ctx(true, true, "", "", ""),
			reaction{log: warn("ignored gossip from another cluster", "cluster", "other"), audit: &auditRecord{kind: pki.AuditRefused, reason: "cluster name mismatch: other", outcome: "refused", sender: true}}},
		{"rejected state: refused", gossip.Event{Kind: gossip.EventRejected, Endpoint: peer, Reason: "too big"}, ctx(true, true, "", "", ""),
			reaction{log: warn("rejected gossip state", "reason", "too big"), audit: &auditRecord{kind: pki.AuditRefused, reason: "gossip state rejected: too big", outcome: "refused", sender: true}}},
		{"forged state: refused, audited with the sender", gossip.Event{Kind: gossip.EventForged, Endpoint: peer, From: addr(9), Reason: "forged: STATUS signature does not verify"},
			ctx(true, true, "", "", ""),
			reaction{log: warn("refused a forged or unverifiable gossip state", "reason", "forged: STATUS signature does not verify"),
				audit: &auditRecord{kind: pki.AuditForged, reason: "gossip state refused: forged: STATUS signature does not verify", outcome: "refused", sender: true}}},
		{"the local node's own value refused: logged only", gossip.Event{Kind: gossip.EventRejected, Endpoint: self, Reason: "signing failed"},
			ctx(true, true, "", "", ""), reaction{log: warn("local gossip state refused", "reason", "signing failed")}},
		{"joined: only the ring", gossip.Event{Kind: gossip.EventJoined, Endpoint: peer}, ctx(true, true, other, "", ""), reaction{}},
		{"restarted: only the ring", gossip.Event{Kind: gossip.EventRestarted, Endpoint: peer}, ctx(true, true, other, "", ""), reaction{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reactionTo(tc.e, tc.x); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("reactionTo(%v)\n got %+v\nwant %+v", tc.e, describe(got), describe(tc.want))
			}
		})
	}
}

// describe spells out a reaction's pointers for failure messages.
func describe(r reaction) map[string]any {
	m := map[string]any{"up": r.markUp, "down": r.markDown, "notifyUp": r.notifyUp, "pullSchema": r.pullSchema, "pullRoles": r.pullRoles}
	if r.log != nil {
		m["log"] = *r.log
	}
	if r.audit != nil {
		m["audit"] = *r.audit
	}
	if r.client != nil {
		m["client"] = *r.client
	}
	return m
}

// The roles version hashes every role: it is computed only for the
// events that compare it.
func TestReactionToComputesRolesVersionOnlyWhenNeeded(t *testing.T) {
	calls := 0
	x := eventContext{self: addr(1), localSchema: func() string { return "s" },
		localRoles: func() (string, bool) { calls++; return "r", true }}
	for _, e := range []gossip.Event{
		{Kind: gossip.EventDead, Endpoint: addr(2)},
		{Kind: gossip.EventStateChanged, Endpoint: addr(2), Key: gossip.AppLoad},
		{Kind: gossip.EventStateChanged, Endpoint: addr(2), Key: gossip.AppSchema, Value: "s"},
		{Kind: gossip.EventAlive, Endpoint: addr(2)}, // no roles gossiped
	} {
		reactionTo(e, x)
	}
	if calls != 0 {
		t.Fatalf("roles version computed %d times", calls)
	}
	reactionTo(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: addr(2), Key: gossip.AppAuthVersion, Value: "r"}, x)
	if calls != 1 {
		t.Fatalf("roles version computed %d times for an AUTH_VERSION change", calls)
	}
}
