//go:build race

package paxos

// raceEnabled: the race detector slows the simulation several times.
const raceEnabled = true
