package awssim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

const (
	roleInlineBudget   = 10240
	userInlineBudget   = 2048
	managedPolicyLimit = 6144
	attachedLimit      = 10
	keysPerUser        = 2
)

var (
	iamNameRe   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	iamPathRe   = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	policyArnRe = regexp.MustCompile(`^arn:aws:iam::(aws|\d{12}):policy(/[\x21-\x7E]*)?/[\w+=,.@-]+$`)
)

func (s *Sim) iamOps() map[string]queryHandler {
	return map[string]queryHandler{
		"CreateUser":                    s.iamCreateUser,
		"GetUser":                       s.iamGetUser,
		"ListUsers":                     s.iamListUsers,
		"DeleteUser":                    s.iamDeleteUser,
		"TagUser":                       s.iamTagUser,
		"UntagUser":                     s.iamUntagUser,
		"PutUserPolicy":                 s.iamPutUserPolicy,
		"GetUserPolicy":                 s.iamGetUserPolicy,
		"DeleteUserPolicy":              s.iamDeleteUserPolicy,
		"ListUserPolicies":              s.iamListUserPolicies,
		"AttachUserPolicy":              s.iamAttachUserPolicy,
		"DetachUserPolicy":              s.iamDetachUserPolicy,
		"ListAttachedUserPolicies":      s.iamListAttachedUserPolicies,
		"PutUserPermissionsBoundary":    s.iamPutUserPermissionsBoundary,
		"DeleteUserPermissionsBoundary": s.iamDeleteUserPermissionsBoundary,
		"CreateAccessKey":               s.iamCreateAccessKey,
		"DeleteAccessKey":               s.iamDeleteAccessKey,
		"UpdateAccessKey":               s.iamUpdateAccessKey,
		"ListAccessKeys":                s.iamListAccessKeys,
		"GetAccessKeyLastUsed":          s.iamGetAccessKeyLastUsed,
		"CreateRole":                    s.iamCreateRole,
		"GetRole":                       s.iamGetRole,
		"DeleteRole":                    s.iamDeleteRole,
		"PutRolePolicy":                 s.iamPutRolePolicy,
		"GetRolePolicy":                 s.iamGetRolePolicy,
		"DeleteRolePolicy":              s.iamDeleteRolePolicy,
		"ListRolePolicies":              s.iamListRolePolicies,
		"AttachRolePolicy":              s.iamAttachRolePolicy,
		"DetachRolePolicy":              s.iamDetachRolePolicy,
		"ListAttachedRolePolicies":      s.iamListAttachedRolePolicies,
		"CreatePolicy":                  s.iamCreatePolicy,
		"GetPolicy":                     s.iamGetPolicy,
		"GetPolicyVersion":              s.iamGetPolicyVersion,
		"DeletePolicy":                  s.iamDeletePolicy,
	}
}

func noSuchUser(name string) *APIError {
	return errf(404, "NoSuchEntity", "The user with name %s cannot be found.", name)
}

func noSuchRole(name string) *APIError {
	return errf(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

func checkName(field, v string, max int) *APIError {
	if v == "" {
		return validationErr("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	}
	if len(v) > max {
		return validationErr("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", v, field, max)
	}
	if !iamNameRe.MatchString(v) {
		return validationErr("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", v, field)
	}
	return nil
}

func checkPath(v string) *APIError {
	if len(v) > 512 || !iamPathRe.MatchString(v) {
		return validationErr("1 validation error detected: Value '%s' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)", v)
	}
	return nil
}

func checkTags(tags []Tag) *APIError {
	if len(tags) > 50 {
		return errf(409, "LimitExceeded", "Cannot exceed quota for TagsPerUser: 50")
	}
	for _, t := range tags {
		if len(t.Key) == 0 || len([]rune(t.Key)) > 128 || !tagKeyRe.MatchString(t.Key) || len([]rune(t.Value)) > 256 || !tagValueRe.MatchString(t.Value) {
			return validationErr("1 validation error detected: Value at 'tags' failed to satisfy constraint: tag key/value length or characters")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return errf(400, "InvalidInput", "User and role tag keys cannot start with aws:")
		}
	}
	return nil
}

// parseDoc validates an identity-based policy document as IAM does.
func parseDoc(doc string) *APIError {
	if doc == "" {
		return validationErr("1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null")
	}
	p, err := ParsePolicy(doc)
	if err != nil {
		return errf(400, "MalformedPolicyDocument", "%v", err)
	}
	for _, st := range p.Statements {
		if st.Principal != nil || st.NotPrincipal != nil {
			return errf(400, "MalformedPolicyDocument", "Policy document should not specify a principal.")
		}
		if st.Resource == nil && st.NotResource == nil {
			return errf(400, "MalformedPolicyDocument", "Policy statement must contain resources.")
		}
	}
	return nil
}

// parseTrust validates a role trust policy: principals required, no resources, and IAM
// user/role principals of this account must exist.
func (s *Sim) parseTrust(doc string) *APIError {
	if doc == "" {
		return validationErr("1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
	}
	p, err := ParsePolicy(doc)
	if err != nil {
		return errf(400, "MalformedPolicyDocument", "%v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range p.Statements {
		if st.Resource != nil || st.NotResource != nil {
			return errf(400, "MalformedPolicyDocument", "Has prohibited field Resource")
		}
		if st.Principal == nil && st.NotPrincipal == nil {
			return errf(400, "MalformedPolicyDocument", "AssumeRolepolicy contained an invalid principal: missing Principal")
		}
		for _, v := range st.Principal["AWS"] {
			prefix := "arn:aws:iam::" + s.opts.AccountID + ":"
			if !strings.HasPrefix(v, prefix) {
				continue
			}
			rest := strings.TrimPrefix(v, prefix)
			name := rest[strings.LastIndex(rest, "/")+1:]
			exists := true
			switch {
			case strings.HasPrefix(rest, "user/"):
				u, ok := s.users[name]
				exists = ok && u.Arn == v
			case strings.HasPrefix(rest, "role/"):
				r, ok := s.roles[name]
				exists = ok && r.Arn == v
			}
			if !exists {
				return errf(400, "MalformedPolicyDocument", "Invalid principal in policy: \"AWS\":\"%s\"", v)
			}
		}
	}
	return nil
}

func (s *Sim) userXML(u *user) string {
	b := "<User>" + el("Path", u.Path) + el("UserName", u.Name) + el("UserId", u.ID) + el("Arn", u.Arn) + el("CreateDate", isoTime(u.Created))
	if u.Boundary != "" {
		b += "<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType>" + el("PermissionsBoundaryArn", u.Boundary) + "</PermissionsBoundary>"
	}
	return b + tagsXML(u.Tags) + "</User>"
}

func (s *Sim) roleXML(r *role) string {
	b := "<Role>" + el("Path", r.Path) + el("RoleName", r.Name) + el("RoleId", r.ID) + el("Arn", r.Arn) + el("CreateDate", isoTime(r.Created)) +
		el("AssumeRolePolicyDocument", urlEncodePolicy(r.Trust)) + elOpt("Description", r.Description) + el("MaxSessionDuration", strconv.Itoa(r.MaxSession))
	if r.Boundary != "" {
		b += "<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy</PermissionsBoundaryType>" + el("PermissionsBoundaryArn", r.Boundary) + "</PermissionsBoundary>"
	}
	b += tagsXML(r.Tags)
	if !r.LastUsed.IsZero() {
		b += "<RoleLastUsed>" + el("LastUsedDate", isoTime(r.LastUsed)) + el("Region", s.opts.Region) + "</RoleLastUsed>"
	} else {
		b += "<RoleLastUsed/>"
	}
	return b + "</Role>"
}

func (s *Sim) policyXML(p *managedPolicy, attachments, boundaryUses int) string {
	return "<Policy>" + el("PolicyName", p.Name) + el("PolicyId", p.ID) + el("Arn", p.Arn) + el("Path", p.Path) +
		el("DefaultVersionId", "v1") + el("AttachmentCount", strconv.Itoa(attachments)) + el("PermissionsBoundaryUsageCount", strconv.Itoa(boundaryUses)) +
		"<IsAttachable>true</IsAttachable>" + elOpt("Description", p.Description) + el("CreateDate", isoTime(p.Created)) + el("UpdateDate", isoTime(p.Created)) + "</Policy>"
}

// targetUser resolves the UserName parameter (or the caller when omitted and allowed).
func (s *Sim) targetUser(c *call, allowSelf bool) (string, *APIError) {
	name := c.form.Get("UserName")
	if name == "" && allowSelf {
		if c.principal.user == nil {
			return "", validationErr("Must specify userName when calling with non-User credentials")
		}
		return c.principal.user.Name, nil
	}
	if err := checkName("userName", name, 64); err != nil {
		return "", err
	}
	return name, nil
}

// authUser authorizes an action on an existing user and returns it.
func (s *Sim) authUser(c *call, action, name string, extra map[string][]string) (*user, *APIError) {
	s.mu.Lock()
	u, ok := s.users[name]
	target := iamTarget{param: "userName", eventType: "AWS::IAM::User", arn: s.userArn("/", name), keys: map[string][]string{}}
	if ok {
		target.arn, target.keys = u.Arn, resourceKeys(u.Boundary, u.Tags)
	}
	s.mu.Unlock()
	if err := s.authIAMTarget(c, action, name, target, extra); err != nil {
		return nil, err
	}
	if !ok {
		return nil, noSuchUser(name)
	}
	return u, nil
}

func (s *Sim) authRole(c *call, action, name string, extra map[string][]string) (*role, *APIError) {
	if err := checkName("roleName", name, 64); err != nil {
		return nil, err
	}
	s.mu.Lock()
	r, ok := s.roles[name]
	target := iamTarget{param: "roleName", eventType: "AWS::IAM::Role", arn: s.roleArn("/", name), keys: map[string][]string{}}
	if ok {
		target.arn, target.keys = r.Arn, resourceKeys(r.Boundary, r.Tags)
	}
	s.mu.Unlock()
	if err := s.authIAMTarget(c, action, name, target, extra); err != nil {
		return nil, err
	}
	if !ok {
		return nil, noSuchRole(name)
	}
	return r, nil
}

// iamTarget is the user or role an IAM call acts on, as policy evaluation and CloudTrail
// see it. keys is a fresh map, filled under the simulator's lock since tags change under it.
type iamTarget struct {
	param, eventType, arn string
	keys                  map[string][]string
}

// resourceKeys are the condition keys an existing user or role contributes.
func resourceKeys(boundary string, tags []Tag) map[string][]string {
	keys := map[string][]string{}
	if boundary != "" {
		keys["iam:PermissionsBoundary"] = []string{boundary}
	}
	for _, t := range tags {
		keys["aws:ResourceTag/"+t.Key] = []string{t.Value}
	}
	return keys
}

// authIAMTarget records the target on the call and authorizes action on it with the
// target's condition keys plus the request's own.
func (s *Sim) authIAMTarget(c *call, action, name string, t iamTarget, extra map[string][]string) *APIError {
	for k, v := range extra {
		t.keys[k] = v
	}
	c.params[t.param] = name
	c.resources = append(c.resources, EventResource{ARN: t.arn, AccountID: s.opts.AccountID, Type: t.eventType, name: name})
	return s.authorize(c, action, t.arn, t.keys)
}

func requestTagKeys(tags []Tag) map[string][]string {
	keys := map[string][]string{}
	var tk []string
	for _, t := range tags {
		keys["aws:RequestTag/"+t.Key] = []string{t.Value}
		tk = append(tk, t.Key)
	}
	if len(tk) > 0 {
		keys["aws:TagKeys"] = tk
	}
	return keys
}

// ---- users ----

func (s *Sim) iamCreateUser(c *call) (string, *APIError) {
	f := c.form
	name := f.Get("UserName")
	if err := checkName("userName", name, 64); err != nil {
		return "", err
	}
	path := f.Get("Path")
	if path == "" {
		path = "/"
	}
	if err := checkPath(path); err != nil {
		return "", err
	}
	tags := queryTags(f)
	if err := checkTags(tags); err != nil {
		return "", err
	}
	boundary := f.Get("PermissionsBoundary")
	keys := requestTagKeys(tags)
	if boundary != "" {
		keys["iam:PermissionsBoundary"] = []string{boundary}
		c.params["permissionsBoundary"] = boundary
	}
	c.params["userName"], c.params["path"] = name, path
	if len(tags) > 0 {
		c.params["tags"] = tagsParam(tags)
	}
	arn := s.userArn(path, name)
	c.resources = append(c.resources, EventResource{ARN: arn, AccountID: s.opts.AccountID, Type: "AWS::IAM::User", name: name})
	if err := s.authorize(c, "iam:CreateUser", arn, keys); err != nil {
		return "", err
	}
	if len(tags) > 0 {
		if err := s.authorize(c, "iam:TagUser", arn, keys); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if boundary != "" {
		if !policyArnRe.MatchString(boundary) {
			return "", errf(400, "InvalidInput", "ARN %s is not valid.", boundary)
		}
		if _, ok := s.policies[boundary]; !ok {
			return "", errf(404, "NoSuchEntity", "Scope ARN: %s does not exist or is not attachable.", boundary)
		}
	}
	for n := range s.users {
		if strings.EqualFold(n, name) {
			return "", errf(409, "EntityAlreadyExists", "User with name %s already exists.", name)
		}
	}
	u := &user{Name: name, Path: path, ID: randID("AIDA", 17), Arn: arn, Created: c.time, Tags: tags, Inline: map[string]string{}, Boundary: boundary}
	s.users[name] = u
	c.response = map[string]any{"user": map[string]any{"path": path, "userName": name, "userId": u.ID, "arn": arn, "createDate": c.time.Format("Jan 2, 2006, 3:04:05 PM")}}
	return s.userXML(u), nil
}

func tagsParam(tags []Tag) []map[string]string {
	var out []map[string]string
	for _, t := range tags {
		out = append(out, map[string]string{"key": t.Key, "value": t.Value})
	}
	return out
}

func (s *Sim) iamGetUser(c *call) (string, *APIError) {
	c.readOnly = true
	name, err := s.targetUser(c, true)
	if err != nil {
		return "", err
	}
	u, err := s.authUser(c, "iam:GetUser", name, nil)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userXML(u), nil
}

func (s *Sim) iamListUsers(c *call) (string, *APIError) {
	c.readOnly = true
	prefix := c.form.Get("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	c.params["pathPrefix"] = prefix
	if err := s.authorize(c, "iam:ListUsers", fmt.Sprintf("arn:aws:iam::%s:user%s*", s.opts.AccountID, prefix), nil); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n, u := range s.users {
		if strings.HasPrefix(u.Path, prefix) {
			names = append(names, n)
		}
	}
	page, trunc, marker, e := paginate(c.form, names)
	if e != nil {
		return "", e
	}
	b := "<Users>"
	for _, n := range page {
		u := s.users[n]
		b += "<member>" + strings.TrimSuffix(strings.TrimPrefix(s.userXML(u), "<User>"), "</User>") + "</member>"
	}
	return b + "</Users>" + pageXML(trunc, marker), nil
}

func (s *Sim) iamDeleteUser(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	if _, err := s.authUser(c, "iam:DeleteUser", name, nil); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return "", noSuchUser(name)
	}
	for _, k := range s.keys {
		if k.User == name {
			return "", errf(409, "DeleteConflict", "Cannot delete entity, must delete access keys first.")
		}
	}
	if len(u.Inline) > 0 {
		return "", errf(409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	if len(u.Attached) > 0 {
		return "", errf(409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	delete(s.users, name)
	return noResult, nil
}

func (s *Sim) iamTagUser(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	tags := queryTags(c.form)
	if err := checkTags(tags); err != nil {
		return "", err
	}
	c.params["tags"] = tagsParam(tags)
	u, err := s.authUser(c, "iam:TagUser", name, requestTagKeys(tags))
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	merged := append([]Tag{}, u.Tags...)
	for _, t := range tags {
		replaced := false
		for i := range merged {
			if merged[i].Key == t.Key {
				merged[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			merged = append(merged, t)
		}
	}
	if len(merged) > 50 {
		return "", errf(409, "LimitExceeded", "Cannot exceed quota for TagsPerUser: 50")
	}
	u.Tags = merged
	return noResult, nil
}

func (s *Sim) iamUntagUser(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	keys := queryList(c.form, "TagKeys")
	u, err := s.authUser(c, "iam:UntagUser", name, map[string][]string{"aws:TagKeys": keys})
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var kept []Tag
	for _, t := range u.Tags {
		drop := false
		for _, k := range keys {
			if k == t.Key {
				drop = true
			}
		}
		if !drop {
			kept = append(kept, t)
		}
	}
	u.Tags = kept
	return noResult, nil
}

func (s *Sim) checkPolicyArn(arn string) *APIError {
	if !policyArnRe.MatchString(arn) {
		return errf(400, "InvalidInput", "ARN %s is not valid.", arn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.policies[arn]; !ok {
		return errf(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	return nil
}

func (s *Sim) iamPutUserPermissionsBoundary(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	arn := c.form.Get("PermissionsBoundary")
	c.params["permissionsBoundary"] = arn
	if _, err := s.authUser(c, "iam:PutUserPermissionsBoundary", name, map[string][]string{"iam:PermissionsBoundary": {arn}}); err != nil {
		return "", err
	}
	if err := s.checkPolicyArn(arn); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[name]; ok {
		u.Boundary = arn
	}
	return noResult, nil
}

func (s *Sim) iamDeleteUserPermissionsBoundary(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	u, err := s.authUser(c, "iam:DeleteUserPermissionsBoundary", name, nil)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Boundary == "" {
		return "", errf(404, "NoSuchEntity", "The user %s has no permissions boundary.", name)
	}
	u.Boundary = ""
	return noResult, nil
}

// ---- access keys ----

func (s *Sim) iamCreateAccessKey(c *call) (string, *APIError) {
	name, err := s.targetUser(c, true)
	if err != nil {
		return "", err
	}
	if _, err := s.authUser(c, "iam:CreateAccessKey", name, nil); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; !ok {
		return "", noSuchUser(name)
	}
	n := 0
	for _, k := range s.keys {
		if k.User == name {
			n++
		}
	}
	if n >= keysPerUser {
		return "", errf(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: %d", keysPerUser)
	}
	k := &accessKey{ID: randID("AKIA", 16), Secret: randSecret(40), User: name, Created: c.time, Status: "Active"}
	s.keys[k.ID] = k
	c.response = map[string]any{"accessKey": map[string]any{"userName": name, "accessKeyId": k.ID, "status": "Active", "createDate": c.time.Format("Jan 2, 2006, 3:04:05 PM")}}
	c.resources = append(c.resources, EventResource{ARN: k.ID, AccountID: s.opts.AccountID, Type: "AWS::IAM::AccessKey", name: k.ID})
	return "<AccessKey>" + el("UserName", name) + el("AccessKeyId", k.ID) + el("Status", "Active") + el("SecretAccessKey", k.Secret) + el("CreateDate", isoTime(k.Created)) + "</AccessKey>", nil
}

func (s *Sim) keyOf(c *call, name string) (*accessKey, *APIError) {
	id := c.form.Get("AccessKeyId")
	c.params["accessKeyId"] = id
	if len(id) < 16 || len(id) > 128 {
		return nil, validationErr("1 validation error detected: Value '%s' at 'accessKeyId' failed to satisfy constraint: Member must have length greater than or equal to 16", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok || k.User != name {
		return nil, errf(404, "NoSuchEntity", "The Access Key with id %s cannot be found.", id)
	}
	return k, nil
}

func (s *Sim) iamDeleteAccessKey(c *call) (string, *APIError) {
	name, err := s.targetUser(c, true)
	if err != nil {
		return "", err
	}
	if _, err := s.authUser(c, "iam:DeleteAccessKey", name, nil); err != nil {
		return "", err
	}
	k, err := s.keyOf(c, name)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	delete(s.keys, k.ID)
	s.mu.Unlock()
	c.resources = append(c.resources, EventResource{ARN: k.ID, AccountID: s.opts.AccountID, Type: "AWS::IAM::AccessKey", name: k.ID})
	return noResult, nil
}

func (s *Sim) iamUpdateAccessKey(c *call) (string, *APIError) {
	name, err := s.targetUser(c, true)
	if err != nil {
		return "", err
	}
	status := c.form.Get("Status")
	c.params["status"] = status
	if status != "Active" && status != "Inactive" {
		return "", validationErr("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]", status)
	}
	if _, err := s.authUser(c, "iam:UpdateAccessKey", name, nil); err != nil {
		return "", err
	}
	k, err := s.keyOf(c, name)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	k.Status = status
	s.mu.Unlock()
	return noResult, nil
}

func (s *Sim) iamListAccessKeys(c *call) (string, *APIError) {
	c.readOnly = true
	name, err := s.targetUser(c, true)
	if err != nil {
		return "", err
	}
	if _, err := s.authUser(c, "iam:ListAccessKeys", name, nil); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := "<AccessKeyMetadata>"
	for _, id := range sortedKeys(s.keys) {
		k := s.keys[id]
		if k.User == name {
			b += "<member>" + el("UserName", name) + el("AccessKeyId", k.ID) + el("Status", k.Status) + el("CreateDate", isoTime(k.Created)) + "</member>"
		}
	}
	return b + "</AccessKeyMetadata><IsTruncated>false</IsTruncated>", nil
}

func (s *Sim) iamGetAccessKeyLastUsed(c *call) (string, *APIError) {
	c.readOnly = true
	id := c.form.Get("AccessKeyId")
	c.params["accessKeyId"] = id
	s.mu.Lock()
	k, ok := s.keys[id]
	var owner string
	if ok {
		owner = k.User
	}
	s.mu.Unlock()
	if !ok {
		// AWS answers AccessDenied for keys it cannot attribute to the caller's account.
		return "", s.accessDenied(c, "iam:GetAccessKeyLastUsed", "arn:aws:iam::"+s.opts.AccountID+":user/*", "because no identity-based policy allows the iam:GetAccessKeyLastUsed action")
	}
	if _, err := s.authUser(c, "iam:GetAccessKeyLastUsed", owner, nil); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := el("UserName", owner) + "<AccessKeyLastUsed>"
	if k.LastUsed.IsZero() {
		b += el("ServiceName", "N/A") + el("Region", "N/A")
	} else {
		b += el("LastUsedDate", isoTime(k.LastUsed.Truncate(60e9))) + el("ServiceName", k.LastService) + el("Region", k.LastRegion)
	}
	return b + "</AccessKeyLastUsed>", nil
}

// ---- roles ----

func (s *Sim) iamCreateRole(c *call) (string, *APIError) {
	f := c.form
	name := f.Get("RoleName")
	if err := checkName("roleName", name, 64); err != nil {
		return "", err
	}
	path := f.Get("Path")
	if path == "" {
		path = "/"
	}
	if err := checkPath(path); err != nil {
		return "", err
	}
	trust := f.Get("AssumeRolePolicyDocument")
	c.params["roleName"], c.params["path"], c.params["assumeRolePolicyDocument"] = name, path, trust
	if err := s.parseTrust(trust); err != nil {
		return "", err
	}
	maxDur := 3600
	if v := f.Get("MaxSessionDuration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3600 || n > 43200 {
			return "", validationErr("1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", v)
		}
		maxDur = n
	}
	tags := queryTags(f)
	if err := checkTags(tags); err != nil {
		return "", err
	}
	boundary := f.Get("PermissionsBoundary")
	keys := requestTagKeys(tags)
	if boundary != "" {
		keys["iam:PermissionsBoundary"] = []string{boundary}
	}
	arn := s.roleArn(path, name)
	c.resources = append(c.resources, EventResource{ARN: arn, AccountID: s.opts.AccountID, Type: "AWS::IAM::Role", name: name})
	if err := s.authorize(c, "iam:CreateRole", arn, keys); err != nil {
		return "", err
	}
	if boundary != "" {
		if err := s.checkPolicyArn(boundary); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.roles {
		if strings.EqualFold(n, name) {
			return "", errf(409, "EntityAlreadyExists", "Role with name %s already exists.", name)
		}
	}
	r := &role{Name: name, Path: path, ID: randID("AROA", 17), Arn: arn, Trust: trust, Description: f.Get("Description"), MaxSession: maxDur, Inline: map[string]string{}, Boundary: boundary, Tags: tags, Created: c.time}
	s.roles[name] = r
	return s.roleXML(r), nil
}

func (s *Sim) iamGetRole(c *call) (string, *APIError) {
	c.readOnly = true
	r, err := s.authRole(c, "iam:GetRole", c.form.Get("RoleName"), nil)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roleXML(r), nil
}

func (s *Sim) iamDeleteRole(c *call) (string, *APIError) {
	name := c.form.Get("RoleName")
	r, err := s.authRole(c, "iam:DeleteRole", name, nil)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(r.Inline) > 0 {
		return "", errf(409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	if len(r.Attached) > 0 {
		return "", errf(409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	delete(s.roles, name)
	return noResult, nil
}

// ---- managed policies ----

func (s *Sim) policyUsage(arn string) (attach, boundary int) {
	for _, u := range s.users {
		for _, a := range u.Attached {
			if a == arn {
				attach++
			}
		}
		if u.Boundary == arn {
			boundary++
		}
	}
	for _, r := range s.roles {
		for _, a := range r.Attached {
			if a == arn {
				attach++
			}
		}
		if r.Boundary == arn {
			boundary++
		}
	}
	return
}

func (s *Sim) iamCreatePolicy(c *call) (string, *APIError) {
	f := c.form
	name, doc := f.Get("PolicyName"), f.Get("PolicyDocument")
	if err := checkName("policyName", name, 128); err != nil {
		return "", err
	}
	path := f.Get("Path")
	if path == "" {
		path = "/"
	}
	if err := checkPath(path); err != nil {
		return "", err
	}
	c.params["policyName"], c.params["path"], c.params["policyDocument"] = name, path, doc
	if err := parseDoc(doc); err != nil {
		return "", err
	}
	if policySize(doc) > managedPolicyLimit {
		return "", errf(409, "LimitExceeded", "Cannot exceed quota for PolicySize: %d", managedPolicyLimit)
	}
	arn := s.policyArn(path, name)
	c.resources = append(c.resources, EventResource{ARN: arn, AccountID: s.opts.AccountID, Type: "AWS::IAM::Policy", name: arn})
	if err := s.authorize(c, "iam:CreatePolicy", arn, requestTagKeys(queryTags(f))); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.policies {
		if !p.AWSManaged && strings.EqualFold(p.Name, name) {
			return "", errf(409, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	p := &managedPolicy{Arn: arn, Name: name, Path: path, ID: randID("ANPA", 17), Description: f.Get("Description"), Document: doc, Created: c.time}
	s.policies[arn] = p
	return s.policyXML(p, 0, 0), nil
}

func (s *Sim) authPolicy(c *call, action string) (*managedPolicy, *APIError) {
	arn := c.form.Get("PolicyArn")
	c.params["policyArn"] = arn
	if !policyArnRe.MatchString(arn) {
		return nil, errf(400, "InvalidInput", "ARN %s is not valid.", arn)
	}
	c.resources = append(c.resources, EventResource{ARN: arn, AccountID: s.opts.AccountID, Type: "AWS::IAM::Policy", name: arn})
	if err := s.authorize(c, action, arn, nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.policies[arn]
	if !ok {
		return nil, errf(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	return p, nil
}

func (s *Sim) iamGetPolicy(c *call) (string, *APIError) {
	c.readOnly = true
	p, err := s.authPolicy(c, "iam:GetPolicy")
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, b := s.policyUsage(p.Arn)
	return s.policyXML(p, a, b), nil
}

func (s *Sim) iamGetPolicyVersion(c *call) (string, *APIError) {
	c.readOnly = true
	v := c.form.Get("VersionId")
	c.params["versionId"] = v
	p, err := s.authPolicy(c, "iam:GetPolicyVersion")
	if err != nil {
		return "", err
	}
	if v != "v1" {
		return "", errf(404, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", p.Arn, v)
	}
	return "<PolicyVersion>" + el("Document", urlEncodePolicy(p.Document)) + el("VersionId", "v1") + "<IsDefaultVersion>true</IsDefaultVersion>" + el("CreateDate", isoTime(p.Created)) + "</PolicyVersion>", nil
}

func (s *Sim) iamDeletePolicy(c *call) (string, *APIError) {
	p, err := s.authPolicy(c, "iam:DeletePolicy")
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.AWSManaged {
		return "", errf(400, "InvalidInput", "ARN %s is not valid.", p.Arn)
	}
	if a, b := s.policyUsage(p.Arn); a+b > 0 {
		return "", errf(409, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	delete(s.policies, p.Arn)
	return noResult, nil
}
