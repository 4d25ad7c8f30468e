package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuthorizerDefaultAndValidation(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	if c.Authorizer != "CassandraAuthorizer" {
		t.Fatalf("default authorizer %q", c.Authorizer)
	}
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "authorizer:") {
		t.Fatalf("default refused: %v", err)
	}
	c.Authorizer = "AllowAllAuthorizer"
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "authorizer:") {
		t.Fatalf("AllowAllAuthorizer refused: %v", err)
	}
	c.Authorizer = "Foo"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `authorizer: "Foo" must be CassandraAuthorizer or AllowAllAuthorizer`) {
		t.Fatalf("bad authorizer: %v", err)
	}
}

func TestAuthorizerFromFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ringdb.yaml")
	if err := os.WriteFile(p, []byte("authorizer: AllowAllAuthorizer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := c.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	if c.Authorizer != "AllowAllAuthorizer" {
		t.Fatalf("got %q", c.Authorizer)
	}
}

func TestNormalizeAuthorizer(t *testing.T) {
	for in, want := range map[string]string{"AllowAll": "AllowAllAuthorizer", "cassandra": "CassandraAuthorizer",
		"org.apache.cassandra.auth.CassandraAuthorizer": "CassandraAuthorizer", "Other": "Other"} {
		if got := NormalizeAuthorizer(in); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}
