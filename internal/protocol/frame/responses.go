package frame

import "net/netip"

// Result kinds ([int] at the start of a RESULT body, section 4.2.5).
const (
	ResultVoid         int32 = 0x0001
	ResultRows         int32 = 0x0002
	ResultSetKeyspace  int32 = 0x0003
	ResultPrepared     int32 = 0x0004
	ResultSchemaChange int32 = 0x0005
)

// Schema change types and targets (sections 4.2.5.5 and 4.2.6).
const (
	SchemaCreated = "CREATED"
	SchemaUpdated = "UPDATED"
	SchemaDropped = "DROPPED"

	TargetKeyspace  = "KEYSPACE"
	TargetTable     = "TABLE"
	TargetType      = "TYPE"
	TargetFunction  = "FUNCTION"
	TargetAggregate = "AGGREGATE"
)

// Event types (REGISTER and EVENT) and their change kinds.
const (
	EventTopologyChange = "TOPOLOGY_CHANGE"
	EventStatusChange   = "STATUS_CHANGE"
	EventSchemaChange   = "SCHEMA_CHANGE"

	TopologyNewNode     = "NEW_NODE"
	TopologyRemovedNode = "REMOVED_NODE"
	TopologyMovedNode   = "MOVED_NODE"
	StatusUp            = "UP"
	StatusDown          = "DOWN"
)

// EventStream is the stream id of every EVENT frame.
const EventStream int16 = -1

// Names of STARTUP options and SUPPORTED keys.
const (
	OptionCQLVersion       = "CQL_VERSION"
	OptionCompression      = "COMPRESSION"
	OptionProtocolVersions = "PROTOCOL_VERSIONS"
	OptionDriverName       = "DRIVER_NAME"
	OptionDriverVersion    = "DRIVER_VERSION"
	OptionNoCompact        = "NO_COMPACT"
	OptionThrowOnOverload  = "THROW_ON_OVERLOAD"
)

// SupportedProtocolVersions is the SUPPORTED message's PROTOCOL_VERSIONS
// value, in Cassandra's "<n>/v<n>" format.
var SupportedProtocolVersions = []string{"4/v4"}

// SchemaChange is a schema change, as a RESULT of kind Schema_change or
// inside a SCHEMA_CHANGE event.
type SchemaChange struct {
	// ChangeType is SchemaCreated, SchemaUpdated or SchemaDropped.
	ChangeType string
	// Target is one of the Target* constants.
	Target string
	// Keyspace is the keyspace changed or holding the changed object.
	Keyspace string
	// Name is the table, type, function or aggregate; unused for KEYSPACE.
	Name string
	// ArgTypes are the argument types of a FUNCTION or AGGREGATE, as CQL
	// type strings.
	ArgTypes []string
}

// AppendSchemaChange appends <change_type><target><options>.
func AppendSchemaChange(dst []byte, sc *SchemaChange) []byte {
	dst = AppendString(dst, sc.ChangeType)
	dst = AppendString(dst, sc.Target)
	dst = AppendString(dst, sc.Keyspace)
	switch sc.Target {
	case TargetKeyspace:
	case TargetFunction, TargetAggregate:
		dst = AppendString(dst, sc.Name)
		dst = AppendStringList(dst, sc.ArgTypes)
	default:
		dst = AppendString(dst, sc.Name)
	}
	return dst
}

// AppendAuthenticate appends an AUTHENTICATE body: the authenticator's
// class name, e.g. "org.apache.cassandra.auth.PasswordAuthenticator".
func AppendAuthenticate(dst []byte, className string) []byte { return AppendString(dst, className) }

// AppendAuthChallenge appends an AUTH_CHALLENGE body: a [bytes] token.
func AppendAuthChallenge(dst []byte, token []byte) []byte { return AppendBytes(dst, token) }

// AppendAuthSuccess appends an AUTH_SUCCESS body: a [bytes] token (nil
// writes null).
func AppendAuthSuccess(dst []byte, token []byte) []byte { return AppendBytes(dst, token) }

// AppendSupported appends a SUPPORTED body: a [string multimap] of options,
// e.g. CQL_VERSION, COMPRESSION and PROTOCOL_VERSIONS.
func AppendSupported(dst []byte, options map[string][]string) []byte {
	return AppendStringMultimap(dst, options)
}

// AppendResultVoid appends a RESULT body of kind Void.
func AppendResultVoid(dst []byte) []byte { return AppendInt(dst, ResultVoid) }

// AppendResultSetKeyspace appends a RESULT body of kind Set_keyspace.
func AppendResultSetKeyspace(dst []byte, keyspace string) []byte {
	dst = AppendInt(dst, ResultSetKeyspace)
	return AppendString(dst, keyspace)
}

// AppendResultSchemaChange appends a RESULT body of kind Schema_change.
func AppendResultSchemaChange(dst []byte, sc *SchemaChange) []byte {
	dst = AppendInt(dst, ResultSchemaChange)
	return AppendSchemaChange(dst, sc)
}

// AppendEventTopologyChange appends an EVENT body of type TOPOLOGY_CHANGE
// (change is TopologyNewNode, TopologyRemovedNode or TopologyMovedNode;
// addr is the node's native-protocol address).
func AppendEventTopologyChange(dst []byte, change string, addr netip.AddrPort) []byte {
	dst = AppendString(dst, EventTopologyChange)
	dst = AppendString(dst, change)
	return AppendInet(dst, addr)
}

// AppendEventStatusChange appends an EVENT body of type STATUS_CHANGE
// (change is StatusUp or StatusDown).
func AppendEventStatusChange(dst []byte, change string, addr netip.AddrPort) []byte {
	dst = AppendString(dst, EventStatusChange)
	dst = AppendString(dst, change)
	return AppendInet(dst, addr)
}

// AppendEventSchemaChange appends an EVENT body of type SCHEMA_CHANGE.
func AppendEventSchemaChange(dst []byte, sc *SchemaChange) []byte {
	dst = AppendString(dst, EventSchemaChange)
	return AppendSchemaChange(dst, sc)
}

// AppendReadyFrame appends a complete, uncompressed READY frame (the answer
// to STARTUP, which is never compressed).
func AppendReadyFrame(dst []byte, stream int16) []byte {
	return AppendHeader(dst, Header{Version: VersionResponse, Stream: stream, Opcode: OpReady})
}

// AppendErrorFrame appends a complete, uncompressed ERROR frame.
func AppendErrorFrame(dst []byte, stream int16, e *ErrorResponse) []byte {
	start := len(dst)
	dst = AppendFrameHeader(dst, 0, stream, OpError)
	dst = AppendError(dst, e)
	return FinishFrame(dst, start)
}
