// Package testnet gives tests loopback ports that other tests running at
// the same time (go test runs packages in parallel) are unlikely to take.
//
// A port asked of the kernel with ":0" comes from the ephemeral range,
// which the kernel also hands out as the source port of every outgoing
// connection: a test that closes such a listener and binds the port again
// on another loopback address can find it taken by a stranger's client
// socket. FreePort picks below the ephemeral range instead and checks that
// the port is free on every loopback address tests use.
package testnet

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// Low and High bound the ports FreePort picks from ([Low, High)). They
// stay clear of the default ports of ringdb and Cassandra (7000, 7001,
// 7199, 9042) and of Linux's default ephemeral range (32768-60999).
const (
	Low  = 20000
	High = 32768
)

// Loopbacks is the number of loopback addresses (127.0.0.1 up to
// 127.0.0.Loopbacks) on which a port from FreePort was free.
const Loopbacks = 9

// FreePort returns a TCP port that was free on 127.0.0.1-9 at the time of
// the call. It fails the test when 200 random tries found none.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := Low + rand.IntN(High-Low)
		if freeOnLoopbacks(port) {
			return port
		}
	}
	t.Fatal("testnet: no port free on 127.0.0.1-9")
	return 0
}

func freeOnLoopbacks(port int) bool {
	for i := 1; i <= Loopbacks; i++ {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0."+strconv.Itoa(i), strconv.Itoa(port)))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}
