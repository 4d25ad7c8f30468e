package gossip

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"
)

// endpoint is the Gossiper's record of one endpoint.
type endpoint struct {
	hb      HeartBeatState
	states  map[ApplicationState]VersionedValue
	alive   bool
	updated time.Time
}

func (e *endpoint) maxVersion() int32 {
	v := e.hb.Version
	for _, vv := range e.states {
		v = max(v, vv.Version)
	}
	return v
}

// statusKind returns the kind word of e's STATUS, or "".
func (e *endpoint) statusKind() string {
	vv, ok := e.states[AppStatus]
	if !ok {
		return ""
	}
	st, err := ParseStatus(vv.Value)
	if err != nil {
		return ""
	}
	return st.Kind
}

// silent reports whether e's status says it is gone (a dead state or a
// shutdown announcement), so it is not echoed back to life within its
// generation.
func (e *endpoint) silent() bool {
	k := e.statusKind()
	return k == StatusShutdown || isDeadState(k)
}

// Gossiper is Cassandra's Gossiper as a pure state machine: it holds the
// endpoint-state table and the failure detector, and turns Tick and Handle
// calls into outgoing Messages and Events. It is not safe for concurrent use;
// Runtime serialises access.
type Gossiper struct {
	cfg     Config
	rng     *rand.Rand
	self    netip.Addr
	version int32 // Cassandra's VersionGenerator for the local node
	seeds   []netip.Addr

	eps          map[netip.Addr]*endpoint
	order        []netip.Addr // sorted keys of eps
	unreachable  map[netip.Addr]time.Time
	justRemoved  map[netip.Addr]time.Time
	echoInflight map[netip.Addr]time.Time

	fd      *FailureDetector
	events  []Event
	stopped bool
	// from is the sender of the message Handle is processing (invalid
	// outside Handle); events emitted meanwhile carry it.
	from netip.Addr
}

// New returns a Gossiper for cfg, started at now. It panics if cfg.Validate
// fails: validate configuration first.
func New(cfg Config, now time.Time) *Gossiper {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults(now)
	g := &Gossiper{
		cfg:          cfg,
		rng:          cfg.Rand,
		self:         cfg.Self,
		eps:          map[netip.Addr]*endpoint{},
		unreachable:  map[netip.Addr]time.Time{},
		justRemoved:  map[netip.Addr]time.Time{},
		echoInflight: map[netip.Addr]time.Time{},
		fd: NewFailureDetector(FailureDetectorConfig{
			PhiConvictThreshold: cfg.PhiConvictThreshold,
			InitialInterval:     cfg.FDInitialInterval,
			MaxInterval:         cfg.FDMaxInterval,
			MaxLocalPause:       cfg.MaxLocalPause,
		}, now),
	}
	for _, s := range cfg.Seeds {
		s = s.Unmap()
		if s != g.self && !slices.Contains(g.seeds, s) {
			g.seeds = append(g.seeds, s)
		}
	}
	slices.SortFunc(g.seeds, netip.Addr.Compare)
	g.insert(g.self, &endpoint{
		hb:      HeartBeatState{Generation: cfg.Generation},
		states:  map[ApplicationState]VersionedValue{},
		alive:   true,
		updated: now,
	})
	self := g.eps[g.self]
	self.hb.Sig = g.sign(HeartBeatPayload(g.self, cfg.Generation, 0), "heartbeat")
	if cfg.Signer != nil {
		g.SetLocalState(AppCert, string(cfg.Signer.Certificate()))
	}
	return g
}

func (g *Gossiper) nextVersion() int32 {
	g.version++
	return g.version
}

func (g *Gossiper) emit(e Event) {
	if !e.From.IsValid() {
		e.From = g.from
	}
	g.events = append(g.events, e)
}

func (g *Gossiper) insert(ep netip.Addr, e *endpoint) {
	if _, ok := g.eps[ep]; !ok {
		i, _ := slices.BinarySearchFunc(g.order, ep, netip.Addr.Compare)
		g.order = slices.Insert(g.order, i, ep)
	}
	g.eps[ep] = e
}

// Self returns the local endpoint.
func (g *Gossiper) Self() netip.Addr { return g.self }

// Generation returns the local heartbeat generation.
func (g *Gossiper) Generation() int32 { return g.cfg.Generation }

// SetLocalState sets the local application state k to v at a new version,
// signed by Config.Signer, and emits EventStateChanged for the local node.
// A value that would take the local state over Config.MaxStateBytes is
// refused with EventRejected.
func (g *Gossiper) SetLocalState(k ApplicationState, v string) {
	e := g.eps[g.self]
	size := stateBytes(e.states) + len(v) + 8
	if old, ok := e.states[k]; ok {
		size -= len(old.Value) + 8
	}
	if size > g.cfg.MaxStateBytes || k > maxAppStateKey {
		g.emit(Event{Kind: EventRejected, Endpoint: g.self, Key: k,
			Reason: fmt.Sprintf("local %s refused: state would be %d bytes (max %d)", k, size, g.cfg.MaxStateBytes)})
		return
	}
	ver := g.nextVersion()
	e.states[k] = VersionedValue{Value: v, Version: ver, Sig: g.sign(StatePayload(g.self, e.hb.Generation, k, ver, v), k.String())}
	g.emit(Event{Kind: EventStateChanged, Endpoint: g.self, Key: k, Value: v})
}

// Endpoints returns every known endpoint, the local one included, sorted.
func (g *Gossiper) Endpoints() []netip.Addr { return slices.Clone(g.order) }

// LiveEndpoints returns the endpoints currently up, excluding the local one.
func (g *Gossiper) LiveEndpoints() []netip.Addr {
	var out []netip.Addr
	for _, ep := range g.order {
		if ep != g.self && g.eps[ep].alive {
			out = append(out, ep)
		}
	}
	return out
}

// UnreachableEndpoints returns the endpoints marked down, sorted.
func (g *Gossiper) UnreachableEndpoints() []netip.Addr {
	out := slices.Collect(maps.Keys(g.unreachable))
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// State returns a copy of what is known about ep.
func (g *Gossiper) State(ep netip.Addr) (EndpointState, bool) {
	e, ok := g.eps[ep]
	if !ok {
		return EndpointState{}, false
	}
	return EndpointState{HeartBeat: e.hb, States: maps.Clone(e.states), Alive: e.alive, UpdateTimestamp: e.updated}, true
}

// IsAlive reports whether ep is up; the local node always is.
func (g *Gossiper) IsAlive(ep netip.Addr) bool {
	e, ok := g.eps[ep]
	return ok && e.alive
}

// Phi returns the failure detector's current phi for ep (scaled, comparable
// with Config.PhiConvictThreshold), as nodetool failuredetector shows it.
func (g *Gossiper) Phi(ep netip.Addr, now time.Time) (float64, bool) { return g.fd.Phi(ep, now) }

// Events drains and returns the events produced since the last call.
func (g *Gossiper) Events() []Event {
	ev := g.events
	g.events = nil
	return ev
}

// RemoveEndpoint forgets ep (nodetool removenode / assassinate): its state
// and failure-detector window are dropped and gossip about it is ignored
// for Config.QuarantineDelay. Emits EventRemoved.
func (g *Gossiper) RemoveEndpoint(ep netip.Addr, now time.Time) {
	if ep == g.self {
		return
	}
	if _, ok := g.eps[ep]; !ok {
		return
	}
	delete(g.eps, ep)
	if i, ok := slices.BinarySearchFunc(g.order, ep, netip.Addr.Compare); ok {
		g.order = slices.Delete(g.order, i, i+1)
	}
	delete(g.unreachable, ep)
	delete(g.echoInflight, ep)
	g.fd.Remove(ep)
	g.justRemoved[ep] = now
	g.emit(Event{Kind: EventRemoved, Endpoint: ep})
}

// Tick runs one gossip round at now (call it once per gossip interval,
// one second in Cassandra): it bumps (and signs) the local heartbeat, sends a SYN to a
// random live peer, perhaps to a random unreachable one (probability
// unreachable/(live+1)) and perhaps to a random seed (always when nobody is
// live), then runs the failure detector and convicts.
func (g *Gossiper) Tick(now time.Time) []Message {
	if g.stopped {
		return nil
	}
	self := g.eps[g.self]
	self.hb.Version = g.nextVersion()
	self.hb.Sig = g.sign(HeartBeatPayload(g.self, self.hb.Generation, self.hb.Version), "heartbeat")
	self.updated = now

	digests := g.digests()
	syn := func(to netip.Addr) Message {
		return Message{To: to, Kind: KindSyn, Syn: &Syn{ClusterName: g.cfg.ClusterName, Digests: digests}}
	}
	var live, unreachable []netip.Addr
	for _, ep := range g.order {
		if ep == g.self {
			continue
		}
		if g.eps[ep].alive {
			live = append(live, ep)
		} else if _, ok := g.unreachable[ep]; ok {
			unreachable = append(unreachable, ep)
		}
	}
	var out []Message
	gossipedToSeed := false
	if len(live) > 0 {
		to := live[g.rng.IntN(len(live))]
		out = append(out, syn(to))
		_, gossipedToSeed = slices.BinarySearchFunc(g.seeds, to, netip.Addr.Compare)
	}
	if len(unreachable) > 0 {
		if g.rng.Float64() < float64(len(unreachable))/float64(len(live)+1) {
			out = append(out, syn(unreachable[g.rng.IntN(len(unreachable))]))
		}
	}
	if (!gossipedToSeed || len(live) < len(g.seeds)) && len(g.seeds) > 0 {
		if len(live) == 0 || g.rng.Float64() <= float64(len(g.seeds))/float64(len(live)+len(unreachable)) {
			out = append(out, syn(g.seeds[g.rng.IntN(len(g.seeds))]))
		}
	}
	g.statusCheck(now)
	return out
}

// digests returns a digest per known endpoint, shuffled as Cassandra does.
func (g *Gossiper) digests() []GossipDigest {
	ds := make([]GossipDigest, 0, len(g.order))
	for _, ep := range g.order {
		e := g.eps[ep]
		ds = append(ds, GossipDigest{Endpoint: ep, Generation: e.hb.Generation, MaxVersion: e.maxVersion()})
	}
	for i := len(ds) - 1; i > 0; i-- {
		j := g.rng.IntN(i + 1)
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

// statusCheck is Cassandra's doStatusCheck: interpret the failure detector
// for every peer, expire LEFT/removed endpoints, end quarantines and stale
// echoes.
func (g *Gossiper) statusCheck(now time.Time) {
	for _, ep := range slices.Clone(g.order) {
		if ep == g.self {
			continue
		}
		e := g.eps[ep]
		if g.fd.Interpret(ep, now) && e.alive {
			g.markDead(ep, e, now)
		}
		if !e.alive {
			if vv, ok := e.states[AppStatus]; ok {
				if st, err := ParseStatus(vv.Value); err == nil && (st.Kind == StatusLeft || st.Kind == StatusRemoved) &&
					st.ExpireTime > 0 && now.UnixMilli() > st.ExpireTime {
					g.RemoveEndpoint(ep, now)
				}
			}
		}
	}
	for ep, t := range g.justRemoved {
		if now.Sub(t) > g.cfg.QuarantineDelay {
			delete(g.justRemoved, ep)
		}
	}
	for ep, t := range g.echoInflight {
		if now.Sub(t) >= g.cfg.EchoTimeout {
			delete(g.echoInflight, ep)
		}
	}
}

// markDead records ep as down and emits EventDead (once per transition).
func (g *Gossiper) markDead(ep netip.Addr, e *endpoint, now time.Time) {
	_, already := g.unreachable[ep]
	wasAlive := e.alive
	e.alive = false
	if !already {
		g.unreachable[ep] = now
	}
	if wasAlive || !already {
		g.emit(Event{Kind: EventDead, Endpoint: ep})
	}
}

// markAlive is Cassandra's markAlive: the endpoint is not up until it
// answers an echo. Returns the EchoRequest to send, if any.
func (g *Gossiper) markAlive(ep netip.Addr, e *endpoint, now time.Time, out []Message) []Message {
	e.alive = false
	if t, ok := g.echoInflight[ep]; ok && now.Sub(t) < g.cfg.EchoTimeout {
		return out
	}
	g.echoInflight[ep] = now
	return append(out, Message{To: ep, Kind: KindEchoRequest})
}

// realMarkAlive records ep as up after its echo response.
func (g *Gossiper) realMarkAlive(ep netip.Addr, e *endpoint, now time.Time) {
	delete(g.echoInflight, ep)
	delete(g.unreachable, ep)
	e.updated = now
	if !e.alive {
		e.alive = true
		g.emit(Event{Kind: EventAlive, Endpoint: ep})
	}
}

// Handle processes message m received from the peer from at now and
// returns the replies: SYN -> ACK, ACK -> ACK2 (and echoes), ACK2 ->
// echoes, EchoRequest -> EchoResponse. After Shutdown it ignores everything.
// from must be the authenticated sender: the events Handle emits carry it
// (Event.From), so refusals are attributed to the peer that sent them.
func (g *Gossiper) Handle(now time.Time, from netip.Addr, m Message) []Message {
	from = from.Unmap()
	if g.stopped || from == g.self {
		return nil
	}
	g.from = from
	defer func() { g.from = netip.Addr{} }()
	switch m.Kind {
	case KindSyn:
		if m.Syn == nil {
			return nil
		}
		if m.Syn.ClusterName != g.cfg.ClusterName {
			g.emit(Event{Kind: EventClusterMismatch, Endpoint: from, Value: m.Syn.ClusterName})
			return nil
		}
		ack := g.examine(m.Syn.Digests)
		if len(ack.Digests) == 0 && len(ack.States) == 0 {
			return nil
		}
		return []Message{{To: from, Kind: KindAck, Ack: ack}}
	case KindAck:
		if m.Ack == nil {
			return nil
		}
		out := g.applyStates(now, from, m.Ack.States)
		var states []GossipState
		budget := g.cfg.MaxMessageBytes
		seen := map[netip.Addr]bool{}
		for _, d := range m.Ack.Digests {
			if seen[d.Endpoint] {
				continue
			}
			seen[d.Endpoint] = true
			if gs, ok := g.stateNewerThan(d.Endpoint, d.MaxVersion); ok {
				if budget -= gs.estimatedSize(); budget < 0 && len(states) > 0 {
					break
				}
				states = append(states, gs)
			}
		}
		if len(states) > 0 {
			out = append(out, Message{To: from, Kind: KindAck2, Ack2: &Ack2{States: states}})
		}
		return out
	case KindAck2:
		if m.Ack2 == nil {
			return nil
		}
		return g.applyStates(now, from, m.Ack2.States)
	case KindEchoRequest:
		return []Message{{To: from, Kind: KindEchoResponse}}
	case KindEchoResponse:
		if _, ok := g.echoInflight[from]; ok {
			if e := g.eps[from]; e != nil {
				g.realMarkAlive(from, e, now)
			}
		}
		return nil
	case KindShutdown:
		var own []GossipState
		if m.Shutdown != nil {
			for _, gs := range m.Shutdown.States {
				if gs.Endpoint.Unmap() == from {
					own = append(own, gs)
				}
			}
		}
		g.applyStates(now, from, own)
		if e := g.eps[from]; e != nil {
			g.markAsShutdown(from, e, now)
		}
		return nil
	}
	return nil
}

// markAsShutdown is Cassandra's markAsShutdown, told first-hand by ep
// (GOSSIP_SHUTDOWN): the endpoint is down. Cassandra also forces STATUS to
// shutdown,true at the highest version; here that value is ep's own signed
// STATUS, carried by the message and applied like any state (at its
// newest version it cannot be overridden by stale gossip of its
// generation), so nothing unsigned is ever stored or relayed.
func (g *Gossiper) markAsShutdown(ep netip.Addr, e *endpoint, now time.Time) {
	e.updated = now
	delete(g.echoInflight, ep)
	g.markDead(ep, e, now)
}

// examine is Cassandra's examineGossiper: for each digest, request what the
// sender has newer and send what we have newer.
func (g *Gossiper) examine(digests []GossipDigest) *Ack {
	ack := &Ack{}
	budget := g.cfg.MaxMessageBytes
	unknown := 0
	seen := make(map[netip.Addr]bool, len(digests))
	for _, d := range digests {
		ep := d.Endpoint
		if seen[ep] || !ep.IsValid() {
			continue
		}
		seen[ep] = true
		if _, q := g.justRemoved[ep]; q {
			continue
		}
		e := g.eps[ep]
		if e == nil {
			// Unknown endpoints are requested at most MaxNewEndpoints at
			// a time: a reply may carry no more (applyStates).
			if ep != g.self && unknown < g.cfg.MaxNewEndpoints {
				unknown++
				ack.Digests = append(ack.Digests, GossipDigest{Endpoint: ep, Generation: d.Generation})
			}
			continue
		}
		localMax := e.maxVersion()
		send := int32(-1)
		switch {
		case d.Generation > e.hb.Generation:
			if ep != g.self {
				ack.Digests = append(ack.Digests, GossipDigest{Endpoint: ep, Generation: d.Generation})
			}
		case d.Generation < e.hb.Generation:
			send = 0
		case d.MaxVersion > localMax:
			if ep != g.self {
				ack.Digests = append(ack.Digests, GossipDigest{Endpoint: ep, Generation: d.Generation, MaxVersion: localMax})
			}
		case d.MaxVersion < localMax:
			send = d.MaxVersion
		}
		if send >= 0 && budget > 0 {
			if d.Generation < e.hb.Generation {
				send = -1 // everything: the heartbeat version may be 0
			}
			if gs, ok := g.stateNewerThan(ep, send); ok {
				budget -= gs.estimatedSize()
				if budget >= 0 || len(ack.States) == 0 {
					ack.States = append(ack.States, gs)
				}
			}
		}
	}
	return ack
}

// stateNewerThan is Cassandra's getStateForVersionBiggerThan: ep's
// heartbeat plus the application states with a version above v.
func (g *Gossiper) stateNewerThan(ep netip.Addr, v int32) (GossipState, bool) {
	e := g.eps[ep]
	if e == nil {
		return GossipState{}, false
	}
	var st map[ApplicationState]VersionedValue
	for k, vv := range e.states {
		if vv.Version > v {
			if st == nil {
				st = map[ApplicationState]VersionedValue{}
			}
			st[k] = vv
		}
	}
	if st == nil && e.hb.Version <= v {
		return GossipState{}, false
	}
	return GossipState{Endpoint: ep, State: EndpointState{HeartBeat: e.hb, States: st}}, true
}

func (gs *GossipState) estimatedSize() int {
	n := 32 + len(gs.State.HeartBeat.Sig)
	for _, vv := range gs.State.States {
		n += len(vv.Value) + len(vv.Sig) + 12
	}
	return n
}

// applyStates is Cassandra's notifyFailureDetector + applyStateLocally
// for the states of one message from peer from. The message's limits are
// checked first (admit): if it breaks one, none of it is applied. Then each
// endpoint's state is checked (generation skew, endpoint limit) and its
// owner's signatures verified (Config.Verifier) before anything of it is
// applied; after a forged one the rest of the message is dropped. It
// returns the EchoRequests to send.
func (g *Gossiper) applyStates(now time.Time, from netip.Addr, states []GossipState) []Message {
	if len(states) == 0 {
		return nil
	}
	if reason := g.admit(states); reason != "" {
		g.emit(Event{Kind: EventRejected, Endpoint: from, Reason: "message refused: " + reason})
		return nil
	}
	var out []Message
	nowSec := now.Unix()
	maxGen := nowSec + int64(g.cfg.MaxGenerationSkew/time.Second)
	for i := range states {
		ep := states[i].Endpoint.Unmap()
		remote := &states[i].State
		if ep == g.self {
			// Never applied. Newer than what we gossip ourselves is a
			// forgery: no relay can know more about us than we do.
			if own := g.eps[g.self]; remote.HeartBeat.Generation > own.hb.Generation ||
				(remote.HeartBeat.Generation == own.hb.Generation && remote.MaxVersion() > own.maxVersion()) {
				g.emit(Event{Kind: EventForged, Endpoint: ep, Reason: fmt.Sprintf(
					"forged: a state of the local node newer than its own (generation %d, version %d)", remote.HeartBeat.Generation, remote.MaxVersion())})
			}
			continue
		}
		if !ep.IsValid() || ep.IsUnspecified() {
			continue
		}
		if _, q := g.justRemoved[ep]; q {
			continue
		}
		rgen := remote.HeartBeat.Generation
		if int64(rgen) > maxGen {
			g.reject(ep, fmt.Sprintf("generation %d is %ds ahead of local time %d (max %s)",
				rgen, int64(rgen)-nowSec, nowSec, g.cfg.MaxGenerationSkew))
			continue
		}
		for k := range remote.States {
			if k > maxAppStateKey {
				delete(remote.States, k)
			}
		}
		e := g.eps[ep]
		var ok, stop bool
		switch {
		case e == nil:
			if len(g.eps) >= g.cfg.MaxEndpoints {
				g.reject(ep, fmt.Sprintf("endpoint limit %d reached", g.cfg.MaxEndpoints))
				continue
			}
			if ok, stop = g.verified(from, ep, nil, remote, true); ok {
				g.fd.Report(ep, now)
				out = g.majorStateChange(ep, nil, remote, now, out)
			}
		case e.hb.Generation > 0 && int64(rgen) > int64(e.hb.Generation)+MaxGenerationDifference:
			g.reject(ep, fmt.Sprintf("generation %d is more than a year ahead of known generation %d", rgen, e.hb.Generation))
		case rgen > e.hb.Generation:
			if ok, stop = g.verified(from, ep, e, remote, true); ok {
				if !e.alive {
					g.fd.Remove(ep)
				}
				g.fd.Report(ep, now)
				out = g.majorStateChange(ep, e, remote, now, out)
			}
		case rgen == e.hb.Generation:
			if remote.MaxVersion() > e.maxVersion() {
				if size := mergedBytes(e, remote); size > g.cfg.MaxStateBytes {
					g.reject(ep, fmt.Sprintf("state of %d bytes exceeds %d", size, g.cfg.MaxStateBytes))
					continue
				}
				if ok, stop = g.verified(from, ep, e, remote, false); !ok {
					break
				}
				if remote.HeartBeat.Version > e.hb.Version {
					g.fd.Report(ep, now)
				}
				g.applyNewStates(ep, e, remote, now)
			}
			if e.silent() {
				if e.alive {
					g.markDead(ep, e, now)
				}
			} else if !e.alive {
				out = g.markAlive(ep, e, now, out)
			}
		}
		if stop {
			if rest := len(states) - i - 1; rest > 0 {
				g.emit(Event{Kind: EventRejected, Endpoint: from,
					Reason: fmt.Sprintf("the %d endpoint states after a forged one in the same message were dropped", rest)})
			}
			break
		}
	}
	return out
}

// admit checks the limits of one message's states before any is applied:
// total size (for more than one state: a single one is bounded by
// MaxStateBytes), each endpoint's state size and tokens, and the number of
// endpoints not known before. It returns why the message is refused, or "".
func (g *Gossiper) admit(states []GossipState) string {
	if len(states) > 1 {
		size := 0
		for i := range states {
			size += states[i].estimatedSize()
		}
		if size > g.cfg.MaxMessageBytes {
			return fmt.Sprintf("%d states of %d bytes exceed %d", len(states), size, g.cfg.MaxMessageBytes)
		}
	}
	var unknown map[netip.Addr]bool
	for i := range states {
		ep := states[i].Endpoint.Unmap()
		st := &states[i].State
		if n := stateBytes(st.States); n > g.cfg.MaxStateBytes {
			return fmt.Sprintf("state of %s is %d bytes (max %d)", ep, n, g.cfg.MaxStateBytes)
		}
		if tv, ok := st.States[AppTokens]; ok {
			if n := tokenCount(tv.Value); n > g.cfg.MaxTokens {
				return fmt.Sprintf("%s has %d tokens (max %d)", ep, n, g.cfg.MaxTokens)
			}
		}
		if ep == g.self || !ep.IsValid() || ep.IsUnspecified() || g.eps[ep] != nil {
			continue
		}
		if _, q := g.justRemoved[ep]; q {
			continue
		}
		if unknown == nil {
			unknown = map[netip.Addr]bool{}
		}
		unknown[ep] = true
	}
	if len(unknown) > g.cfg.MaxNewEndpoints {
		return fmt.Sprintf("states of %d unknown endpoints (max %d per message)", len(unknown), g.cfg.MaxNewEndpoints)
	}
	return ""
}

// mergedBytes is the size e's states would have with remote's newer ones.
func mergedBytes(e *endpoint, remote *EndpointState) int {
	size := stateBytes(e.states)
	for k, rv := range remote.States {
		if lv, ok := e.states[k]; !ok {
			size += len(rv.Value) + 8
		} else if rv.Version > lv.Version {
			size += len(rv.Value) - len(lv.Value)
		}
	}
	return size
}

// verified runs verifyEntry and reports a failure as EventForged. stop
// tells the caller to drop the rest of the message: a signature was
// missing or wrong, which no honest relay sends.
func (g *Gossiper) verified(from, ep netip.Addr, e *endpoint, remote *EndpointState, whole bool) (ok, stop bool) {
	err := g.verifyEntry(from, ep, e, remote, whole)
	if err == nil {
		return true, false
	}
	g.emit(Event{Kind: EventForged, Endpoint: ep, Reason: err.Error()})
	return false, errors.Is(err, errForged)
}

func (g *Gossiper) reject(ep netip.Addr, reason string) {
	g.emit(Event{Kind: EventRejected, Endpoint: ep, Reason: reason})
}

// majorStateChange installs a new endpoint or a new generation of a known
// one (Cassandra's handleMajorStateChange).
func (g *Gossiper) majorStateChange(ep netip.Addr, old *endpoint, remote *EndpointState, now time.Time, out []Message) []Message {
	e := &endpoint{hb: remote.HeartBeat, states: maps.Clone(remote.States), updated: now}
	if e.states == nil {
		e.states = map[ApplicationState]VersionedValue{}
	}
	g.insert(ep, e)
	if old == nil {
		g.emit(Event{Kind: EventJoined, Endpoint: ep})
	} else {
		g.emit(Event{Kind: EventRestarted, Endpoint: ep})
	}
	for _, k := range sortedKeys(e.states) {
		g.emit(Event{Kind: EventStateChanged, Endpoint: ep, Key: k, Value: e.states[k].Value})
	}
	delete(g.echoInflight, ep)
	if e.silent() {
		if old != nil && !old.alive {
			return out // already down; stays in unreachable
		}
		g.markDead(ep, e, now)
		return out
	}
	return g.markAlive(ep, e, now, out)
}

// applyNewStates merges a same-generation remote state by version.
func (g *Gossiper) applyNewStates(ep netip.Addr, e *endpoint, remote *EndpointState, now time.Time) {
	if remote.HeartBeat.Version > e.hb.Version {
		e.hb = remote.HeartBeat
	}
	e.updated = now
	for _, k := range sortedKeys(remote.States) {
		rv := remote.States[k]
		if lv, ok := e.states[k]; ok && lv.Version >= rv.Version {
			continue
		}
		e.states[k] = rv
		g.emit(Event{Kind: EventStateChanged, Endpoint: ep, Key: k, Value: rv.Value})
	}
}

// Shutdown announces that the local node is shutting down: STATUS becomes
// shutdown,true (signed) and a Shutdown message carrying the local state
// goes to every live peer (Cassandra 4's GOSSIP_SHUTDOWN). Afterwards Tick
// and Handle do nothing.
func (g *Gossiper) Shutdown(now time.Time) []Message {
	if g.stopped {
		return nil
	}
	g.SetLocalState(AppStatus, ShutdownStatus())
	own, _ := g.stateNewerThan(g.self, -1)
	var out []Message
	for _, ep := range g.LiveEndpoints() {
		out = append(out, Message{To: ep, Kind: KindShutdown, Shutdown: &Shutdown{States: []GossipState{own}}})
	}
	g.stopped = true
	return out
}
