package query

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"

	"github.com/ringdb/ringdb/internal/cqlerr"
	"github.com/ringdb/ringdb/internal/types"
)

// function is a native scalar function.
type function struct {
	name  string
	arity int
	// argType returns the expected type of argument i given the receiver
	// type (nil when the argument's own type decides).
	argType func(i int, want *types.Type) *types.Type
	eval    func(c *evalCtx, args [][]byte, argTypes []*types.Type) ([]byte, *types.Type, error)
}

func fixedArgs(ts ...*types.Type) func(int, *types.Type) *types.Type {
	return func(i int, _ *types.Type) *types.Type {
		if i < len(ts) {
			return ts[i]
		}
		return nil
	}
}

// timeArg accepts timeuuid, timestamp or date; bind markers and literals
// default to the first listed type.
func timeArg(def *types.Type) func(int, *types.Type) *types.Type {
	return func(int, *types.Type) *types.Type { return def }
}

// toTime converts a timeuuid, timestamp or date value to a time.
func toTime(v []byte, t *types.Type) (time.Time, error) {
	switch t.Kind {
	case types.Timeuuid:
		if len(v) != 16 {
			return time.Time{}, cqlerr.Invalidf("Invalid timeuuid")
		}
		return types.TimeUUIDTime(v), nil
	case types.Timestamp:
		return types.DecodeTimestamp(v)
	case types.Date:
		days, err := types.DecodeDate(v)
		if err != nil {
			return time.Time{}, err
		}
		return time.Unix(days*86400, 0).UTC(), nil
	}
	return time.Time{}, cqlerr.Invalidf("Invalid argument type %s: expected timeuuid, timestamp or date", t)
}

var nativeFunctions = map[string]*function{}

func register(f *function) { nativeFunctions[f.name] = f }

func init() {
	register(&function{name: "now", arity: 0, argType: fixedArgs(),
		eval: func(c *evalCtx, _ [][]byte, _ []*types.Type) ([]byte, *types.Type, error) {
			return c.p.timeuuids.Next(c.now), types.TimeuuidType, nil
		}})
	register(&function{name: "currenttimeuuid", arity: 0, argType: fixedArgs(),
		eval: func(c *evalCtx, _ [][]byte, _ []*types.Type) ([]byte, *types.Type, error) {
			return c.p.timeuuids.Next(c.now), types.TimeuuidType, nil
		}})
	register(&function{name: "uuid", arity: 0, argType: fixedArgs(),
		eval: func(*evalCtx, [][]byte, []*types.Type) ([]byte, *types.Type, error) {
			var u [16]byte
			_, _ = rand.Read(u[:])
			u[6] = (u[6] & 0x0f) | 0x40
			u[8] = (u[8] & 0x3f) | 0x80
			return u[:], types.UUIDType, nil
		}})
	register(&function{name: "currenttimestamp", arity: 0, argType: fixedArgs(),
		eval: func(c *evalCtx, _ [][]byte, _ []*types.Type) ([]byte, *types.Type, error) {
			return types.TimestampValue(c.now), types.TimestampType, nil
		}})
	register(&function{name: "currentdate", arity: 0, argType: fixedArgs(),
		eval: func(c *evalCtx, _ [][]byte, _ []*types.Type) ([]byte, *types.Type, error) {
			return types.DateValue(c.now), types.DateType, nil
		}})
	register(&function{name: "currenttime", arity: 0, argType: fixedArgs(),
		eval: func(c *evalCtx, _ [][]byte, _ []*types.Type) ([]byte, *types.Type, error) {
			n := c.now.UTC()
			nanos := int64(n.Hour())*3600e9 + int64(n.Minute())*60e9 + int64(n.Second())*1e9 + int64(n.Nanosecond())
			return types.TimeValue(nanos), types.TimeType, nil
		}})
	conv := func(name string, def *types.Type, out *types.Type, f func(time.Time) []byte) {
		register(&function{name: name, arity: 1, argType: timeArg(def),
			eval: func(_ *evalCtx, args [][]byte, at []*types.Type) ([]byte, *types.Type, error) {
				if args[0] == nil {
					return nil, out, nil
				}
				tm, err := toTime(args[0], at[0])
				if err != nil {
					return nil, nil, err
				}
				return f(tm), out, nil
			}})
	}
	conv("totimestamp", types.TimeuuidType, types.TimestampType, types.TimestampValue)
	conv("dateof", types.TimeuuidType, types.TimestampType, types.TimestampValue)
	conv("todate", types.TimeuuidType, types.DateType, types.DateValue)
	conv("tounixtimestamp", types.TimeuuidType, types.BigintType, func(t time.Time) []byte { return types.BigintValue(t.UnixMilli()) })
	conv("unixtimestampof", types.TimeuuidType, types.BigintType, func(t time.Time) []byte { return types.BigintValue(t.UnixMilli()) })
	conv("mintimeuuid", types.TimestampType, types.TimeuuidType, func(t time.Time) []byte { return boundTimeUUID(t, false) })
	conv("maxtimeuuid", types.TimestampType, types.TimeuuidType, func(t time.Time) []byte { return boundTimeUUID(t, true) })
	for _, k := range []types.Kind{types.Ascii, types.Bigint, types.Boolean, types.Decimal, types.Double, types.Float,
		types.Inet, types.Int, types.Varchar, types.Timestamp, types.UUID, types.Varint, types.Timeuuid, types.Date,
		types.Time, types.Smallint, types.Tinyint, types.Duration} {
		nt := types.Native(k)
		names := []string{nt.String()}
		if k == types.Varchar {
			names = append(names, "varchar")
		}
		for _, n := range names {
			register(&function{name: "blobas" + n, arity: 1, argType: fixedArgs(types.BlobType),
				eval: func(_ *evalCtx, args [][]byte, _ []*types.Type) ([]byte, *types.Type, error) {
					if args[0] != nil {
						if err := types.Validate(nt, args[0]); err != nil {
							return nil, nil, &cqlerr.Error{Code: cqlerr.FunctionFailure, Message: "execution of 'system.blobas" + n + "[blob]' failed: " + err.Error()}
						}
					}
					return args[0], nt, nil
				}})
			register(&function{name: n + "asblob", arity: 1, argType: fixedArgs(nt),
				eval: func(_ *evalCtx, args [][]byte, _ []*types.Type) ([]byte, *types.Type, error) {
					return args[0], types.BlobType, nil
				}})
		}
	}
}

// boundTimeUUID returns the smallest (or largest) timeuuid for a
// millisecond, as minTimeuuid/maxTimeuuid do.
func boundTimeUUID(t time.Time, max bool) []byte {
	const gregorianOffset = 0x01B21DD213814000
	ticks := uint64(t.UnixMilli())*10000 + gregorianOffset
	if max {
		ticks += 9999
	}
	u := make([]byte, 16)
	binary.BigEndian.PutUint32(u[0:], uint32(ticks))
	binary.BigEndian.PutUint16(u[4:], uint16(ticks>>32))
	binary.BigEndian.PutUint16(u[6:], uint16(ticks>>48)&0x0fff|0x1000)
	if max {
		u[8] = 0xbf
		for i := 9; i < 16; i++ {
			u[i] = 0x7f
		}
	} else {
		u[8] = 0x80
		for i := 9; i < 16; i++ {
			u[i] = 0x80
		}
	}
	return u
}

// lookupFunction finds a native function by (case-insensitive) name; the
// "system." prefix is optional.
func lookupFunction(name string, arity int) (*function, bool) {
	name = strings.TrimPrefix(strings.ToLower(name), "system.")
	f, ok := nativeFunctions[name]
	if !ok || f.arity != arity {
		return nil, false
	}
	return f, true
}
