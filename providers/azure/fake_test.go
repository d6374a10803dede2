package azure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	fakeTenant       = "11111111-1111-1111-1111-111111111111"
	fakeSubscription = "22222222-2222-2222-2222-222222222222"
	fakeRootAppID    = "33333333-3333-3333-3333-333333333333"
	fakeRootSecret   = "root~secret~0000000001"
)

// fakeAzure is an in-memory Graph + ARM authorization + token endpoint.
type fakeAzure struct {
	mu          sync.Mutex
	apps        map[string]*fakeApp // by object id
	sps         map[string]string   // sp object id -> appId
	deleted     map[string]*fakeApp // recycle bin by object id
	assignments map[string]RoleAssignment
	customRoles map[string]RoleDefinition // by lower role name
	// notReplicated makes the next n role assignment creations fail with PrincipalNotFound.
	notReplicated int
	// tokenDelay makes the next n token checks fail with AADSTS7000215.
	tokenDelay int
	// fail makes the next call of op fail with err (once).
	fail  map[string]error
	calls map[string]int
	clock func() time.Time
}

type fakeApp struct {
	Application
	secrets map[string]string // keyId -> secret
}

func newFakeAzure() *fakeAzure {
	f := &fakeAzure{
		apps: map[string]*fakeApp{}, sps: map[string]string{}, deleted: map[string]*fakeApp{},
		assignments: map[string]RoleAssignment{}, customRoles: map[string]RoleDefinition{},
		fail: map[string]error{}, calls: map[string]int{}, clock: time.Now,
	}
	root := &fakeApp{Application: Application{ObjectID: newGUID(), AppID: fakeRootAppID, DisplayName: "vault-root"}, secrets: map[string]string{}}
	kid := newGUID()
	root.secrets[kid] = fakeRootSecret
	root.Passwords = []PasswordCredential{{KeyID: kid, Hint: fakeRootSecret[:3], DisplayName: "initial"}}
	f.apps[root.ObjectID] = root
	return f
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func notFound(op string) error {
	return &Error{Op: op, StatusCode: http.StatusNotFound, Code: CodeGraphResourceNotFound}
}

func (f *fakeAzure) enter(op string) error {
	f.calls[op]++
	if err, ok := f.fail[op]; ok {
		delete(f.fail, op)
		return err
	}
	return nil
}

func (f *fakeAzure) factory() ClientFactory {
	return func(ctx context.Context, cfg Config) (*Clients, error) {
		return &Clients{Graph: f, Authz: f, Tokens: f}, nil
	}
}

func (f *fakeAzure) appCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.apps) - 1 // without the root app
}

func (f *fakeAzure) counts() (apps, sps, deleted, assignments int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.apps) - 1, len(f.sps), len(f.deleted), len(f.assignments)
}

// Graph.

func (f *fakeAzure) CreateApplication(ctx context.Context, displayName string, tags []string) (Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return Application{}, err
	}
	if err := f.enter("CreateApplication"); err != nil {
		return Application{}, err
	}
	a := &fakeApp{Application: Application{ObjectID: newGUID(), AppID: newGUID(), DisplayName: displayName, Tags: append([]string(nil), tags...), Created: f.clock()}, secrets: map[string]string{}}
	f.apps[a.ObjectID] = a
	return a.Application, nil
}

func (f *fakeAzure) CreateServicePrincipal(ctx context.Context, appID string, tags []string) (ServicePrincipal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateServicePrincipal"); err != nil {
		return ServicePrincipal{}, err
	}
	for _, a := range f.apps {
		if a.AppID == appID {
			id := newGUID()
			f.sps[id] = appID
			return ServicePrincipal{ObjectID: id, AppID: appID}, nil
		}
	}
	return ServicePrincipal{}, notFound("CreateServicePrincipal")
}

func (f *fakeAzure) AddPassword(ctx context.Context, appObjectID, displayName string, end time.Time) (PasswordCredential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("AddPassword"); err != nil {
		return PasswordCredential{}, err
	}
	a, ok := f.apps[appObjectID]
	if !ok {
		return PasswordCredential{}, notFound("AddPassword")
	}
	secret := "s~" + newGUID()
	pc := PasswordCredential{KeyID: newGUID(), DisplayName: displayName, Hint: secret[:3], EndDateTime: end.UTC().Truncate(time.Second)}
	a.secrets[pc.KeyID] = secret
	a.Passwords = append(a.Passwords, pc)
	pc.SecretText = secret
	return pc, nil
}

func (f *fakeAzure) RemovePassword(ctx context.Context, appObjectID, keyID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RemovePassword"); err != nil {
		return err
	}
	a, ok := f.apps[appObjectID]
	if !ok {
		return notFound("RemovePassword")
	}
	if _, ok := a.secrets[keyID]; !ok {
		return notFound("RemovePassword")
	}
	delete(a.secrets, keyID)
	kept := a.Passwords[:0]
	for _, p := range a.Passwords {
		if p.KeyID != keyID {
			kept = append(kept, p)
		}
	}
	a.Passwords = kept
	return nil
}

func (f *fakeAzure) GetApplication(ctx context.Context, objectID string) (Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetApplication"); err != nil {
		return Application{}, err
	}
	a, ok := f.apps[objectID]
	if !ok {
		return Application{}, notFound("GetApplication")
	}
	out := a.Application
	out.Passwords = append([]PasswordCredential(nil), a.Passwords...)
	return out, nil
}

func (f *fakeAzure) GetApplicationByAppID(ctx context.Context, appID string) (Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.apps {
		if a.AppID == appID {
			out := a.Application
			out.Passwords = append([]PasswordCredential(nil), a.Passwords...)
			return out, nil
		}
	}
	return Application{}, notFound("GetApplicationByAppID")
}

func (f *fakeAzure) FindApplications(ctx context.Context, displayName string) ([]Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("FindApplications"); err != nil {
		return nil, err
	}
	var out []Application
	for _, a := range f.apps {
		if a.DisplayName == displayName {
			out = append(out, a.Application)
		}
	}
	return out, nil
}

func (f *fakeAzure) FindServicePrincipal(ctx context.Context, appID string) (ServicePrincipal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, a := range f.sps {
		if a == appID {
			return ServicePrincipal{ObjectID: id, AppID: appID}, nil
		}
	}
	return ServicePrincipal{}, notFound("FindServicePrincipal")
}

func (f *fakeAzure) DeleteApplication(ctx context.Context, objectID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteApplication"); err != nil {
		return err
	}
	a, ok := f.apps[objectID]
	if !ok {
		return notFound("DeleteApplication")
	}
	delete(f.apps, objectID)
	for id, appID := range f.sps {
		if appID == a.AppID {
			delete(f.sps, id)
		}
	}
	f.deleted[objectID] = a
	return nil
}

func (f *fakeAzure) PermanentlyDelete(ctx context.Context, objectID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("PermanentlyDelete"); err != nil {
		return err
	}
	if _, ok := f.deleted[objectID]; !ok {
		return notFound("PermanentlyDelete")
	}
	delete(f.deleted, objectID)
	return nil
}

func (f *fakeAzure) ListDeletedApplications(ctx context.Context, prefix string) ([]Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Application
	for _, a := range f.deleted {
		if strings.HasPrefix(a.DisplayName, prefix) {
			out = append(out, a.Application)
		}
	}
	return out, nil
}

func (f *fakeAzure) ListTaggedApplications(ctx context.Context, tag string) ([]Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Application
	for _, a := range f.apps {
		for _, t := range a.Tags {
			if t == tag {
				app := a.Application
				app.Passwords = append([]PasswordCredential(nil), a.Passwords...)
				out = append(out, app)
				break
			}
		}
	}
	return out, nil
}

// ARM authorization.

func (f *fakeAzure) CreateRoleAssignment(ctx context.Context, a RoleAssignment) (RoleAssignment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateRoleAssignment"); err != nil {
		return RoleAssignment{}, err
	}
	if f.notReplicated > 0 {
		f.notReplicated--
		return RoleAssignment{}, &Error{Op: "create", StatusCode: http.StatusBadRequest, Code: CodePrincipalNotFound}
	}
	if _, ok := f.sps[a.PrincipalID]; !ok {
		return RoleAssignment{}, &Error{Op: "create", StatusCode: http.StatusBadRequest, Code: CodePrincipalNotFound}
	}
	if !strings.HasPrefix(a.RoleDefinitionID, "/subscriptions/"+fakeSubscription+"/providers/Microsoft.Authorization/roleDefinitions/") {
		return RoleAssignment{}, &Error{Op: "create", StatusCode: http.StatusBadRequest, Code: "InvalidRoleDefinitionId"}
	}
	if a.Condition != "" && a.ConditionVersion != "2.0" {
		return RoleAssignment{}, &Error{Op: "create", StatusCode: http.StatusBadRequest, Code: "InvalidConditionVersion"}
	}
	a.ID = a.Scope + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name
	if old, ok := f.assignments[strings.ToLower(a.ID)]; ok && old.PrincipalID == a.PrincipalID {
		return RoleAssignment{}, &Error{Op: "create", StatusCode: http.StatusConflict, Code: CodeRoleAssignmentExists}
	}
	f.assignments[strings.ToLower(a.ID)] = a
	return a, nil
}

func (f *fakeAzure) DeleteRoleAssignment(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteRoleAssignment"); err != nil {
		return err
	}
	if _, ok := f.assignments[strings.ToLower(id)]; !ok {
		return nil // ARM answers 204 No Content for a missing assignment
	}
	delete(f.assignments, strings.ToLower(id))
	return nil
}

func (f *fakeAzure) ListRoleAssignments(ctx context.Context, scope, principalID string) ([]RoleAssignment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []RoleAssignment
	for _, a := range f.assignments {
		if a.PrincipalID == principalID && strings.HasPrefix(strings.ToLower(a.Scope), strings.ToLower(scope)) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeAzure) GetRoleDefinition(ctx context.Context, id string) (RoleDefinition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.customRoles {
		if strings.EqualFold(d.ID, id) {
			return d, nil
		}
	}
	return RoleDefinition{}, notFound("GetRoleDefinition")
}

func (f *fakeAzure) FindRoleDefinition(ctx context.Context, scope, roleName string) (RoleDefinition, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d, ok := f.customRoles[strings.ToLower(roleName)]; ok {
		return d, nil
	}
	return RoleDefinition{}, &Error{Op: "find", StatusCode: http.StatusNotFound, Code: CodeRoleDefinitionMissing}
}

func (f *fakeAzure) addCustomRole(name string, actions, dataActions []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	guid := newGUID()
	f.customRoles[strings.ToLower(name)] = RoleDefinition{
		ID: RoleDefinitionID(fakeSubscription, guid), Name: guid, RoleName: name, Actions: actions, DataActions: dataActions,
	}
}

// Token endpoint.

func (f *fakeAzure) CheckSecret(ctx context.Context, clientID, secret string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["CheckSecret"]++
	if f.tokenDelay > 0 {
		f.tokenDelay--
		return &TokenError{StatusCode: http.StatusUnauthorized, Codes: []int{aadstsInvalidSecret}}
	}
	for _, a := range f.apps {
		if a.AppID != clientID {
			continue
		}
		for _, s := range a.secrets {
			if s == secret {
				return nil
			}
		}
	}
	return &TokenError{StatusCode: http.StatusUnauthorized, Codes: []int{aadstsInvalidSecret, 1}}
}

// works reports whether clientID/secret would obtain a token now.
func (f *fakeAzure) works(clientID, secret string) bool {
	f.mu.Lock()
	for _, a := range f.apps {
		if a.AppID != clientID {
			continue
		}
		for _, s := range a.secrets {
			if s == secret {
				f.mu.Unlock()
				return true
			}
		}
	}
	f.mu.Unlock()
	return false
}
