package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/types"
)

func cqlshCmd() *cobra.Command {
	var user, password, execute, file, passwordFile string
	var ssl sslFlags
	cmd := &cobra.Command{
		Use:   "cqlsh [HOST[:PORT]]",
		Short: "Interactive CQL shell (cqlsh-style output)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr := "127.0.0.1:9042"
			if len(args) == 1 {
				addr = args[0]
				if _, _, err := net.SplitHostPort(addr); err != nil {
					addr = net.JoinHostPort(addr, "9042")
				}
			}
			if passwordFile != "" && password == "" {
				b, err := os.ReadFile(passwordFile)
				if err != nil {
					return err
				}
				password = strings.TrimSpace(string(b))
			}
			tlsCfg, err := ssl.config()
			if err != nil {
				return err
			}
			c, err := client.Dial(context.Background(), addr, client.Options{Username: user, Password: password, TLS: tlsCfg})
			if err != nil {
				return fmt.Errorf("connection to %s failed: %w", addr, err)
			}
			defer c.Close()
			sh := &shell{c: c, out: cmd.OutOrStdout()}
			switch {
			case execute != "":
				return sh.runScript(execute)
			case file != "":
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				return sh.runScript(string(b))
			}
			return sh.repl(cmd.InOrStdin())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&user, "username", "u", "", "user name")
	f.StringVarP(&password, "password", "p", "", "password")
	f.StringVar(&passwordFile, "password-file", "", "read the password from this file")
	f.StringVarP(&execute, "execute", "e", "", "execute the statement(s) and exit")
	f.StringVarP(&file, "file", "f", "", "execute the statements in FILE and exit")
	f.BoolVar(&ssl.enabled, "ssl", false, "connect with TLS (the node's client_encryption_options)")
	f.StringVar(&ssl.caFile, "cafile", "", "PEM CA certificate(s) that sign the node's certificate (default: $SSL_CERTFILE, else the system roots)")
	f.StringVar(&ssl.certFile, "usercert", "", "PEM client certificate, for nodes with require_client_auth")
	f.StringVar(&ssl.keyFile, "userkey", "", "PEM private key of --usercert")
	return cmd
}

// sslFlags are cqlsh's TLS options.
type sslFlags struct {
	enabled                   bool
	caFile, certFile, keyFile string
}

// config builds the client TLS configuration: nil without --ssl. The
// node's certificate is always verified (against --cafile or
// $SSL_CERTFILE, else the system roots) and must name the host dialed.
func (s sslFlags) config() (*tls.Config, error) {
	if !s.enabled {
		if s.caFile != "" || s.certFile != "" || s.keyFile != "" {
			return nil, errors.New("--cafile, --usercert and --userkey need --ssl")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	ca := s.caFile
	if ca == "" {
		ca = os.Getenv("SSL_CERTFILE")
	}
	if ca != "" {
		b, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--cafile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--cafile: %s holds no PEM certificate", ca)
		}
		cfg.RootCAs = pool
	}
	if (s.certFile == "") != (s.keyFile == "") {
		return nil, errors.New("--usercert and --userkey go together")
	}
	if s.certFile != "" {
		cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--usercert/--userkey: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

type shell struct {
	c        *client.Client
	out      io.Writer
	keyspace string
}

// runScript runs ';'-separated statements, stopping at the first error.
func (sh *shell) runScript(script string) error {
	for _, st := range splitStatements(script) {
		if err := sh.run(st); err != nil {
			return err
		}
	}
	return nil
}

func (sh *shell) repl(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var pending strings.Builder
	prompt := func() {
		if pending.Len() > 0 {
			fmt.Fprint(sh.out, "   ... ")
			return
		}
		if sh.keyspace != "" {
			fmt.Fprintf(sh.out, "cqlsh:%s> ", sh.keyspace)
		} else {
			fmt.Fprint(sh.out, "cqlsh> ")
		}
	}
	prompt()
	for sc.Scan() {
		line := sc.Text()
		if pending.Len() == 0 {
			switch strings.ToLower(strings.TrimSuffix(strings.TrimSpace(line), ";")) {
			case "exit", "quit":
				return nil
			case "":
				prompt()
				continue
			}
		}
		pending.WriteString(line)
		pending.WriteByte('\n')
		stmts := splitStatements(pending.String())
		if complete(pending.String()) {
			for _, st := range stmts {
				if err := sh.run(st); err != nil {
					fmt.Fprintln(sh.out, err)
				}
			}
			pending.Reset()
		}
		prompt()
	}
	fmt.Fprintln(sh.out)
	return sc.Err()
}

func (sh *shell) run(stmt string) error {
	var page []byte
	var all *client.Result
	for {
		res, err := sh.c.Query(stmt, 5000, page)
		if err != nil {
			var se *client.ServerError
			if errors.As(err, &se) {
				return fmt.Errorf("%s", formatServerError(se))
			}
			return err
		}
		if all == nil {
			all = res
		} else {
			all.Rows = append(all.Rows, res.Rows...)
		}
		if len(res.PagingState) == 0 {
			break
		}
		page = res.PagingState
	}
	switch all.Kind {
	case 2: // rows
		printRows(sh.out, all)
	case 3:
		sh.keyspace = all.Keyspace
	}
	return nil
}

// formatServerError renders an error as cqlsh does.
func formatServerError(e *client.ServerError) string {
	names := map[int32]string{0x2000: "SyntaxException", 0x2200: "InvalidRequest", 0x2100: "Unauthorized",
		0x2300: "ConfigurationException", 0x2400: "AlreadyExists", 0x0100: "AuthenticationFailed", 0x1000: "Unavailable"}
	name := names[e.Code]
	if name == "" {
		name = fmt.Sprintf("Error %#04x", e.Code)
	}
	return fmt.Sprintf("%s: Error from server: code=%04x [%s] message=%q", name, e.Code, name, e.Message)
}

func printRows(w io.Writer, r *client.Result) {
	n := len(r.Columns)
	cells := make([][]string, len(r.Rows))
	width := make([]int, n)
	for i, c := range r.Columns {
		width[i] = utf8.RuneCountInString(c.Name)
	}
	for i, row := range r.Rows {
		cells[i] = make([]string, n)
		for j, v := range row {
			s := types.Format(r.Columns[j].Type, v)
			cells[i][j] = s
			if l := utf8.RuneCountInString(s); l > width[j] {
				width[j] = l
			}
		}
	}
	pad := func(s string, n int) string { return strings.Repeat(" ", n-utf8.RuneCountInString(s)) + s }
	fmt.Fprintln(w)
	var head, sep []string
	for i, c := range r.Columns {
		head = append(head, " "+pad(c.Name, width[i])+" ")
		sep = append(sep, strings.Repeat("-", width[i]+2))
	}
	fmt.Fprintln(w, strings.Join(head, "|"))
	fmt.Fprintln(w, strings.Join(sep, "+"))
	for _, row := range cells {
		var parts []string
		for j, s := range row {
			parts = append(parts, " "+pad(s, width[j])+" ")
		}
		fmt.Fprintln(w, strings.Join(parts, "|"))
	}
	fmt.Fprintf(w, "\n(%d rows)\n", len(r.Rows))
}

// splitStatements splits a script at ';' outside strings, quoted
// identifiers, $$ strings and comments; empty statements are dropped.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if st := strings.TrimSpace(cur.String()); st != "" {
			out = append(out, st)
		}
		cur.Reset()
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'' || ch == '"':
			j := i + 1
			for j < len(s) {
				if s[j] == ch {
					if j+1 < len(s) && s[j+1] == ch {
						j += 2
						continue
					}
					break
				}
				j++
			}
			cur.WriteString(s[i:min(j+1, len(s))])
			i = j
		case ch == '$' && i+1 < len(s) && s[i+1] == '$':
			end := strings.Index(s[i+2:], "$$")
			if end < 0 {
				cur.WriteString(s[i:])
				i = len(s)
			} else {
				cur.WriteString(s[i : i+4+end])
				i += 3 + end
			}
		case (ch == '-' || ch == '/') && i+1 < len(s) && s[i+1] == ch:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			cur.WriteByte('\n')
		case ch == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += 3 + end
			}
		case ch == ';':
			flush()
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return out
}

// complete reports whether the buffered input ends a statement (its last
// non-space, non-comment character is a ';' outside strings).
func complete(s string) bool {
	st := splitStatements(s + "\x00")
	if len(st) == 0 {
		return true
	}
	return strings.TrimSpace(st[len(st)-1]) == "\x00"
}
