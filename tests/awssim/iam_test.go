package awssim

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestIAMUserLifecycle(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	bnd, err := root.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("nhi-boundary"), Path: aws.String("/nhi/"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}`)})
	mustOK(t, "CreatePolicy", err)
	bndArn := aws.ToString(bnd.Policy.Arn)
	if bndArn != "arn:aws:iam::123456789012:policy/nhi/nhi-boundary" {
		t.Fatalf("policy arn %s", bndArn)
	}
	gp, err := root.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(bndArn)})
	mustOK(t, "GetPolicy", err)
	if aws.ToString(gp.Policy.DefaultVersionId) != "v1" {
		t.Fatalf("GetPolicy %+v", gp.Policy)
	}
	pv, err := root.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(bndArn), VersionId: aws.String("v1")})
	mustOK(t, "GetPolicyVersion", err)
	if doc, _ := url.QueryUnescape(aws.ToString(pv.PolicyVersion.Document)); !strings.Contains(doc, `"s3:GetObject"`) {
		t.Fatalf("policy version document %q", aws.ToString(pv.PolicyVersion.Document))
	}

	cu, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("nhi-cred-1"), Path: aws.String("/nhi/"), PermissionsBoundary: aws.String(bndArn), Tags: []iamtypes.Tag{{Key: aws.String("nhi:task"), Value: aws.String("etl")}}})
	mustOK(t, "CreateUser", err)
	if aws.ToString(cu.User.Arn) != "arn:aws:iam::123456789012:user/nhi/nhi-cred-1" || !strings.HasPrefix(aws.ToString(cu.User.UserId), "AIDA") || aws.ToString(cu.User.PermissionsBoundary.PermissionsBoundaryArn) != bndArn {
		t.Fatalf("CreateUser %+v", cu.User)
	}
	_, err = root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("nhi-cred-1")})
	wantCode(t, "duplicate user", err, "EntityAlreadyExists")
	_, err = root.iam.TagUser(ctx, &iam.TagUserInput{UserName: aws.String("nhi-cred-1"), Tags: []iamtypes.Tag{{Key: aws.String("nhi:credential"), Value: aws.String("c1")}}})
	mustOK(t, "TagUser", err)
	gu, err := root.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nhi-cred-1")})
	mustOK(t, "GetUser", err)
	if len(gu.User.Tags) != 2 || aws.ToString(gu.User.Path) != "/nhi/" {
		t.Fatalf("GetUser %+v", gu.User)
	}
	_, err = root.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	wantCode(t, "GetUser missing", err, "NoSuchEntity")

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a/*"}]}`
	_, err = root.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("nhi-cred-1"), PolicyName: aws.String("intent"), PolicyDocument: aws.String(doc)})
	mustOK(t, "PutUserPolicy", err)
	_, err = root.iam.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("nhi-cred-1"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Version":"2012-10-17"}`)})
	wantCode(t, "malformed user policy", err, "MalformedPolicyDocument")
	gup, err := root.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String("nhi-cred-1"), PolicyName: aws.String("intent")})
	mustOK(t, "GetUserPolicy", err)
	if got, _ := url.QueryUnescape(aws.ToString(gup.PolicyDocument)); got != doc {
		t.Fatalf("GetUserPolicy document (URL-encoded like IAM) %q", aws.ToString(gup.PolicyDocument))
	}
	lup, err := root.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: aws.String("nhi-cred-1")})
	mustOK(t, "ListUserPolicies", err)
	if len(lup.PolicyNames) != 1 || lup.PolicyNames[0] != "intent" {
		t.Fatalf("ListUserPolicies %v", lup.PolicyNames)
	}
	_, err = root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("nhi-cred-1"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
	mustOK(t, "AttachUserPolicy", err)
	_, err = root.iam.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("nhi-cred-1"), PolicyArn: aws.String("arn:aws:iam::123456789012:policy/none")})
	wantCode(t, "attach missing policy", err, "NoSuchEntity")
	lap, err := root.iam.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("nhi-cred-1")})
	mustOK(t, "ListAttachedUserPolicies", err)
	if len(lap.AttachedPolicies) != 1 || aws.ToString(lap.AttachedPolicies[0].PolicyName) != "AmazonS3ReadOnlyAccess" {
		t.Fatalf("attached %+v", lap.AttachedPolicies)
	}

	k1, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nhi-cred-1")})
	mustOK(t, "CreateAccessKey", err)
	if !strings.HasPrefix(aws.ToString(k1.AccessKey.AccessKeyId), "AKIA") || len(aws.ToString(k1.AccessKey.SecretAccessKey)) != 40 {
		t.Fatalf("key %+v", k1.AccessKey)
	}
	_, err = root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nhi-cred-1")})
	mustOK(t, "second key", err)
	_, err = root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("nhi-cred-1")})
	wantCode(t, "third key", err, "LimitExceeded")
	lak, err := root.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("nhi-cred-1")})
	mustOK(t, "ListAccessKeys", err)
	if len(lak.AccessKeyMetadata) != 2 {
		t.Fatalf("keys %+v", lak.AccessKeyMetadata)
	}

	// the new key works, limited by the boundary (GetObject yes, PutObject no)
	u := newClient(s, creds{id: aws.ToString(k1.AccessKey.AccessKeyId), secret: aws.ToString(k1.AccessKey.SecretAccessKey)}, nil)
	lu, err := root.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k1.AccessKey.AccessKeyId})
	mustOK(t, "GetAccessKeyLastUsed (never)", err)
	if aws.ToString(lu.AccessKeyLastUsed.ServiceName) != "N/A" || lu.AccessKeyLastUsed.LastUsedDate != nil {
		t.Fatalf("last used before use %+v", lu.AccessKeyLastUsed)
	}
	id, err := u.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	mustOK(t, "user GetCallerIdentity", err)
	if aws.ToString(id.Arn) != "arn:aws:iam::123456789012:user/nhi/nhi-cred-1" {
		t.Fatalf("identity %s", aws.ToString(id.Arn))
	}
	s.PutObject("a", "obj", []byte("x"))
	_, err = getObj(u, "a", "obj")
	mustOK(t, "user get within boundary", err)
	wantCode(t, "user put outside boundary", putObj(u, "a", "obj2", "x"), "AccessDenied")
	lu, err = root.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k1.AccessKey.AccessKeyId})
	mustOK(t, "GetAccessKeyLastUsed", err)
	if aws.ToString(lu.AccessKeyLastUsed.ServiceName) != "s3" || aws.ToString(lu.UserName) != "nhi-cred-1" || lu.AccessKeyLastUsed.LastUsedDate == nil {
		t.Fatalf("last used %+v", lu.AccessKeyLastUsed)
	}
	// the user cannot escalate
	_, err = u.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("evil")})
	wantCode(t, "user CreateUser", err, "AccessDenied")

	// DeleteUser conflicts until keys and policies are gone
	_, err = root.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("nhi-cred-1")})
	wantCode(t, "DeleteUser with keys", err, "DeleteConflict")
	for _, k := range lak.AccessKeyMetadata {
		_, err = root.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("nhi-cred-1"), AccessKeyId: k.AccessKeyId})
		mustOK(t, "DeleteAccessKey", err)
	}
	_, err = root.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("nhi-cred-1")})
	wantCode(t, "DeleteUser with inline policy", err, "DeleteConflict")
	_, err = root.iam.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: aws.String("nhi-cred-1"), PolicyName: aws.String("intent")})
	mustOK(t, "DeleteUserPolicy", err)
	_, err = root.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("nhi-cred-1")})
	wantCode(t, "DeleteUser with attached policy", err, "DeleteConflict")
	_, err = root.iam.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("nhi-cred-1"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
	mustOK(t, "DetachUserPolicy", err)
	_, err = root.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("nhi-cred-1")})
	mustOK(t, "DeleteUser", err)
	_, err = u.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, "deleted user's key", err, "InvalidClientTokenId")
	if c := s.Counts(); c.Users != 1 || c.AccessKeys != 1 {
		t.Fatalf("left behind: %+v (only the root user and key should remain)", c)
	}
}

func TestIAMRolesAndInlineBudget(t *testing.T) {
	s, root, _ := fixture(t, Options{})
	cr, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(trustAccount), MaxSessionDuration: aws.Int32(7200), Description: aws.String("d")})
	mustOK(t, "CreateRole", err)
	if aws.ToString(cr.Role.Arn) != "arn:aws:iam::123456789012:role/app" || !strings.HasPrefix(aws.ToString(cr.Role.RoleId), "AROA") {
		t.Fatalf("role %+v", cr.Role)
	}
	gr, err := root.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	mustOK(t, "GetRole", err)
	if aws.ToInt32(gr.Role.MaxSessionDuration) != 7200 {
		t.Fatalf("GetRole %+v", gr.Role)
	}
	if tp, _ := url.QueryUnescape(aws.ToString(gr.Role.AssumeRolePolicyDocument)); tp != trustAccount {
		t.Fatalf("trust policy %q", tp)
	}
	_, err = root.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
	mustOK(t, "AttachRolePolicy", err)

	// inline budget: 10,240 non-whitespace characters across all inline policies
	stmt := func(i int) string {
		return fmt.Sprintf(`{"Sid":"S%04d","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:userid":"AROAAAAAAAAAAAAAAAAAA:cred-%04d"}}}`, i, i)
	}
	doc := func(from, n int) string {
		var st []string
		for i := from; i < from+n; i++ {
			st = append(st, stmt(i))
		}
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
	}
	// two policies near 5,000 each fit; a third one overflows
	a, b := doc(0, 35), doc(35, 35)
	if policySize(a)+policySize(b) > roleInlineBudget {
		t.Fatalf("test setup: %d", policySize(a)+policySize(b))
	}
	for name, d := range map[string]string{"p1": a, "p2": b} {
		_, err = root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String(name), PolicyDocument: aws.String(d)})
		mustOK(t, "PutRolePolicy "+name, err)
	}
	remaining := roleInlineBudget - s.RoleInlinePolicySize("app")
	_, err = root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p3"), PolicyDocument: aws.String(doc(70, remaining/len(stmt(0))+1))})
	wantCode(t, "over the inline budget", err, "LimitExceeded")
	if !strings.Contains(err.Error(), "Maximum policy size of 10240 bytes exceeded for role app") {
		t.Fatalf("message %v", err)
	}
	// whitespace does not count; replacing a policy counts only the new version
	pretty := strings.ReplaceAll(a, ",", ",\n    ")
	_, err = root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p1"), PolicyDocument: aws.String(pretty)})
	mustOK(t, "replace with pretty-printed version", err)
	lrp, err := root.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("app")})
	mustOK(t, "ListRolePolicies", err)
	if strings.Join(lrp.PolicyNames, ",") != "p1,p2" {
		t.Fatalf("ListRolePolicies %v", lrp.PolicyNames)
	}
	grp, err := root.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("p2")})
	mustOK(t, "GetRolePolicy", err)
	if got, _ := url.QueryUnescape(aws.ToString(grp.PolicyDocument)); got != b {
		t.Fatal("GetRolePolicy document mismatch")
	}
	if len(s.RolePolicies("app")) != 2 {
		t.Fatalf("RolePolicies %v", s.RolePolicies("app"))
	}
	_, err = root.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")})
	wantCode(t, "DeleteRole with policies", err, "DeleteConflict")
	for _, n := range []string{"p1", "p2"} {
		_, err = root.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String(n)})
		mustOK(t, "DeleteRolePolicy", err)
	}
	_, err = root.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
	mustOK(t, "DetachRolePolicy", err)
	_, err = root.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app")})
	mustOK(t, "DeleteRole", err)
	_, err = root.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	wantCode(t, "GetRole deleted", err, "NoSuchEntity")
}

func TestKeyPropagationDelay(t *testing.T) {
	s, root, _ := fixture(t, Options{KeyPropagationDelay: 400 * time.Millisecond})
	_, err := root.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("late")})
	mustOK(t, "CreateUser", err)
	k, err := root.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("late")})
	mustOK(t, "CreateAccessKey", err)
	u := newClient(s, creds{id: aws.ToString(k.AccessKey.AccessKeyId), secret: aws.ToString(k.AccessKey.SecretAccessKey)}, nil)
	_, err = u.sts.GetCallerIdentity(ctx, nil)
	wantCode(t, "key before propagation", err, "InvalidClientTokenId")
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err = u.sts.GetCallerIdentity(ctx, nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key never became usable: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIAMPolicyValidation(t *testing.T) {
	_, root, _ := fixture(t, Options{})
	cases := []struct {
		name, doc string
	}{
		{"principal in identity policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`},
		{"no resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`},
		{"bad effect", `{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}`},
		{"not json", `{"Version":`},
	}
	for _, c := range cases {
		_, err := root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("etl"), PolicyName: aws.String("p"), PolicyDocument: aws.String(c.doc)})
		wantCode(t, c.name, err, "MalformedPolicyDocument")
	}
	trusts := []struct {
		name, doc string
	}{
		{"trust with resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Resource":"*"}]}`},
		{"trust without principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`},
		{"trust naming a missing user", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/ghost"},"Action":"sts:AssumeRole"}]}`},
	}
	for _, c := range trusts {
		_, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(c.doc)})
		wantCode(t, c.name, err, "MalformedPolicyDocument")
	}
	_, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/nhi-root"},"Action":"sts:AssumeRole"}]}`)})
	mustOK(t, "trust naming an existing user", err)
	_, err = root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("R"), AssumeRolePolicyDocument: aws.String(trustAccount)})
	wantCode(t, "role names are case-insensitive", err, "EntityAlreadyExists")
}
