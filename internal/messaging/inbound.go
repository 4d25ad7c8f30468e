package messaging

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// acceptLoop admits connections within the per-source and total bounds and
// serves each on its own goroutine.
func (s *Service) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	delay := time.Duration(0)
	for {
		raw, err := ln.Accept()
		if err != nil {
			if s.closing() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Resource exhaustion (EMFILE...): back off instead of spinning.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("internode accept failed", "err", err, "retry_in", delay)
			if !sleepCtx(s.ctx, delay) {
				return
			}
			continue
		}
		delay = 0
		src := addrPortOf(raw.RemoteAddr())
		if !s.admit(raw, src.Addr()) {
			raw.Close()
			continue
		}
		s.wg.Add(1)
		go s.serveConn(raw, src)
	}
}

// admit counts a new connection against MaxInboundConns and the per-source
// handshake bound, or refuses it.
func (s *Service) admit(raw net.Conn, src netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return false
	case len(s.inbound) >= s.o.MaxInboundConns:
		s.log.Debug("internode connection dropped: MaxInboundConns reached", "remote", src)
		return false
	case s.handshaking[src] >= s.o.MaxConnsPerSource:
		s.log.Debug("internode connection dropped: MaxConnsPerSource reached", "remote", src)
		return false
	}
	s.inbound[raw] = struct{}{}
	s.handshaking[src]++
	return true
}

// authenticated moves a connection out of the per-source handshake count.
func (s *Service) doneHandshaking(src netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handshaking[src]--; s.handshaking[src] <= 0 {
		delete(s.handshaking, src)
	}
}

// serveConn authenticates one inbound connection and then serves it.
func (s *Service) serveConn(raw net.Conn, src netip.AddrPort) {
	defer s.wg.Done()
	handshaking := true
	defer func() {
		raw.Close()
		if handshaking {
			s.doneHandshaking(src.Addr())
		}
		s.mu.Lock()
		delete(s.inbound, raw)
		s.mu.Unlock()
	}()
	tc, h, ok := s.handshake(raw, src)
	if !ok {
		return
	}
	handshaking = false
	s.doneHandshaking(src.Addr())
	s.serveInbound(&tlsRaw{Conn: raw, tls: tc}, h.addr, h.lane)
}

// handshake runs TLS and the ringdb handshake on an accepted connection,
// bounded by HandshakeTimeout. Nothing is written before TLS completes, and
// a refusal writes only a reject code.
func (s *Service) handshake(raw net.Conn, src netip.AddrPort) (*tls.Conn, hello, bool) {
	ctx, cancel := context.WithTimeout(s.ctx, s.o.HandshakeTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	tc := tls.Server(raw, s.serverTLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		if !s.closing() {
			s.refused(src, "tls handshake: "+err.Error())
		}
		return nil, hello{}, false
	}
	st := tc.ConnectionState()
	if st.Version != tls.VersionTLS13 || len(st.PeerCertificates) == 0 {
		s.refused(src, "not an authenticated TLS 1.3 connection")
		return nil, hello{}, false
	}
	certAddr, err := s.o.PeerAddress(st)
	if err != nil {
		s.refused(src, "peer certificate: "+err.Error())
		return nil, hello{}, false
	}
	certAddr = certAddr.Unmap()
	h, err := readHello(tc)
	if err != nil {
		if errors.Is(err, errBadMagic) || errors.Is(err, errMalformed) {
			s.reject(tc, src, rejectMalformed, "bad handshake: "+err.Error())
		} else if !s.closing() {
			s.refused(src, "bad handshake: read: "+err.Error())
		}
		return nil, hello{}, false
	}
	version, ok := chooseVersion(h)
	if !ok {
		s.reject(tc, src, rejectVersion, fmt.Sprintf("bad handshake: no common protocol version (peer %d..%d, ours %d..%d)",
			h.minVersion, h.maxVersion, protoMin, protoMax))
		return nil, hello{}, false
	}
	if h.clusterID != s.o.ClusterID {
		// The peer's cluster id is logged (it chained to our CA, so it is
		// not attacker-chosen garbage); ours is never sent.
		s.reject(tc, src, rejectCluster, fmt.Sprintf("wrong cluster: peer claims cluster %q", h.clusterID))
		return nil, hello{}, false
	}
	if h.addr != certAddr || certAddr != src.Addr() {
		s.reject(tc, src, rejectAddress, fmt.Sprintf("address mismatch: claimed %v, certificate %v, TCP source %v",
			h.addr, certAddr, src.Addr()))
		return nil, hello{}, false
	}
	if _, err := tc.Write(appendAccept(make([]byte, 0, acceptLen), accept{version: version, addr: s.o.Self})); err != nil {
		s.log.Debug("internode handshake write failed", "remote", src, "err", err)
		return nil, hello{}, false
	}
	raw.SetDeadline(time.Time{})
	s.log.Debug("internode connection accepted", "peer", h.addr, "lane", h.lane)
	return tc, h, true
}

// reject sends a reject code (best effort, still under the handshake
// deadline) and reports the refusal.
func (s *Service) reject(tc *tls.Conn, src netip.AddrPort, code rejectCode, reason string) {
	tc.Write([]byte{byte(code)})
	s.refused(src, reason)
}

// serveInbound reads requests and one-way messages from an authenticated
// connection and runs their handlers, at most maxHandlersPerConn at once
// (beyond that the reader stops reading: back-pressure onto the peer's
// queue). Responses go back on the same connection through one writer.
func (s *Service) serveInbound(conn *tlsRaw, from netip.Addr, ln lane) {
	ctx, cancel := context.WithCancel(s.ctx)
	out := make(chan []byte, maxHandlersPerConn)
	sem := make(chan struct{}, maxHandlersPerConn)
	var hwg sync.WaitGroup
	hwg.Add(1)
	go func() {
		defer hwg.Done()
		s.writeResponses(ctx, cancel, conn, out)
	}()
	defer func() {
		cancel()
		conn.Close()
		hwg.Wait()
	}()

	br := bufio.NewReaderSize(conn.tls, 64<<10)
	max := s.o.maxFrame(ln)
	for {
		f, err := readFrame(br, max)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Info("internode connection closed", "peer", from, "lane", ln, "err", err)
			}
			return
		}
		if f.kind != kindOneWay && f.kind != kindRequest {
			s.log.Warn("internode protocol violation: closing", "peer", from, "kind", f.kind)
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		hwg.Add(1)
		go func() {
			defer hwg.Done()
			defer func() { <-sem }()
			s.serveFrame(ctx, from, ln, f, out)
		}()
	}
}

// serveFrame runs one handler and queues its response.
func (s *Service) serveFrame(ctx context.Context, from netip.Addr, ln lane, f frame, out chan<- []byte) {
	resp, err := s.invoke(ctx, from, f.verb, f.payload)
	if f.kind == kindOneWay {
		if err != nil {
			s.log.Debug("one-way handler failed", "verb", f.verb, "from", from, "err", err)
		}
		return
	}
	var b []byte
	switch {
	case err != nil:
		b = encodeFrame(f.verb, kindError, f.id, []byte(truncate(err.Error())))
	case len(resp) > s.o.maxFrame(ln):
		s.log.Warn("handler response too large", "verb", f.verb, "bytes", len(resp))
		b = encodeFrame(f.verb, kindError, f.id, []byte("response exceeds maximum frame size"))
	default:
		b = encodeFrame(f.verb, kindResponse, f.id, resp)
	}
	select {
	case out <- b:
	case <-ctx.Done():
	}
}

// writeResponses writes queued responses, flushing when none is waiting.
func (s *Service) writeResponses(ctx context.Context, cancel context.CancelFunc, conn *tlsRaw, out <-chan []byte) {
	bw := bufio.NewWriterSize(conn.tls, 64<<10)
	for {
		select {
		case b := <-out:
			conn.SetWriteDeadline(time.Now().Add(writeStallTimeout))
			_, err := bw.Write(b)
			if err == nil && len(out) == 0 {
				err = bw.Flush()
			}
			if err != nil {
				cancel()
				conn.Close()
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// addrPortOf returns a connection address as an unmapped AddrPort.
func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
