package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// credentials_validity: absent is 2s, 0ms turns the cache off, a
// negative value is refused naming the key.
func TestCredentialsValidity(t *testing.T) {
	load := func(yml string) (Config, error) {
		p := filepath.Join(t.TempDir(), "ringdb.yaml")
		if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		c := Default()
		if err := c.LoadFile(p); err != nil {
			return c, err
		}
		c.EnsureDefaults()
		return c, c.Validate()
	}
	c, err := load("cluster_name: x\n")
	if err != nil || c.CredentialsCache() != 2*time.Second {
		t.Fatalf("default: %v, %v", c.CredentialsCache(), err)
	}
	c, err = load("credentials_validity: 0ms\n")
	if err != nil || c.CredentialsCache() != 0 {
		t.Fatalf("0ms: %v, %v", c.CredentialsCache(), err)
	}
	c, err = load("credentials_validity: 30s\n")
	if err != nil || c.CredentialsCache() != 30*time.Second {
		t.Fatalf("30s: %v, %v", c.CredentialsCache(), err)
	}
	if _, err = load("credentials_validity: -1s\n"); err == nil || !strings.Contains(err.Error(), "credentials_validity") {
		t.Fatalf("negative: %v", err)
	}
}
