package gossip

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// ApplicationState names one piece of per-endpoint state that gossip
// propagates, as Cassandra's ApplicationState enum does.
type ApplicationState uint8

// Application states. The numeric values are part of the wire format: never
// renumber, only append.
const (
	// AppStatus is the lifecycle status ("NORMAL,<token>", "shutdown,true", ...).
	AppStatus ApplicationState = iota
	// AppTokens is the node's tokens (see FormatTokens).
	AppTokens
	// AppSchema is the node's schema version (a UUID string).
	AppSchema
	// AppDC is the node's data center name.
	AppDC
	// AppRack is the node's rack name.
	AppRack
	// AppHostID is the node's host id (a UUID string).
	AppHostID
	// AppNativeAddressAndPort is the CQL native address, "ip:port".
	AppNativeAddressAndPort
	// AppReleaseVersion is the Cassandra release version the node reports.
	AppReleaseVersion
	// AppLoad is the node's on-disk load in bytes, as a decimal string.
	AppLoad
	// AppNetVersion is the internode protocol version.
	AppNetVersion
	// AppInternalAddressAndPort is the internode address, "ip:port".
	AppInternalAddressAndPort
	// AppAuthVersion is ringdb's: the version (a hash) of the node's roles,
	// so that peers pull roles they lack (roles are cluster-wide).
	AppAuthVersion
	// AppCert is ringdb's: the node's certificate (DER), whose key signs
	// every value the node gossips about itself (Config.Signer,
	// Config.Verifier).
	AppCert
	// AppRemovals is ringdb's: the removals this node coordinates
	// (nodetool removenode), ";"-separated "removing,<host id>" and
	// "removed,<host id>,<expire ms>" entries. A node cannot sign a dead
	// node's state, so it announces the removal on its own.
	AppRemovals

	numKnownAppStates
)

// maxAppStateKey is the largest ApplicationState accepted from the wire;
// unknown keys up to it (from newer nodes) are kept and propagated.
const maxAppStateKey = 63

var appStateNames = [...]string{
	AppStatus:                 "STATUS",
	AppTokens:                 "TOKENS",
	AppSchema:                 "SCHEMA",
	AppDC:                     "DC",
	AppRack:                   "RACK",
	AppHostID:                 "HOST_ID",
	AppNativeAddressAndPort:   "NATIVE_ADDRESS_AND_PORT",
	AppReleaseVersion:         "RELEASE_VERSION",
	AppLoad:                   "LOAD",
	AppNetVersion:             "NET_VERSION",
	AppInternalAddressAndPort: "INTERNAL_ADDRESS_AND_PORT",
	AppAuthVersion:            "AUTH_VERSION",
	AppCert:                   "CERT",
	AppRemovals:               "REMOVALS",
}

// String returns Cassandra's name for the state, e.g. "STATUS".
func (k ApplicationState) String() string {
	if k < numKnownAppStates {
		return appStateNames[k]
	}
	return "APPLICATION_STATE_" + strconv.Itoa(int(k))
}

// HeartBeatState is an endpoint's heartbeat: Generation is fixed for the life
// of a process (seconds since the epoch at start, as Cassandra's), Version
// increases every gossip round. Sig is the endpoint's own signature of
// (endpoint, Generation, Version) (HeartBeatPayload); it travels with the
// heartbeat so that relayed heartbeats can be verified.
type HeartBeatState struct {
	Generation int32
	Version    int32
	Sig        []byte
}

// VersionedValue is an application state value and the version it was set at.
// Versions come from the owning node's single counter shared with its
// heartbeat. Sig is the owning endpoint's signature of (endpoint,
// generation, key, Version, Value) (StatePayload).
type VersionedValue struct {
	Value   string
	Version int32
	Sig     []byte
}

// EndpointState is everything known about one endpoint.
// HeartBeat and States are gossiped; Alive and UpdateTimestamp are the local
// node's view and never travel.
type EndpointState struct {
	HeartBeat HeartBeatState
	States    map[ApplicationState]VersionedValue
	// Alive reports whether the local node considers the endpoint up
	// (confirmed by echo and not convicted since).
	Alive bool
	// UpdateTimestamp is when the local node last applied news of it.
	UpdateTimestamp time.Time
}

// MaxVersion returns the largest version in the state: the heartbeat's or
// any application state's (Cassandra's getMaxEndpointStateVersion).
func (s *EndpointState) MaxVersion() int32 {
	v := s.HeartBeat.Version
	for _, vv := range s.States {
		v = max(v, vv.Version)
	}
	return v
}

// Get returns the value of application state k.
func (s *EndpointState) Get(k ApplicationState) (string, bool) {
	vv, ok := s.States[k]
	return vv.Value, ok
}

// Status parses the STATUS application state; ok is false when it is absent.
func (s *EndpointState) Status() (st Status, ok bool) {
	v, ok := s.Get(AppStatus)
	if !ok {
		return Status{}, false
	}
	st, err := ParseStatus(v)
	return st, err == nil
}

// Clone returns a deep copy.
func (s EndpointState) Clone() EndpointState {
	s.States = maps.Clone(s.States)
	return s
}

// stateBytes is the size charged against Config.MaxStateBytes: the value
// lengths plus 8 bytes per state (signatures are bounded by the wire format,
// MaxWireSigBytes, and not charged).
func stateBytes(m map[ApplicationState]VersionedValue) int {
	n := 0
	for _, vv := range m {
		n += len(vv.Value) + 8
	}
	return n
}

// sortedKeys returns m's keys in ascending order, STATUS last, so consumers
// see TOKENS before the STATUS that refers to them.
func sortedKeys(m map[ApplicationState]VersionedValue) []ApplicationState {
	ks := slices.Sorted(maps.Keys(m))
	if len(ks) > 0 && ks[0] == AppStatus {
		ks = append(ks[1:], AppStatus)
	}
	return ks
}

// GossipDigest summarises one endpoint's state: its generation and the
// largest version known (Cassandra's GossipDigest).
type GossipDigest struct {
	Endpoint   netip.Addr
	Generation int32
	MaxVersion int32
}
