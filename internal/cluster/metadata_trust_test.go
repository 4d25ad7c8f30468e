package cluster

import (
	"context"
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/auth"
	"github.com/ringdb/ringdb/internal/gossip"
	"github.com/ringdb/ringdb/internal/messaging"
	"github.com/ringdb/ringdb/internal/query"
)

// attacker is an address the cluster CA could have signed a certificate
// for but that never joined: no member's gossip knows it.
var attacker = addr(159)

// withAuth gives a member the real role store (internal/auth) on its
// engine.
func withAuth() func(*Options) { return func(o *Options) { o.Roles = auth.New(o.Engine) } }

// authTrio is trio with the real role store on every member.
func authTrio(t *testing.T) (*harness, []*node) {
	return trio(t, func(int) []func(*Options) { return []func(*Options){withAuth()} })
}

// roles is n's role store.
func (n *node) roles() *auth.Manager { return n.c.o.Roles.(*auth.Manager) }

// hasRole reports whether n has role name.
func (n *node) hasRole(t *testing.T, name string) bool {
	t.Helper()
	_, ok, err := n.roles().GetRole(name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// pushedRole is one role record as a roles push carries it.
type pushedRole struct {
	Name       string `json:"name"`
	CanLogin   bool   `json:"can_login"`
	Superuser  bool   `json:"is_superuser"`
	SaltedHash string `json:"salted_hash,omitempty"`
	Modified   int64  `json:"modified"`
}

// rolesPush is a VerbSchemaPush payload carrying roles and tombstones.
func rolesPush(t *testing.T, roles []pushedRole, tombs map[string]int64) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"roles": roles, "tombstones": tombs})
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{syncRoles}, b...)
}

// evilRole is a superuser stamped far in the future.
var evilRole = pushedRole{Name: "evil", CanLogin: true, Superuser: true,
	SaltedHash: "$2a$10$abcdefghijklmnopqrstuuS1X1b9S6f1q6L0vN6Q8yY9H6m3H0y2m", Modified: math.MaxInt64}

// push makes from push payload to to through the handler (as a request,
// so that the handler's answer comes back).
func (h *harness) push(from, to *node, payload []byte) error {
	return h.pushFrom(from.addr, to, payload)
}

func (h *harness) pushFrom(from netip.Addr, to *node, payload []byte) error {
	_, err := h.net.endpoint(from).Request(context.Background(), to.addr, messaging.VerbSchemaPush, payload)
	return err
}

// audited returns n's audit records about peer (as "kind peer host
// reason").
func (n *node) audited(t *testing.T, peer netip.Addr) []string {
	t.Helper()
	var out []string
	for _, r := range n.auditRecords(t) {
		if strings.HasPrefix(r, "refused "+peer.String()+" ") {
			out = append(out, r)
		}
	}
	return out
}

// A member's roles push holding a superuser stamped far in the future is
// refused whole and audited with the sender (its address and host id) and
// what was refused. The bound is the receiver's clock plus the skew: a
// role exactly at it is accepted, one microsecond later refused.
func TestFarFutureRolePushRefusedAndAudited(t *testing.T) {
	h, ns := authTrio(t)
	a, sender := ns[0], ns[2]
	before := a.g.local(gossip.AppAuthVersion)
	err := h.push(sender, a, rolesPush(t, []pushedRole{evilRole}, nil))
	if err == nil || !strings.Contains(err.Error(), "roles push refused") {
		t.Fatalf("far-future role push: %v", err)
	}
	if a.hasRole(t, "evil") || a.g.local(gossip.AppAuthVersion) != before {
		t.Fatal("far-future role merged")
	}
	got := a.audited(t, sender.addr)
	if len(got) != 1 || !strings.Contains(got[0], formatUUID(hostID(3))) || !strings.Contains(got[0], `role "evil" modified at 9223372036854775807`) {
		t.Fatalf("audit of the refusal: %q", got)
	}
	// One-way pushes (as members send them) go through the same check.
	if err := h.net.endpoint(sender.addr).Send(ns[1].addr, messaging.VerbSchemaPush, rolesPush(t, []pushedRole{evilRole}, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "2 to audit the one-way push", func() bool { return len(ns[1].audited(t, sender.addr)) == 1 })
	if ns[1].hasRole(t, "evil") {
		t.Fatal("one-way far-future push merged")
	}
	// The bound is inclusive and measured on the member's clock.
	bound := h.clk.Now().Add(DefaultMetadataClockSkew).UnixMicro()
	if err := h.push(sender, a, rolesPush(t, []pushedRole{{Name: "late", Modified: bound + 1}}, nil)); err == nil || a.hasRole(t, "late") {
		t.Fatalf("role one µs beyond now+skew: %v", err)
	}
	if err := h.push(sender, a, rolesPush(t, []pushedRole{{Name: "edge", Modified: bound}}, nil)); err != nil || !a.hasRole(t, "edge") {
		t.Fatalf("role at now+skew: %v", err)
	}
}

// A far-future tombstone cannot delete a real role, and a far-future
// table tombstone cannot drop a table; the valid records pushed with them
// are not merged either (nothing is partially applied).
func TestFarFutureTombstonesRefused(t *testing.T) {
	h, ns := authTrio(t)
	a, b, sender := ns[0], ns[1], ns[2]
	yes := true
	if _, err := a.roles().CreateRole("app", query.RoleOptions{Login: &yes}, false); err != nil {
		t.Fatal(err)
	}
	err := h.push(sender, a, rolesPush(t, []pushedRole{{Name: "bob", CanLogin: true, Modified: time.Now().UnixMicro()}},
		map[string]int64{"app": math.MaxInt64}))
	if err == nil {
		t.Fatal("far-future tombstone accepted")
	}
	if !a.hasRole(t, "app") || a.hasRole(t, "bob") {
		t.Fatal("refused push partially applied")
	}
	if got := a.audited(t, sender.addr); len(got) != 1 || !strings.Contains(got[0], `role "app" tombstone at 9223372036854775807`) {
		t.Fatalf("audit: %q", got)
	}

	// The schema: a tombstone for ks.t stamped far in the future.
	b.createTable(t, "ks", "t")
	before, gossiped := b.schemaVersion(), b.g.local(gossip.AppSchema)
	data, err := b.sm.Export()
	if err != nil {
		t.Fatal(err)
	}
	var js map[string]any
	if err := json.Unmarshal(data, &js); err != nil {
		t.Fatal(err)
	}
	ks := js["keyspaces"].([]any)[0].(map[string]any)
	ks["dropped_tables"] = map[string]any{"t": int64(math.MaxInt64)}
	ks["tables"] = nil
	forged, _ := json.Marshal(js)
	if err := h.push(sender, b, append([]byte{syncSchema}, forged...)); err == nil {
		t.Fatal("far-future table tombstone accepted")
	}
	if !b.hasTable("ks", "t") || b.schemaVersion() != before || b.g.local(gossip.AppSchema) != gossiped {
		t.Fatal("far-future table tombstone dropped the table")
	}
	if got := b.audited(t, sender.addr); len(got) != 1 || !strings.Contains(got[0], "schema push refused: schema: table ks.t tombstone at 9223372036854775807") {
		t.Fatalf("audit: %q", got)
	}
}

// A member answering a pull with far-future roles is refused and audited
// like a push.
func TestFarFuturePullAnswerRefused(t *testing.T) {
	h, ns := authTrio(t)
	a, sender := ns[0], ns[2]
	h.net.endpoint(sender.addr).Handle(messaging.VerbSchemaPull, func(context.Context, netip.Addr, []byte) ([]byte, error) {
		return rolesPush(t, []pushedRole{evilRole}, nil)[1:], nil
	})
	a.c.pullRoles(sender.addr)
	if a.hasRole(t, "evil") {
		t.Fatal("far-future role merged from a pull")
	}
	if got := a.audited(t, sender.addr); len(got) != 1 || !strings.Contains(got[0], "roles pull refused") {
		t.Fatalf("audit: %q", got)
	}
}

// A CA-signed certificate for an address that never joined is not an
// admitted member: its pushes are refused (even with sound timestamps)
// and audited with its address.
func TestPushFromNonMemberRefused(t *testing.T) {
	h, ns := authTrio(t)
	a := ns[0]
	a.createTable(t, "ks", "t")
	schemaBefore, rolesBefore := a.schemaVersion(), a.g.local(gossip.AppAuthVersion)
	now := time.Now().UnixMicro()
	if err := h.pushFrom(attacker, a, rolesPush(t, []pushedRole{{Name: "evil", CanLogin: true, Superuser: true, Modified: now}},
		map[string]int64{"cassandra": now})); err == nil || !strings.Contains(err.Error(), "not an admitted member") {
		t.Fatalf("roles push from a non-member: %v", err)
	}
	other := ns[1] // its schema has a newer tombstone for ks.t
	other.createTable(t, "ks", "t")
	if _, _, err := other.sm.DropTable("ks", "t", false); err != nil {
		t.Fatal(err)
	}
	forged, _ := other.sm.Export()
	if err := h.pushFrom(attacker, a, append([]byte{syncSchema}, forged...)); err == nil {
		t.Fatal("schema push from a non-member accepted")
	}
	if a.hasRole(t, "evil") || a.g.local(gossip.AppAuthVersion) != rolesBefore || !a.hasTable("ks", "t") || a.schemaVersion() != schemaBefore {
		t.Fatal("non-member push merged")
	}
	got := a.audited(t, attacker)
	if len(got) != 2 || !strings.Contains(got[0], "roles push refused: not an admitted member") ||
		!strings.Contains(got[1], "schema push refused: not an admitted member") {
		t.Fatalf("audit: %q", got)
	}
}

// A pull by a non-member gets nothing: no roles (no password hashes), no
// schema, and an audit record naming it. A member's pull gets the roles
// with their hashes: members authenticate clients themselves.
func TestPullByNonMemberGetsNothing(t *testing.T) {
	h, ns := authTrio(t)
	a, member := ns[0], ns[2]
	a.createTable(t, "ks", "t")
	pw, yes := "app-password", true
	if _, err := a.roles().CreateRole("app", query.RoleOptions{Password: &pw, Login: &yes}, false); err != nil {
		t.Fatal(err)
	}
	for _, payload := range [][]byte{{syncRoles}, nil} {
		data, err := h.net.endpoint(attacker).Request(context.Background(), a.addr, messaging.VerbSchemaPull, payload)
		if err == nil || data != nil || !strings.Contains(err.Error(), "not an admitted member") {
			t.Fatalf("pull %q by a non-member: %q, %v", payload, data, err)
		}
	}
	got := a.audited(t, attacker)
	if len(got) != 2 || !strings.Contains(got[0], "roles pull refused") || !strings.Contains(got[1], "schema pull refused") {
		t.Fatalf("audit: %q", got)
	}
	data, err := h.net.endpoint(member.addr).Request(context.Background(), a.addr, messaging.VerbSchemaPull, []byte{syncRoles})
	if err != nil || !strings.Contains(string(data), `"salted_hash":"$2a$`) {
		t.Fatalf("member's roles pull: %v", err)
	}
	// The schema answer holds no role.
	data, err = h.net.endpoint(member.addr).Request(context.Background(), a.addr, messaging.VerbSchemaPull, nil)
	if err != nil || strings.Contains(string(data), "salted_hash") || strings.Contains(string(data), "app") {
		t.Fatalf("member's schema pull: %s %v", data, err)
	}
}

// Role pushes (which carry password hashes) go to admitted members only:
// an endpoint gossip reports alive but that is not in the ring gets none,
// and a schema version it gossips is not pulled.
func TestPushesAndPullsOnlyWithMembers(t *testing.T) {
	h, ns := authTrio(t)
	a := ns[0]
	var mu sync.Mutex
	var got [][]byte
	h.net.endpoint(attacker).Handle(messaging.VerbSchemaPush, func(_ context.Context, _ netip.Addr, p []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
		return nil, nil
	})
	h.net.endpoint(attacker).Handle(messaging.VerbSchemaPull, func(context.Context, netip.Addr, []byte) ([]byte, error) {
		return rolesPush(t, []pushedRole{{Name: "evil", Superuser: true, Modified: 1}}, nil)[1:], nil
	})
	a.g.put(attacker, endpointState(true, map[gossip.ApplicationState]string{gossip.AppSchema: "other", gossip.AppAuthVersion: "other"}))
	a.c.rebuildRing()
	pw, yes := "app-password", true
	if _, err := a.roles().CreateRole("app", query.RoleOptions{Password: &pw, Login: &yes}, false); err != nil {
		t.Fatal(err)
	}
	a.c.LocalRolesChanged()
	for _, n := range ns[1:] {
		waitFor(t, 10*time.Second, n.addr.String()+" to merge the roles", func() bool { return n.hasRole(t, "app") })
	}
	h.net.close() // waits for deliveries in flight
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 0 {
		t.Fatalf("a non-member was pushed %d times", len(got))
	}
	if n := h.net.pushes.Load(); n != 2 {
		t.Fatalf("%d pushes, want 2 (the members)", n)
	}
	pulls := h.net.requestCount(messaging.VerbSchemaPull)
	a.g.emit(gossip.Event{Kind: gossip.EventAlive, Endpoint: attacker})
	a.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: attacker, Key: gossip.AppAuthVersion, Value: "other"})
	a.g.emit(gossip.Event{Kind: gossip.EventStateChanged, Endpoint: attacker, Key: gossip.AppSchema, Value: "other"})
	a.c.Stop() // waits for the pulls the events started
	if n := h.net.requestCount(messaging.VerbSchemaPull); n != pulls {
		t.Fatalf("%d pulls from a non-member", n-pulls)
	}
	if a.hasRole(t, "evil") {
		t.Fatal("pulled roles from a non-member")
	}
}

// A DROP ROLE stays dropped: replaying a push from before the drop brings
// nothing back, on the node that dropped the role and on the others, even
// for a role a member stamped ahead of the dropping node's clock (within
// the skew). The same for a dropped table.
func TestReplayAfterDropDoesNotResurrect(t *testing.T) {
	h, ns := authTrio(t)
	a, b, sender := ns[0], ns[1], ns[2]
	yes := true
	if _, err := sender.roles().CreateRole("temp", query.RoleOptions{Login: &yes, Superuser: &yes}, false); err != nil {
		t.Fatal(err)
	}
	old, err := sender.roles().Export()
	if err != nil {
		t.Fatal(err)
	}
	oldRoles := append([]byte{syncRoles}, old...)
	// A role stamped 5 minutes ahead of the nodes' clocks.
	ahead := rolesPush(t, []pushedRole{{Name: "ahead", CanLogin: true, Superuser: true, Modified: time.Now().Add(5 * time.Minute).UnixMicro()}}, nil)
	for _, n := range []*node{a, b} {
		if err := h.push(sender, n, oldRoles); err != nil {
			t.Fatal(err)
		}
		if err := h.push(sender, n, ahead); err != nil {
			t.Fatal(err)
		}
		if !n.hasRole(t, "temp") || !n.hasRole(t, "ahead") {
			t.Fatalf("%s did not merge the roles", n.addr)
		}
	}
	for _, r := range []string{"temp", "ahead"} {
		if _, err := a.roles().DropRole(r, false); err != nil {
			t.Fatal(err)
		}
	}
	a.c.LocalRolesChanged()
	waitFor(t, 10*time.Second, "b to drop the roles", func() bool {
		return b.g.local(gossip.AppAuthVersion) == a.g.local(gossip.AppAuthVersion)
	})
	if b.hasRole(t, "temp") || b.hasRole(t, "ahead") {
		t.Fatal("b kept a dropped role")
	}
	versions := []string{a.g.local(gossip.AppAuthVersion), b.g.local(gossip.AppAuthVersion)}
	for i, n := range []*node{a, b} {
		for _, p := range [][]byte{oldRoles, ahead} {
			if err := h.push(sender, n, p); err != nil {
				t.Fatalf("replay: %v", err)
			}
		}
		if n.hasRole(t, "temp") || n.hasRole(t, "ahead") || n.g.local(gossip.AppAuthVersion) != versions[i] {
			t.Fatalf("replayed push resurrected a dropped role on %s", n.addr)
		}
	}

	// A dropped table.
	sender.createTable(t, "ks", "t")
	oldSchema, _ := sender.sm.Export()
	oldPush := append([]byte{syncSchema}, oldSchema...)
	if err := h.push(sender, a, oldPush); err != nil || !a.hasTable("ks", "t") {
		t.Fatalf("a did not learn ks.t: %v", err)
	}
	if _, _, err := a.sm.DropTable("ks", "t", false); err != nil {
		t.Fatal(err)
	}
	a.c.LocalSchemaChanged()
	waitFor(t, 10*time.Second, "b to learn of the drop", func() bool { return b.g.local(gossip.AppSchema) == a.schemaVersion() })
	for _, n := range []*node{a, b} {
		if err := h.push(sender, n, oldPush); err != nil {
			t.Fatal(err)
		}
		if n.hasTable("ks", "t") {
			t.Fatalf("replayed push resurrected a dropped table on %s", n.addr)
		}
	}
}

// Refusals of one peer are audited once per minute of the member's clock
// for each exchange and cause; the next record counts the ones left out.
func TestRefusalAuditIsRateLimited(t *testing.T) {
	h, ns := authTrio(t)
	a := ns[0]
	payload := rolesPush(t, []pushedRole{evilRole}, nil)
	for range 5 {
		if err := h.pushFrom(attacker, a, payload); err == nil {
			t.Fatal("accepted")
		}
	}
	if _, err := h.net.endpoint(attacker).Request(context.Background(), a.addr, messaging.VerbSchemaPull, []byte{syncRoles}); err == nil {
		t.Fatal("pull answered")
	}
	if got := a.audited(t, attacker); len(got) != 2 {
		t.Fatalf("%d records, want one per exchange: %q", len(got), got)
	}
	h.clk.Advance(refusalAuditInterval)
	if err := h.pushFrom(attacker, a, payload); err == nil {
		t.Fatal("accepted")
	}
	got := a.audited(t, attacker)
	if len(got) != 3 || !strings.Contains(got[2], "(and 4 more such refusals of this peer since the previous record)") {
		t.Fatalf("records: %q", got)
	}
	// The limiter's memory is bounded.
	var r refusalAudit
	for i := range maxRefusalKeys + 10 {
		if ok, _ := r.admit(strconv.Itoa(i), t0); !ok {
			t.Fatal("first refusal of a key not recorded")
		}
	}
	if len(r.last) != maxRefusalKeys {
		t.Fatalf("%d keys tracked", len(r.last))
	}
	if ok, _ := r.admit("new", t0.Add(refusalAuditInterval)); !ok || len(r.last) != 1 {
		t.Fatalf("expired keys not pruned: %d", len(r.last))
	}
}

// A node pulls nothing before it is in its own ring (it would be refused
// and audited as a non-member by its peers); once it has announced itself
// it pulls from admitted members.
func TestNoPullBeforeInRing(t *testing.T) {
	h := newHarness(t)
	peer := h.add(2, true, withTokens(tokensOf(2)), withSeeds(addr(1), addr(2)))
	peer.start(t)
	peer.createTable(t, "ks", "t")
	n := h.add(1, true, withTokens(tokensOf(1)), withSeeds(addr(2)), withRoles(newFakeRoles()))
	n.c.pullSchema(peer.addr) // not started: not in its ring
	n.c.pullRoles(peer.addr)
	if got := h.net.requestCount(messaging.VerbSchemaPull); got != 0 {
		t.Fatalf("%d pulls before joining", got)
	}
	n.start(t)
	n.c.pullSchema(peer.addr)
	if !n.hasTable("ks", "t") {
		t.Fatal("no pull once in the ring")
	}
	if got := peer.audited(t, n.addr); len(got) != 0 {
		t.Fatalf("peer audited %q", got)
	}
}
