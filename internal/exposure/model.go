package exposure

import (
	"fmt"
	"strings"
	"unicode"
)

// Severity ranks a finding. The zero value is Info.
type Severity int

// Severities, lowest first.
const (
	// Info is an observation that is not a risk (a closed port, a
	// certificate's fields, a version).
	Info Severity = iota
	// Low is a minor disclosure.
	Low
	// Medium is a weakness that needs another one, or local access, to hurt.
	Medium
	// High is something a stranger on the network can exploit as it is.
	High
)

var severityNames = [...]string{Info: "INFO", Low: "LOW", Medium: "MEDIUM", High: "HIGH"}

// String returns "INFO", "LOW", "MEDIUM" or "HIGH".
func (s Severity) String() string {
	if s < Info || s > High {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText encodes s as its name, so JSON carries "HIGH", not 3.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	for i, n := range severityNames {
		if n == string(b) {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("exposure: unknown severity %q", b)
}

// Finding is one observation about one port of one target.
type Finding struct {
	// Severity ranks the finding.
	Severity Severity `json:"severity"`
	// Target is the address probed (an IP address).
	Target string `json:"target"`
	// Port is the TCP port; 0 for a finding about the whole target.
	Port int `json:"port,omitempty"`
	// ID is a stable machine-readable name, e.g. "cql-no-auth".
	ID string `json:"id"`
	// Title says what was found, in a few words.
	Title string `json:"title"`
	// Detail gives the evidence (versions, certificate fields, replies).
	Detail string `json:"detail,omitempty"`
	// Fix is the hardening step that removes the finding, if one is needed.
	Fix string `json:"fix,omitempty"`
}

// TargetResult describes one target of the run.
type TargetResult struct {
	// Host is the target as given (an address or a host name).
	Host string `json:"host"`
	// Address is the address probed; empty when Host did not resolve.
	Address string `json:"address,omitempty"`
	// Public is whether Address is globally routable.
	Public bool `json:"public"`
	// Scanned is false when the target was not probed (public, unresolved).
	Scanned bool `json:"scanned"`
	// Ports are the ports probed (or that would have been).
	Ports []int `json:"ports"`
	// Connections is how many connections were opened to Address.
	Connections int `json:"connections"`
}

// Summary counts the findings per severity.
type Summary struct {
	High   int `json:"high"`
	Medium int `json:"medium"`
	Low    int `json:"low"`
	Info   int `json:"info"`
}

// Report is the result of Run.
type Report struct {
	// Targets are the targets in the order given.
	Targets []TargetResult `json:"targets"`
	// Findings are ordered by target, then port, then probe step.
	Findings []Finding `json:"findings"`
	// Summary counts Findings per severity.
	Summary Summary `json:"summary"`
}

// HasHigh reports whether any finding is High.
func (r *Report) HasHigh() bool { return r.Summary.High > 0 }

func summarize(fs []Finding) Summary {
	var s Summary
	for _, f := range fs {
		switch f.Severity {
		case High:
			s.High++
		case Medium:
			s.Medium++
		case Low:
			s.Low++
		default:
			s.Info++
		}
	}
	return s
}

// maxRemoteString is the longest string taken from a target into a report.
const maxRemoteString = 160

// clean makes a string received from a target safe to print: control and
// non-printable characters become '?', and it is cut at maxRemoteString
// runes.
func clean(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxRemoteString {
			b.WriteString("...")
			break
		}
		if !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
