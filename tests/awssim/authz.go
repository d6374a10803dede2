package awssim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

type writeFn = func(w http.ResponseWriter)

// run applies faults, authenticates (unless unsigned) and runs the operation handler.
func (s *Sim) run(c *call, unsigned bool, h func() (writeFn, *APIError)) (writeFn, *APIError) {
	f := s.TakeFault(c.service, c.op)
	if f != nil && !f.AfterEffect {
		return nil, faultAPIError(f, c.service)
	}
	if !unsigned {
		p, region, err := s.authenticate(c)
		if err != nil {
			return nil, err
		}
		c.principal = p
		c.region = region
	}
	w, err := h()
	if f != nil && err == nil {
		return nil, faultAPIError(f, c.service)
	}
	return w, err
}

// parsed returns a cached parse of a policy document (nil when invalid).
func (s *Sim) parsed(doc string) *Policy {
	if doc == "" {
		return nil
	}
	if s.policyCache == nil {
		s.policyCache = map[string]*Policy{}
	}
	if p, ok := s.policyCache[doc]; ok {
		return p
	}
	p, err := ParsePolicy(doc)
	if err != nil {
		p = nil
	}
	if len(s.policyCache) > 4096 {
		s.policyCache = map[string]*Policy{}
	}
	s.policyCache[doc] = p
	return p
}

// authzInput gathers the policies that apply to a principal. Caller holds s.mu.
func (s *Sim) authzInputLocked(p *principal) (AuthzInput, bool) {
	var in AuthzInput
	add := func(list *[]*Policy, doc string) {
		if pp := s.parsed(doc); pp != nil {
			*list = append(*list, pp)
		}
	}
	managed := func(arn string) string {
		if mp, ok := s.policies[arn]; ok {
			return mp.Document
		}
		return ""
	}
	switch {
	case p.user != nil:
		u, ok := s.users[p.user.Name]
		if !ok || u != p.user {
			return in, false
		}
		for _, n := range sortedKeys(u.Inline) {
			add(&in.Identity, u.Inline[n])
		}
		for _, a := range u.Attached {
			add(&in.Identity, managed(a))
		}
		if u.Boundary != "" {
			in.Boundary = s.parsed(managed(u.Boundary))
			if in.Boundary == nil {
				in.Boundary = &Policy{}
			}
		}
	case p.sess != nil:
		r, ok := s.roles[p.sess.RoleName]
		if !ok || r.ID != p.sess.RoleID {
			return in, false
		}
		for _, n := range sortedKeys(r.Inline) {
			add(&in.Identity, r.Inline[n])
		}
		for _, a := range r.Attached {
			add(&in.Identity, managed(a))
		}
		if r.Boundary != "" {
			in.Boundary = s.parsed(managed(r.Boundary))
			if in.Boundary == nil {
				in.Boundary = &Policy{}
			}
		}
		if p.sess.InlinePolicy != "" || len(p.sess.PolicyArns) > 0 {
			in.HasSession = true
			add(&in.Session, p.sess.InlinePolicy)
			for _, a := range p.sess.PolicyArns {
				add(&in.Session, managed(a))
			}
		}
	}
	return in, true
}

// contextKeys builds the global condition keys for a request.
func (s *Sim) contextKeys(c *call) map[string][]string {
	now := c.time
	k := map[string][]string{
		"aws:CurrentTime":     {now.Format(time.RFC3339)},
		"aws:EpochTime":       {fmt.Sprint(now.Unix())},
		"aws:SecureTransport": {fmt.Sprint(c.secure)},
		"aws:SourceIp":        {c.sourceIP},
		"aws:PrincipalAccount": {
			s.opts.AccountID,
		},
	}
	if c.region != "" {
		k["aws:RequestedRegion"] = []string{c.region}
	}
	if c.userAgent != "" {
		k["aws:UserAgent"] = []string{c.userAgent}
	}
	p := c.principal
	if p == nil {
		return k
	}
	k["aws:userid"] = []string{p.UserID}
	var tags []Tag
	if p.user != nil {
		k["aws:username"] = []string{p.user.Name}
		k["aws:PrincipalArn"] = []string{p.Arn}
		k["aws:PrincipalType"] = []string{"User"}
		s.mu.Lock()
		tags = append([]Tag(nil), p.user.Tags...)
		s.mu.Unlock()
	}
	if x := p.sess; x != nil {
		k["aws:PrincipalArn"] = []string{x.RoleArn}
		k["aws:PrincipalType"] = []string{"AssumedRole"}
		k["aws:TokenIssueTime"] = []string{x.Issued.Format(time.RFC3339)}
		k["aws:MultiFactorAuthPresent"] = []string{"false"}
		if x.SourceIdentity != "" {
			k["aws:SourceIdentity"] = []string{x.SourceIdentity}
		}
		if x.WebIdentityProvider != "" {
			k["aws:FederatedProvider"] = []string{x.WebIdentityProvider}
		}
		// a role session's principal tags are the role's tags overridden by session tags
		s.mu.Lock()
		if r, ok := s.roles[x.RoleName]; ok && r.ID == x.RoleID {
			tags = append(tags, r.Tags...)
		}
		s.mu.Unlock()
		tags = append(tags, x.Tags...)
	}
	var tagKeys []string
	for _, t := range tags {
		if _, dup := k["aws:PrincipalTag/"+t.Key]; !dup {
			tagKeys = append(tagKeys, t.Key)
		}
		k["aws:PrincipalTag/"+t.Key] = []string{t.Value}
	}
	if len(tagKeys) > 0 {
		k["aws:PrincipalTagKeys"] = tagKeys
	}
	return k
}

// authorize decides whether the caller may perform action on resource; extra adds
// service-specific condition keys. denyOnly are resource policies whose Deny applies.
func (s *Sim) authorize(c *call, action, resource string, extra map[string][]string, denyOnly ...string) *APIError {
	keys := s.contextKeys(c)
	for k, v := range extra {
		keys[k] = v
	}
	rc := &RequestContext{Action: action, Resource: resource, Keys: keys, PrincipalType: "AWS"}
	if p := c.principal; p != nil {
		rc.PrincipalValues = []string{p.Arn, s.opts.AccountID, "arn:aws:iam::" + s.opts.AccountID + ":root"}
		if p.sess != nil {
			rc.PrincipalValues = append(rc.PrincipalValues, p.sess.RoleArn)
		}
	}
	s.mu.Lock()
	in, ok := s.authzInputLocked(c.principal)
	for _, d := range denyOnly {
		if pp := s.parsed(d); pp != nil {
			in.DenyOnly = append(in.DenyOnly, pp)
		}
	}
	s.mu.Unlock()
	res := AuthzResult{Reason: "because no identity-based policy allows the " + action + " action"}
	if ok {
		res = Authorize(in, rc)
	}
	if res.Allowed {
		return nil
	}
	return s.accessDenied(c, action, resource, res.Reason)
}

func (s *Sim) accessDenied(c *call, action, resource, reason string) *APIError {
	who := "anonymous"
	if c.principal != nil {
		who = c.principal.Arn
	}
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", who, action, resource, reason)
	switch c.service {
	case "s3":
		return errf(403, "AccessDenied", "Access Denied")
	case "lambda":
		return errf(403, "AccessDeniedException", "%s", msg)
	case "cloudtrail":
		return errf(400, "AccessDeniedException", "%s", msg)
	}
	return errf(403, "AccessDenied", "%s", msg)
}

func (s *Sim) sessionArn(x *session) string {
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", s.opts.AccountID, x.RoleName, x.SessionName)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
