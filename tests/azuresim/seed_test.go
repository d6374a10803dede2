package azuresim

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadSeed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(p, []byte(`{"tenant_id":"11111111-1111-4111-8111-111111111111","root_client_secret":"root~secret",
		"storage_accounts":[{"name":"stdata","resource_group":"rg-data","containers":["raw"]}],
		"key_vaults":[{"name":"kv-x","secrets":{"a":"b"}}],"replication_delay":"2s","audience_aliases":{"https://arm.local":"https://management.azure.com"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := LoadSeed(p)
	if err != nil {
		t.Fatal(err)
	}
	if o.ReplicationDelay != 2*time.Second || o.TenantID != "11111111-1111-4111-8111-111111111111" || len(o.StorageAccounts) != 1 {
		t.Fatalf("options %+v", o)
	}
	s := New(o)
	if s.StorageAccountID("stdata") != "/subscriptions/"+s.SubscriptionID()+"/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdata" ||
		s.VaultID("kv-x") == "" || s.StorageAccountID("stexports") != "" {
		t.Fatal("seeded resources")
	}
	if _, sec := s.RootCredentials(); sec != "root~secret" {
		t.Fatal("root secret")
	}
	if _, err := (Seed{ReplicationDelay: "soon"}).Options(); err == nil {
		t.Fatal("bad duration accepted")
	}
}
