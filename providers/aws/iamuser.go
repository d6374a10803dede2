package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Names for iam_user credentials.
const (
	UserPath         = "/nhi/"
	UserPolicyName   = "nhi-intent"
	userNamePrefix   = "nhi-"
	cleanupTimeout   = 30 * time.Second
	keyPollFirst     = 200 * time.Millisecond
	keyPollMax       = 2 * time.Second
	maxUserNameChars = 64
)

// userNameFor derives the IAM user name of a credential; WAL rollback relies on it being
// a function of the credential id alone.
func userNameFor(credentialID string) string {
	return userNamePrefix + sanitizeIdentifier(credentialID, 1, maxUserNameChars-len(userNamePrefix))
}

// issueUser creates user, inline policy, managed policy attachments and an access key,
// and waits until the key authenticates. On failure it deletes what it created; if that
// fails too, the engine's WAL rollback deletes the user later (Revoke without Ref).
func (p *Provider) issueUser(ctx context.Context, cl *Clients, req providers.IssueRequest, rs roleSettings, policy string) (_ *providers.Issued, err error) {
	name := userNameFor(req.CredentialID)
	in := &iam.CreateUserInput{UserName: awssdk.String(name), Path: awssdk.String(UserPath)}
	if rs.permissionsBoundaryARN != "" {
		in.PermissionsBoundary = awssdk.String(rs.permissionsBoundaryARN)
	}
	for _, t := range engineTags(req, rs) {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: awssdk.String(t[0]), Value: awssdk.String(t[1])})
	}
	if _, err := cl.IAM.CreateUser(ctx, in); err != nil {
		return nil, wrap("IAM CreateUser "+name, err)
	}
	defer func() {
		if err == nil {
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if cerr := deleteUser(cctx, cl.IAM, name); cerr != nil {
			err = fmt.Errorf("%w; cleaning up user %s also failed (WAL rollback will retry): %v", err, name, cerr)
		}
	}()
	if _, err := cl.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: awssdk.String(name), PolicyName: awssdk.String(UserPolicyName), PolicyDocument: awssdk.String(policy),
	}); err != nil {
		if isCode(err, "LimitExceeded", "LimitExceededException") {
			return nil, &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf("the intent is too large for an IAM user's inline policy (%s)", describe(err))}
		}
		return nil, wrap("IAM PutUserPolicy on user "+name, err)
	}
	for _, a := range rs.policyARNs {
		if _, err := cl.IAM.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: awssdk.String(name), PolicyArn: awssdk.String(a)}); err != nil {
			return nil, wrap("IAM AttachUserPolicy "+a+" on user "+name, err)
		}
	}
	out, err := cl.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: awssdk.String(name)})
	if err != nil {
		return nil, wrap("IAM CreateAccessKey for user "+name, err)
	}
	if out.AccessKey == nil || out.AccessKey.AccessKeyId == nil || out.AccessKey.SecretAccessKey == nil {
		return nil, fmt.Errorf("aws: IAM CreateAccessKey for user %s returned no key", name)
	}
	creds := awssdk.Credentials{AccessKeyID: *out.AccessKey.AccessKeyId, SecretAccessKey: *out.AccessKey.SecretAccessKey}
	if err := waitForKey(ctx, cl, creds, p.keyWait); err != nil {
		return nil, err
	}
	return &providers.Issued{
		Secret: map[string]any{"secret_key": creds.SecretAccessKey},
		Public: map[string]any{"access_key": creds.AccessKeyID, "user_name": name},
		Ref: map[string]string{
			refCredentialType: CredentialTypeIAMUser,
			refUserName:       name,
			refAccessKeyID:    creds.AccessKeyID,
		},
		ExpiresAt: req.Now.Add(req.TTL),
		// An access key has no expiry of its own: the lease may be renewed up to the
		// role's max_ttl, and revocation deletes the user.
		Renewable: true,
	}, nil
}

// waitForKey polls GetCallerIdentity with a new key until it authenticates or limit
// passes (IAM propagates new keys to STS within seconds).
func waitForKey(ctx context.Context, cl *Clients, creds awssdk.Credentials, limit time.Duration) error {
	if cl.STSWith == nil {
		return nil
	}
	client := cl.STSWith(creds)
	deadline := time.Now().Add(limit)
	wait := keyPollFirst
	for {
		_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("aws: the new access key %s did not authenticate within %s (IAM eventual consistency): %w", creds.AccessKeyID, limit, describe(err))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if wait *= 2; wait > keyPollMax {
			wait = keyPollMax
		}
	}
}

// revokeUser deletes an iam_user credential's user and everything attached to it.
func (p *Provider) revokeUser(ctx context.Context, s logical.Storage, name string) error {
	_, cl, err := p.clients(ctx, s)
	if err != nil {
		return err
	}
	return deleteUser(ctx, cl.IAM, name)
}

// errNotOurs refuses to delete a user the engine did not create.
var errNotOurs = errors.New("is not under the engine's /nhi/ path; not deleting it")

// deleteUser removes access keys, inline policies, managed policy attachments and the
// user. Anything already gone counts as deleted.
func deleteUser(ctx context.Context, client IAMAPI, name string) error {
	got, err := client.GetUser(ctx, &iam.GetUserInput{UserName: awssdk.String(name)})
	if err != nil {
		if isNoSuchEntity(err) {
			return nil
		}
		return wrap("IAM GetUser "+name, err)
	}
	if got.User != nil && got.User.Path != nil && *got.User.Path != UserPath {
		return fmt.Errorf("aws: user %s %w", name, errNotOurs)
	}
	gone := func(op string, err error) error {
		if err == nil || isNoSuchEntity(err) {
			return nil
		}
		return wrap(op, err)
	}
	err = eachIAMPage(func(marker *string) ([]iamtypes.AccessKeyMetadata, *string, error) {
		out, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: awssdk.String(name), Marker: marker})
		if err != nil {
			return nil, nil, gone("IAM ListAccessKeys for user "+name, err)
		}
		return out.AccessKeyMetadata, nextMarker(out.IsTruncated, out.Marker), nil
	}, func(k iamtypes.AccessKeyMetadata) error {
		_, err := client.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: awssdk.String(name), AccessKeyId: k.AccessKeyId})
		return gone("IAM DeleteAccessKey for user "+name, err)
	})
	if err != nil {
		return err
	}
	err = eachIAMPage(func(marker *string) ([]string, *string, error) {
		out, err := client.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: awssdk.String(name), Marker: marker})
		if err != nil {
			return nil, nil, gone("IAM ListUserPolicies for user "+name, err)
		}
		return out.PolicyNames, nextMarker(out.IsTruncated, out.Marker), nil
	}, func(pn string) error {
		_, err := client.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: awssdk.String(name), PolicyName: awssdk.String(pn)})
		return gone("IAM DeleteUserPolicy "+pn+" for user "+name, err)
	})
	if err != nil {
		return err
	}
	err = eachIAMPage(func(marker *string) ([]iamtypes.AttachedPolicy, *string, error) {
		out, err := client.ListAttachedUserPolicies(ctx, &iam.ListAttachedUserPoliciesInput{UserName: awssdk.String(name), Marker: marker})
		if err != nil {
			return nil, nil, gone("IAM ListAttachedUserPolicies for user "+name, err)
		}
		return out.AttachedPolicies, nextMarker(out.IsTruncated, out.Marker), nil
	}, func(ap iamtypes.AttachedPolicy) error {
		_, err := client.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: awssdk.String(name), PolicyArn: ap.PolicyArn})
		return gone("IAM DetachUserPolicy for user "+name, err)
	})
	if err != nil {
		return err
	}
	_, err = client.DeleteUser(ctx, &iam.DeleteUserInput{UserName: awssdk.String(name)})
	return gone("IAM DeleteUser "+name, err)
}
