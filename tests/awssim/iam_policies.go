package awssim

import (
	"net/url"
	"strings"
)

// policyHolder is a user or a role as IAM's inline and attached policy operations see
// it: the two kinds differ only in their names, budgets and quota names.
type policyHolder struct {
	kind     string // "user" or "role", as IAM's messages say
	name     string
	nameElem string // UserName or RoleName in responses
	inline   map[string]string
	attached *[]string
	budget   int    // aggregate inline policy size
	quota    string // PoliciesPerUser or PoliciesPerRole
}

func userPolicies(u *user) policyHolder {
	return policyHolder{kind: "user", name: u.Name, nameElem: "UserName", inline: u.Inline,
		attached: &u.Attached, budget: userInlineBudget, quota: "PoliciesPerUser"}
}

func rolePolicies(r *role) policyHolder {
	return policyHolder{kind: "role", name: r.Name, nameElem: "RoleName", inline: r.Inline,
		attached: &r.Attached, budget: roleInlineBudget, quota: "PoliciesPerRole"}
}

// inlinePolicyInput reads and checks PolicyName and PolicyDocument of a Put*Policy call.
func inlinePolicyInput(c *call) (name, doc string, err *APIError) {
	name, doc = c.form.Get("PolicyName"), c.form.Get("PolicyDocument")
	if err := checkName("policyName", name, 128); err != nil {
		return "", "", err
	}
	c.params["policyName"], c.params["policyDocument"] = name, doc
	if err := parseDoc(doc); err != nil {
		return "", "", err
	}
	return name, doc, nil
}

// policyNameInput reads PolicyName of a Get/Delete*Policy call.
func policyNameInput(c *call) string {
	name := c.form.Get("PolicyName")
	c.params["policyName"] = name
	return name
}

// policyArnInput reads PolicyArn of an Attach/Detach*Policy call, with the condition key
// IAM evaluates for it.
func policyArnInput(c *call) (string, map[string][]string) {
	arn := c.form.Get("PolicyArn")
	c.params["policyArn"] = arn
	return arn, map[string][]string{"iam:PolicyARN": {arn}}
}

func (s *Sim) putInline(h policyHolder, pname, doc string) (string, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := policySize(doc)
	for n, d := range h.inline {
		if n != pname {
			total += policySize(d)
		}
	}
	if total > h.budget {
		return "", errf(409, "LimitExceeded", "Maximum policy size of %d bytes exceeded for %s %s", h.budget, h.kind, h.name)
	}
	h.inline[pname] = doc
	return noResult, nil
}

func (s *Sim) getInline(h policyHolder, pname string) (string, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := h.inline[pname]
	if !ok {
		return "", errf(404, "NoSuchEntity", "The %s policy with name %s cannot be found.", h.kind, pname)
	}
	return el(h.nameElem, h.name) + el("PolicyName", pname) + el("PolicyDocument", urlEncodePolicy(d)), nil
}

func (s *Sim) deleteInline(h policyHolder, pname string) (string, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := h.inline[pname]; !ok {
		return "", errf(404, "NoSuchEntity", "The %s policy with name %s cannot be found.", h.kind, pname)
	}
	delete(h.inline, pname)
	return noResult, nil
}

func (s *Sim) listInline(h policyHolder, form url.Values) (string, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	page, trunc, marker, e := paginate(form, sortedKeys(h.inline))
	if e != nil {
		return "", e
	}
	return membersXML("PolicyNames", page) + pageXML(trunc, marker), nil
}

func (s *Sim) attach(h policyHolder, arn string) (string, *APIError) {
	if err := s.checkPolicyArn(arn); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range *h.attached {
		if a == arn {
			return noResult, nil
		}
	}
	if len(*h.attached) >= attachedLimit {
		return "", errf(409, "LimitExceeded", "Cannot exceed quota for %s: %d", h.quota, attachedLimit)
	}
	*h.attached = append(*h.attached, arn)
	return noResult, nil
}

func (s *Sim) detach(h policyHolder, arn string) (string, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range *h.attached {
		if a == arn {
			*h.attached = append((*h.attached)[:i], (*h.attached)[i+1:]...)
			return noResult, nil
		}
	}
	return "", errf(404, "NoSuchEntity", "Policy %s was not found.", arn)
}

func (s *Sim) listAttached(h policyHolder, form url.Values) (string, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	page, trunc, marker, e := paginate(form, append([]string{}, *h.attached...))
	if e != nil {
		return "", e
	}
	b := "<AttachedPolicies>"
	for _, a := range page {
		name := a[strings.LastIndex(a, "/")+1:]
		b += "<member>" + el("PolicyName", name) + el("PolicyArn", a) + "</member>"
	}
	return b + "</AttachedPolicies>" + pageXML(trunc, marker), nil
}

// ---- users ----

func (s *Sim) iamPutUserPolicy(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	pname, doc, err := inlinePolicyInput(c)
	if err != nil {
		return "", err
	}
	u, err := s.authUser(c, "iam:PutUserPolicy", name, nil)
	if err != nil {
		return "", err
	}
	return s.putInline(userPolicies(u), pname, doc)
}

func (s *Sim) iamGetUserPolicy(c *call) (string, *APIError) {
	c.readOnly = true
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	pname := policyNameInput(c)
	u, err := s.authUser(c, "iam:GetUserPolicy", name, nil)
	if err != nil {
		return "", err
	}
	return s.getInline(userPolicies(u), pname)
}

func (s *Sim) iamDeleteUserPolicy(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	pname := policyNameInput(c)
	u, err := s.authUser(c, "iam:DeleteUserPolicy", name, nil)
	if err != nil {
		return "", err
	}
	return s.deleteInline(userPolicies(u), pname)
}

func (s *Sim) iamListUserPolicies(c *call) (string, *APIError) {
	c.readOnly = true
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	u, err := s.authUser(c, "iam:ListUserPolicies", name, nil)
	if err != nil {
		return "", err
	}
	return s.listInline(userPolicies(u), c.form)
}

func (s *Sim) iamAttachUserPolicy(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	arn, keys := policyArnInput(c)
	u, err := s.authUser(c, "iam:AttachUserPolicy", name, keys)
	if err != nil {
		return "", err
	}
	return s.attach(userPolicies(u), arn)
}

func (s *Sim) iamDetachUserPolicy(c *call) (string, *APIError) {
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	arn, keys := policyArnInput(c)
	u, err := s.authUser(c, "iam:DetachUserPolicy", name, keys)
	if err != nil {
		return "", err
	}
	return s.detach(userPolicies(u), arn)
}

func (s *Sim) iamListAttachedUserPolicies(c *call) (string, *APIError) {
	c.readOnly = true
	name, err := s.targetUser(c, false)
	if err != nil {
		return "", err
	}
	u, err := s.authUser(c, "iam:ListAttachedUserPolicies", name, nil)
	if err != nil {
		return "", err
	}
	return s.listAttached(userPolicies(u), c.form)
}

// ---- roles ----

func (s *Sim) iamPutRolePolicy(c *call) (string, *APIError) {
	pname, doc, err := inlinePolicyInput(c)
	if err != nil {
		return "", err
	}
	r, err := s.authRole(c, "iam:PutRolePolicy", c.form.Get("RoleName"), nil)
	if err != nil {
		return "", err
	}
	return s.putInline(rolePolicies(r), pname, doc)
}

func (s *Sim) iamGetRolePolicy(c *call) (string, *APIError) {
	c.readOnly = true
	pname := policyNameInput(c)
	r, err := s.authRole(c, "iam:GetRolePolicy", c.form.Get("RoleName"), nil)
	if err != nil {
		return "", err
	}
	return s.getInline(rolePolicies(r), pname)
}

func (s *Sim) iamDeleteRolePolicy(c *call) (string, *APIError) {
	pname := policyNameInput(c)
	r, err := s.authRole(c, "iam:DeleteRolePolicy", c.form.Get("RoleName"), nil)
	if err != nil {
		return "", err
	}
	return s.deleteInline(rolePolicies(r), pname)
}

func (s *Sim) iamListRolePolicies(c *call) (string, *APIError) {
	c.readOnly = true
	r, err := s.authRole(c, "iam:ListRolePolicies", c.form.Get("RoleName"), nil)
	if err != nil {
		return "", err
	}
	return s.listInline(rolePolicies(r), c.form)
}

func (s *Sim) iamAttachRolePolicy(c *call) (string, *APIError) {
	arn, keys := policyArnInput(c)
	r, err := s.authRole(c, "iam:AttachRolePolicy", c.form.Get("RoleName"), keys)
	if err != nil {
		return "", err
	}
	return s.attach(rolePolicies(r), arn)
}

func (s *Sim) iamDetachRolePolicy(c *call) (string, *APIError) {
	arn, keys := policyArnInput(c)
	r, err := s.authRole(c, "iam:DetachRolePolicy", c.form.Get("RoleName"), keys)
	if err != nil {
		return "", err
	}
	return s.detach(rolePolicies(r), arn)
}

func (s *Sim) iamListAttachedRolePolicies(c *call) (string, *APIError) {
	c.readOnly = true
	r, err := s.authRole(c, "iam:ListAttachedRolePolicies", c.form.Get("RoleName"), nil)
	if err != nil {
		return "", err
	}
	return s.listAttached(rolePolicies(r), c.form)
}
