package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/vault/sdk/logical"
)

// postureFreshness is how long a role's policy hash is reused at issuance: posture is
// a slow-moving fact, and reading it per credential would double IAM calls.
const postureFreshness = 5 * time.Minute

// RefRolePolicyHash is the Ref member holding the role's policy hash at issuance.
const RefRolePolicyHash = "role_policy_hash"

type postureEntry struct {
	hash string
	at   time.Time
}

type postureCache struct {
	mu      sync.Mutex
	entries map[string]postureEntry
}

// RolePolicyHash is a digest of what an assumed role may do outside the engine's
// control: its inline policies (except the engine's own revocation policy) and its
// attached managed policy ARNs. Drift compares it with the hash at issuance.
func (p *Provider) RolePolicyHash(ctx context.Context, s logical.Storage, roleARN string) (string, error) {
	_, cl, err := p.clients(ctx, s)
	if err != nil {
		return "", err
	}
	return rolePolicyHash(ctx, cl.IAM, roleARN)
}

func rolePolicyHash(ctx context.Context, client IAMAPI, roleARN string) (string, error) {
	_, roleName, err := roleParts(roleARN)
	if err != nil {
		return "", err
	}
	names, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: awssdk.String(roleName)})
	if err != nil {
		return "", wrap("iam ListRolePolicies", err)
	}
	policyNames := append([]string(nil), names.PolicyNames...)
	sort.Strings(policyNames)
	h := sha256.New()
	for _, name := range policyNames {
		if name == RevocationPolicyName {
			continue
		}
		doc, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String(roleName), PolicyName: awssdk.String(name)})
		if err != nil {
			return "", wrap("iam GetRolePolicy", err)
		}
		text, err := url.QueryUnescape(awssdk.ToString(doc.PolicyDocument))
		if err != nil {
			text = awssdk.ToString(doc.PolicyDocument)
		}
		h.Write([]byte("inline\x00" + name + "\x00" + text + "\x00"))
	}
	attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: awssdk.String(roleName)})
	if err != nil {
		return "", wrap("iam ListAttachedRolePolicies", err)
	}
	arns := make([]string, 0, len(attached.AttachedPolicies))
	for _, a := range attached.AttachedPolicies {
		arns = append(arns, awssdk.ToString(a.PolicyArn))
	}
	sort.Strings(arns)
	for _, a := range arns {
		h.Write([]byte("attached\x00" + a + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// issuancePostureHash returns the role's recent policy hash for the credential's
// record, reading IAM at most once per role per postureFreshness. A failure to read
// it never blocks issuance: posture is then simply not compared for that credential.
func (p *Provider) issuancePostureHash(ctx context.Context, client IAMAPI, roleARN string, now time.Time) string {
	p.posture.mu.Lock()
	e, ok := p.posture.entries[roleARN]
	p.posture.mu.Unlock()
	if ok && now.Sub(e.at) < postureFreshness {
		return e.hash
	}
	hash, err := rolePolicyHash(ctx, client, roleARN)
	if err != nil {
		return ""
	}
	p.posture.mu.Lock()
	if p.posture.entries == nil {
		p.posture.entries = map[string]postureEntry{}
	}
	p.posture.entries[roleARN] = postureEntry{hash: hash, at: now}
	p.posture.mu.Unlock()
	return hash
}
