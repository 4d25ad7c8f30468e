package e2e

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/ringdb/ringdb/internal/testcert"
)

// capture runs tcpdump on the loopback interface for TCP port port until
// the returned stop function is called, which returns the captured
// packets' bytes (pcap). The test is skipped when tcpdump is missing or
// may not capture, unless RINGDB_REQUIRE_DRIVERS=1 (CI installs it).
func capture(t *testing.T, port int) (stop func() []byte) {
	t.Helper()
	bin, err := exec.LookPath("tcpdump")
	if err != nil {
		if os.Getenv("RINGDB_REQUIRE_DRIVERS") == "1" {
			t.Fatal("tcpdump is required (RINGDB_REQUIRE_DRIVERS=1) but not on PATH")
		}
		t.Skip("tcpdump is not installed (Debian package tcpdump)")
	}
	out := filepath.Join(t.TempDir(), "login.pcap")
	cmd := exec.Command(bin, "-i", "lo", "-U", "--immediate-mode", "-n", "-s", "0", "-w", out, "tcp port "+strconv.Itoa(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "listening on") {
				listening <- ""
			}
		}
		listening <- strings.Join(lines, "\n")
	}()
	select {
	case msg := <-listening:
		if msg != "" || cmd.ProcessState != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if os.Getenv("RINGDB_REQUIRE_DRIVERS") == "1" {
				t.Fatalf("tcpdump cannot capture: %s", msg)
			}
			t.Skipf("tcpdump cannot capture here: %s", msg)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("tcpdump did not start listening within 20 s")
	}
	return func() []byte {
		// The kernel hands packets to tcpdump asynchronously: send a marker
		// on a connection of our own and wait until the file holds it, so
		// everything sent before it has been written.
		marker := []byte("capture-end-" + strconv.FormatInt(time.Now().UnixNano(), 36))
		deadline := time.Now().Add(20 * time.Second)
		var lastErr error
		for seen := false; !seen && time.Now().Before(deadline); {
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second); err != nil {
				lastErr = err
			} else {
				_, lastErr = c.Write(marker)
				c.Close()
			}
			for wait := time.Now().Add(time.Second); !seen && time.Now().Before(wait); {
				b, _ := os.ReadFile(out)
				if seen = bytes.Contains(b, marker); !seen {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, marker) {
			t.Fatalf("tcpdump did not capture the end marker within 20 s (%d bytes captured; last marker send: %v)", len(b), lastErr)
		}
		return b
	}
}

// TestLoginPacketCapture: tcpdump on the loopback interface while gocql
// logs in as the superuser. Over a cleartext native port the capture holds
// the password (the SASL PLAIN token), which shows the capture works; over
// client TLS it holds no byte sequence of it.
func TestLoginPacketCapture(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		var n *testNode
		var f testcert.Files
		if useTLS {
			n, f = startTLSNode(t, false)
		} else {
			n = startNode(t, "")
		}
		stop := capture(t, n.port)
		c := n.cluster()
		if useTLS {
			c.SslOpts = &gocql.SslOptions{CaPath: f.CA, EnableHostVerification: true}
		}
		s, err := c.CreateSession()
		if err != nil {
			stop()
			t.Fatalf("TLS %v: %v", useTLS, err)
		}
		var v string
		if err := s.Query("SELECT release_version FROM system.local").Scan(&v); err != nil {
			t.Fatal(err)
		}
		s.Close()
		pcap := stop()
		leaked := bytes.Contains(pcap, []byte(n.password))
		t.Logf("TLS %v: %d bytes captured, password present: %v", useTLS, len(pcap), leaked)
		if leaked == useTLS {
			t.Fatalf("TLS %v: password in the capture = %v", useTLS, leaked)
		}
	}
}
