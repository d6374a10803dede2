package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/intent"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// MaxSessionPolicyChars is STS's limit on the inline session policy (AssumeRole Policy).
// IAM's aggregate inline-policy limit for a user is the same 2,048 characters, so the
// one compiled document fits both credential types.
const MaxSessionPolicyChars = 2048

// policyVersion is the IAM policy language version every document uses.
const policyVersion = "2012-10-17"

// VerbActions is the documented translation of the generic verbs for S3 destinations.
// read/write/delete apply to the objects a destination names, list to its bucket with
// an s3:prefix condition. Verbs have no meaning for other ARN destinations: name the
// service's actions (sqs:SendMessage) there.
var VerbActions = map[string][]string{
	"read":   {"s3:GetObject", "s3:GetObjectVersion"},
	"write":  {"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
	"delete": {"s3:DeleteObject", "s3:DeleteObjectVersion"},
	"list":   {"s3:ListBucket"},
}

// guardActions are denied in every compiled policy unless the request names one of
// them (or an action inside a guarded wildcard) explicitly: privilege escalation,
// role chaining, organization changes, code deployment and bucket-wide changes that
// outlive the credential. A Deny also caps managed policy_arns, which a session policy
// Allow alone cannot. (PutBucketLifecycleConfiguration's IAM action is
// s3:PutLifecycleConfiguration.)
var guardActions = []string{
	"iam:*", "sts:*", "organizations:*",
	"lambda:Create*", "lambda:Update*", "lambda:Add*",
	"s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration",
}

// sseCKey is the condition key present when a write carries SSE-C headers. Writes with
// a customer-provided key would leave objects the bucket owner cannot read; the guard
// is always present (CopyObject, UploadPart and CreateMultipartUpload authorize as
// s3:PutObject).
const sseCKey = "s3:x-amz-server-side-encryption-customer-algorithm"

// PolicyInput is what the session policy compiler needs: the approved intent.
type PolicyInput struct {
	// Partition of s3:// destinations' ARNs ("aws" when empty; "aws-cn", "aws-us-gov").
	Partition    string
	Destinations []string
	Actions      []string
	// SourceIP, when set, denies every call not made from this address (aws:SourceIp).
	SourceIP string
}

// statement is one IAM policy statement; Action and Resource are a string or a list.
type statement struct {
	Effect    string                    `json:"Effect"`
	Action    any                       `json:"Action"`
	Resource  any                       `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// CompileSessionPolicy returns the narrowest IAM policy (minified JSON) allowing exactly
// the intent's actions on its destinations, plus the guard statements. Errors are
// *providers.FieldError on "destinations" or "actions":
//   - a destination whose wildcard IAM would widen (IAM's * crosses '/', the engine's
//     does not): only a final "/*" segment (a subtree) is accepted in S3 keys and ARN
//     resources; region and account fields of ARNs may hold wildcards (IAM matches ARN
//     fields separately);
//   - a destination no requested action applies to, or an action no destination takes;
//   - characters IAM policies cannot hold (above U+00FF, control characters);
//   - a document over MaxSessionPolicyChars.
func CompileSessionPolicy(in PolicyInput) (string, error) {
	partition := in.Partition
	if partition == "" {
		partition = "aws"
	}
	if len(in.Destinations) == 0 {
		return "", &providers.FieldError{Field: "destinations", Reason: "at least one destination is required"}
	}
	if len(in.Actions) == 0 {
		return "", &providers.FieldError{Field: "actions", Reason: "at least one action is required"}
	}
	acts := make([]intent.Action, 0, len(in.Actions))
	for _, a := range in.Actions {
		pa, err := intent.ParseGrantAction(a)
		if err != nil {
			return "", &providers.FieldError{Field: "actions", Reason: err.Error()}
		}
		acts = append(acts, pa)
	}
	c := newCompiler()
	used := make([]bool, len(acts))
	for _, d := range in.Destinations {
		t, err := parseTarget(d, partition)
		if err != nil {
			return "", &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf("%q: %v", d, err)}
		}
		applied := false
		for i, a := range acts {
			ok, err := c.apply(t, a)
			if err != nil {
				return "", &providers.FieldError{Field: "actions", Reason: fmt.Sprintf("%q on %q: %v", string(a), d, err)}
			}
			if ok {
				used[i], applied = true, true
			}
		}
		if !applied {
			return "", &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf(
				"no requested action applies to %q (verbs apply to S3 destinations; other ARNs need that service's actions, e.g. sqs:SendMessage)", d)}
		}
	}
	for i, ok := range used {
		if !ok {
			return "", &providers.FieldError{Field: "actions", Reason: fmt.Sprintf("%q applies to none of the destinations", string(acts[i]))}
		}
	}
	var sourceIP string
	if in.SourceIP != "" {
		cidr, err := sourceCIDR(in.SourceIP)
		if err != nil {
			return "", &providers.FieldError{Field: "bind_source_ip", Reason: err.Error()}
		}
		sourceIP = cidr
	}
	doc := c.document(acts, sourceIP)
	out, err := marshalPolicy(doc)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(out); n > MaxSessionPolicyChars {
		return "", &providers.FieldError{Field: "destinations", Reason: fmt.Sprintf(
			"the intent is too large for one STS session policy: it compiles to %d characters, the limit is %d; request fewer destinations or actions per credential",
			n, MaxSessionPolicyChars)}
	}
	return out, nil
}

// target is one parsed destination.
type target struct {
	s3 bool
	// S3: bucket and key; key is "" for the bucket itself. subtree: the key ends with "/*"
	// (or the whole bucket's objects when key is "").
	bucket, key string
	subtree     bool
	partition   string
	// Other ARNs: the service and the full (escaped) ARN.
	service, arn string
}

func parseTarget(d, partition string) (target, error) {
	p, err := intent.ParsePattern(d)
	if err != nil {
		return target{}, err
	}
	s := p.String()
	for _, r := range s {
		if r > 0xFF {
			return target{}, fmt.Errorf("IAM policies cannot hold the character %q", r)
		}
	}
	switch p.Scheme() {
	case "s3":
		rest := strings.TrimPrefix(s, "s3://")
		bucket, key, _ := strings.Cut(rest, "/")
		return s3Target(bucket, key, partition, true)
	case "arn":
		fields := strings.SplitN(s, ":", 6)
		part, service, region, account, resource := fields[1], fields[2], fields[3], fields[4], fields[5]
		if part != "aws" && !strings.HasPrefix(part, "aws-") {
			return target{}, fmt.Errorf("partition %q is not an AWS partition", part)
		}
		if service == "s3" && region == "" && account == "" {
			bucket, key, _ := strings.Cut(resource, "/")
			return s3Target(bucket, key, part, false)
		}
		if err := checkResourceWildcards(resource); err != nil {
			return target{}, err
		}
		return target{service: service, partition: part, arn: "arn:" + part + ":" + service + ":" + region + ":" + account + ":" + escapeIAM(resource, true)}, nil
	}
	return target{}, fmt.Errorf("AWS roles take s3:// or arn:aws: destinations, not %s", p.Scheme())
}

// s3Target builds an S3 target. Keys of s3:// URIs are percent-decoded (S3 compares raw
// keys); ARN resources are taken as written.
func s3Target(bucket, key, partition string, decode bool) (target, error) {
	if strings.Contains(bucket, "*") {
		return target{}, fmt.Errorf("a wildcard in the bucket name would match other buckets' objects in IAM (its * crosses '/'); name the bucket")
	}
	t := target{s3: true, bucket: bucket, partition: partition}
	if key == "" {
		return t, nil
	}
	if key == "*" {
		t.subtree = true
		return t, nil
	}
	if k, ok := strings.CutSuffix(key, "/*"); ok {
		t.subtree, key = true, k
	}
	if strings.Contains(key, "*") {
		return target{}, fmt.Errorf("IAM's * crosses '/', so a wildcard inside a key would grant more than the destination names; only a final /* (a subtree) is accepted")
	}
	if decode {
		segs := strings.Split(key, "/")
		for i, seg := range segs {
			d, err := url.PathUnescape(seg)
			if err != nil {
				return target{}, fmt.Errorf("malformed percent escape in key: %v", err)
			}
			for _, r := range d {
				if r > 0xFF || r < 0x20 || r == 0x7F {
					return target{}, fmt.Errorf("IAM policies cannot hold the character %q", r)
				}
			}
			segs[i] = d
		}
		key = strings.Join(segs, "/")
	}
	t.key = key
	return t, nil
}

// checkResourceWildcards accepts a '*' in an ARN resource only as the whole resource or
// as a final "/*" segment.
func checkResourceWildcards(resource string) error {
	if resource == "*" {
		return nil
	}
	r := strings.TrimSuffix(resource, "/*")
	if strings.Contains(r, "*") {
		return fmt.Errorf("IAM's * crosses '/' and ':', so a wildcard inside an ARN resource would grant more than the destination names; only a final /* is accepted")
	}
	return nil
}

// escapeIAM protects literal characters IAM would read as wildcards or policy variables.
// keepStar keeps '*' as a wildcard (ARN text already checked by checkResourceWildcards).
func escapeIAM(s string, keepStar bool) string {
	if !strings.ContainsAny(s, "$*?") {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '$':
			b.WriteString("${$}")
		case r == '?':
			b.WriteString("${?}")
		case r == '*' && !keepStar:
			b.WriteString("${*}")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (t target) bucketARN() string {
	return "arn:" + t.partition + ":s3:::" + escapeIAM(t.bucket, false)
}

// objectARN is "" when the destination names the bucket itself.
func (t target) objectARN() string {
	switch {
	case t.key == "" && t.subtree:
		return t.bucketARN() + "/*"
	case t.key == "":
		return ""
	case t.subtree:
		return t.bucketARN() + "/" + escapeIAM(t.key, false) + "/*"
	}
	return t.bucketARN() + "/" + escapeIAM(t.key, false)
}

// listPrefix is the s3:prefix a list on this destination may use; "" with ok=true means
// the whole bucket (no condition).
func (t target) listPrefix() (prefix string, whole bool) {
	switch {
	case t.key == "":
		return "", true
	case t.subtree:
		return escapeIAM(t.key, false) + "/*", false
	}
	return escapeIAM(t.key, false), false
}

// compiler accumulates grants before rendering them as few statements as possible.
type compiler struct {
	// resource -> actions on it without a condition
	plain map[string]map[string]bool
	// list actions on a bucket: bucket ARN -> action -> prefixes ("" whole bucket)
	lists map[string]map[string]*prefixSet
}

type prefixSet struct {
	whole    bool
	prefixes map[string]bool
}

func newCompiler() *compiler {
	return &compiler{plain: map[string]map[string]bool{}, lists: map[string]map[string]*prefixSet{}}
}

func (c *compiler) allow(resource, action string) {
	m := c.plain[resource]
	if m == nil {
		m = map[string]bool{}
		c.plain[resource] = m
	}
	m[action] = true
}

func (c *compiler) allowList(t target, action string) {
	b := t.bucketARN()
	m := c.lists[b]
	if m == nil {
		m = map[string]*prefixSet{}
		c.lists[b] = m
	}
	ps := m[action]
	if ps == nil {
		ps = &prefixSet{prefixes: map[string]bool{}}
		m[action] = ps
	}
	if p, whole := t.listPrefix(); whole {
		ps.whole = true
	} else {
		ps.prefixes[p] = true
	}
}

// prefixConditioned lists the S3 actions that take the s3:prefix condition key.
var prefixConditioned = map[string]bool{"listbucket": true, "listbucketversions": true}

// isBucketLevel classifies an S3 action by the resource it authorizes against.
func isBucketLevel(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "bucket") || strings.HasSuffix(n, "configuration")
}

// apply adds action a on target t. It reports false when a does not apply to t (another
// service, a verb on a non-S3 ARN).
func (c *compiler) apply(t target, a intent.Action) (bool, error) {
	if !t.s3 {
		if a.IsVerb() {
			return false, nil
		}
		service, _, _ := strings.Cut(string(a), ":")
		if !strings.EqualFold(service, t.service) {
			return false, nil
		}
		c.allow(t.arn, string(a))
		return true, nil
	}
	if a.IsVerb() {
		if a == intent.ActionList {
			c.allowList(t, "s3:ListBucket")
			return true, nil
		}
		obj := t.objectARN()
		if obj == "" {
			return false, fmt.Errorf("s3://%s names the bucket, not its objects; use s3://%s/* for objects", t.bucket, t.bucket)
		}
		for _, x := range VerbActions[string(a)] {
			c.allow(obj, x)
		}
		return true, nil
	}
	service, name, _ := strings.Cut(string(a), ":")
	if !strings.EqualFold(service, "s3") {
		return false, nil
	}
	if a.HasWildcard() {
		prefix := strings.ToLower(strings.TrimSuffix(name, "*"))
		if obj := t.objectARN(); obj != "" {
			c.allow(obj, string(a))
		} else {
			c.allow(t.bucketARN(), string(a))
		}
		// The wildcard covers listing: grant it on the bucket, within the prefix.
		if strings.HasPrefix("listbucket", prefix) {
			c.allowList(t, "s3:ListBucket")
		}
		return true, nil
	}
	if isBucketLevel(name) {
		if prefixConditioned[strings.ToLower(name)] {
			c.allowList(t, string(a))
		} else {
			c.allow(t.bucketARN(), string(a))
		}
		return true, nil
	}
	obj := t.objectARN()
	if obj == "" {
		return false, fmt.Errorf("is an object action and s3://%s names the bucket; use s3://%s/* for objects", t.bucket, t.bucket)
	}
	c.allow(obj, string(a))
	return true, nil
}

// document renders the allows merged by identical action sets and conditions, then the
// guards.
func (c *compiler) document(requested []intent.Action, sourceCIDR string) document {
	type group struct {
		actions   []string
		cond      map[string]map[string]any
		resources []string
	}
	groups := map[string]*group{}
	var order []string
	add := func(actions []string, cond map[string]map[string]any, resource string) {
		sort.Strings(actions)
		ck, _ := json.Marshal(cond)
		key := strings.Join(actions, ",") + "|" + string(ck)
		g := groups[key]
		if g == nil {
			g = &group{actions: actions, cond: cond}
			groups[key] = g
			order = append(order, key)
		}
		g.resources = append(g.resources, resource)
	}
	for _, r := range sortedKeys(c.plain) {
		add(sortedKeys(c.plain[r]), nil, r)
	}
	for _, b := range sortedKeys(c.lists) {
		byPrefixes := map[string][]string{}
		var keys []string
		for _, action := range sortedKeys(c.lists[b]) {
			ps := c.lists[b][action]
			k := "*"
			if !ps.whole {
				k = strings.Join(sortedKeys(ps.prefixes), "\x00")
			}
			if _, seen := byPrefixes[k]; !seen {
				keys = append(keys, k)
			}
			byPrefixes[k] = append(byPrefixes[k], action)
		}
		for _, k := range keys {
			var cond map[string]map[string]any
			if k != "*" {
				prefixes := strings.Split(k, "\x00")
				cond = map[string]map[string]any{"StringLike": {"s3:prefix": oneOrList(prefixes)}}
			}
			add(byPrefixes[k], cond, b)
		}
	}
	sort.Strings(order)
	doc := document{Version: policyVersion}
	for _, k := range order {
		g := groups[k]
		sort.Strings(g.resources)
		doc.Statement = append(doc.Statement, statement{
			Effect: "Allow", Action: oneOrList(g.actions), Resource: oneOrList(g.resources), Condition: g.cond,
		})
	}
	doc.Statement = append(doc.Statement, guardStatements(requested, sourceCIDR)...)
	return doc
}

// guardStatements are the Deny statements every compiled policy carries.
func guardStatements(requested []intent.Action, sourceCIDR string) []statement {
	out := []statement{{
		Effect: "Deny", Action: "s3:PutObject", Resource: "*",
		Condition: map[string]map[string]any{"Null": {sseCKey: "false"}},
	}}
	var denied []string
	for _, g := range guardActions {
		if !namedExplicitly(g, requested) {
			denied = append(denied, g)
		}
	}
	if len(denied) > 0 {
		out = append(out, statement{Effect: "Deny", Action: oneOrList(denied), Resource: "*"})
	}
	if sourceCIDR != "" {
		out = append(out, statement{
			Effect: "Deny", Action: "*", Resource: "*",
			Condition: map[string]map[string]any{"NotIpAddress": {"aws:SourceIp": sourceCIDR}},
		})
	}
	return out
}

// namedExplicitly reports whether a requested native action is the guarded action or
// lies inside a guarded wildcard (then the guard would defeat the grant). Verbs never
// name guarded actions.
func namedExplicitly(guard string, requested []intent.Action) bool {
	g := intent.Action(guard)
	for _, a := range requested {
		if a.IsVerb() {
			continue
		}
		if a.CoveredBy(g) || g.CoveredBy(a) && !a.HasWildcard() {
			return true
		}
	}
	return false
}

// sourceCIDR turns the caller's address (optionally with a port) into a host CIDR.
func sourceCIDR(addr string) (string, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(addr)
		if err2 != nil {
			return "", fmt.Errorf("the caller's address %q is not an IP address", addr)
		}
		a = ap.Addr()
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()).String(), nil
}

func oneOrList(s []string) any {
	if len(s) == 1 {
		return s[0]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// marshalPolicy renders minified JSON without HTML escaping (IAM counts characters).
func marshalPolicy(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encoding policy: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}
