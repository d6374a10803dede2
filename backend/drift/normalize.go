package drift

import (
	"strings"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
)

// Vocabulary is intent.Vocabulary in the cloud names this package knows (S3 ARNs, AWS
// and Azure actions), for the authorize endpoint.
type Vocabulary struct{}

var _ intent.Vocabulary = Vocabulary{}

// ActionAllowed reports whether observed is one of granted, directly or through its verb.
func (Vocabulary) ActionAllowed(granted []intent.Action, observed string) bool {
	return ActionAllowed(granted, observed)
}

// ResourceMatches reports whether resource, in URI or ARN form, is inside dest.
func (Vocabulary) ResourceMatches(dest intent.Pattern, resource string) bool {
	return ResourceMatches(dest, resource)
}

// ResourceMatches reports whether a used resource lies inside the destination dest.
//
// Beyond dest.Matches it bridges the two spellings of S3: CloudTrail reports ARNs
// (arn:aws:s3:::bucket/key) while intents usually say s3://bucket/prefix/*, and either
// side may use either form. Three S3 resource shapes are understood:
//
//   - an object, arn:aws:s3:::bucket/key or s3://bucket/key: matched like any resource;
//   - a bucket, arn:aws:s3:::bucket or s3://bucket, as CloudTrail names ListBucket and other
//     bucket-level calls: matches when dest lives in that bucket (the listing prefix is
//     unknown; whether the call itself was allowed is the action rule's business);
//   - a list prefix ending in '/', arn:aws:s3:::bucket/2026/12/: matches only when dest
//     covers every key under the prefix, because the listing reveals all their names.
//
// The partition of an S3 ARN is not compared: s3:// destinations do not name one and a
// credential only ever works in its own partition.
func ResourceMatches(dest intent.Pattern, resource string) bool {
	r := compileResource(resource)
	return r.matches(dest)
}

// S3ListResource is the resource a collector should report for a ListBucket/ListObjects
// call: the bucket ARN when the prefix is empty, otherwise the prefix cut back to its last
// '/' (a prefix "2026/1" also lists "2026/10/..." and "2026/1x", so only the enclosing
// folder is certain to contain everything listed). Judging the wider prefix fails closed.
func S3ListResource(partition, bucket, prefix string) string {
	if partition == "" {
		partition = "aws"
	}
	base := "arn:" + partition + ":s3:::" + bucket
	if i := strings.LastIndexByte(prefix, '/'); i > 0 {
		return base + "/" + prefix[:i+1]
	}
	return base
}

// s3Ref is an S3 resource split into bucket and key. prefix marks the list-prefix form
// (the resource ended in '/'); key is then the prefix without its trailing '/'.
type s3Ref struct {
	bucket string
	key    string
	prefix bool
}

func (r s3Ref) objectURI() string {
	if r.key == "" {
		return "s3://" + r.bucket
	}
	return "s3://" + r.bucket + "/" + r.key
}

// splitS3 recognises s3://bucket[/key] and arn:<partition>:s3:::bucket[/key].
func splitS3(r string) (s3Ref, bool) {
	var rest string
	switch {
	case hasPrefixFold(r, "s3://"):
		rest = r[len("s3://"):]
	case hasPrefixFold(r, "arn:"):
		f := strings.SplitN(r, ":", 6)
		if len(f) != 6 || f[1] == "" || !strings.EqualFold(f[2], "s3") || f[3] != "" || f[4] != "" {
			return s3Ref{}, false
		}
		rest = f[5]
	default:
		return s3Ref{}, false
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return s3Ref{}, false
	}
	ref := s3Ref{bucket: strings.ToLower(bucket), key: key}
	if k, ok := strings.CutSuffix(key, "/"); ok {
		if k == "" {
			return s3Ref{}, false // "bucket//"
		}
		ref.key, ref.prefix = k, true
	}
	return ref, true
}

// compiledResource is a used resource parsed at most once, however many destinations it
// is matched against.
type compiledResource struct {
	direct   intent.Pattern // a non-S3 resource as given, if it parses and is concrete
	s3       s3Ref
	isS3     bool
	safe     bool           // an S3 object whose bucket and key qualify for fastObjectMatch
	parsed   bool           // s3Target has been computed
	s3Target intent.Pattern // an S3 object, or the subtree under a list prefix, in s3:// form
}

func compileResource(resource string) compiledResource {
	var c compiledResource
	if c.s3, c.isS3 = splitS3(resource); c.isS3 {
		c.safe = !c.s3.prefix && safeBucket(c.s3.bucket) && safeKey(c.s3.key)
		return c
	}
	if p, err := intent.ParsePattern(resource); err == nil && !p.HasWildcard() {
		c.direct = p
	}
	return c
}

// target parses the S3 resource in s3:// form, whichever spelling came in; S3 ARN
// destinations are rewritten to that form too (s3Destination), so nothing is lost.
func (c *compiledResource) target() intent.Pattern {
	if c.parsed {
		return c.s3Target
	}
	c.parsed = true
	var err error
	switch {
	case c.s3.key == "": // bucket-level: compared by name in destInBucket
	case c.s3.prefix:
		c.s3Target, err = intent.ParsePattern(c.s3.objectURI() + "/*")
	default:
		c.s3Target, err = intent.ParsePattern(c.s3.objectURI())
		if err == nil && c.s3Target.HasWildcard() {
			err = errorf("not concrete")
		}
	}
	if err != nil {
		c.s3Target = intent.Pattern{}
	}
	return c.s3Target
}

func (c *compiledResource) matches(dest intent.Pattern) bool {
	if !c.isS3 {
		return dest.Covers(c.direct) // the zero Pattern is covered by nothing
	}
	if c.safe && fastObjectMatch(dest, c.s3.bucket, c.s3.key) {
		return true
	}
	ds, ok := s3Destination(dest)
	if !ok {
		return false
	}
	if c.s3.key == "" {
		return destInBucket(ds, c.s3.bucket)
	}
	return ds.Covers(c.target())
}

// fastObjectMatch answers the common case without parsing: an s3:// destination with no
// '*' but a trailing subtree, and an object whose bucket and key use only characters the
// parser accepts unchanged (safeBucket, safeKey). It only ever answers true when
// intent's own Covers would; false means "not decided here", and matches falls back to
// the full parse. TestFastObjectMatchAgrees checks that on random input.
func fastObjectMatch(dest intent.Pattern, bucket, key string) bool {
	if dest.Scheme() != "s3" {
		return false
	}
	host, path, _ := strings.Cut(dest.String()[len("s3://"):], "/")
	if host != bucket {
		return false
	}
	subtree := false
	if path == "*" {
		path, subtree = "", true
	} else if p, ok := strings.CutSuffix(path, "/*"); ok {
		path, subtree = p+"/", true
	}
	if strings.IndexByte(path, '*') >= 0 {
		return false
	}
	if !subtree {
		return path != "" && key == path
	}
	return len(key) > len(path) && strings.HasPrefix(key, path)
}

func safeBucket(b string) bool {
	if b == "" || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// safeKey: 1..900 bytes of [A-Za-z0-9._=+,@~-] in non-empty segments that are not "." or
// "..", i.e. nothing the parser would refuse, unescape or fold.
func safeKey(k string) bool {
	if k == "" || len(k) > 900 {
		return false
	}
	segStart := 0
	for i := 0; i <= len(k); i++ {
		if i == len(k) || k[i] == '/' {
			switch seg := k[segStart:i]; seg {
			case "", ".", "..":
				return false
			}
			segStart = i + 1
			continue
		}
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._=+,@~-", c) >= 0) {
			return false
		}
	}
	return true
}

// s3Destination returns dest in s3:// form: itself, or an S3 ARN pattern rewritten.
func s3Destination(dest intent.Pattern) (intent.Pattern, bool) {
	switch dest.Scheme() {
	case "s3":
		return dest, true
	case "arn":
		ref, ok := splitS3(dest.String())
		if !ok || ref.key == "" {
			return intent.Pattern{}, false
		}
		p, err := intent.ParsePattern(ref.objectURI())
		return p, err == nil
	}
	return intent.Pattern{}, false
}

// destInBucket reports whether an s3:// destination names keys in bucket.
func destInBucket(ds intent.Pattern, bucket string) bool {
	host, _, _ := strings.Cut(strings.TrimPrefix(ds.String(), "s3://"), "/")
	if !strings.Contains(host, "*") {
		return host == bucket
	}
	hp, err := intent.ParsePattern("s3://" + host + "/*")
	return err == nil && hp.Matches("s3://"+bucket+"/x")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// VerbMapping maps one provider-native action to a generic verb.
type VerbMapping struct {
	// Action as AWS (service:Name, the CloudTrail eventSource prefix and eventName) or
	// Azure (the operation or data action) spells it. Lookups ignore case.
	Action string
	Verb   intent.Action
	// Grantable: Action is a real IAM action or Azure data action a policy can grant.
	// Rows that are only CloudTrail event names (HeadObject, ListObjectsV2,
	// CreateMultipartUpload, …) are authorised by another action and are false here.
	Grantable bool
}

// VerbTable is the one mapping between verbs and native actions, so that an intent of
// "read" accepts an observed s3:GetObject. The AWS provider's policy compiler should use
// the same table (its Grantable rows) when it turns verbs into a session policy, so the
// policy and the drift judgement cannot disagree about what a verb means.
//
// Deliberately absent: ACL, policy, retention, legal-hold and lifecycle changes
// (s3:PutObjectAcl is not "write": it hands the object to someone else) and Key Vault
// backup (it exports the secret). Such actions are judged outside an intent unless
// named in it natively; several of them are escalations (EscalationTable). Azure has no
// list data action for blobs: listing needs …/blobs/read, which maps to read.
var VerbTable = []VerbMapping{
	// S3 reads.
	{"s3:GetObject", intent.ActionRead, true},
	{"s3:GetObjectVersion", intent.ActionRead, true},
	{"s3:GetObjectAttributes", intent.ActionRead, true},
	{"s3:GetObjectVersionAttributes", intent.ActionRead, true},
	{"s3:GetObjectTagging", intent.ActionRead, true},
	{"s3:GetObjectVersionTagging", intent.ActionRead, true},
	{"s3:HeadObject", intent.ActionRead, false},
	{"s3:SelectObjectContent", intent.ActionRead, false},
	// S3 writes.
	{"s3:PutObject", intent.ActionWrite, true},
	{"s3:PutObjectTagging", intent.ActionWrite, true},
	{"s3:PutObjectVersionTagging", intent.ActionWrite, true},
	{"s3:DeleteObjectTagging", intent.ActionWrite, true},
	{"s3:DeleteObjectVersionTagging", intent.ActionWrite, true},
	{"s3:AbortMultipartUpload", intent.ActionWrite, true},
	{"s3:CopyObject", intent.ActionWrite, false},
	{"s3:CreateMultipartUpload", intent.ActionWrite, false},
	{"s3:UploadPart", intent.ActionWrite, false},
	{"s3:UploadPartCopy", intent.ActionWrite, false},
	{"s3:CompleteMultipartUpload", intent.ActionWrite, false},
	// S3 listings.
	{"s3:ListBucket", intent.ActionList, true},
	{"s3:ListBucketVersions", intent.ActionList, true},
	{"s3:ListBucketMultipartUploads", intent.ActionList, true},
	{"s3:ListMultipartUploadParts", intent.ActionList, true},
	{"s3:ListObjects", intent.ActionList, false},
	{"s3:ListObjectsV2", intent.ActionList, false},
	{"s3:ListObjectVersions", intent.ActionList, false},
	{"s3:ListMultipartUploads", intent.ActionList, false},
	{"s3:ListParts", intent.ActionList, false},
	// S3 deletes.
	{"s3:DeleteObject", intent.ActionDelete, true},
	{"s3:DeleteObjectVersion", intent.ActionDelete, true},
	{"s3:DeleteObjects", intent.ActionDelete, false},
	// Azure Blob Storage data actions.
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", intent.ActionRead, true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read", intent.ActionRead, true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", intent.ActionWrite, true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action", intent.ActionWrite, true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action", intent.ActionWrite, true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write", intent.ActionWrite, true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", intent.ActionDelete, true},
	{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action", intent.ActionDelete, true},
	// Azure Key Vault secrets.
	{"Microsoft.KeyVault/vaults/secrets/getSecret/action", intent.ActionRead, true},
	{"Microsoft.KeyVault/vaults/secrets/readMetadata/action", intent.ActionList, true},
	{"Microsoft.KeyVault/vaults/secrets/setSecret/action", intent.ActionWrite, true},
	{"Microsoft.KeyVault/vaults/secrets/delete", intent.ActionDelete, true},
}

// verbIndex is VerbTable keyed by exact and lowercase spelling.
var verbIndex = func() map[string]intent.Action {
	m := make(map[string]intent.Action, 2*len(VerbTable)+4)
	for _, v := range []intent.Action{intent.ActionRead, intent.ActionWrite, intent.ActionList, intent.ActionDelete} {
		m[string(v)] = v
	}
	for _, row := range VerbTable {
		m[row.Action] = row.Verb
		m[strings.ToLower(row.Action)] = row.Verb
	}
	return m
}()

// NativeActions lists the Grantable actions of VerbTable that perform verb and start with
// prefix (ignoring case), e.g. NativeActions(intent.ActionRead, "s3:") for a session
// policy. The result is in table order and freshly allocated.
func NativeActions(verb intent.Action, prefix string) []string {
	var out []string
	for _, row := range VerbTable {
		if row.Grantable && row.Verb == verb && hasPrefixFold(row.Action, prefix) {
			out = append(out, row.Action)
		}
	}
	return out
}

// VerbOf returns the generic verb a native action performs (s3:GetObject -> read), or
// the verb itself for a verb. ok is false for actions VerbTable does not list.
func VerbOf(action string) (verb string, ok bool) {
	if v, ok := verbIndex[action]; ok {
		return string(v), true
	}
	if v, ok := verbIndex[strings.ToLower(action)]; ok {
		return string(v), true
	}
	return "", false
}

// EscalationRule names actions that widen what a credential (or anyone) can do, beyond
// the data the intent is about. Action is matched ignoring case; a trailing '*' matches
// any suffix (CloudTrail spells some Lambda calls CreateFunction20150331).
type EscalationRule struct {
	Action string
	Why    string
}

// EscalationTable lists escalation actions besides IAM writes (every iam: action that is
// not Get*, List*, Simulate* or Generate*) and S3 writes with SSE-C, which Judge checks
// in code.
var EscalationTable = []EscalationRule{
	{"sts:AssumeRole*", "role chaining"},
	{"sts:GetFederationToken", "minting further credentials"},
	{"sts:GetSessionToken", "minting further credentials"},
	{"organizations:*", "organization change or discovery"},
	{"lambda:CreateFunction*", "code execution under another role"},
	{"lambda:UpdateFunction*", "code execution under another role"},
	{"lambda:AddPermission*", "opening a function to other principals"},
	{"s3:PutBucketPolicy", "bucket policy change"},
	{"s3:DeleteBucketPolicy", "bucket policy change"},
	{"s3:PutBucketAcl", "bucket ACL change"},
	{"s3:PutObjectAcl", "object ACL change"},
	{"s3:PutObjectVersionAcl", "object ACL change"},
	{"s3:PutBucketPublicAccessBlock", "public access block change"},
	{"s3:DeletePublicAccessBlock", "public access block change"},
	{"s3:DeleteBucketPublicAccessBlock", "public access block change"},
	{"s3:PutLifecycleConfiguration", "lifecycle change (mass expiry)"},
	{"s3:PutBucketLifecycleConfiguration", "lifecycle change (mass expiry)"},
	{"s3:PutBucketLifecycle", "lifecycle change (mass expiry)"},
	{"s3:DeleteBucketLifecycle", "lifecycle change"},
	{"s3:PutBucketVersioning", "versioning change (ransomware preparation)"},
	{"kms:PutKeyPolicy", "key policy change"},
	{"kms:CreateGrant", "key grant to another principal"},
	{"Microsoft.KeyVault/vaults/accessPolicies/write", "Key Vault access-policy write"},
	{"Microsoft.KeyVault/vaults/write", "Key Vault configuration write (may carry access policies)"},
	{"Microsoft.Authorization/roleAssignments/write", "Azure role assignment"},
	{"Microsoft.Authorization/roleDefinitions/write", "Azure role definition change"},
	{"Microsoft.Authorization/elevateAccess/action", "Azure tenant-wide elevation"},
}

type escalationEntry struct {
	prefix string // lowercase
	wild   bool
	why    string
}

var escalationIndex = func() []escalationEntry {
	out := make([]escalationEntry, 0, len(EscalationTable))
	for _, r := range EscalationTable {
		p, wild := strings.CutSuffix(strings.ToLower(r.Action), "*")
		out = append(out, escalationEntry{prefix: p, wild: wild, why: r.Why})
	}
	return out
}()

// EscalationOf reports whether an action (with the write's encryption mode, if any) is an
// escalation attempt, and why.
func EscalationOf(action, encryption string) (bool, string) {
	service, name, ok := strings.Cut(action, ":")
	if ok && strings.EqualFold(service, "iam") && !iamRead(name) {
		return true, "IAM write"
	}
	if ok && strings.EqualFold(service, "s3") && encryption == EncryptionSSEC {
		if v, _ := VerbOf(action); v == string(intent.ActionWrite) {
			return true, "S3 write with a customer-provided key (SSE-C)"
		}
	}
	if !strings.ContainsAny(action, ":/") { // a verb
		return false, ""
	}
	for i := range escalationIndex {
		e := &escalationIndex[i]
		if len(action) < len(e.prefix) || !strings.EqualFold(action[:len(e.prefix)], e.prefix) {
			continue
		}
		if e.wild || len(action) == len(e.prefix) {
			return true, e.why
		}
	}
	return false, ""
}

func iamRead(name string) bool {
	for _, p := range [...]string{"Get", "List", "Simulate", "Generate"} {
		if hasPrefixFold(name, p) {
			return true
		}
	}
	return false
}
