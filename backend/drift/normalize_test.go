package drift

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestResourceMatches(t *testing.T) {
	tests := []struct {
		dest, resource string
		want           bool
	}{
		// Same spelling.
		{"s3://raw/2026/12/*", "s3://raw/2026/12/a.csv", true},
		{"s3://raw/2026/12/*", "s3://raw/2026/11/a.csv", false},
		{"s3://raw/2026/12/*", "s3://raw/2026/12", false}, // a subtree never grants its prefix object
		// CloudTrail ARN against s3:// destinations and back.
		{"s3://raw/2026/12/*", "arn:aws:s3:::raw/2026/12/a.csv", true},
		{"s3://raw/2026/12/*", "arn:aws-cn:s3:::raw/2026/12/sub/a.csv", true},
		{"s3://raw/2026/12/*", "arn:aws:s3:::raw/2026/11/a.csv", false},
		{"s3://raw/2026/12/*", "arn:aws:s3:::other/2026/12/a.csv", false},
		{"s3://raw/2026/12/*", "arn:aws:s3:eu-central-1:123:raw/2026/12/a", false}, // not an S3 object ARN
		{"arn:aws:s3:::raw/2026/12/*", "s3://raw/2026/12/a.csv", true},
		{"arn:aws:s3:::raw/2026/12/*", "arn:aws:s3:::raw/2026/12/a.csv", true},
		{"s3://raw/*/data/*", "arn:aws:s3:::raw/x/data/y", true},
		{"s3://raw/*/data/*", "arn:aws:s3:::raw/x/other/y", false},
		// Bucket-level (ListBucket without a known prefix): the destination lives there.
		{"s3://raw/2026/12/*", "arn:aws:s3:::raw", true},
		{"s3://raw/2026/12/*", "s3://raw", true},
		{"arn:aws:s3:::raw/2026/12/*", "arn:aws:s3:::raw", true},
		{"s3://raw/2026/12/*", "arn:aws:s3:::rawdata", false},
		{"s3://logs-*/app/*", "arn:aws:s3:::logs-eu", true},
		{"s3://logs-*/app/*", "arn:aws:s3:::metrics", false},
		// List prefix: only when every key under it is inside.
		{"s3://raw/2026/12/*", "arn:aws:s3:::raw/2026/12/", true},
		{"s3://raw/2026/12/*", "arn:aws:s3:::raw/2026/12/day-05/", true},
		{"s3://raw/2026/12/*", "arn:aws:s3:::raw/2026/", false},
		{"s3://raw/2026/12/*", "s3://raw/2026/", false},
		{"s3://raw/*", "s3://raw/", true},
		// Other schemes are plain matches.
		{"https://api.example.com/v1/*", "https://api.example.com/v1/items", true},
		{"https://api.example.com/v1/*", "https://api.example.com/v2/items", false},
		{"azure://acct/c/*", "azure://acct/c/b.txt", true},
		{"arn:aws:iam::123456789012:role/*", "arn:aws:iam::123456789012:role/x", true},
		{"arn:aws:iam::123456789012:role/*", "s3://raw/x", false},
		// Malformed resources never match.
		{"s3://raw/*", "s3://raw/a/../../x", false},
		{"s3://raw/*", "arn:aws:s3:::raw/a/../", false},
		{"s3://raw/*", "", false},
	}
	for _, tt := range tests {
		if got := ResourceMatches(mustPattern(t, tt.dest), tt.resource); got != tt.want {
			t.Errorf("ResourceMatches(%s, %s) = %v, want %v", tt.dest, tt.resource, got, tt.want)
		}
	}
}

func TestS3ListResource(t *testing.T) {
	tests := []struct{ partition, bucket, prefix, want string }{
		{"", "raw", "", "arn:aws:s3:::raw"},
		{"aws", "raw", "2026/12/", "arn:aws:s3:::raw/2026/12/"},
		{"aws", "raw", "2026/1", "arn:aws:s3:::raw/2026/"},
		{"aws-cn", "raw", "2026", "arn:aws-cn:s3:::raw"},
		{"aws", "raw", "/x", "arn:aws:s3:::raw"},
	}
	for _, tt := range tests {
		if got := S3ListResource(tt.partition, tt.bucket, tt.prefix); got != tt.want {
			t.Errorf("S3ListResource(%q, %q, %q) = %q, want %q", tt.partition, tt.bucket, tt.prefix, got, tt.want)
		}
	}
}

func TestVerbOf(t *testing.T) {
	tests := []struct{ action, verb string }{
		{"s3:GetObject", "read"}, {"s3:getobject", "read"}, {"S3:GETOBJECT", "read"},
		{"s3:GetObjectVersion", "read"}, {"s3:HeadObject", "read"},
		{"s3:PutObject", "write"}, {"s3:CopyObject", "write"}, {"s3:CompleteMultipartUpload", "write"},
		{"s3:ListBucket", "list"}, {"s3:ListObjectsV2", "list"}, {"s3:ListObjects", "list"},
		{"s3:DeleteObject", "delete"}, {"s3:DeleteObjects", "delete"}, {"s3:DeleteObjectVersion", "delete"},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", "read"},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", "write"},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", "delete"},
		{"microsoft.keyvault/vaults/secrets/getsecret/action", "read"},
		{"Microsoft.KeyVault/vaults/secrets/setSecret/action", "write"},
		{"read", "read"}, {"list", "list"},
		{"s3:PutObjectAcl", ""}, {"s3:PutBucketPolicy", ""}, {"iam:CreateUser", ""}, {"READ", "read"}, {"", ""},
	}
	for _, tt := range tests {
		v, ok := VerbOf(tt.action)
		if v != tt.verb || ok != (tt.verb != "") {
			t.Errorf("VerbOf(%q) = %q, %v; want %q", tt.action, v, ok, tt.verb)
		}
	}
	seen := map[string]bool{}
	for _, row := range VerbTable {
		if seen[strings.ToLower(row.Action)] {
			t.Errorf("duplicate row %s", row.Action)
		}
		seen[strings.ToLower(row.Action)] = true
		if !row.Verb.IsVerb() {
			t.Errorf("%s maps to %q, not a verb", row.Action, row.Verb)
		}
		if esc, _ := EscalationOf(row.Action, ""); esc {
			t.Errorf("%s is both a verb and an escalation", row.Action)
		}
	}
}

func TestNativeActions(t *testing.T) {
	got := NativeActions("list", "s3:")
	want := []string{"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v", got)
	}
	for _, a := range NativeActions("write", "S3:") {
		if a == "s3:CopyObject" || a == "s3:UploadPart" {
			t.Errorf("event-only name %s offered for a policy", a)
		}
	}
	if got := NativeActions("read", "Microsoft.KeyVault/"); len(got) != 1 || got[0] != "Microsoft.KeyVault/vaults/secrets/getSecret/action" {
		t.Errorf("key vault read: %v", got)
	}
}

func TestEscalationOf(t *testing.T) {
	yes := []struct{ action, enc string }{
		{"iam:CreateUser", ""}, {"iam:AttachRolePolicy", ""}, {"IAM:PutRolePolicy", ""}, {"iam:TagRole", ""},
		{"sts:AssumeRole", ""}, {"sts:AssumeRoleWithSAML", ""}, {"sts:GetFederationToken", ""},
		{"organizations:ListAccounts", ""}, {"organizations:LeaveOrganization", ""},
		{"lambda:CreateFunction", ""}, {"lambda:CreateFunction20150331", ""}, {"lambda:UpdateFunctionConfiguration", ""},
		{"s3:PutObject", "sse-c"}, {"s3:UploadPart", "sse-c"}, {"s3:CopyObject", "sse-c"},
		{"s3:PutBucketPolicy", ""}, {"s3:DeleteBucketPolicy", ""}, {"s3:PutLifecycleConfiguration", ""},
		{"s3:PutBucketLifecycleConfiguration", ""}, {"s3:PutBucketLifecycle", ""}, {"s3:PutObjectAcl", ""},
		{"Microsoft.KeyVault/vaults/accessPolicies/write", ""}, {"microsoft.authorization/roleassignments/write", ""},
	}
	for _, c := range yes {
		if esc, why := EscalationOf(c.action, c.enc); !esc || why == "" {
			t.Errorf("EscalationOf(%s, %s) = false", c.action, c.enc)
		}
	}
	no := []struct{ action, enc string }{
		{"iam:GetRole", ""}, {"iam:ListRoles", ""}, {"iam:SimulatePrincipalPolicy", ""},
		{"sts:GetCallerIdentity", ""}, {"s3:PutObject", ""}, {"s3:PutObject", "sse-kms"}, {"s3:GetObject", "sse-c"},
		{"s3:PutBucketPolicyStatus", ""}, {"lambda:InvokeFunction", ""}, {"read", ""}, {"write", "sse-c"},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", ""}, {"", ""},
	}
	for _, c := range no {
		if esc, why := EscalationOf(c.action, c.enc); esc {
			t.Errorf("EscalationOf(%s, %s) = true (%s)", c.action, c.enc, why)
		}
	}
}

// TestFastObjectMatchAgrees: the fast path never says yes where the full parse says no,
// and says yes for the common case.
func TestFastObjectMatchAgrees(t *testing.T) {
	dests := []string{"s3://raw/*", "s3://raw/2026/*", "s3://raw/2026/12/*", "s3://raw/2026/12/a.csv",
		"s3://raw/20*/12/*", "s3://ra*/2026/*", "s3://other/2026/*", "s3://raw/a%20b/*", "s3://raw.x/2026/*"}
	alphabet := []string{"raw", "2026", "12", "a.csv", "", ".", "..", "*", "%20", "a%20b", "A", "x y", "~", "20", "raw.x", "é"}
	rng := rand.New(rand.NewPCG(7, 8))
	fastYes := 0
	for i := 0; i < 50000; i++ {
		bucket := []string{"raw", "RAW", "other", "raw.x", "ra*", "r"}[rng.IntN(6)]
		n := 1 + rng.IntN(4)
		parts := make([]string, n)
		for j := range parts {
			parts[j] = alphabet[rng.IntN(len(alphabet))]
		}
		key := strings.Join(parts, "/")
		uri := "s3://" + bucket + "/" + key
		for _, d := range dests {
			dest := mustPattern(t, d)
			if !safeBucket(bucket) || !safeKey(key) || !fastObjectMatch(dest, bucket, key) {
				continue
			}
			fastYes++
			if !dest.Matches(uri) {
				t.Fatalf("fast path matched %s against %s; the parser does not", uri, d)
			}
		}
	}
	if fastYes == 0 {
		t.Fatal("fast path never taken")
	}
	if !fastObjectMatch(mustPattern(t, "s3://raw/2026/12/*"), "raw", "2026/12/day-05/a.parquet") {
		t.Fatal("common case not fast")
	}
}
