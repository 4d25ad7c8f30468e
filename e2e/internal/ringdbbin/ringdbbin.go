// Package ringdbbin builds the ringdb binary once per test process, for
// the end-to-end tests that run real server processes and CLI commands.
package ringdbbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
)

// Path builds cmd/ringdb (the first time) and returns the binary's path.
func Path(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		dir, e := os.MkdirTemp("", "ringdb-bin")
		if e != nil {
			err = e
			return
		}
		path = filepath.Join(dir, "ringdb")
		out, e := exec.Command("go", "build", "-o", path, "github.com/ringdb/ringdb/cmd/ringdb").CombinedOutput()
		if e != nil {
			err = fmt.Errorf("go build: %v\n%s", e, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}
