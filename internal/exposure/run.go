package exposure

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Run audits the targets given as TARGET[:PORT] arguments and returns the
// report. Its error is a usage error (a malformed argument) or the
// context's error when ctx ended the run early; the report is returned
// with whatever was found in either case it could start.
func Run(ctx context.Context, args []string, o Options) (*Report, error) {
	o = o.withDefaults()
	targets, err := ParseTargets(args, o.Ports)
	if err != nil {
		return nil, fmt.Errorf("exposure: %w", err)
	}
	if len(targets) == 0 {
		return nil, errors.New("exposure: no target given")
	}
	cert, err := throwawayCert(time.Now()) // the real clock: the target judges it
	if err != nil {
		return nil, fmt.Errorf("exposure: %w", err)
	}
	a := &auditor{o: o, cert: cert}
	results := a.auditAll(ctx, targets)
	rep := &Report{Targets: []TargetResult{}, Findings: []Finding{}}
	for _, r := range results {
		rep.Targets = append(rep.Targets, r.result)
		rep.Findings = append(rep.Findings, r.findings...)
	}
	rep.Summary = summarize(rep.Findings)
	return rep, ctx.Err()
}

// auditor is one run: its options and throwaway client certificate.
type auditor struct {
	o    Options
	cert tls.Certificate
}

type targetOutcome struct {
	result   TargetResult
	findings []Finding
}

// auditAll probes the targets with at most o.Concurrency workers; it
// returns when every worker has.
func (a *auditor) auditAll(ctx context.Context, targets []Target) []targetOutcome {
	out := make([]targetOutcome, len(targets))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(a.o.Concurrency, len(targets)) {
		wg.Go(func() {
			for i := range jobs {
				out[i] = a.audit(ctx, targets[i])
			}
		})
	}
	for i := range targets {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// audit probes one target's ports one after the other.
func (a *auditor) audit(ctx context.Context, t Target) targetOutcome {
	res := TargetResult{Host: t.Host, Ports: t.Ports}
	addr, err := a.resolve(ctx, t.Host)
	if err != nil {
		return targetOutcome{result: res, findings: []Finding{{Severity: Info, Target: t.Host, ID: "unresolved",
			Title: "not scanned: the host name did not resolve", Detail: describeErr(err)}}}
	}
	res.Address, res.Public = addr.String(), a.o.IsPublic(addr)
	if why := notAHost(addr); why != "" {
		return targetOutcome{result: res, findings: []Finding{{Severity: Info, Target: t.Host, ID: "not-a-host",
			Title: "not scanned: the host name resolves to " + res.Address, Detail: why}}}
	}
	if res.Public && !a.o.AllowPublic {
		return targetOutcome{result: res, findings: []Finding{{Severity: Info, Target: res.Address, ID: "public-not-scanned",
			Title:  "public address, not scanned",
			Detail: "the address is globally routable; it is probed only with --allow-public",
			Fix:    "scan it with --allow-public if you are authorized to test it"}}}
	}
	res.Scanned = true
	s := &session{a: a, addr: addr, public: res.Public, loopback: a.o.IsLoopback(addr)}
	var fs []Finding
	for _, port := range t.Ports {
		if ctx.Err() != nil {
			fs = append(fs, s.finding(port, Info, "cancelled", "not probed: the run was cancelled", "", ""))
			continue
		}
		fs = append(fs, s.probePort(ctx, port)...)
	}
	res.Connections = s.used
	return targetOutcome{result: res, findings: fs}
}

func (a *auditor) resolve(ctx context.Context, host string) (netip.Addr, error) {
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.o.Timeout)
	defer cancel()
	addrs, err := a.o.Resolve(ctx, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no address", host)
	}
	return addrs[0].Unmap(), nil
}

// session is the probing of one target address: its connection budget.
// It is used by one goroutine.
type session struct {
	a        *auditor
	addr     netip.Addr
	public   bool
	loopback bool
	used     int // connections opened so far
}

// errBudget is returned by dial once the target's budget is spent.
var errBudget = errors.New("connection budget for this target exhausted")

func (s *session) finding(port int, sev Severity, id, title, detail, fix string) Finding {
	return Finding{Severity: sev, Target: s.addr.String(), Port: port, ID: id, Title: title, Detail: detail, Fix: fix}
}

// dial opens one connection to port, counted against the budget. The
// connection reads at most MaxRead bytes and is cut when ctx ends.
func (s *session) dial(ctx context.Context, port int) (net.Conn, error) {
	if s.used >= s.a.o.MaxConnsPerTarget {
		return nil, errBudget
	}
	s.used++
	dctx, cancel := context.WithTimeout(ctx, s.a.o.Timeout)
	defer cancel()
	address := net.JoinHostPort(s.addr.String(), strconv.Itoa(port))
	c, err := s.a.o.Dial(dctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	pc := &probeConn{Conn: c, left: s.a.o.MaxRead}
	pc.stop = context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return pc, nil
}

// deadline is when an I/O step started now must end.
func (s *session) deadline() time.Time { return time.Now().Add(s.a.o.Timeout) }

// openFinding turns a failed first dial into the port's finding.
func (s *session) openFinding(port int, err error) Finding {
	switch {
	case errors.Is(err, errBudget):
		return s.finding(port, Info, "budget-exhausted", "not probed: connection budget exhausted",
			fmt.Sprintf("at most %d connections per target", s.a.o.MaxConnsPerTarget), "")
	case errors.Is(err, syscall.ECONNREFUSED):
		return s.finding(port, Info, "closed", "closed", "", "")
	case isTimeout(err):
		return s.finding(port, Info, "filtered", "no answer to connect (filtered)",
			"no answer within "+s.a.o.Timeout.String(), "")
	}
	return s.finding(port, Info, "unreachable", "not reachable", describeErr(err), "")
}

// probeConn caps the bytes read from a target and detaches the context
// watch on Close.
type probeConn struct {
	net.Conn
	left int64
	stop func() bool
}

// errReadCap is returned once a connection has read MaxRead bytes.
var errReadCap = errors.New("read cap reached")

func (c *probeConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errReadCap
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *probeConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// describeErr names an error without the ephemeral details (local ports)
// that would make reports differ from run to run.
func describeErr(err error) string {
	var rhe tls.RecordHeaderError
	if a, ok := remoteAlert(err); ok {
		return "TLS alert: " + a
	}
	switch {
	case err == nil:
		return ""
	case errors.As(err, &rhe):
		return "not a TLS reply"
	case isTimeout(err):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the target"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset by the target"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, errReadCap):
		return "reply larger than the read cap"
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return "DNS: " + clean(de.Err)
	}
	return clean(err.Error())
}
