package auth

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/query"
)

// Permissions (CassandraAuthorizer's system_auth.role_permissions) persist
// next to the roles, one record per (role, resource):
//
//	auth/perm/<quoted role><resource>  → permRecord (JSON)
//	auth/ptomb/<resource>              → µs when every permission on the
//	                                     resource and its children was
//	                                     removed (DROP KEYSPACE/TABLE/ROLE)
//
// A REVOKE keeps the record with fewer (maybe no) permissions and a newer
// stamp, so it wins the merge over the grant it undoes. Resources are
// Cassandra's resource names ("data", "data/ks", "data/ks/t", "roles",
// "roles/r"); a resource tombstone covers the resource and every name below
// it ("data/ks" covers "data/ks/t").
const (
	permPrefix  = "auth/perm/"
	ptombPrefix = "auth/ptomb/"
)

// permRecord is the permissions one role holds directly on one resource.
type permRecord struct {
	Role        string   `json:"role"`
	Resource    string   `json:"resource"`
	Permissions []string `json:"permissions"`
	// Modified is when the record last changed (µs): on a merge between
	// nodes the newer record wins.
	Modified int64 `json:"modified"`
}

func permKey(role, resource string) string {
	return permPrefix + strconv.Quote(role) + resource
}

// coveredBy reports whether a tombstone on tomb covers resource. A role
// resource covers only itself: role names may hold a '/'.
func coveredBy(resource, tomb string) bool {
	if resource == tomb {
		return true
	}
	return !strings.HasPrefix(tomb, "roles") && strings.HasPrefix(resource, tomb+"/")
}

func (m *Manager) getPerm(role, resource string) (permRecord, bool, error) {
	v, ok, err := m.store.GetMeta(permKey(role, resource))
	if err != nil || !ok {
		return permRecord{}, false, err
	}
	var r permRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return permRecord{}, false, fmt.Errorf("auth: corrupt permissions of %q on %s: %w", role, resource, err)
	}
	return r, true, nil
}

func (m *Manager) putPerm(r permRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("auth: encode permissions: %w", err)
	}
	return m.store.SetMeta(permKey(r.Role, r.Resource), v)
}

// listPerms returns every permission record (tombstoned ones included)
// in key order.
func (m *Manager) listPerms() ([]permRecord, error) {
	var out []permRecord
	var derr error
	err := m.store.ListMeta(permPrefix, func(k string, v []byte) bool {
		var r permRecord
		if derr = json.Unmarshal(v, &r); derr != nil {
			derr = fmt.Errorf("auth: corrupt permission record %q: %w", k, derr)
			return false
		}
		out = append(out, r)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("auth: list permissions: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		return permKey(out[i].Role, out[i].Resource) < permKey(out[j].Role, out[j].Resource)
	})
	return out, nil
}

// listPermTombs returns every resource tombstone.
func (m *Manager) listPermTombs() (map[string]int64, error) {
	out := map[string]int64{}
	err := m.store.ListMeta(ptombPrefix, func(k string, v []byte) bool {
		var ts int64
		if json.Unmarshal(v, &ts) == nil {
			out[strings.TrimPrefix(k, ptombPrefix)] = ts
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("auth: list permission tombstones: %w", err)
	}
	return out, nil
}

// floor is the stamp a new record for (role, resource) must exceed: the
// role's tombstone and every resource tombstone covering the resource.
func (m *Manager) floor(role, resource string) (int64, error) {
	ts, err := m.tomb(role)
	if err != nil {
		return 0, err
	}
	tombs, err := m.listPermTombs()
	if err != nil {
		return 0, err
	}
	for r, t := range tombs {
		if coveredBy(resource, r) {
			ts = max(ts, t)
		}
	}
	return ts, nil
}

// GrantPermissions adds perms to what role holds directly on resource.
func (m *Manager) GrantPermissions(role, resource string, perms []string) error {
	_, err := m.mutate(func() (bool, error) { return m.changePerms(role, resource, perms, true) })
	return err
}

// RevokePermissions removes perms from what role holds directly on
// resource; permissions it does not hold are ignored.
func (m *Manager) RevokePermissions(role, resource string, perms []string) error {
	_, err := m.mutate(func() (bool, error) { return m.changePerms(role, resource, perms, false) })
	return err
}

// changePerms grants or revokes perms; it reports whether the record changed.
func (m *Manager) changePerms(role, resource string, perms []string, grant bool) (bool, error) {
	if _, ok, err := m.get(role); err != nil {
		return false, err
	} else if !ok {
		return false, cqlerr.Invalidf("Role %s doesn't exist", role)
	}
	rec, ok, err := m.getPerm(role, resource)
	if err != nil {
		return false, err
	}
	if !ok && !grant {
		return false, nil
	}
	next := applyPerms(rec.Permissions, perms, grant)
	if ok && slices.Equal(next, rec.Permissions) {
		return false, nil
	}
	floor, err := m.floor(role, resource)
	if err != nil {
		return false, err
	}
	rec = permRecord{Role: role, Resource: resource, Permissions: next,
		Modified: after(m.now().UnixMicro(), max(rec.Modified, floor))}
	return true, m.putPerm(rec)
}

// applyPerms returns cur with perms added (grant) or removed, sorted.
func applyPerms(cur, perms []string, grant bool) []string {
	set := map[string]bool{}
	for _, p := range cur {
		set[p] = true
	}
	for _, p := range perms {
		set[p] = grant
	}
	out := []string{}
	for p, in := range set {
		if in {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// RevokeAllOn removes every role's permissions on resource and on every
// resource below it (a dropped keyspace, table or role), leaving a
// tombstone so no older grant merged from a peer brings them back.
func (m *Manager) RevokeAllOn(resource string) error {
	_, err := m.mutate(func() (bool, error) { return m.revokeAllOn(resource) })
	return err
}

func (m *Manager) revokeAllOn(resource string) (bool, error) {
	recs, err := m.listPerms()
	if err != nil {
		return false, err
	}
	prev, err := m.floor("", resource)
	if err != nil {
		return false, err
	}
	var covered []permRecord
	for _, r := range recs {
		if coveredBy(r.Resource, resource) {
			covered = append(covered, r)
			prev = max(prev, r.Modified)
		}
	}
	// The tombstone is written even when nothing is covered here: a grant
	// on the resource may still be travelling from a peer.
	if err := m.setPermTomb(resource, after(m.now().UnixMicro(), prev)); err != nil {
		return false, err
	}
	for _, r := range covered {
		if err := m.store.DeleteMeta(permKey(r.Role, r.Resource)); err != nil {
			return true, fmt.Errorf("auth: delete permissions of %q on %s: %w", r.Role, r.Resource, err)
		}
	}
	return true, nil
}

func (m *Manager) setPermTomb(resource string, ts int64) error {
	b, _ := json.Marshal(ts)
	if err := m.store.SetMeta(ptombPrefix+resource, b); err != nil {
		return fmt.Errorf("auth: tombstone permissions on %s: %w", resource, err)
	}
	return nil
}

// dropRolePerms deletes every permission granted to role and returns the
// newest stamp among them (0 if none), which the role's tombstone must
// exceed. Permissions on the role itself ("roles/<role>") are removed by
// RevokeAllOn.
func (m *Manager) dropRolePerms(role string) (int64, error) {
	recs, err := m.listPerms()
	if err != nil {
		return 0, err
	}
	newest := int64(0)
	for _, r := range recs {
		if r.Role != role {
			continue
		}
		newest = max(newest, r.Modified)
		if err := m.store.DeleteMeta(permKey(r.Role, r.Resource)); err != nil {
			return newest, fmt.Errorf("auth: delete permissions of %q: %w", role, err)
		}
	}
	return newest, nil
}

// ListPermissions returns every role's direct permissions, sorted by role
// then resource; records left empty by REVOKE are omitted.
func (m *Manager) ListPermissions() ([]query.PermissionGrant, error) {
	recs, err := m.listPerms()
	if err != nil {
		return nil, err
	}
	out := make([]query.PermissionGrant, 0, len(recs))
	for _, r := range recs {
		if len(r.Permissions) > 0 {
			out = append(out, query.PermissionGrant{Role: r.Role, Resource: r.Resource, Permissions: r.Permissions})
		}
	}
	return out, nil
}

// Generation counts the changes to roles and permissions this Manager has
// seen, local or merged from a peer: a cache of resolved permissions built
// at generation g is valid while Generation() == g.
func (m *Manager) Generation() uint64 { return m.gen.Load() }

// mergePerms folds a peer's permission records and resource tombstones
// into ours (newest record wins, ties by content), then deletes every
// local record a role or resource tombstone covers. roleTombs are the role
// tombstones after the roles merge. It reports whether anything changed.
func (m *Manager) mergePerms(in exported, roleTombs map[string]int64) (bool, error) {
	tombs, err := m.listPermTombs()
	if err != nil {
		return false, err
	}
	changed := false
	for r, ts := range in.PermTombs {
		if ts > tombs[r] {
			if err := m.setPermTomb(r, ts); err != nil {
				return changed, err
			}
			tombs[r] = ts
			changed = true
		}
	}
	buried := func(r permRecord) bool {
		if roleTombs[r.Role] >= r.Modified {
			return true
		}
		for t, ts := range tombs {
			if ts >= r.Modified && coveredBy(r.Resource, t) {
				return true
			}
		}
		return false
	}
	for _, r := range in.Perms {
		if r.Role == "" || r.Resource == "" || buried(r) {
			continue
		}
		c, err := m.mergePerm(r)
		if err != nil {
			return changed, err
		}
		changed = changed || c
	}
	local, err := m.listPerms()
	if err != nil {
		return changed, err
	}
	for _, r := range local {
		if buried(r) {
			if err := m.store.DeleteMeta(permKey(r.Role, r.Resource)); err != nil {
				return changed, fmt.Errorf("auth: delete permissions of %q on %s: %w", r.Role, r.Resource, err)
			}
			changed = true
		}
	}
	return changed, nil
}

// mergePerm stores a peer's record if it is newer than ours (ties by
// content, as for roles).
func (m *Manager) mergePerm(r permRecord) (bool, error) {
	cur, ok, err := m.getPerm(r.Role, r.Resource)
	if err != nil {
		return false, err
	}
	r.Permissions = applyPerms(nil, r.Permissions, true)
	if ok {
		if cur.Modified > r.Modified {
			return false, nil
		}
		if cur.Modified == r.Modified {
			a, _ := json.Marshal(cur)
			b, _ := json.Marshal(r)
			if string(a) >= string(b) {
				return false, nil
			}
		}
	}
	return true, m.putPerm(r)
}
