package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/ringdb/ringdb/internal/client"
	"github.com/ringdb/ringdb/internal/protocol/frame"
)

// TestInProcessCluster runs three nodes in this process (so `go test
// -race` sees the cluster, coordinator, gossip and messaging code paths
// together) on 127.0.0.1-3 sharing free ports.
func TestInProcessCluster(t *testing.T) {
	addrs := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	ic := startInProcessCluster(t, addrs)
	nodes, nativePort, pw := ic.nodes, ic.nativePort, ic.password
	conns := make([]*client.Client, len(addrs))
	for i, a := range addrs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := client.Dial(context.Background(), a+":"+strconv.Itoa(nativePort), client.Options{Username: "cassandra", Password: pw})
			if err == nil {
				conns[i] = c
				t.Cleanup(func() { c.Close() })
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("login on %s: %v", a, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	run := func(c *client.Client, cl frame.Consistency, q string) (*client.Result, error) {
		return c.QueryCL(q, cl, 0, nil)
	}
	if _, err := run(conns[0], frame.One, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(conns[0], frame.One, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)"); err != nil {
		t.Fatal(err)
	}
	// Wait until all three are ring members and have the table.
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok := true
		for _, c := range conns {
			if _, err := run(c, frame.All, "INSERT INTO ks.t (k, v) VALUES (0, 0)"); err != nil {
				ok = false
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cluster did not form")
		}
		time.Sleep(200 * time.Millisecond)
	}
	done := make(chan error, 3)
	for w := 0; w < 3; w++ {
		go func(w int) {
			for i := 0; i < 100; i++ {
				k := w*1000 + i
				if _, err := run(conns[w], frame.Quorum, fmt.Sprintf("INSERT INTO ks.t (k, v) VALUES (%d, %d)", k, k)); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}(w)
	}
	for i := 0; i < 3; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	r, err := run(conns[2], frame.All, "SELECT count(*) FROM ks.t")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Rows[0][0]) != string([]byte{0, 0, 0, 0, 0, 0, 1, 44}) { // 300 keys (k=0 is written twice)
		for i, c := range conns {
			for _, cl := range []frame.Consistency{frame.One, frame.All} {
				res, err := c.QueryCL("SELECT k, token(k) FROM ks.t", cl, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for _, row := range res.Rows {
					seen[string(row[0])] = true
				}
				var missing []string
				for w := 0; w < 3; w++ {
					for j := 0; j < 100; j++ {
						k := w*1000 + j
						if !seen[string([]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})] {
							missing = append(missing, strconv.Itoa(k))
						}
					}
				}
				t.Logf("node %d at %s: %d rows, missing %v", i, cl, len(res.Rows), missing)
			}
		}
		t.Fatalf("count(*) at ALL: %x", r.Rows[0][0])
	}
	for w := 0; w < 3; w++ {
		r, err := run(conns[(w+1)%3], frame.Quorum, fmt.Sprintf("SELECT v FROM ks.t WHERE k = %d", w*1000+99))
		if err != nil || len(r.Rows) != 1 {
			t.Fatalf("QUORUM read: %v %v", r, err)
		}
	}
	// A logged batch over partitions on different replicas (RF 1) goes
	// through the batchlog and is applied whole.
	if _, err := run(conns[0], frame.One, "CREATE KEYSPACE ks1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(conns[0], frame.One, "CREATE TABLE ks1.t (k int PRIMARY KEY, v int)"); err != nil {
		t.Fatal(err)
	}
	batch := "BEGIN BATCH "
	for k := 0; k < 12; k++ {
		batch += fmt.Sprintf("INSERT INTO ks1.t (k, v) VALUES (%d, %d); ", k, k)
	}
	batch += "APPLY BATCH"
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, err := run(conns[1], frame.One, batch)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logged batch: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // schema still propagating
	}
	r, err = run(conns[2], frame.One, "SELECT count(*) FROM ks1.t")
	if err != nil || string(r.Rows[0][0]) != string([]byte{0, 0, 0, 0, 0, 0, 0, 12}) {
		t.Fatalf("logged batch rows: %v %v", r, err)
	}
	if nodes[1].Coordinator().BatchesLogged() == 0 {
		t.Fatal("the multi-replica logged batch did not go through the batchlog")
	}
}
