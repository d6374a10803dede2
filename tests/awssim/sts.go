package awssim

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

var (
	sessionNameRe    = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	sourceIdentityRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tagKeyRe         = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValueRe       = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	externalIDRe     = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// packedLimit / packedTagLimit model the STS packed budgets. The real encoding is
// undocumented; a deflate-compressed policy against a fixed budget and the raw tag bytes
// against another behave alike: ordinary 2,048-character policies and a few dozen short
// tags fit, 50 tags of 128/256 characters do not.
const (
	packedLimit    = 2048
	packedTagLimit = 4096
)

func (s *Sim) stsOps() map[string]queryHandler {
	return map[string]queryHandler{
		"AssumeRole":                s.assumeRole,
		"AssumeRoleWithWebIdentity": s.assumeRoleWithWebIdentity,
		"GetCallerIdentity":         s.getCallerIdentity,
	}
}

func (s *Sim) getCallerIdentity(c *call) (string, *APIError) {
	c.readOnly = true
	p := c.principal
	return el("Arn", p.Arn) + el("UserId", p.UserID) + el("Account", s.opts.AccountID), nil
}

// sessionParams are the parameters AssumeRole and AssumeRoleWithWebIdentity share.
type sessionParams struct {
	roleArn, sessionName string
	duration             int
	policy               string
	policyArns           []string
	tags                 []Tag
	transitive           []string
	externalID           string
	sourceIdentity       string
}

func (s *Sim) parseSessionParams(c *call, withTags bool) (*sessionParams, *APIError) {
	f := c.form
	sp := &sessionParams{roleArn: f.Get("RoleArn"), sessionName: f.Get("RoleSessionName"), duration: 3600, policy: f.Get("Policy")}
	var errs []string
	if sp.roleArn == "" {
		errs = append(errs, "Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	} else if len(sp.roleArn) < 20 || len(sp.roleArn) > 2048 {
		errs = append(errs, fmt.Sprintf("Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048", sp.roleArn))
	}
	if sp.sessionName == "" {
		errs = append(errs, "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	} else if len(sp.sessionName) > 64 {
		errs = append(errs, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64", sp.sessionName))
	} else if !sessionNameRe.MatchString(sp.sessionName) {
		errs = append(errs, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", sp.sessionName))
	}
	if v := f.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", v))
		case n < 900:
			errs = append(errs, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", n))
		case n > 43200:
			errs = append(errs, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", n))
		}
		sp.duration = n
	}
	if _, ok := f["Policy"]; ok && len(sp.policy) > 2048 {
		errs = append(errs, "Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048")
	}
	for _, m := range queryStructList(f, "PolicyArns", "arn") {
		sp.policyArns = append(sp.policyArns, m["arn"])
	}
	if len(sp.policyArns) > 10 {
		errs = append(errs, "Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	if withTags {
		sp.tags = queryTags(f)
		sp.transitive = queryList(f, "TransitiveTagKeys")
		sp.externalID = f.Get("ExternalId")
		sp.sourceIdentity = f.Get("SourceIdentity")
		if len(sp.tags) > 50 {
			errs = append(errs, "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
		}
		for _, t := range sp.tags {
			switch {
			case len(t.Key) < 1 || len([]rune(t.Key)) > 128:
				errs = append(errs, fmt.Sprintf("Value '%s' at 'tags.member.key' failed to satisfy constraint: Member must have length less than or equal to 128", t.Key))
			case !tagKeyRe.MatchString(t.Key):
				errs = append(errs, fmt.Sprintf("Value '%s' at 'tags.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", t.Key))
			}
			switch {
			case len([]rune(t.Value)) > 256:
				errs = append(errs, "Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256")
			case !tagValueRe.MatchString(t.Value):
				errs = append(errs, "Value at 'tags.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*")
			}
		}
		if len(sp.transitive) > 50 {
			errs = append(errs, "Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50")
		}
		if _, ok := f["ExternalId"]; ok && (len(sp.externalID) < 2 || len(sp.externalID) > 1224 || !externalIDRe.MatchString(sp.externalID)) {
			errs = append(errs, fmt.Sprintf("Value '%s' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]* and length between 2 and 1224", sp.externalID))
		}
		if _, ok := f["SourceIdentity"]; ok && !sourceIdentityRe.MatchString(sp.sourceIdentity) {
			errs = append(errs, fmt.Sprintf("Value '%s' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and length between 2 and 64", sp.sourceIdentity))
		}
	}
	if len(errs) > 0 {
		if len(errs) == 1 {
			return nil, validationErr("1 validation error detected: %s", errs[0])
		}
		return nil, validationErr("%d validation errors detected: %s", len(errs), strings.Join(errs, "; "))
	}
	// semantic checks after the schema checks
	seen := map[string]bool{}
	for _, t := range sp.tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, errf(400, "InvalidParameterValue", "Tag keys must not start with 'aws:' (found %s)", t.Key)
		}
		lk := strings.ToLower(t.Key)
		if seen[lk] {
			return nil, errf(400, "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[lk] = true
	}
	for _, k := range sp.transitive {
		if !seen[strings.ToLower(k)] {
			return nil, errf(400, "InvalidParameterValue", "The specified transitive tag key must be included in the requested tags.")
		}
	}
	if strings.HasPrefix(strings.ToLower(sp.sourceIdentity), "aws:") {
		return nil, errf(400, "InvalidParameterValue", "SourceIdentity must not start with 'aws:'")
	}
	if sp.policy != "" {
		if _, err := ParsePolicy(sp.policy); err != nil {
			return nil, errf(400, "MalformedPolicyDocument", "%v", err)
		}
	}
	return sp, nil
}

func (s *Sim) roleByArn(arn string) *role {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := strings.LastIndex(arn, "/")
	if i < 0 || !strings.HasPrefix(arn, "arn:aws:iam::"+s.opts.AccountID+":role/") {
		return nil
	}
	r, ok := s.roles[arn[i+1:]]
	if !ok || r.Arn != arn {
		return nil
	}
	return r
}

// packedSize models PackedPolicySize: the session policy and policy ARNs are compressed
// against one budget, session tags against another (AWS reports either "Packed policy
// consumes n% of allotted space" or "Packed size of session tags consumes n% of allotted
// space"). It returns both percentages; the response carries the larger one.
// packers reuse compressors: a flate.Writer allocates about a megabyte, which would
// otherwise dominate the simulator's cost per AssumeRole.
var packers = sync.Pool{New: func() any {
	zw, _ := flate.NewWriter(io.Discard, flate.BestCompression)
	return zw
}}

func packedSize(policy string, arns []string, tags []Tag) (policyPct, tagPct int) {
	if policy != "" || len(arns) > 0 {
		var b bytes.Buffer
		zw := packers.Get().(*flate.Writer)
		zw.Reset(&b)
		io.WriteString(zw, minifyJSON(policy))
		for _, a := range arns {
			io.WriteString(zw, "\x00"+a)
		}
		zw.Close()
		packers.Put(zw)
		policyPct = int(math.Ceil(float64(b.Len()) * 100 / packedLimit))
	}
	n := 0
	for _, t := range tags {
		n += len(t.Key) + len(t.Value) + 2
	}
	tagPct = int(math.Ceil(float64(n) * 100 / packedTagLimit))
	return policyPct, tagPct
}

func checkPacked(policy string, arns []string, tags []Tag) (int, *APIError) {
	p, t := packedSize(policy, arns, tags)
	if p > 100 {
		return 0, errf(400, "PackedPolicyTooLarge", "Packed policy consumes %d%% of allotted space, please use smaller policy.", p)
	}
	if t > 100 {
		return 0, errf(400, "PackedPolicyTooLarge", "Packed size of session tags consumes %d%% of allotted space.", t)
	}
	return max(p, t), nil
}

// trustAllows evaluates a role trust policy for the given actions.
func (s *Sim) trustAllows(r *role, principalType string, principalValues []string, keys map[string][]string, actions ...string) (bool, string) {
	s.mu.Lock()
	tp := s.parsed(r.Trust)
	s.mu.Unlock()
	for _, a := range actions {
		rc := &RequestContext{Action: a, Resource: r.Arn, Keys: keys, PrincipalType: principalType, PrincipalValues: principalValues}
		if tp.Evaluate(rc) != Allowed {
			return false, a
		}
	}
	return true, ""
}

func (s *Sim) newSession(r *role, sp *sessionParams, dur int) *session {
	now := s.now()
	tok := make([]byte, 264)
	copy(tok, randSecret(264))
	x := &session{
		AccessKeyID: randID("ASIA", 16), Secret: randSecret(40),
		Token:    "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(tok)[:340],
		RoleName: r.Name, RoleArn: r.Arn, RoleID: r.ID, SessionName: sp.sessionName,
		Issued: now, Expiration: now.Add(time.Duration(dur) * time.Second),
		Tags: sp.tags, TransitiveKeys: sp.transitive, InlinePolicy: sp.policy, PolicyArns: sp.policyArns,
		SourceIdentity: sp.sourceIdentity,
	}
	return x
}

func (s *Sim) sessionResultXML(x *session, packed int) string {
	return "<Credentials>" + el("AccessKeyId", x.AccessKeyID) + el("SecretAccessKey", x.Secret) +
		el("SessionToken", x.Token) + el("Expiration", isoTime(x.Expiration)) + "</Credentials>" +
		"<AssumedRoleUser>" + el("AssumedRoleId", x.RoleID+":"+x.SessionName) + el("Arn", s.sessionArn(x)) + "</AssumedRoleUser>" +
		el("PackedPolicySize", strconv.Itoa(packed)) + elOpt("SourceIdentity", x.SourceIdentity)
}

func (s *Sim) assumeRole(c *call) (string, *APIError) {
	c.readOnly = true
	sp, e := s.parseSessionParams(c, true)
	if e != nil {
		return "", e
	}
	c.params["roleArn"] = sp.roleArn
	c.params["roleSessionName"] = sp.sessionName
	c.params["durationSeconds"] = sp.duration
	if sp.externalID != "" {
		c.params["externalId"] = sp.externalID
	}
	if sp.policy != "" {
		c.params["policy"] = sp.policy
	}
	if len(sp.policyArns) > 0 {
		c.params["policyArns"] = sp.policyArns
	}
	if len(sp.tags) > 0 {
		var tl []map[string]string
		for _, t := range sp.tags {
			tl = append(tl, map[string]string{"key": t.Key, "value": t.Value})
		}
		c.params["tags"] = tl
	}
	if sp.sourceIdentity != "" {
		c.params["sourceIdentity"] = sp.sourceIdentity
	}
	c.resources = append(c.resources, EventResource{ARN: sp.roleArn, AccountID: s.opts.AccountID, Type: "AWS::IAM::Role"})
	p := c.principal
	// Role chaining: transitive tags and source identity propagate, duration capped at 1h.
	if p.sess != nil {
		if sp.duration > 3600 {
			return "", validationErr("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		}
		for _, k := range p.sess.TransitiveKeys {
			for _, t := range p.sess.Tags {
				if strings.EqualFold(t.Key, k) {
					for _, nt := range sp.tags {
						if strings.EqualFold(nt.Key, k) {
							return "", errf(400, "InvalidParameterValue", "One or more of the specified tag keys conflicts with the transitive tags of the calling session.")
						}
					}
					sp.tags = append(sp.tags, t)
					sp.transitive = append(sp.transitive, t.Key)
				}
			}
		}
		if p.sess.SourceIdentity != "" {
			if sp.sourceIdentity != "" && sp.sourceIdentity != p.sess.SourceIdentity {
				return "", errf(400, "InvalidParameterValue", "SourceIdentity cannot be changed once set for a session chain.")
			}
			sp.sourceIdentity = p.sess.SourceIdentity
		}
	}
	r := s.roleByArn(sp.roleArn)
	keys := map[string][]string{"sts:RoleSessionName": {sp.sessionName}}
	if sp.externalID != "" {
		keys["sts:ExternalId"] = []string{sp.externalID}
	}
	if sp.sourceIdentity != "" {
		keys["sts:SourceIdentity"] = []string{sp.sourceIdentity}
	}
	var tagKeys []string
	for _, t := range sp.tags {
		keys["aws:RequestTag/"+t.Key] = []string{t.Value}
		tagKeys = append(tagKeys, t.Key)
	}
	if len(tagKeys) > 0 {
		keys["aws:TagKeys"] = tagKeys
	}
	if len(sp.transitive) > 0 {
		keys["sts:TransitiveTagKeys"] = sp.transitive
	}
	actions := []string{"sts:AssumeRole"}
	if len(sp.tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	if sp.sourceIdentity != "" {
		actions = append(actions, "sts:SetSourceIdentity")
	}
	// identity-based side
	for _, a := range actions {
		if err := s.authorize(c, a, sp.roleArn, keys); err != nil {
			return "", err
		}
	}
	denied := s.accessDenied(c, "sts:AssumeRole", sp.roleArn, "")
	denied.Message = strings.TrimSpace(denied.Message)
	if r == nil {
		return "", denied
	}
	// resource-based side: the trust policy
	all := s.contextKeys(c)
	for k, v := range keys {
		all[k] = v
	}
	pvals := []string{p.Arn, s.opts.AccountID, "arn:aws:iam::" + s.opts.AccountID + ":root"}
	if p.sess != nil {
		pvals = append(pvals, p.sess.RoleArn)
	}
	if ok, act := s.trustAllows(r, "AWS", pvals, all, actions...); !ok {
		denied.Message = strings.Replace(denied.Message, "sts:AssumeRole", act, 1)
		return "", denied
	}
	maxDur := r.MaxSession
	if sp.duration > maxDur {
		return "", validationErr("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	for _, a := range sp.policyArns {
		s.mu.Lock()
		_, ok := s.policies[a]
		s.mu.Unlock()
		if !ok {
			return "", errf(400, "InvalidParameterValue", "Policy %s does not exist or is not attachable.", a)
		}
	}
	packed, perr := checkPacked(sp.policy, sp.policyArns, sp.tags)
	if perr != nil {
		return "", perr
	}
	x := s.newSession(r, sp, sp.duration)
	x.SourceKey = p.AccessKeyID
	s.mu.Lock()
	s.sessions[x.AccessKeyID] = x
	s.mu.Unlock()
	c.sessionCreds = x.AccessKeyID
	c.response = map[string]any{
		"credentials":      map[string]any{"accessKeyId": x.AccessKeyID, "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS", "expiration": x.Expiration.Format("Jan 2, 2006, 3:04:05 PM")},
		"assumedRoleUser":  map[string]any{"assumedRoleId": x.RoleID + ":" + x.SessionName, "arn": s.sessionArn(x)},
		"packedPolicySize": packed,
	}
	if x.SourceIdentity != "" {
		c.response["sourceIdentity"] = x.SourceIdentity
	}
	return s.sessionResultXML(x, packed), nil
}

// ---- web identity ----

type webClaims struct {
	jwt.Claims
	AWSTags *struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	} `json:"https://aws.amazon.com/tags,omitempty"`
}

type jwksEntry struct {
	set     *jose.JSONWebKeySet
	fetched time.Time
}

// jwks returns the provider's key set, cached for a minute and refetched when the token's
// key id is unknown (key rotation), like STS does.
func (s *Sim) jwks(u, kid string) (*jose.JSONWebKeySet, error) {
	s.mu.Lock()
	e, ok := s.jwksCache[u]
	s.mu.Unlock()
	if ok && time.Since(e.fetched) < time.Minute && (kid == "" || len(e.set.Key(kid)) > 0) {
		return e.set, nil
	}
	set, err := s.fetchJWKS(u)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.jwksCache == nil {
		s.jwksCache = map[string]jwksEntry{}
	}
	s.jwksCache[u] = jwksEntry{set, time.Now()}
	s.mu.Unlock()
	return set, nil
}

func (s *Sim) fetchJWKS(u string) (*jose.JSONWebKeySet, error) {
	resp, err := s.opts.HTTPClient.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS endpoint returned %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, err
	}
	return &set, nil
}

func (s *Sim) assumeRoleWithWebIdentity(c *call) (string, *APIError) {
	c.readOnly = true
	sp, e := s.parseSessionParams(c, false)
	if e != nil {
		return "", e
	}
	c.params["roleArn"] = sp.roleArn
	c.params["roleSessionName"] = sp.sessionName
	c.params["durationSeconds"] = sp.duration
	c.resources = append(c.resources, EventResource{ARN: sp.roleArn, AccountID: s.opts.AccountID, Type: "AWS::IAM::Role"})
	raw := c.form.Get("WebIdentityToken")
	if len(raw) < 4 {
		return "", validationErr("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.EdDSA, jose.RS256, jose.PS256})
	if err != nil {
		return "", errf(400, "InvalidIdentityToken", "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	var unverified webClaims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return "", errf(400, "InvalidIdentityToken", "The ID Token provided is not a valid JWT.")
	}
	s.mu.Lock()
	var prov *oidcProvider
	for _, p := range s.oidc {
		if strings.TrimSuffix(p.IssuerURL, "/") == strings.TrimSuffix(unverified.Issuer, "/") {
			prov = p
		}
	}
	s.mu.Unlock()
	if prov == nil {
		return "", errf(400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for %s", unverified.Issuer)
	}
	kid := ""
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	set, err := s.jwks(prov.JWKSURL, kid)
	if err != nil {
		return "", errf(400, "IDPCommunicationError", "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements")
	}
	var claims webClaims
	verified := false
	for _, h := range tok.Headers {
		for _, k := range set.Key(h.KeyID) {
			if err := tok.Claims(k.Key, &claims); err == nil {
				verified = true
				break
			}
		}
	}
	if !verified && (len(tok.Headers) == 0 || tok.Headers[0].KeyID == "") {
		for _, k := range set.Keys {
			if err := tok.Claims(k.Key, &claims); err == nil {
				verified = true
				break
			}
		}
	}
	if !verified {
		return "", errf(400, "InvalidIdentityToken", "Couldn't verify the token signature with the provider's keys")
	}
	now := s.now()
	if claims.Expiry == nil {
		return "", errf(400, "InvalidIdentityToken", "Missing a required claim: exp")
	}
	if !now.Before(claims.Expiry.Time()) {
		return "", errf(400, "ExpiredTokenException", "Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), claims.Expiry.Time().Unix())
	}
	if claims.NotBefore != nil && now.Add(5*time.Minute).Before(claims.NotBefore.Time()) {
		return "", errf(400, "InvalidIdentityToken", "Token is not yet valid")
	}
	audOK := ""
	for _, a := range claims.Audience {
		for _, want := range prov.Audiences {
			if a == want {
				audOK = a
			}
		}
	}
	if audOK == "" {
		return "", errf(400, "InvalidIdentityToken", "Incorrect token audience")
	}
	hp := issuerHostPath(prov.IssuerURL)
	keys := map[string][]string{
		hp + ":aud":                  claims.Audience,
		hp + ":sub":                  {claims.Subject},
		"aws:FederatedProvider":      {prov.Arn},
		"sts:RoleSessionName":        {sp.sessionName},
		"aws:SourceIp":               {c.sourceIP},
		"aws:CurrentTime":            {now.Format(time.RFC3339)},
		"aws:SecureTransport":        {fmt.Sprint(c.secure)},
		"aws:TokenIssueTime":         {now.Format(time.RFC3339)},
		"aws:RequestedRegion":        {s.opts.Region},
		"aws:PrincipalAccount":       {s.opts.AccountID},
		"aws:MultiFactorAuthPresent": {"false"},
	}
	actions := []string{"sts:AssumeRoleWithWebIdentity"}
	if claims.AWSTags != nil {
		var tk []string
		for _, k := range sortedKeys(claims.AWSTags.PrincipalTags) {
			v := claims.AWSTags.PrincipalTags[k]
			val := ""
			if len(v) > 0 {
				val = v[0]
			}
			sp.tags = append(sp.tags, Tag{k, val})
			keys["aws:RequestTag/"+k] = []string{val}
			tk = append(tk, k)
		}
		sp.transitive = claims.AWSTags.TransitiveTagKeys
		if len(tk) > 0 {
			keys["aws:TagKeys"] = tk
			actions = append(actions, "sts:TagSession")
		}
	}
	c.principal = &principal{Type: "WebIdentityUser", Arn: "", UserID: hp + ":" + audOK + ":" + claims.Subject, UserName: claims.Subject}
	c.webIdentity = map[string]any{"federatedProvider": prov.Arn, "attributes": map[string]any{}}
	r := s.roleByArn(sp.roleArn)
	denied := errf(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	if r == nil {
		return "", denied
	}
	if ok, _ := s.trustAllows(r, "Federated", []string{prov.Arn}, keys, actions...); !ok {
		return "", denied
	}
	if sp.duration > r.MaxSession {
		return "", validationErr("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	packed, perr := checkPacked(sp.policy, sp.policyArns, sp.tags)
	if perr != nil {
		return "", perr
	}
	x := s.newSession(r, sp, sp.duration)
	x.WebIdentityProvider = prov.Arn
	x.WebIdentitySubject = claims.Subject
	s.mu.Lock()
	s.sessions[x.AccessKeyID] = x
	s.mu.Unlock()
	c.sessionCreds = x.AccessKeyID
	c.response = map[string]any{
		"credentials":                 map[string]any{"accessKeyId": x.AccessKeyID, "sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS", "expiration": x.Expiration.Format("Jan 2, 2006, 3:04:05 PM")},
		"assumedRoleUser":             map[string]any{"assumedRoleId": x.RoleID + ":" + x.SessionName, "arn": s.sessionArn(x)},
		"subjectFromWebIdentityToken": claims.Subject,
		"provider":                    prov.Arn,
		"audience":                    audOK,
	}
	return s.sessionResultXML(x, packed) + el("SubjectFromWebIdentityToken", claims.Subject) +
		el("Audience", audOK) + el("Provider", hp), nil
}
