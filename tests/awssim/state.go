package awssim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

type user struct {
	Name, Path, ID, Arn string
	Created             time.Time
	Tags                []Tag
	Inline              map[string]string
	Attached            []string
	Boundary            string
}

type accessKey struct {
	ID, Secret, User string
	Created          time.Time
	Status           string
	LastUsed         time.Time
	LastService      string
	LastRegion       string
}

type role struct {
	Name, Path, ID, Arn string
	Trust               string
	Description         string
	MaxSession          int
	Inline              map[string]string
	Attached            []string
	Boundary            string
	Tags                []Tag
	Created             time.Time
	LastUsed            time.Time
}

type managedPolicy struct {
	Arn, Name, Path, ID string
	Description         string
	Document            string
	Created             time.Time
	AWSManaged          bool
}

type session struct {
	AccessKeyID, Secret, Token string
	RoleName                   string
	RoleArn, RoleID            string
	SessionName                string
	Issued, Expiration         time.Time
	Tags                       []Tag
	TransitiveKeys             []string
	InlinePolicy               string
	PolicyArns                 []string
	SourceIdentity             string
	// web identity
	WebIdentityProvider string
	WebIdentitySubject  string
	SourceKey           string // access key id of the credentials that called AssumeRole
}

type oidcProvider struct {
	OIDCProvider
	Arn string
}

// principal is the authenticated caller of a request.
type principal struct {
	Type        string // IAMUser, AssumedRole
	Arn         string
	UserID      string // principal id: AIDA… or AROA…:session
	UserName    string
	AccessKeyID string
	user        *user
	sess        *session
}

func (s *Sim) userArn(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:user%s%s", s.opts.AccountID, path, name)
}

func (s *Sim) roleArn(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role%s%s", s.opts.AccountID, path, name)
}

func (s *Sim) policyArn(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:policy%s%s", s.opts.AccountID, path, name)
}

const adminPolicyArn = "arn:aws:iam::aws:policy/AdministratorAccess"

func (s *Sim) seedAWSManaged() {
	add := func(name, doc string) {
		arn := "arn:aws:iam::aws:policy/" + name
		s.policies[arn] = &managedPolicy{Arn: arn, Name: name, Path: "/", ID: randID("ANPA", 17), Document: doc, Created: s.now(), AWSManaged: true}
	}
	add("AdministratorAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	add("AmazonS3FullAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}`)
	add("AmazonS3ReadOnlyAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}`)
	add("IAMFullAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}`)
}

func tagsFromMap(m map[string]string) []Tag {
	var out []Tag
	for _, k := range sortedKeys(m) {
		out = append(out, Tag{k, m[k]})
	}
	return out
}

func (s *Sim) seed() error {
	o := s.opts
	s.rootKeyID, s.rootSecret = o.RootAccessKeyID, o.RootSecretAccessKey
	if s.rootKeyID == "" {
		s.rootKeyID = randID("AKIA", 16)
	}
	if s.rootSecret == "" {
		s.rootSecret = randSecret(40)
	}
	root := &user{Name: o.RootUserName, Path: "/", ID: randID("AIDA", 17), Created: s.now(), Inline: map[string]string{}, Attached: []string{adminPolicyArn}}
	root.Arn = s.userArn("/", root.Name)
	s.users[root.Name] = root
	s.keys[s.rootKeyID] = &accessKey{ID: s.rootKeyID, Secret: s.rootSecret, User: root.Name, Created: s.now().Add(-24 * time.Hour), Status: "Active"}

	for _, p := range o.Policies {
		if _, err := s.CreateManagedPolicy(p.Name, p.Path, p.Document); err != nil {
			return err
		}
	}
	for _, u := range o.Users {
		if err := s.CreateUser(u); err != nil {
			return err
		}
	}
	for _, r := range o.Roles {
		if err := s.CreateRoleSeed(r); err != nil {
			return err
		}
	}
	for _, b := range o.Buckets {
		s.CreateBucket(b)
	}
	for _, p := range o.OIDCProviders {
		s.AddOIDCProvider(p)
	}
	return nil
}

// CreateManagedPolicy creates a customer managed policy and returns its ARN.
func (s *Sim) CreateManagedPolicy(name, path, document string) (string, error) {
	if path == "" {
		path = "/"
	}
	if _, err := ParsePolicy(document); err != nil {
		return "", fmt.Errorf("policy %s: %v", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := s.policyArn(path, name)
	s.policies[arn] = &managedPolicy{Arn: arn, Name: name, Path: path, ID: randID("ANPA", 17), Document: document, Created: s.now()}
	return arn, nil
}

// CreateUser creates an IAM user (and its keys) through the Go API.
func (s *Sim) CreateUser(u SeedUser) error {
	if u.Path == "" {
		u.Path = "/"
	}
	for n, d := range u.InlinePolicies {
		if _, err := ParsePolicy(d); err != nil {
			return fmt.Errorf("user %s policy %s: %v", u.Name, n, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.Name]; ok {
		return fmt.Errorf("user %s exists", u.Name)
	}
	nu := &user{Name: u.Name, Path: u.Path, ID: randID("AIDA", 17), Created: s.now(), Tags: tagsFromMap(u.Tags), Inline: map[string]string{}, Attached: append([]string{}, u.ManagedPolicies...), Boundary: u.Boundary}
	nu.Arn = s.userArn(u.Path, u.Name)
	for n, d := range u.InlinePolicies {
		nu.Inline[n] = d
	}
	s.users[u.Name] = nu
	for _, k := range u.Keys {
		if k.AccessKeyID == "" {
			k.AccessKeyID = randID("AKIA", 16)
		}
		if k.SecretAccessKey == "" {
			k.SecretAccessKey = randSecret(40)
		}
		s.keys[k.AccessKeyID] = &accessKey{ID: k.AccessKeyID, Secret: k.SecretAccessKey, User: u.Name, Created: s.now().Add(-time.Hour), Status: "Active"}
	}
	return nil
}

// AddAccessKey gives an existing user an access key (immediately usable) and returns it.
func (s *Sim) AddAccessKey(userName string) (id, secret string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userName]; !ok {
		return "", "", fmt.Errorf("no user %s", userName)
	}
	id, secret = randID("AKIA", 16), randSecret(40)
	s.keys[id] = &accessKey{ID: id, Secret: secret, User: userName, Created: s.now().Add(-time.Hour), Status: "Active"}
	return id, secret, nil
}

// CreateRole creates an IAM role through the Go API and returns its ARN.
// maxSessionDuration is in seconds (0 = 3600).
func (s *Sim) CreateRole(name, trustPolicy string, inlinePolicies map[string]string, maxSessionDuration int) (string, error) {
	r := SeedRole{Name: name, TrustPolicy: trustPolicy, InlinePolicies: inlinePolicies, MaxSessionDuration: maxSessionDuration}
	if err := s.CreateRoleSeed(r); err != nil {
		return "", err
	}
	return s.roleArn("/", name), nil
}

// CreateRoleSeed creates an IAM role from a SeedRole.
func (s *Sim) CreateRoleSeed(r SeedRole) error {
	if r.Path == "" {
		r.Path = "/"
	}
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = 3600
	}
	if r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200 {
		return fmt.Errorf("role %s: MaxSessionDuration must be 3600..43200", r.Name)
	}
	if _, err := ParsePolicy(r.TrustPolicy); err != nil {
		return fmt.Errorf("role %s trust policy: %v", r.Name, err)
	}
	total := 0
	for n, d := range r.InlinePolicies {
		if _, err := ParsePolicy(d); err != nil {
			return fmt.Errorf("role %s policy %s: %v", r.Name, n, err)
		}
		total += policySize(d)
	}
	if total > roleInlineBudget {
		return fmt.Errorf("role %s: Maximum policy size of %d bytes exceeded", r.Name, roleInlineBudget)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[r.Name]; ok {
		return fmt.Errorf("role %s exists", r.Name)
	}
	nr := &role{Name: r.Name, Path: r.Path, ID: randID("AROA", 17), Trust: r.TrustPolicy, MaxSession: r.MaxSessionDuration, Inline: map[string]string{}, Attached: append([]string{}, r.ManagedPolicies...), Tags: tagsFromMap(r.Tags), Created: s.now()}
	nr.Arn = s.roleArn(r.Path, r.Name)
	for n, d := range r.InlinePolicies {
		nr.Inline[n] = d
	}
	s.roles[r.Name] = nr
	return nil
}

// CreateBucket creates an (empty) S3 bucket owned by the account.
func (s *Sim) CreateBucket(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; !ok {
		s.buckets[name] = &bucket{Name: name, Created: s.now(), Objects: map[string]*object{}}
	}
}

// PutObject stores an object directly (test setup), bypassing authorization.
func (s *Sim) PutObject(bucketName, key string, data []byte) {
	s.CreateBucket(bucketName)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[bucketName].Objects[key] = newObject(data, s.now())
}

// Object returns an object's content (test assertions).
func (s *Sim) Object(bucketName, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucketName]
	if !ok {
		return nil, false
	}
	o, ok := b.Objects[key]
	if !ok {
		return nil, false
	}
	return append([]byte{}, o.Data...), true
}

// AddOIDCProvider registers an IAM OIDC provider and returns its ARN
// (arn:aws:iam::ACCOUNT:oidc-provider/<issuer host and path>).
func (s *Sim) AddOIDCProvider(p OIDCProvider) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", s.opts.AccountID, issuerHostPath(p.IssuerURL))
	s.oidc[arn] = &oidcProvider{OIDCProvider: p, Arn: arn}
	return arn
}

func issuerHostPath(issuer string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(issuer, "https://"), "http://")
	return strings.TrimSuffix(h, "/")
}

// ---- introspection ----

// UserInfo describes an IAM user for test assertions.
type UserInfo struct {
	Name, Path, Arn, UserID string
	Tags                    []Tag
	InlinePolicies          []string
	AttachedPolicies        []string
	PermissionsBoundary     string
	AccessKeys              []string
}

// Users lists IAM users (the seeded root user included), sorted by name.
func (s *Sim) Users() []UserInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []UserInfo
	for _, n := range sortedKeys(s.users) {
		u := s.users[n]
		ui := UserInfo{Name: u.Name, Path: u.Path, Arn: u.Arn, UserID: u.ID, Tags: append([]Tag{}, u.Tags...), InlinePolicies: sortedKeys(u.Inline), AttachedPolicies: append([]string{}, u.Attached...), PermissionsBoundary: u.Boundary}
		for _, k := range s.keys {
			if k.User == n {
				ui.AccessKeys = append(ui.AccessKeys, k.ID)
			}
		}
		sort.Strings(ui.AccessKeys)
		out = append(out, ui)
	}
	return out
}

// AccessKeyInfo describes one IAM access key.
type AccessKeyInfo struct {
	AccessKeyID, UserName, Status string
	Created, LastUsed             time.Time
}

// AccessKeys lists IAM access keys (not STS session credentials), sorted by id.
func (s *Sim) AccessKeys() []AccessKeyInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AccessKeyInfo
	for _, id := range sortedKeys(s.keys) {
		k := s.keys[id]
		out = append(out, AccessKeyInfo{k.ID, k.User, k.Status, k.Created, k.LastUsed})
	}
	return out
}

// SessionInfo describes an STS session issued by the simulator.
type SessionInfo struct {
	AccessKeyID, RoleName, SessionName, SourceIdentity string
	Issued, Expiration                                 time.Time
	Tags                                               []Tag
	InlinePolicy                                       string
	PolicyArns                                         []string
}

// Sessions lists STS sessions that have not expired.
func (s *Sim) Sessions() []SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SessionInfo
	now := s.now()
	for _, id := range sortedKeys(s.sessions) {
		x := s.sessions[id]
		if now.After(x.Expiration) {
			continue
		}
		out = append(out, SessionInfo{x.AccessKeyID, x.RoleName, x.SessionName, x.SourceIdentity, x.Issued, x.Expiration, append([]Tag{}, x.Tags...), x.InlinePolicy, append([]string{}, x.PolicyArns...)})
	}
	return out
}

// RolePolicies returns the inline policies of a role (name → document).
func (s *Sim) RolePolicies(roleName string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[roleName]
	if !ok {
		return nil
	}
	out := map[string]string{}
	for k, v := range r.Inline {
		out[k] = v
	}
	return out
}

// RoleInlinePolicySize returns the non-whitespace size of all inline policies of a role,
// the quantity IAM limits to 10,240.
func (s *Sim) RoleInlinePolicySize(roleName string) int {
	n := 0
	for _, d := range s.RolePolicies(roleName) {
		n += policySize(d)
	}
	return n
}

// Roles lists role names.
func (s *Sim) Roles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.roles)
}

// Functions lists Lambda function names.
func (s *Sim) Functions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.funcs)
}

// Counts summarises what exists, for "nothing left behind" assertions.
type Counts struct {
	Users, AccessKeys, Roles, ManagedPolicies, ActiveSessions, Buckets, Objects, Functions, Events int
}

// Counts returns object counts. AccessKeys includes the seeded root key; ManagedPolicies
// counts customer managed policies only.
func (s *Sim) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counts{Users: len(s.users), AccessKeys: len(s.keys), Roles: len(s.roles), Buckets: len(s.buckets), Functions: len(s.funcs), Events: len(s.events)}
	for _, p := range s.policies {
		if !p.AWSManaged {
			c.ManagedPolicies++
		}
	}
	now := s.now()
	for _, x := range s.sessions {
		if !now.After(x.Expiration) {
			c.ActiveSessions++
		}
	}
	for _, b := range s.buckets {
		c.Objects += len(b.Objects)
	}
	return c
}
