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
	"os"
	"sync"
	"time"
)

// acceptLoop admits connections within the handshake budgets (slots.go)
// and serves each on its own goroutine.
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
		ic, ok := s.admit(raw, addrPortOf(raw.RemoteAddr()))
		if !ok {
			raw.Close()
			continue
		}
		s.wg.Add(1)
		go s.serveConn(ic)
	}
}

// serveConn authenticates one inbound connection and then serves it.
func (s *Service) serveConn(ic *inConn) {
	defer s.wg.Done()
	defer func() {
		ic.raw.Close()
		s.release(ic)
	}()
	tc, h, ok := s.handshake(ic)
	if !ok {
		return
	}
	defer s.trackInbound(ic.raw, tc)()
	s.serveInbound(ic, &tlsRaw{Conn: ic.raw, tls: tc}, h.addr, h.lane)
}

// handshake runs TLS and the ringdb handshake on an accepted connection,
// bounded by HandshakeTimeout, and moves it to its peer's slots. Nothing is
// written before TLS completes, and a refusal writes only a reject code.
func (s *Service) handshake(ic *inConn) (*tls.Conn, hello, bool) {
	raw, src := ic.raw, ic.src
	ctx, cancel := context.WithTimeout(s.ctx, s.o.HandshakeTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	failed := func(err error) {
		s.stats.handshakeFailures.Add(1)
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
			s.stats.handshakeTimeouts.Add(1)
		}
	}
	tc := tls.Server(raw, s.serverTLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		if !s.closing() {
			failed(err)
			s.refused(src, "tls handshake: "+err.Error())
		}
		return nil, hello{}, false
	}
	st := tc.ConnectionState()
	if s.isJoin(st) {
		// A joiner without a certificate: the join exchange only, under
		// this deadline, then closed; never a peer (join.go).
		s.stats.joins.Add(1)
		if err := s.o.Join(ctx, tc, src); err != nil && !s.closing() {
			s.stats.joinFailures.Add(1)
			s.refused(src, "join exchange: "+err.Error())
		}
		return nil, hello{}, false
	}
	if st.Version != tls.VersionTLS13 || len(st.PeerCertificates) == 0 {
		failed(nil)
		s.refused(src, "not an authenticated TLS 1.3 connection")
		return nil, hello{}, false
	}
	certAddr, err := s.o.PeerAddress(st)
	if err != nil {
		failed(nil)
		s.refused(src, "peer certificate: "+err.Error())
		return nil, hello{}, false
	}
	certAddr = certAddr.Unmap()
	h, err := readHello(tc)
	if err != nil {
		if errors.Is(err, errBadMagic) || errors.Is(err, errMalformed) {
			failed(nil)
			s.reject(tc, src, rejectMalformed, "bad handshake: "+err.Error())
		} else if !s.closing() {
			failed(err)
			s.refused(src, "bad handshake: read: "+err.Error())
		}
		return nil, hello{}, false
	}
	version, ok := chooseVersion(h)
	if !ok {
		failed(nil)
		s.reject(tc, src, rejectVersion, fmt.Sprintf("bad handshake: no common protocol version (peer %d..%d, ours %d..%d)",
			h.minVersion, h.maxVersion, protoMin, protoMax))
		return nil, hello{}, false
	}
	if h.clusterID != s.o.ClusterID {
		// The peer's cluster id is logged (it chained to our CA, so it is
		// not attacker-chosen garbage); ours is never sent.
		failed(nil)
		s.reject(tc, src, rejectCluster, fmt.Sprintf("wrong cluster: peer claims cluster %q", h.clusterID))
		return nil, hello{}, false
	}
	if h.addr != certAddr || certAddr != src.Addr() {
		failed(nil)
		s.reject(tc, src, rejectAddress, fmt.Sprintf("address mismatch: claimed %v, certificate %v, TCP source %v",
			h.addr, certAddr, src.Addr()))
		return nil, hello{}, false
	}
	if reason, ok := s.authenticate(ic, h.addr, h.lane); !ok {
		if !s.closing() {
			s.reject(tc, src, rejectBusy, reason)
		}
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
// queue). Responses go back on the same connection through one writer. The
// connection is closed once it has received nothing for IdleTimeout while
// none of its handlers ran (idleReader).
func (s *Service) serveInbound(ic *inConn, conn *tlsRaw, from netip.Addr, ln lane) {
	ctx, cancel := context.WithCancel(s.ctx)
	out := make(chan []byte, maxHandlersPerConn)
	sem := make(chan struct{}, maxHandlersPerConn)
	var hwg sync.WaitGroup
	hwg.Add(1)
	go func() {
		defer hwg.Done()
		s.writeResponses(ctx, cancel, ic, conn, out)
	}()
	defer func() {
		cancel()
		conn.Close()
		hwg.Wait()
	}()

	br := bufio.NewReaderSize(&idleReader{ic: ic, conn: conn, idle: s.o.IdleTimeout}, 64<<10)
	max := s.o.maxFrame(ln)
	for {
		f, err := readFrame(br, max)
		if err != nil {
			switch {
			case errors.Is(err, errIdle):
				s.stats.idleInbound.Add(1)
				s.log.Debug("internode connection idle: closed", "peer", from, "lane", ln, "idle_timeout", s.o.IdleTimeout)
			case ctx.Err() == nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
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
		ic.running.Add(1)
		hwg.Add(1)
		go func() {
			defer hwg.Done()
			defer func() {
				ic.running.Add(-1)
				ic.touch()
				<-sem
			}()
			s.serveFrame(ctx, from, ln, f, out)
		}()
	}
}

// errIdle ends an inbound connection that stayed idle for IdleTimeout.
var errIdle = errors.New("idle timeout")

// idleReader reads an inbound connection's TLS stream, failing with errIdle
// once nothing has been read for IdleTimeout while none of its handlers ran
// and no response was written. A read deadline that passes while the
// connection is in use is extended (crypto/tls keeps its state across a
// timed-out read).
type idleReader struct {
	ic   *inConn
	conn *tlsRaw
	idle time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	for {
		r.conn.SetReadDeadline(r.ic.last().Add(r.idle))
		n, err := r.conn.tls.Read(p)
		if n > 0 {
			r.ic.touch()
		}
		if n > 0 || err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if r.ic.running.Load() > 0 {
			r.ic.touch() // a running handler is activity
			continue
		}
		if time.Since(r.ic.last()) < r.idle {
			continue // a response was written meanwhile
		}
		return 0, errIdle
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
func (s *Service) writeResponses(ctx context.Context, cancel context.CancelFunc, ic *inConn, conn *tlsRaw, out <-chan []byte) {
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
			ic.touch()
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
