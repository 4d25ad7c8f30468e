package frame

import "strconv"

// ErrorCode is the [int] code of an ERROR message (section 9 of the spec).
type ErrorCode int32

// Error codes.
const (
	CodeServerError     ErrorCode = 0x0000
	CodeProtocolError   ErrorCode = 0x000A
	CodeBadCredentials  ErrorCode = 0x0100
	CodeUnavailable     ErrorCode = 0x1000
	CodeOverloaded      ErrorCode = 0x1001
	CodeIsBootstrapping ErrorCode = 0x1002
	CodeTruncateError   ErrorCode = 0x1003
	CodeWriteTimeout    ErrorCode = 0x1100
	CodeReadTimeout     ErrorCode = 0x1200
	CodeReadFailure     ErrorCode = 0x1300
	CodeFunctionFailure ErrorCode = 0x1400
	CodeWriteFailure    ErrorCode = 0x1500
	CodeSyntaxError     ErrorCode = 0x2000
	CodeUnauthorized    ErrorCode = 0x2100
	CodeInvalid         ErrorCode = 0x2200
	CodeConfigError     ErrorCode = 0x2300
	CodeAlreadyExists   ErrorCode = 0x2400
	CodeUnprepared      ErrorCode = 0x2500
)

// String returns the code's name as the spec writes it, e.g.
// "Write_timeout", or the hex value for an unknown code.
func (c ErrorCode) String() string {
	switch c {
	case CodeServerError:
		return "Server_error"
	case CodeProtocolError:
		return "Protocol_error"
	case CodeBadCredentials:
		return "Bad_credentials"
	case CodeUnavailable:
		return "Unavailable"
	case CodeOverloaded:
		return "Overloaded"
	case CodeIsBootstrapping:
		return "Is_bootstrapping"
	case CodeTruncateError:
		return "Truncate_error"
	case CodeWriteTimeout:
		return "Write_timeout"
	case CodeReadTimeout:
		return "Read_timeout"
	case CodeReadFailure:
		return "Read_failure"
	case CodeFunctionFailure:
		return "Function_failure"
	case CodeWriteFailure:
		return "Write_failure"
	case CodeSyntaxError:
		return "Syntax_error"
	case CodeUnauthorized:
		return "Unauthorized"
	case CodeInvalid:
		return "Invalid"
	case CodeConfigError:
		return "Config_error"
	case CodeAlreadyExists:
		return "Already_exists"
	case CodeUnprepared:
		return "Unprepared"
	}
	return "0x" + strconv.FormatInt(int64(c), 16)
}

// Write types of Write_timeout and Write_failure errors.
const (
	WriteTypeSimple        = "SIMPLE"
	WriteTypeBatch         = "BATCH"
	WriteTypeUnloggedBatch = "UNLOGGED_BATCH"
	WriteTypeCounter       = "COUNTER"
	WriteTypeBatchLog      = "BATCH_LOG"
	WriteTypeCAS           = "CAS"
	WriteTypeView          = "VIEW"
	WriteTypeCDC           = "CDC"
)

// ErrorResponse is the body of an ERROR message. Code and Message are always
// written; the other fields are written only for the codes that carry them:
//
//	Unavailable       Consistency, Required, Alive
//	Write_timeout     Consistency, Received, BlockFor, WriteType
//	Read_timeout      Consistency, Received, BlockFor, DataPresent
//	Read_failure      Consistency, Received, BlockFor, NumFailures, DataPresent
//	Write_failure     Consistency, Received, BlockFor, NumFailures, WriteType
//	Function_failure  Keyspace, Function, ArgTypes
//	Already_exists    Keyspace, Table ("" for a keyspace)
//	Unprepared        UnpreparedID
type ErrorResponse struct {
	Code        ErrorCode
	Message     string
	Consistency Consistency
	// Required is the number of replicas the consistency level needs.
	Required int32
	// Alive is the number of replicas known alive.
	Alive int32
	// Received is the number of replicas that answered.
	Received int32
	// BlockFor is the number of answers the coordinator waited for.
	BlockFor int32
	// NumFailures is the number of replicas that failed (v4 layout, no
	// reason map).
	NumFailures int32
	// WriteType is one of the WriteType* constants.
	WriteType string
	// DataPresent reports whether the replica asked for data answered.
	DataPresent bool
	Keyspace    string
	Table       string
	Function    string
	ArgTypes    []string
	// UnpreparedID is the unknown prepared id.
	UnpreparedID []byte
}

// AppendError appends an ERROR message body.
func AppendError(dst []byte, e *ErrorResponse) []byte {
	dst = AppendInt(dst, int32(e.Code))
	dst = AppendString(dst, e.Message)
	switch e.Code {
	case CodeUnavailable:
		dst = AppendConsistency(dst, e.Consistency)
		dst = AppendInt(dst, e.Required)
		dst = AppendInt(dst, e.Alive)
	case CodeWriteTimeout:
		dst = AppendConsistency(dst, e.Consistency)
		dst = AppendInt(dst, e.Received)
		dst = AppendInt(dst, e.BlockFor)
		dst = AppendString(dst, e.WriteType)
	case CodeReadTimeout:
		dst = AppendConsistency(dst, e.Consistency)
		dst = AppendInt(dst, e.Received)
		dst = AppendInt(dst, e.BlockFor)
		dst = append(dst, boolByte(e.DataPresent))
	case CodeReadFailure:
		dst = AppendConsistency(dst, e.Consistency)
		dst = AppendInt(dst, e.Received)
		dst = AppendInt(dst, e.BlockFor)
		dst = AppendInt(dst, e.NumFailures)
		dst = append(dst, boolByte(e.DataPresent))
	case CodeWriteFailure:
		dst = AppendConsistency(dst, e.Consistency)
		dst = AppendInt(dst, e.Received)
		dst = AppendInt(dst, e.BlockFor)
		dst = AppendInt(dst, e.NumFailures)
		dst = AppendString(dst, e.WriteType)
	case CodeFunctionFailure:
		dst = AppendString(dst, e.Keyspace)
		dst = AppendString(dst, e.Function)
		dst = AppendStringList(dst, e.ArgTypes)
	case CodeAlreadyExists:
		dst = AppendString(dst, e.Keyspace)
		dst = AppendString(dst, e.Table)
	case CodeUnprepared:
		dst = AppendShortBytes(dst, e.UnpreparedID)
	}
	return dst
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
