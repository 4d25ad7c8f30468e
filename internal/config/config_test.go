package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValidate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults must validate: %v", err)
	}
	if c.NativePort != 9042 || c.StoragePort != 7000 || c.AdminAddress != "127.0.0.1:7199" || c.NumTokens != 16 ||
		c.MetadataClockSkew != 10*time.Minute {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestAdminFollowsListenAddress(t *testing.T) {
	c := Config{ListenAddress: "127.0.0.2"}
	c.EnsureDefaults()
	if c.AdminAddress != "127.0.0.2:7199" || c.NativeAddress != "127.0.0.2" {
		t.Fatalf("got admin %s native %s", c.AdminAddress, c.NativeAddress)
	}
	// A node on a network address keeps its admin endpoint on loopback
	// (it used to default to <listen_address>:7199, which validation then
	// refused: no node on a real network started without admin_address).
	c = Config{ListenAddress: "10.1.2.3", NativeAddress: "10.1.2.3"}
	c.EnsureDefaults()
	if c.AdminAddress != "127.0.0.1:7199" {
		t.Fatalf("admin for listen 10.1.2.3: %s", c.AdminAddress)
	}
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "admin_address") {
		t.Fatalf("the default admin address is refused: %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{ListenAddress: "0.0.0.0", NativeAddress: "nope", AdminAddress: "10.0.0.1:7199",
		CommitlogSync: "sometimes", NumTokens: 1000, Authenticator: "Foo", Seeds: []string{"x"}, MetadataClockSkew: -time.Second}
	c.EnsureDefaults()
	err := c.Validate()
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, key := range []string{"listen_address", "rpc_address", "admin_address", "commitlog_sync", "num_tokens", "authenticator", "seeds", "metadata_clock_skew"} {
		if !strings.Contains(err.Error(), key+":") {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ringdb.yaml")
	yml := "cluster_name: prod\ncommitlog_sync: batch\ncommitlog_sync_period: 50ms\nnum_tokens: 8\nseeds: [127.0.0.1, 127.0.0.2]\nmetadata_clock_skew: 2m\n"
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := c.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	c.EnsureDefaults()
	if c.ClusterName != "prod" || c.CommitlogSync != "batch" || c.CommitlogSyncPeriod != 50*time.Millisecond || c.NumTokens != 8 || len(c.Seeds) != 2 ||
		c.MetadataClockSkew != 2*time.Minute {
		t.Fatalf("got %+v", c)
	}
	if err := os.WriteFile(p, []byte("clustr_name: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c2 Config
	if err := c2.LoadFile(p); err == nil {
		t.Fatal("unknown key must be rejected")
	}
}

func TestNormalizeAuthenticator(t *testing.T) {
	for in, want := range map[string]string{"AllowAll": "AllowAllAuthenticator", "org.apache.cassandra.auth.PasswordAuthenticator": "PasswordAuthenticator"} {
		if got := NormalizeAuthenticator(in); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}

func TestPublicListenAddressRefused(t *testing.T) {
	for addr, public := range map[string]bool{"8.8.8.8": true, "2001:4860::1": true, "10.1.2.3": false, "192.168.1.1": false,
		"172.16.0.1": false, "127.0.0.2": false, "100.64.1.1": false, "fd00::1": false} {
		c := Config{ListenAddress: addr, NativeAddress: "127.0.0.1", AdminAddress: "127.0.0.1:7199"}
		c.EnsureDefaults()
		err := c.Validate()
		if public != (err != nil && strings.Contains(err.Error(), "public address")) {
			t.Errorf("%s: public=%v, err=%v", addr, public, err)
		}
		c.AllowPublicListenAddress = true
		if err := c.Validate(); err != nil {
			t.Errorf("%s with override: %v", addr, err)
		}
	}
}

// TestBatchSizeThresholds: cassandra.yaml's batch size keys in KiB, their
// defaults, -1 to disable, and out-of-range values refused by name.
func TestBatchSizeThresholds(t *testing.T) {
	c := Default()
	if c.BatchSizeWarnThreshold() != 5<<10 || c.BatchSizeFailThreshold() != 50<<10 {
		t.Fatalf("defaults: %d %d", c.BatchSizeWarnThreshold(), c.BatchSizeFailThreshold())
	}
	p := filepath.Join(t.TempDir(), "ringdb.yaml")
	if err := os.WriteFile(p, []byte("batch_size_warn_threshold_in_kb: 64\nbatch_size_fail_threshold_in_kb: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var f Config
	if err := f.LoadFile(p); err != nil {
		t.Fatal(err)
	}
	f.EnsureDefaults()
	if f.BatchSizeWarnThreshold() != 64<<10 || f.BatchSizeFailThreshold() != -1 {
		t.Fatalf("loaded: %d %d", f.BatchSizeWarnThreshold(), f.BatchSizeFailThreshold())
	}
	f.BatchSizeWarnThresholdKB = -5
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "batch_size_warn_threshold_in_kb") {
		t.Fatalf("want batch_size_warn_threshold_in_kb refused, got %v", err)
	}
}
