package awssim

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestSeedFile(t *testing.T) {
	seed := `{
	  "account_id": "111122223333",
	  "root_access_key_id": "AKIAROOTROOTROOTROOT", "root_secret_access_key": "rootsecret",
	  "users": [{"name": "svc", "path": "/svc/", "inline_policies": {"s3": ` + jsonString(allowS3) + `}, "keys": [{"access_key_id": "AKIASVCSVCSVCSVCSVC1", "secret_access_key": "svcsecret"}]}],
	  "roles": [{"name": "etl", "trust_policy": ` + jsonString(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`) + `, "inline_policies": {"s3": ` + jsonString(allowS3) + `}, "max_session_duration": 43200}],
	  "policies": [{"name": "boundary", "path": "/nhi/", "document": ` + jsonString(allowS3) + `}],
	  "buckets": ["analytics-raw"],
	  "key_propagation_delay": "1s"
	}`
	path := filepath.Join(t.TempDir(), "seed.json")
	mustOK(t, "write", os.WriteFile(path, []byte(seed), 0o600))
	o, err := LoadSeed(path)
	mustOK(t, "LoadSeed", err)
	if o.KeyPropagationDelay != time.Second {
		t.Fatalf("delay %v", o.KeyPropagationDelay)
	}
	s := newSim(t, o)
	b := s.Banner()
	if b.URL != s.URL() || b.AccountID != "111122223333" || b.RootAccessKeyID != "AKIAROOTROOTROOTROOT" || len(b.Users) != 1 {
		t.Fatalf("banner %+v", b)
	}
	root := rootClient(s)
	out, err := root.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111122223333:role/etl"), RoleSessionName: aws.String("seeded"), DurationSeconds: aws.Int32(43200)})
	mustOK(t, "AssumeRole seeded role", err)
	svc := newClient(s, creds{id: "AKIASVCSVCSVCSVCSVC1", secret: "svcsecret"}, nil)
	mustOK(t, "seeded user key", putObj(svc, "analytics-raw", "k", "v"))
	_ = out
}
