package aws_test

// Acceptance tests against real AWS. They run only with NHI_ACC_AWS=1 and need:
//
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  long-term keys of an IAM user (the engine's root)
//	AWS_REGION                                default us-east-1
//	NHI_ACC_AWS_ROLE_ARN                      a role trusting that user for sts:AssumeRole,
//	                                          sts:TagSession and sts:SetSourceIdentity; the user
//	                                          needs iam:PutRolePolicy/GetRolePolicy/ListRolePolicies/
//	                                          DeleteRolePolicy on it
//	NHI_ACC_AWS_BUCKET                        optional: a bucket the role may write, to check that
//	                                          revocation stops a working session
//	NHI_ACC_AWS_IAM_USER=1                    optional: also exercise iam_user (needs iam:*User*,
//	                                          iam:*AccessKey*, iam:*UserPolic* on /nhi/ users)

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/aws"
)

type shiftClock struct {
	mu    sync.Mutex
	shift time.Duration
}

func (c *shiftClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.shift)
}

func accSetup(t *testing.T) (*aws.Provider, logical.Storage, *shiftClock, string) {
	t.Helper()
	if os.Getenv("NHI_ACC_AWS") != "1" {
		t.Skip("set NHI_ACC_AWS=1 (and AWS credentials) to run acceptance tests against AWS")
	}
	roleARN := os.Getenv("NHI_ACC_AWS_ROLE_ARN")
	if roleARN == "" || os.Getenv("AWS_ACCESS_KEY_ID") == "" || os.Getenv("AWS_SECRET_ACCESS_KEY") == "" {
		t.Fatal("NHI_ACC_AWS=1 needs AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and NHI_ACC_AWS_ROLE_ARN")
	}
	if os.Getenv("AWS_SESSION_TOKEN") != "" {
		t.Fatal("config/aws takes long-term IAM user keys; unset AWS_SESSION_TOKEN")
	}
	cfg := aws.DefaultConfig()
	cfg.AccessKey, cfg.SecretKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if r := os.Getenv("AWS_REGION"); r != "" {
		cfg.Region = r
	}
	s := &logical.InmemStorage{}
	if err := aws.SaveConfig(context.Background(), s, cfg); err != nil {
		t.Fatal(err)
	}
	clock := &shiftClock{}
	return aws.New(clock.now, aws.DefaultClients, aws.WithKeyWait(30*time.Second, 60*time.Second)), s, clock, roleARN
}

func accRequest(id, roleARN, bucket string, ct string) providers.IssueRequest {
	settings := map[string]any{}
	if ct == aws.CredentialTypeAssumedRole {
		settings["role_arn"] = roleARN
	}
	return providers.IssueRequest{
		CredentialID: id, Role: providers.RoleInfo{Name: "acc", CredentialType: ct, Settings: settings},
		Subject: "nhi-acceptance", Task: "acceptance", Sensitivity: "internal",
		Destinations: []string{"s3://" + bucket + "/nhi-acc/*"}, Actions: []string{"read", "write", "list"},
		TTL: 5 * time.Minute, Now: time.Now(),
	}
}

func TestAccAssumedRole(t *testing.T) {
	p, s, clock, roleARN := accSetup(t)
	ctx := context.Background()
	bucket := os.Getenv("NHI_ACC_AWS_BUCKET")
	if bucket == "" {
		bucket = "nhi-acc-no-bucket"
	}
	id := "c-acc" + strings.ToLower(time.Now().UTC().Format("20060102t150405"))
	req := accRequest(id, roleARN, bucket, aws.CredentialTypeAssumedRole)
	got, err := p.Issue(ctx, s, req)
	if err != nil {
		t.Fatal(err)
	}
	cp := credentials.NewStaticCredentialsProvider(got.Public["access_key"].(string), got.Secret["secret_key"].(string), got.Secret["session_token"].(string))
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = aws.DefaultRegion
	}
	who, err := sts.New(sts.Options{Region: region, Credentials: cp}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || !strings.HasSuffix(awssdk.ToString(who.Arn), "/"+id) {
		t.Fatalf("GetCallerIdentity = %v, %v", who, err)
	}
	s3c := s3.New(s3.Options{Region: region, Credentials: cp})
	put := func() error {
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String("nhi-acc/" + id), Body: strings.NewReader("x")})
		return err
	}
	if os.Getenv("NHI_ACC_AWS_BUCKET") != "" {
		if err := put(); err != nil {
			t.Fatalf("put before revoke: %v", err)
		}
	}
	if err := p.Revoke(ctx, s, providers.RevokeRequest{CredentialID: id, Ref: got.Ref, IssuedAt: req.Now, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Past every STS expiry: the revocation policy is removed again.
		clock.mu.Lock()
		clock.shift = 13 * time.Hour
		clock.mu.Unlock()
		if err := p.Periodic(context.Background(), s); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if os.Getenv("NHI_ACC_AWS_BUCKET") != "" {
		deadline := time.Now().Add(2 * time.Minute) // IAM propagation
		for put() == nil {
			if time.Now().After(deadline) {
				t.Fatal("the revoked session still writes after 2 minutes")
			}
			time.Sleep(2 * time.Second)
		}
	}
}

func TestAccIAMUser(t *testing.T) {
	p, s, _, _ := accSetup(t)
	if os.Getenv("NHI_ACC_AWS_IAM_USER") != "1" {
		t.Skip("set NHI_ACC_AWS_IAM_USER=1 to create and delete IAM users")
	}
	ctx := context.Background()
	id := "c-accu" + strings.ToLower(time.Now().UTC().Format("20060102t150405"))
	got, err := p.Issue(ctx, s, accRequest(id, "", "nhi-acc-no-bucket", aws.CredentialTypeIAMUser))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(ctx, s, providers.RevokeRequest{CredentialID: id, Ref: got.Ref, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
}
