//go:build race

package gossip

// raceEnabled: the race detector slows the simulations several times.
const raceEnabled = true
