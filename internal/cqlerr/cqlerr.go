// Package cqlerr is the one place where ringdb's failures become CQL native
// protocol errors: every error a client can see is an *Error carrying the
// protocol error code, the message and the code-specific fields.
//
// Layers below the protocol (query processing, schema, auth) return these
// errors; the protocol layer encodes them. An error that is not an *Error is
// reported to the client as a server error (0x0000).
package cqlerr

import (
	"errors"
	"fmt"
)

// Code is a native protocol error code.
type Code int32

// Error codes of the native protocol v4 (section 9 of the specification).
const (
	ServerError     Code = 0x0000
	ProtocolError   Code = 0x000A
	BadCredentials  Code = 0x0100
	Unavailable     Code = 0x1000
	Overloaded      Code = 0x1001
	IsBootstrapping Code = 0x1002
	TruncateError   Code = 0x1003
	WriteTimeout    Code = 0x1100
	ReadTimeout     Code = 0x1200
	ReadFailure     Code = 0x1300
	FunctionFailure Code = 0x1400
	WriteFailure    Code = 0x1500
	SyntaxError     Code = 0x2000
	Unauthorized    Code = 0x2100
	Invalid         Code = 0x2200
	ConfigError     Code = 0x2300
	AlreadyExists   Code = 0x2400
	Unprepared      Code = 0x2500
)

// Error is a failure reported to a CQL client.
type Error struct {
	Code    Code
	Message string

	// AlreadyExists: the keyspace and table ("" for a keyspace).
	Keyspace, Table string
	// Unprepared: the unknown statement id.
	ID []byte
	// Unavailable, timeouts and failures: consistency level (protocol
	// value), required/blockFor, alive/received.
	Consistency uint16
	Required    int32
	Alive       int32
	// WriteType for write timeouts/failures (SIMPLE, BATCH, ...).
	WriteType string
	// DataPresent for read timeouts/failures.
	DataPresent bool
	// NumFailures for read/write failures.
	NumFailures int32
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// New returns an error with the given code and formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an Invalid (0x2200) error: the request is valid CQL but
// cannot be executed (unknown table, wrong type, bad restriction, ...).
func Invalidf(format string, args ...any) *Error { return New(Invalid, format, args...) }

// Syntaxf returns a SyntaxError (0x2000).
func Syntaxf(format string, args ...any) *Error { return New(SyntaxError, format, args...) }

// Unauthorizedf returns an Unauthorized (0x2100) error.
func Unauthorizedf(format string, args ...any) *Error { return New(Unauthorized, format, args...) }

// Protocolf returns a ProtocolError (0x000A).
func Protocolf(format string, args ...any) *Error { return New(ProtocolError, format, args...) }

// Serverf returns a ServerError (0x0000).
func Serverf(format string, args ...any) *Error { return New(ServerError, format, args...) }

// ConfigErrorf returns a ConfigError (0x2300).
func ConfigErrorf(format string, args ...any) *Error { return New(ConfigError, format, args...) }

// KeyspaceExists is the AlreadyExists error for a keyspace, worded as
// Cassandra words it.
func KeyspaceExists(ks string) *Error {
	return &Error{Code: AlreadyExists, Message: fmt.Sprintf("Keyspace %s already exists", ks), Keyspace: ks}
}

// TableExists is the AlreadyExists error for a table.
func TableExists(ks, table string) *Error {
	return &Error{Code: AlreadyExists, Message: fmt.Sprintf("Object %s.%s already exists", ks, table), Keyspace: ks, Table: table}
}

// UnpreparedID is the Unprepared error for an unknown prepared statement id.
func UnpreparedID(id []byte) *Error {
	return &Error{Code: Unprepared, Message: fmt.Sprintf("Prepared query with ID %x not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)", id), ID: append([]byte(nil), id...)}
}

// From returns err as an *Error; errors of other types become ServerError
// with the error's text.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: ServerError, Message: err.Error()}
}
