package aws

import (
	"context"
	"fmt"
	"sort"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Session tag keys the engine sets on every session and user.
const (
	TagTask        = "nhi:task"
	TagSensitivity = "nhi:sensitivity"
	TagCredential  = "nhi:credential"
)

// stsDuration is the session length: the TTL rounded up to whole seconds, at least STS's
// 900-second floor. A TTL above the role's max_sts_ttl is refused (the lease would
// outlive the session).
func stsDuration(ttl, maxSTS time.Duration) (time.Duration, error) {
	d := ttl.Truncate(time.Second)
	if d < ttl {
		d += time.Second
	}
	if d > maxSTS {
		return 0, &providers.FieldError{Field: "ttl", Reason: fmt.Sprintf(
			"%s is above the role's STS maximum (max_sts_ttl %d seconds)", ttl, int64(maxSTS/time.Second))}
	}
	if d < MinSTSTTL {
		d = MinSTSTTL
	}
	return d, nil
}

// engineTags are the nhi:* tags plus the role's tags, sorted by key.
func engineTags(req providers.IssueRequest, rs roleSettings) [][2]string {
	tags := [][2]string{
		{TagTask, sanitizeTagValue(req.Task)},
		{TagSensitivity, sanitizeTagValue(req.Sensitivity)},
		{TagCredential, sanitizeTagValue(req.CredentialID)},
	}
	keys := make([]string, 0, len(rs.sessionTags))
	for k := range rs.sessionTags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tags = append(tags, [2]string{k, rs.sessionTags[k]})
	}
	return tags
}

func sessionNameFor(credentialID string) string { return sanitizeIdentifier(credentialID, 2, 64) }

// issueSession calls AssumeRole for an approved intent.
func (p *Provider) issueSession(ctx context.Context, cl *Clients, req providers.IssueRequest, rs roleSettings, policy string) (*providers.Issued, error) {
	dur, err := stsDuration(req.TTL, rs.maxSTSTTL)
	if err != nil {
		return nil, err
	}
	sessionName := sessionNameFor(req.CredentialID)
	in := &sts.AssumeRoleInput{
		RoleArn:         awssdk.String(rs.roleARN),
		RoleSessionName: awssdk.String(sessionName),
		DurationSeconds: awssdk.Int32(int32(dur / time.Second)),
		Policy:          awssdk.String(policy),
	}
	for _, a := range rs.policyARNs {
		in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: awssdk.String(a)})
	}
	for _, t := range engineTags(req, rs) {
		in.Tags = append(in.Tags, ststypes.Tag{Key: awssdk.String(t[0]), Value: awssdk.String(t[1])})
	}
	if req.Subject != "" {
		in.SourceIdentity = awssdk.String(sanitizeIdentifier(req.Subject, 2, 64))
	}
	if rs.externalID != "" {
		in.ExternalId = awssdk.String(rs.externalID)
	}
	out, err := cl.STS.AssumeRole(ctx, in)
	if err != nil {
		if isCode(err, "PackedPolicyTooLarge", "PackedPolicyTooLargeException") {
			return nil, &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf(
				"AWS refused the session as too large once packed (PackedPolicyTooLarge): the session policy, policy_arns and session tags together exceed STS's packed size limit; request fewer destinations or actions per credential (%s)",
				describe(err))}
		}
		return nil, wrap("STS AssumeRole on "+rs.roleARN, err)
	}
	if out.Credentials == nil || out.Credentials.AccessKeyId == nil || out.AssumedRoleUser == nil {
		return nil, fmt.Errorf("aws: STS AssumeRole on %s returned no credentials", rs.roleARN)
	}
	stsExp := req.Now.Add(dur)
	if out.Credentials.Expiration != nil {
		stsExp = out.Credentials.Expiration.UTC()
	}
	// The credential is usable until the lease ends (the engine revokes it then) or STS
	// expires it, whichever is first; clients that refresh on "expiration" do so in time.
	usable := req.Now.Add(req.TTL)
	if stsExp.Before(usable) {
		usable = stsExp
	}
	accessKeyID := awssdk.ToString(out.Credentials.AccessKeyId)
	return &providers.Issued{
		Secret: map[string]any{
			"secret_key":    awssdk.ToString(out.Credentials.SecretAccessKey),
			"session_token": awssdk.ToString(out.Credentials.SessionToken),
		},
		// The access key id identifies the credential (CloudTrail logs it); it is not
		// secret material, so it travels as a public field and in the reference.
		Public: map[string]any{
			"access_key":     accessKeyID,
			"expiration":     usable.UTC().Format(time.RFC3339),
			"sts_expiration": stsExp.Format(time.RFC3339),
			"arn":            awssdk.ToString(out.AssumedRoleUser.Arn),
		},
		Ref: map[string]string{
			refCredentialType: CredentialTypeAssumedRole,
			refAccessKeyID:    accessKeyID,
			refSessionName:    sessionName,
			refRoleARN:        rs.roleARN,
			refAssumedRoleID:  awssdk.ToString(out.AssumedRoleUser.AssumedRoleId),
			refSTSExpiration:  stsExp.Format(time.RFC3339),
			RefRolePolicyHash: p.issuancePostureHash(ctx, cl.IAM, rs.roleARN, req.Now),
		},
		ExpiresAt: stsExp,
		Renewable: false,
	}, nil
}
