package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocql/gocql"
	"github.com/spf13/cobra"
)

// stressCmd is a load generator in the spirit of scylla-bench: a fixed
// number of concurrent workers run prepared statements against one table
// for a bounded time, and it prints per-second throughput and latency.
func stressCmd() *cobra.Command {
	var o struct {
		host, user, password, passwordFile, mode, keyspace, consistency string
		port, concurrency, partitions, clustering, valueSize, rf        int
		sequential                                                      bool
		firstRow                                                        int64
		duration                                                        time.Duration
		maxOps                                                          int64
	}
	cmd := &cobra.Command{
		Use:   "stress",
		Short: "Generate load against a node and report throughput and latency",
		Long: `Generate load: --mode write inserts rows (partition, clustering) with a value of --value-size bytes;
--mode read selects single rows by primary key from what a write run stored; --mode mixed does half of each.
Every run is bounded by --duration and, if set, --max-ops.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.passwordFile != "" && o.password == "" {
				b, err := os.ReadFile(o.passwordFile)
				if err != nil {
					return err
				}
				o.password = strings.TrimSpace(string(b))
			}
			c := gocql.NewCluster(o.host)
			c.Port = o.port
			c.ProtoVersion = 4
			c.Timeout = 10 * time.Second
			c.NumConns = 2
			c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
			if err := c.Consistency.UnmarshalText([]byte(strings.ToUpper(o.consistency))); err != nil {
				return err
			}
			if o.user != "" {
				c.Authenticator = gocql.PasswordAuthenticator{Username: o.user, Password: o.password}
			}
			s, err := c.CreateSession()
			if err != nil {
				return fmt.Errorf("connect: %w", err)
			}
			defer s.Close()
			if err := s.Query(fmt.Sprintf("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': %d}", o.keyspace, o.rf)).Exec(); err != nil {
				return err
			}
			if err := s.Query(fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.test (pk bigint, ck bigint, v blob, PRIMARY KEY (pk, ck))", o.keyspace)).Exec(); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), o.duration)
			defer cancel()
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
			defer stop()
			value := make([]byte, o.valueSize)
			for i := range value {
				value[i] = byte(i)
			}
			ins := fmt.Sprintf("INSERT INTO %s.test (pk, ck, v) VALUES (?, ?, ?)", o.keyspace)
			sel := fmt.Sprintf("SELECT v FROM %s.test WHERE pk = ? AND ck = ?", o.keyspace)
			rec := newRecorder()
			var ops atomic.Int64
			var wg sync.WaitGroup
			for w := 0; w < o.concurrency; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
					var buf []byte
					for ctx.Err() == nil {
						n := ops.Add(1)
						if o.maxOps > 0 && n > o.maxOps {
							return
						}
						pk := rng.Int64N(int64(o.partitions))
						ck := rng.Int64N(int64(o.clustering))
						if o.sequential { // every row once, in order, then again
							idx := (o.firstRow + n - 1) % (int64(o.partitions) * int64(o.clustering))
							pk, ck = idx/int64(o.clustering), idx%int64(o.clustering)
						}
						write := o.mode == "write" || (o.mode == "mixed" && rng.IntN(2) == 0)
						start := time.Now()
						var err error
						if write {
							err = s.Query(ins, pk, ck, value).WithContext(ctx).Exec()
						} else {
							err = s.Query(sel, pk, ck).WithContext(ctx).Scan(&buf)
							if err == gocql.ErrNotFound {
								err = nil
							}
						}
						if ctx.Err() != nil {
							return
						}
						rec.record(time.Since(start), err)
					}
				}(w)
			}
			fmt.Printf("Mode: %s, concurrency %d, partitions %d x clustering %d, value %d B, consistency %s, duration %s\n\n",
				o.mode, o.concurrency, o.partitions, o.clustering, o.valueSize, o.consistency, o.duration)
			fmt.Printf("%-6s %10s %8s %10s %10s %10s %10s %10s %10s\n", "time", "ops/s", "errors", "max", "99.9th", "99th", "95th", "median", "mean")
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			begin := time.Now()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			for loop := true; loop; {
				select {
				case <-tick.C:
					st := rec.interval()
					fmt.Printf("%-6s %10d %8d %10s %10s %10s %10s %10s %10s\n", time.Since(begin).Round(time.Second),
						st.n, st.errs, st.q(1), st.q(0.999), st.q(0.99), st.q(0.95), st.q(0.5), st.mean())
				case <-done:
					loop = false
				}
			}
			total := rec.total()
			el := time.Since(begin)
			fmt.Printf("\nResults\nTime (avg):\t %s\nTotal ops:\t %d\nTotal errors:\t %d\nOperations/s:\t %.0f\n",
				el.Round(time.Millisecond), total.n, total.errs, float64(total.n)/el.Seconds())
			fmt.Printf("Latency:\n  max:\t\t %s\n  99.9th:\t %s\n  99th:\t\t %s\n  95th:\t\t %s\n  90th:\t\t %s\n  median:\t %s\n  mean:\t\t %s\n",
				total.q(1), total.q(0.999), total.q(0.99), total.q(0.95), total.q(0.9), total.q(0.5), total.mean())
			if total.firstErr != nil {
				fmt.Printf("First error: %v\n", total.firstErr)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.host, "host", "127.0.0.1", "node address")
	f.IntVar(&o.port, "port", 9042, "native port")
	f.StringVarP(&o.user, "username", "u", "cassandra", "user")
	f.StringVarP(&o.password, "password", "p", "", "password")
	f.StringVar(&o.passwordFile, "password-file", "", "read the password from this file (e.g. <data-dir>/superuser.password)")
	f.StringVar(&o.mode, "mode", "write", "write, read or mixed")
	f.StringVar(&o.keyspace, "keyspace", "stress", "keyspace")
	f.StringVar(&o.consistency, "consistency", "one", "consistency level")
	f.IntVar(&o.concurrency, "concurrency", 64, "concurrent requests")
	f.IntVar(&o.partitions, "partitions", 10000, "number of partitions")
	f.IntVar(&o.clustering, "clustering", 10, "rows per partition")
	f.Int64Var(&o.firstRow, "first-row", 0, "with --sequential, the index of the first row written (partition = index / clustering)")
	f.BoolVar(&o.sequential, "sequential", false, "choose rows in order (partition 0 row 0, 0 1, ...) instead of at random: --max-ops partitions x clustering writes every row once")
	f.IntVar(&o.valueSize, "value-size", 100, "value size in bytes")
	f.IntVar(&o.rf, "replication-factor", 1, "replication factor of the keyspace if stress creates it")
	f.DurationVar(&o.duration, "duration", 30*time.Second, "how long to run")
	f.Int64Var(&o.maxOps, "max-ops", 0, "stop after this many operations (0: only --duration)")
	return cmd
}

// recorder keeps latencies per interval and in total.
type recorder struct {
	mu       sync.Mutex
	cur, all stats
}

type stats struct {
	n, errs  int64
	lat      []time.Duration
	sum      time.Duration
	firstErr error
}

func newRecorder() *recorder { return &recorder{} }

func (r *recorder) record(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range []*stats{&r.cur, &r.all} {
		if err != nil {
			s.errs++
			if s.firstErr == nil {
				s.firstErr = err
			}
			continue
		}
		s.n++
		s.sum += d
		s.lat = append(s.lat, d)
	}
}

func (r *recorder) interval() stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.cur
	r.cur = stats{}
	return s
}

func (r *recorder) total() stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.all
}

func (s *stats) q(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	sort.Slice(s.lat, func(i, j int) bool { return s.lat[i] < s.lat[j] })
	i := int(p * float64(len(s.lat)-1))
	return s.lat[i].Round(time.Microsecond)
}

func (s *stats) mean() time.Duration {
	if s.n == 0 {
		return 0
	}
	return (s.sum / time.Duration(s.n)).Round(time.Microsecond)
}
