package aws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

const fakeAccount = "123456789012"

// fakeAWS is a small in-memory STS+IAM with the limits the provider must respect.
type fakeAWS struct {
	mu    sync.Mutex
	now   func() time.Time
	roles map[string]*fakeRole // by name
	users map[string]*fakeUser
	keys  map[string]fakeKey // access key id -> key
	// fail makes the next n calls of an operation fail with err.
	fail map[string]fakeFailure
	// calls counts operations.
	calls map[string]int
	// lastAssume is the last AssumeRole input.
	lastAssume *sts.AssumeRoleInput
	// sessions by access key id
	sessions map[string]*sts.AssumeRoleInput
	// packedLimit, when >0, refuses sessions whose policy is longer (PackedPolicyTooLarge).
	packedLimit int
	seq         int
	// beforePutRolePolicy, when set, runs before each PutRolePolicy (without f.mu held).
	beforePutRolePolicy func()
}

type fakeRole struct {
	id     string
	inline map[string]string
}

type fakeUser struct {
	path     string
	tags     []iamtypes.Tag
	boundary string
	inline   map[string]string
	attached map[string]bool
}

type fakeKey struct {
	user, secret string
	created      time.Time
}

type fakeFailure struct {
	n   int
	err error
}

const rootUser = "vault-root"

func newFakeAWS() *fakeAWS {
	f := &fakeAWS{
		now:      time.Now,
		roles:    map[string]*fakeRole{},
		users:    map[string]*fakeUser{rootUser: {path: "/", inline: map[string]string{}, attached: map[string]bool{}}},
		keys:     map[string]fakeKey{},
		fail:     map[string]fakeFailure{},
		calls:    map[string]int{},
		sessions: map[string]*sts.AssumeRoleInput{},
	}
	f.keys["AKIAROOTKEY000000001"] = fakeKey{user: rootUser, secret: "root-secret-0000000000000001", created: time.Now()}
	return f
}

func (f *fakeAWS) addRole(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles[name] = &fakeRole{id: "AROA" + strings.ToUpper(randHex(8))[:17], inline: map[string]string{}}
	return "arn:aws:iam::" + fakeAccount + ":role/" + name
}

func randHex(n int) string {
	b := make([]byte, n+1)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func apiErr(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

// enter records a call and returns an injected failure, if any. Caller holds f.mu.
func (f *fakeAWS) enter(op string) error {
	f.calls[op]++
	if fl, ok := f.fail[op]; ok && fl.n > 0 {
		fl.n--
		f.fail[op] = fl
		return fl.err
	}
	return nil
}

func (f *fakeAWS) failNext(op string, n int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[op] = fakeFailure{n: n, err: err}
}

func (f *fakeAWS) newKey(user string) (string, string) {
	f.seq++
	id := fmt.Sprintf("AKIA%016d", f.seq)
	if user == "" {
		id = fmt.Sprintf("ASIA%016d", f.seq)
	}
	secret := randHex(20)
	f.keys[id] = fakeKey{user: user, secret: secret, created: f.now()}
	return id, secret
}

func (f *fakeAWS) factory(calls *int) ClientFactory {
	return func(ctx context.Context, cfg Config) (*Clients, error) {
		if calls != nil {
			*calls++
		}
		return &Clients{
			STS: &fakeSTS{f: f, key: cfg.AccessKey, secret: cfg.SecretKey},
			IAM: &fakeIAM{f: f, key: cfg.AccessKey, secret: cfg.SecretKey},
			STSWith: func(c awssdk.Credentials) STSAPI {
				return &fakeSTS{f: f, key: c.AccessKeyID, secret: c.SecretAccessKey}
			},
			IAMWith: func(c awssdk.Credentials) IAMAPI {
				return &fakeIAM{f: f, key: c.AccessKeyID, secret: c.SecretAccessKey}
			},
		}, nil
	}
}

// auth checks the caller's key. Caller holds f.mu.
func (f *fakeAWS) auth(key, secret string) (string, error) {
	k, ok := f.keys[key]
	if !ok || k.secret != secret {
		return "", apiErr("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	return k.user, nil
}

type fakeSTS struct {
	f           *fakeAWS
	key, secret string
}

func (s *fakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("AssumeRole"); err != nil {
		return nil, err
	}
	if _, err := f.auth(s.key, s.secret); err != nil {
		return nil, err
	}
	arn := awssdk.ToString(in.RoleArn)
	name := arn[strings.LastIndex(arn, "/")+1:]
	role, ok := f.roles[name]
	if !ok {
		return nil, apiErr("AccessDenied", "not authorized to perform sts:AssumeRole on "+arn)
	}
	d := awssdk.ToInt32(in.DurationSeconds)
	if d < 900 || d > 43200 {
		return nil, apiErr("ValidationError", "DurationSeconds out of range")
	}
	if n := len(awssdk.ToString(in.Policy)); n > 2048 {
		return nil, apiErr("ValidationError", "Policy longer than 2048")
	}
	if f.packedLimit > 0 && len(awssdk.ToString(in.Policy)) > f.packedLimit {
		return nil, apiErr("PackedPolicyTooLarge", "Packed policy consumes 112% of allotted space")
	}
	if len(in.Tags) > 50 || len(in.PolicyArns) > 10 {
		return nil, apiErr("ValidationError", "too many tags or policy arns")
	}
	session := awssdk.ToString(in.RoleSessionName)
	if len(session) < 2 || len(session) > 64 {
		return nil, apiErr("ValidationError", "bad session name")
	}
	id, secret := f.newKey("")
	f.lastAssume = in
	f.sessions[id] = in
	exp := f.now().Add(time.Duration(d) * time.Second)
	return &sts.AssumeRoleOutput{
		Credentials: &ststypes.Credentials{AccessKeyId: awssdk.String(id), SecretAccessKey: awssdk.String(secret),
			SessionToken: awssdk.String("token-" + randHex(16)), Expiration: &exp},
		AssumedRoleUser: &ststypes.AssumedRoleUser{
			Arn:           awssdk.String("arn:aws:sts::" + fakeAccount + ":assumed-role/" + name + "/" + session),
			AssumedRoleId: awssdk.String(role.id + ":" + session),
		},
	}, nil
}

func (s *fakeSTS) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return nil, apiErr("InvalidIdentityToken", "not supported by the fake")
}

func (s *fakeSTS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetCallerIdentity"); err != nil {
		return nil, err
	}
	user, err := f.auth(s.key, s.secret)
	if err != nil {
		return nil, err
	}
	return &sts.GetCallerIdentityOutput{Account: awssdk.String(fakeAccount), Arn: awssdk.String("arn:aws:iam::" + fakeAccount + ":user/" + user)}, nil
}

type fakeIAM struct {
	f           *fakeAWS
	key, secret string
}

// begin locks, records and authenticates a call; the caller must unlock.
func (c *fakeIAM) begin(ctx context.Context, op string) (string, error) {
	c.f.mu.Lock()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := c.f.enter(op); err != nil {
		return "", err
	}
	return c.f.auth(c.key, c.secret)
}

func noSuch(what string) error { return apiErr("NoSuchEntity", what+" cannot be found") }

func compactLen(doc string) int {
	n := 0
	for _, r := range doc {
		if r != ' ' && r != '\n' && r != '\t' && r != '\r' {
			n++
		}
	}
	return n
}

func (c *fakeIAM) PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, _ ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error) {
	if hook := c.f.beforePutRolePolicy; hook != nil {
		hook()
	}
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "PutRolePolicy"); err != nil {
		return nil, err
	}
	r, ok := c.f.roles[awssdk.ToString(in.RoleName)]
	if !ok {
		return nil, noSuch("role")
	}
	total := compactLen(awssdk.ToString(in.PolicyDocument))
	for name, doc := range r.inline {
		if name != awssdk.ToString(in.PolicyName) {
			total += compactLen(doc)
		}
	}
	if total > 10240 {
		return nil, apiErr("LimitExceeded", fmt.Sprintf("Maximum policy size of 10240 bytes exceeded for role %s", awssdk.ToString(in.RoleName)))
	}
	r.inline[awssdk.ToString(in.PolicyName)] = awssdk.ToString(in.PolicyDocument)
	return &iam.PutRolePolicyOutput{}, nil
}

func (c *fakeIAM) GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "GetRolePolicy"); err != nil {
		return nil, err
	}
	r, ok := c.f.roles[awssdk.ToString(in.RoleName)]
	if !ok {
		return nil, noSuch("role")
	}
	doc, ok := r.inline[awssdk.ToString(in.PolicyName)]
	if !ok {
		return nil, noSuch("policy")
	}
	// IAM returns documents URL-encoded.
	return &iam.GetRolePolicyOutput{PolicyDocument: awssdk.String(urlEncode(doc)), PolicyName: in.PolicyName, RoleName: in.RoleName}, nil
}

func urlEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (c *fakeIAM) ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "ListRolePolicies"); err != nil {
		return nil, err
	}
	r, ok := c.f.roles[awssdk.ToString(in.RoleName)]
	if !ok {
		return nil, noSuch("role")
	}
	return &iam.ListRolePoliciesOutput{PolicyNames: sortedKeys(r.inline)}, nil
}

func (c *fakeIAM) ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "ListAttachedRolePolicies"); err != nil {
		return nil, err
	}
	if _, ok := c.f.roles[awssdk.ToString(in.RoleName)]; !ok {
		return nil, noSuch("role")
	}
	return &iam.ListAttachedRolePoliciesOutput{}, nil
}

func (c *fakeIAM) DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, _ ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "DeleteRolePolicy"); err != nil {
		return nil, err
	}
	r, ok := c.f.roles[awssdk.ToString(in.RoleName)]
	if !ok {
		return nil, noSuch("role")
	}
	if _, ok := r.inline[awssdk.ToString(in.PolicyName)]; !ok {
		return nil, noSuch("policy")
	}
	delete(r.inline, awssdk.ToString(in.PolicyName))
	return &iam.DeleteRolePolicyOutput{}, nil
}

func (c *fakeIAM) GetUser(ctx context.Context, in *iam.GetUserInput, _ ...func(*iam.Options)) (*iam.GetUserOutput, error) {
	defer c.f.mu.Unlock()
	caller, err := c.begin(ctx, "GetUser")
	if err != nil {
		return nil, err
	}
	name := awssdk.ToString(in.UserName)
	if name == "" {
		name = caller
	}
	u, ok := c.f.users[name]
	if !ok {
		return nil, noSuch("user " + name)
	}
	return &iam.GetUserOutput{User: &iamtypes.User{UserName: awssdk.String(name), Path: awssdk.String(u.path),
		Arn: awssdk.String("arn:aws:iam::" + fakeAccount + ":user" + u.path + name), Tags: u.tags}}, nil
}

func (c *fakeIAM) CreateUser(ctx context.Context, in *iam.CreateUserInput, _ ...func(*iam.Options)) (*iam.CreateUserOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "CreateUser"); err != nil {
		return nil, err
	}
	name := awssdk.ToString(in.UserName)
	if _, ok := c.f.users[name]; ok {
		return nil, apiErr("EntityAlreadyExists", "user exists")
	}
	if len(in.Tags) > 50 {
		return nil, apiErr("LimitExceeded", "too many tags")
	}
	c.f.users[name] = &fakeUser{path: awssdk.ToString(in.Path), tags: in.Tags, boundary: awssdk.ToString(in.PermissionsBoundary),
		inline: map[string]string{}, attached: map[string]bool{}}
	return &iam.CreateUserOutput{User: &iamtypes.User{UserName: in.UserName, Path: in.Path}}, nil
}

func (c *fakeIAM) DeleteUser(ctx context.Context, in *iam.DeleteUserInput, _ ...func(*iam.Options)) (*iam.DeleteUserOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "DeleteUser"); err != nil {
		return nil, err
	}
	name := awssdk.ToString(in.UserName)
	u, ok := c.f.users[name]
	if !ok {
		return nil, noSuch("user")
	}
	for _, k := range c.f.keys {
		if k.user == name {
			return nil, apiErr("DeleteConflict", "user has keys")
		}
	}
	if len(u.inline) > 0 || len(u.attached) > 0 {
		return nil, apiErr("DeleteConflict", "user has policies")
	}
	delete(c.f.users, name)
	return &iam.DeleteUserOutput{}, nil
}

func (c *fakeIAM) user(name string) (*fakeUser, error) {
	u, ok := c.f.users[name]
	if !ok {
		return nil, noSuch("user " + name)
	}
	return u, nil
}

func (c *fakeIAM) PutUserPolicy(ctx context.Context, in *iam.PutUserPolicyInput, _ ...func(*iam.Options)) (*iam.PutUserPolicyOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "PutUserPolicy"); err != nil {
		return nil, err
	}
	u, err := c.user(awssdk.ToString(in.UserName))
	if err != nil {
		return nil, err
	}
	if compactLen(awssdk.ToString(in.PolicyDocument)) > 2048 {
		return nil, apiErr("LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user")
	}
	u.inline[awssdk.ToString(in.PolicyName)] = awssdk.ToString(in.PolicyDocument)
	return &iam.PutUserPolicyOutput{}, nil
}

func (c *fakeIAM) DeleteUserPolicy(ctx context.Context, in *iam.DeleteUserPolicyInput, _ ...func(*iam.Options)) (*iam.DeleteUserPolicyOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "DeleteUserPolicy"); err != nil {
		return nil, err
	}
	u, err := c.user(awssdk.ToString(in.UserName))
	if err != nil {
		return nil, err
	}
	delete(u.inline, awssdk.ToString(in.PolicyName))
	return &iam.DeleteUserPolicyOutput{}, nil
}

func (c *fakeIAM) ListUserPolicies(ctx context.Context, in *iam.ListUserPoliciesInput, _ ...func(*iam.Options)) (*iam.ListUserPoliciesOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "ListUserPolicies"); err != nil {
		return nil, err
	}
	u, err := c.user(awssdk.ToString(in.UserName))
	if err != nil {
		return nil, err
	}
	return &iam.ListUserPoliciesOutput{PolicyNames: sortedKeys(u.inline)}, nil
}

func (c *fakeIAM) AttachUserPolicy(ctx context.Context, in *iam.AttachUserPolicyInput, _ ...func(*iam.Options)) (*iam.AttachUserPolicyOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "AttachUserPolicy"); err != nil {
		return nil, err
	}
	u, err := c.user(awssdk.ToString(in.UserName))
	if err != nil {
		return nil, err
	}
	u.attached[awssdk.ToString(in.PolicyArn)] = true
	return &iam.AttachUserPolicyOutput{}, nil
}

func (c *fakeIAM) DetachUserPolicy(ctx context.Context, in *iam.DetachUserPolicyInput, _ ...func(*iam.Options)) (*iam.DetachUserPolicyOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "DetachUserPolicy"); err != nil {
		return nil, err
	}
	u, err := c.user(awssdk.ToString(in.UserName))
	if err != nil {
		return nil, err
	}
	delete(u.attached, awssdk.ToString(in.PolicyArn))
	return &iam.DetachUserPolicyOutput{}, nil
}

func (c *fakeIAM) ListAttachedUserPolicies(ctx context.Context, in *iam.ListAttachedUserPoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedUserPoliciesOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "ListAttachedUserPolicies"); err != nil {
		return nil, err
	}
	u, err := c.user(awssdk.ToString(in.UserName))
	if err != nil {
		return nil, err
	}
	out := &iam.ListAttachedUserPoliciesOutput{}
	for _, a := range sortedKeys(u.attached) {
		out.AttachedPolicies = append(out.AttachedPolicies, iamtypes.AttachedPolicy{PolicyArn: awssdk.String(a)})
	}
	return out, nil
}

func (c *fakeIAM) CreateAccessKey(ctx context.Context, in *iam.CreateAccessKeyInput, _ ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error) {
	defer c.f.mu.Unlock()
	caller, err := c.begin(ctx, "CreateAccessKey")
	if err != nil {
		return nil, err
	}
	name := awssdk.ToString(in.UserName)
	if name == "" {
		name = caller
	}
	if _, err := c.user(name); err != nil {
		return nil, err
	}
	n := 0
	for _, k := range c.f.keys {
		if k.user == name {
			n++
		}
	}
	if n >= 2 {
		return nil, apiErr("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
	}
	id, secret := c.f.newKey(name)
	return &iam.CreateAccessKeyOutput{AccessKey: &iamtypes.AccessKey{AccessKeyId: awssdk.String(id), SecretAccessKey: awssdk.String(secret), UserName: awssdk.String(name)}}, nil
}

func (c *fakeIAM) DeleteAccessKey(ctx context.Context, in *iam.DeleteAccessKeyInput, _ ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "DeleteAccessKey"); err != nil {
		return nil, err
	}
	id := awssdk.ToString(in.AccessKeyId)
	k, ok := c.f.keys[id]
	if !ok || k.user != awssdk.ToString(in.UserName) {
		return nil, noSuch("access key")
	}
	delete(c.f.keys, id)
	return &iam.DeleteAccessKeyOutput{}, nil
}

func (c *fakeIAM) ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, _ ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error) {
	defer c.f.mu.Unlock()
	if _, err := c.begin(ctx, "ListAccessKeys"); err != nil {
		return nil, err
	}
	name := awssdk.ToString(in.UserName)
	if _, err := c.user(name); err != nil {
		return nil, err
	}
	out := &iam.ListAccessKeysOutput{}
	for _, id := range sortedKeys(c.f.keys) {
		k := c.f.keys[id]
		if k.user == name {
			created := k.created
			out.AccessKeyMetadata = append(out.AccessKeyMetadata, iamtypes.AccessKeyMetadata{AccessKeyId: awssdk.String(id), UserName: awssdk.String(name), CreateDate: &created})
		}
	}
	return out, nil
}
