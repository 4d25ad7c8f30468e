package repair

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ringdb/ringdb/internal/ring"
	"github.com/ringdb/ringdb/internal/storage"
)

// MaxWireDepth bounds the depth of a tree asked for with REPAIR_VALIDATE:
// 2^15 leaves, a 1.25 MiB answer, well inside the bulk lane's frame.
const MaxWireDepth = 15

// ValidateVersion is the version byte that starts a validation request.
const ValidateVersion = 1

// Validation request layout (integers big-endian):
//
//	version  1 byte    ValidateVersion
//	table    16 bytes  table id
//	start    8 bytes   range Start (int64)
//	end      8 bytes   range End (int64)
//	depth    1 byte    in [0, MaxWireDepth]
//
// The answer is the tree's encoding (AppendBinary).
const validateRequestLen = 1 + 16 + 8 + 8 + 1

// ErrBadRequest reports a validation request DecodeValidateRequest refuses.
var ErrBadRequest = errors.New("malformed validation request")

// ValidateRequest asks a replica for its Merkle tree of one table over one
// range (Cassandra's ValidationRequest).
type ValidateRequest struct {
	// Table is the table's id.
	Table storage.TableID
	// Range is the token range (Start, End] the tree covers.
	Range ring.Range
	// Depth is the tree's depth, in [0, MaxWireDepth].
	Depth int
}

// AppendBinary appends the request's encoding to dst.
func (r ValidateRequest) AppendBinary(dst []byte) []byte {
	dst = append(dst, ValidateVersion)
	dst = append(dst, r.Table[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Range.Start))
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Range.End))
	return append(dst, byte(r.Depth))
}

// DecodeValidateRequest decodes a request encoded by AppendBinary. It
// checks the version, the exact length and the depth bound; a refused
// encoding gives an error wrapping ErrBadRequest. It never panics.
func DecodeValidateRequest(b []byte) (ValidateRequest, error) {
	if len(b) != validateRequestLen {
		return ValidateRequest{}, badRequest("%d bytes, want exactly %d", len(b), validateRequestLen)
	}
	if b[0] != ValidateVersion {
		return ValidateRequest{}, badRequest("version %d, want %d", b[0], ValidateVersion)
	}
	r := ValidateRequest{
		Table: storage.TableID(b[1:17]),
		Range: ring.Range{
			Start: ring.Token(binary.BigEndian.Uint64(b[17:25])),
			End:   ring.Token(binary.BigEndian.Uint64(b[25:33])),
		},
		Depth: int(b[33]),
	}
	if r.Depth > MaxWireDepth {
		return ValidateRequest{}, badRequest("depth %d exceeds %d", r.Depth, MaxWireDepth)
	}
	return r, nil
}

func badRequest(format string, args ...any) error {
	return fmt.Errorf("repair: decode validation request: %s: %w", fmt.Sprintf(format, args...), ErrBadRequest)
}
