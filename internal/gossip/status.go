package gossip

import (
	"errors"
	"strconv"
	"strings"
)

// Status kinds, spelled as Cassandra gossips them in the STATUS state.
const (
	StatusBoot = "BOOT"
	// StatusBootReplace is a node bootstrapping in place of a dead one
	// (replace_address): "BOOT_REPLACE,<address of the replaced node>".
	StatusBootReplace = "BOOT_REPLACE"
	StatusNormal      = "NORMAL"
	StatusLeaving     = "LEAVING"
	StatusLeft        = "LEFT"
	StatusShutdown    = "shutdown"
	StatusRemoving    = "removing"
	StatusRemoved     = "removed"
	StatusHibernate   = "hibernate"
)

// Status is a parsed STATUS value.
type Status struct {
	// Kind is one of the Status* constants (or an unknown word, kept as is).
	Kind string
	// Token is the first token, for BOOT, NORMAL, LEAVING and LEFT.
	Token int64
	// HostID is the host being removed, for removing and removed.
	HostID string
	// Replaces is the address of the node being replaced, for BOOT_REPLACE.
	Replaces string
	// ExpireTime is, for LEFT and removed, when peers may forget the
	// endpoint, in milliseconds since the epoch.
	ExpireTime int64
}

// BootReplaceStatus returns "BOOT_REPLACE,<address>".
func BootReplaceStatus(replaced string) string { return StatusBootReplace + "," + replaced }

// BootStatus returns "BOOT,<token>".
func BootStatus(token int64) string { return StatusBoot + "," + strconv.FormatInt(token, 10) }

// NormalStatus returns "NORMAL,<token>".
func NormalStatus(token int64) string { return StatusNormal + "," + strconv.FormatInt(token, 10) }

// LeavingStatus returns "LEAVING,<token>".
func LeavingStatus(token int64) string { return StatusLeaving + "," + strconv.FormatInt(token, 10) }

// LeftStatus returns "LEFT,<token>,<expireTimeMillis>".
func LeftStatus(token int64, expireMillis int64) string {
	return StatusLeft + "," + strconv.FormatInt(token, 10) + "," + strconv.FormatInt(expireMillis, 10)
}

// ShutdownStatus returns "shutdown,true", the STATUS a node announces when
// it shuts down cleanly.
func ShutdownStatus() string { return StatusShutdown + ",true" }

// RemovingStatus returns "removing,<hostID>".
func RemovingStatus(hostID string) string { return StatusRemoving + "," + hostID }

// RemovedStatus returns "removed,<hostID>,<expireTimeMillis>".
func RemovedStatus(hostID string, expireMillis int64) string {
	return StatusRemoved + "," + hostID + "," + strconv.FormatInt(expireMillis, 10)
}

// ErrBadStatus reports a STATUS value that does not parse.
var ErrBadStatus = errors.New("gossip: malformed STATUS value")

// ParseStatus parses a STATUS value built by the *Status helpers (or by
// Cassandra). Unknown kinds are returned with only Kind set.
func ParseStatus(v string) (Status, error) {
	parts := strings.Split(v, ",")
	st := Status{Kind: parts[0]}
	if st.Kind == "" {
		return Status{}, ErrBadStatus
	}
	var err error
	switch st.Kind {
	case StatusBoot, StatusNormal, StatusLeaving:
		if len(parts) < 2 {
			return Status{}, ErrBadStatus
		}
		st.Token, err = strconv.ParseInt(parts[1], 10, 64)
	case StatusLeft:
		if len(parts) < 3 {
			return Status{}, ErrBadStatus
		}
		if st.Token, err = strconv.ParseInt(parts[1], 10, 64); err == nil {
			st.ExpireTime, err = strconv.ParseInt(parts[2], 10, 64)
		}
	case StatusBootReplace:
		if len(parts) < 2 || parts[1] == "" {
			return Status{}, ErrBadStatus
		}
		st.Replaces = parts[1]
	case StatusRemoving:
		if len(parts) < 2 {
			return Status{}, ErrBadStatus
		}
		st.HostID = parts[1]
	case StatusRemoved:
		if len(parts) < 3 {
			return Status{}, ErrBadStatus
		}
		st.HostID = parts[1]
		st.ExpireTime, err = strconv.ParseInt(parts[2], 10, 64)
	}
	if err != nil {
		return Status{}, ErrBadStatus
	}
	return st, nil
}

// isDeadState reports Cassandra's DEAD_STATES: endpoints in them are not
// echoed back to life within their generation.
func isDeadState(kind string) bool {
	switch kind {
	case StatusRemoving, StatusRemoved, StatusLeft, StatusHibernate:
		return true
	}
	return false
}

// FormatTokens encodes tokens as the TOKENS value: decimal, comma-separated.
func FormatTokens(tokens []int64) string {
	var b strings.Builder
	for i, t := range tokens {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(t, 10))
	}
	return b.String()
}

// ParseTokens decodes a TOKENS value built by FormatTokens.
func ParseTokens(v string) ([]int64, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	out := make([]int64, 0, len(parts))
	for _, p := range parts {
		t, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, errors.New("gossip: malformed TOKENS value")
		}
		out = append(out, t)
	}
	return out, nil
}
