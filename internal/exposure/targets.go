package exposure

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Target is one host to audit and the ports to probe on it.
type Target struct {
	// Host is an IP address or a host name.
	Host string
	// Ports are probed in this order.
	Ports []int
}

// ParseTargets parses TARGET[:PORT] arguments (an IPv6 address with a port
// is written [addr]:port). A target without a port gets defaultPorts.
// Arguments naming the same host are merged into one Target, in the order
// the host first appeared, so that the per-target connection budget holds
// for the host however it is given.
func ParseTargets(args []string, defaultPorts []int) ([]Target, error) {
	var out []Target
	index := map[string]int{}
	for _, arg := range args {
		host, ports, err := parseTarget(arg, defaultPorts)
		if err != nil {
			return nil, err
		}
		i, ok := index[host]
		if !ok {
			i = len(out)
			index[host] = i
			out = append(out, Target{Host: host})
		}
		for _, p := range ports {
			if !slices.Contains(out[i].Ports, p) {
				out[i].Ports = append(out[i].Ports, p)
			}
		}
	}
	return out, nil
}

func parseTarget(arg string, defaultPorts []int) (string, []int, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return "", nil, fmt.Errorf("empty target")
	}
	if a, err := netip.ParseAddr(arg); err == nil {
		if why := notAHost(a); why != "" {
			return "", nil, fmt.Errorf("target %q: %s", arg, why)
		}
		return a.String(), defaultPorts, nil
	}
	host, portStr, err := net.SplitHostPort(arg)
	if err != nil {
		if strings.Contains(arg, ":") {
			return "", nil, fmt.Errorf("target %q: %w", arg, err)
		}
		return arg, defaultPorts, nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", nil, fmt.Errorf("target %q: port %q is not 1-65535", arg, portStr)
	}
	if host == "" {
		return "", nil, fmt.Errorf("target %q: no host", arg)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if why := notAHost(a); why != "" {
			return "", nil, fmt.Errorf("target %q: %s", arg, why)
		}
		host = a.String()
	}
	return host, []int{port}, nil
}

// notAHost says why an address names no single host to probe: the
// unspecified address (0.0.0.0, ::), which a dial turns into this
// machine, a multicast group (224.0.0.0/4, ff00::/8) or the limited
// broadcast address; "" for any other address.
func notAHost(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsUnspecified():
		return "the unspecified address is not a host"
	case a.IsMulticast():
		return "a multicast address is not a host"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address is not a host"
	}
	return ""
}
