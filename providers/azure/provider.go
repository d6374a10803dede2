// Package azure is the Azure credential provider: a service principal per credential
// with role assignments scoped to exactly the destinations of the intent.
//
// Issue creates, in order: an application nhi-<credential id> tagged with the
// credential id, task and role; its service principal; a password whose endDateTime is
// the lease end (plus PasswordSkew); the role assignments CompileAssignments computes,
// with names derived from the credential id (AssignmentName), so that WAL rollback can
// find and delete everything by the credential id alone; then it waits until the new
// secret obtains a token (bounded) and reports how long that took (ready_after_ms).
// Revoke deletes the assignments, the password and the application, and permanently
// deletes the application from the directory's recycle bin. Missing objects are success.
//
// The provider talks to Azure through the narrow GraphAPI, AuthorizationAPI and
// TokenChecker interfaces built by a ClientFactory (DefaultClients: azidentity, the ARM
// authorization SDK and Graph v1.0 REST over azcore's pipeline). Root access is a
// client secret (rotated by RotateRoot) or secretless federation: the engine signs a
// client assertion with its own issuer (WithAssertionSigner).
//
// Renewal: the password ends at the lease end chosen at issuance (plus PasswordSkew),
// so the credential cannot outlive it. Issued.Ref carries password_expires_at and
// MaxExpiry reads it back; the engine's lease renewal should cap the renewed expiry at
// it.
//
// Role settings: resource_group / resource_groups name the resource group of the
// storage accounts and key vaults destinations name (ARM scopes need it; the data-plane
// URI does not carry it); allowed_privileged_roles lists role definitions a grant's
// azure_role may name although they can escalate (see Escalations, CompileAssignments).
//
// Integration notes: providers.RoleInfo does not yet carry the grants' azure_role, so
// grantsOf pairs every destination with no azure_role; once RoleInfo carries the
// grants, grantsOf should return them (ValidateRole then refuses privileged roles at
// role write, and Issue assigns the named role). ValidateRole cannot read storage: the
// "destination outside the configured subscription" check uses the subscription this
// provider last saw in config/azure (every config write, Issue, Revoke and Periodic
// refresh it) and is enforced again at issuance.
package azure

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Name is the role field `provider` value that selects this adapter.
const Name = "azure"

// DisplayNamePrefix starts the displayName of every application the provider creates.
const DisplayNamePrefix = "nhi-"

// PasswordSkew is added to the lease end for the password's endDateTime, so clock skew
// between Vault and Entra never ends a credential before its lease; revocation at lease
// end deletes it anyway.
const PasswordSkew = 30 * time.Second

// Tag keys on applications and service principals.
const (
	TagCredential = "nhi:credential="
	TagTask       = "nhi:task="
	TagRole       = "nhi:role="
	// TagManaged marks every application the provider creates, so Periodic can find
	// orphans (a revocation that never happened) with one filtered query.
	TagManaged = "nhi:managed"
)

// OrphanGrace is how long after its password ended (or, without a password, after its
// creation) an application of this provider counts as orphaned: its lease should have
// been revoked by then, so Periodic removes it.
const OrphanGrace = 15 * time.Minute

// maxOrphansPerRun bounds the cleanup work of one Periodic run.
const maxOrphansPerRun = 50

// AssertionSigner signs the engine's own web-identity JWT; the token provider
// implements it (SignWebIdentity).
type AssertionSigner interface {
	SignWebIdentity(ctx context.Context, s logical.Storage, audience string, ttl time.Duration) (string, error)
}

const assertionTTL = 5 * time.Minute

// Provider issues and revokes Azure service principal credentials. It is safe for
// concurrent use; durable state lives in the storage passed to each call.
type Provider struct {
	clock   func() time.Time
	factory ClientFactory
	signer  AssertionSigner
	cache   clientCache

	// readyWait bounds the wait for a new secret to obtain a token; principalWait the
	// retries of role assignments while the new principal replicates; rotateWait the
	// wait for a rotated root secret.
	readyWait     time.Duration
	principalWait time.Duration
	rotateWait    time.Duration
	backoff       time.Duration

	subscription atomic.Value // string: the last subscription_id seen in config/azure
	rotateMu     sync.Mutex
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Periodic = (*Provider)(nil)
)

// Option configures a Provider.
type Option func(*Provider)

// WithAssertionSigner enables secretless root access (federated=true).
func WithAssertionSigner(s AssertionSigner) Option { return func(p *Provider) { p.signer = s } }

// WithAssertionSignerOf enables secretless root access when v implements
// AssertionSigner, and does nothing otherwise.
func WithAssertionSignerOf(v any) Option {
	return func(p *Provider) {
		if s, ok := v.(AssertionSigner); ok {
			p.signer = s
		}
	}
}

// WithWaits sets the readiness wait of a new credential (default 45s), the bound on
// retrying role assignments while a new principal replicates (default 60s), and the
// readiness wait of a rotated root secret (default 60s).
func WithWaits(ready, principal, rotate time.Duration) Option {
	return func(p *Provider) { p.readyWait, p.principalWait, p.rotateWait = ready, principal, rotate }
}

// WithBackoff sets the first wait between retries (default 500ms, doubling to 5s).
func WithBackoff(d time.Duration) Option { return func(p *Provider) { p.backoff = d } }

// New returns an Azure provider. clock may be nil (time.Now); clients builds the
// clients for a configuration (DefaultClients in production).
func New(clock func() time.Time, clients ClientFactory, opts ...Option) *Provider {
	if clock == nil {
		clock = time.Now
	}
	if clients == nil {
		clients = DefaultClients
	}
	p := &Provider{
		clock: clock, factory: clients,
		readyWait: 45 * time.Second, principalWait: 60 * time.Second, rotateWait: 60 * time.Second,
		backoff: 500 * time.Millisecond,
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Name returns "azure".
func (p *Provider) Name() string { return Name }

func (p *Provider) knownSubscription() string {
	s, _ := p.subscription.Load().(string)
	return s
}

func (p *Provider) noteConfig(cfg Config) {
	p.subscription.Store(cfg.SubscriptionID)
}

// clients loads config/azure and returns it with the clients of its revision.
func (p *Provider) clients(ctx context.Context, s logical.Storage) (Config, *Clients, error) {
	cfg, found, err := LoadConfig(ctx, s)
	if err != nil {
		return cfg, nil, err
	}
	if !found || !cfg.Configured() {
		return cfg, nil, fmt.Errorf("%w: write config/azure with tenant_id, subscription_id, client_id and client_secret (or federated=true)", providers.ErrNotConfigured)
	}
	p.noteConfig(cfg)
	if cfg.Federated {
		if p.signer == nil {
			return cfg, nil, fmt.Errorf("%w: federated=true but this engine's token issuer cannot sign client assertions", providers.ErrNotConfigured)
		}
		signer := p.signer
		cfg.ClientAssertion = func(ctx context.Context) (string, error) {
			return signer.SignWebIdentity(ctx, s, FederatedAudience, assertionTTL)
		}
	}
	cl, err := p.cache.get(ctx, cfg, p.factory)
	if err != nil {
		return cfg, nil, err
	}
	return cfg, cl, nil
}

// ClientsFor returns the configuration and its clients (for drift collectors).
func (p *Provider) ClientsFor(ctx context.Context, s logical.Storage) (Config, *Clients, error) {
	return p.clients(ctx, s)
}

// Ref keys.
const (
	RefCredentialType     = "credential_type"
	RefApplicationID      = "application_object_id"
	RefClientID           = "client_id"
	RefServicePrincipalID = "service_principal_id"
	RefPasswordKeyID      = "password_key_id"
	RefPasswordExpiresAt  = "password_expires_at"
	RefAssignmentIDs      = "role_assignment_ids" // comma-separated full ids
)

// assignmentNamespace is the UUIDv5 namespace of role assignment names.
var assignmentNamespace = [16]byte{0x6e, 0x68, 0x69, 0x2d, 0x61, 0x7a, 0x75, 0x72, 0x65, 0x2d, 0x72, 0x61, 0x2d, 0x76, 0x31, 0x00}

// AssignmentName is the role assignment name (a UUIDv5) of a credential's i-th
// assignment: deterministic, so rollback finds the assignments by credential id alone.
func AssignmentName(credentialID string, i int) string {
	h := sha1.New()
	h.Write(assignmentNamespace[:])
	fmt.Fprintf(h, "%s/%d", credentialID, i)
	sum := h.Sum(nil)
	var u [16]byte
	copy(u[:], sum[:16])
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	x := hex.EncodeToString(u[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// DisplayName is the application displayName of a credential.
func DisplayName(credentialID string) string { return DisplayNamePrefix + credentialID }

// Issue creates a service principal credential for an approved intent.
func (p *Provider) Issue(ctx context.Context, s logical.Storage, req providers.IssueRequest) (*providers.Issued, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rs, err := parseSettings(req.Role.CredentialType, req.Role.Settings)
	if err != nil {
		return nil, err
	}
	if err := req.CheckIdentity("names the application"); err != nil {
		return nil, err
	}
	if req.Now.IsZero() {
		req.Now = p.clock()
	}
	cfg, cl, err := p.clients(ctx, s)
	if err != nil {
		return nil, err
	}
	assignments, err := CompileAssignments(ScopeInput{
		SubscriptionID: cfg.SubscriptionID, ResourceGroup: rs.resourceGroup, ResourceGroups: rs.resourceGroups,
		Destinations: req.Destinations, Actions: req.Actions, Grants: grantsOf(req.Role),
		AllowedPrivilegedRoles: rs.allowed,
	})
	if err != nil {
		return nil, err
	}
	if err := p.resolveRoles(ctx, cl, cfg, assignments, rs.allowed); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	expires := req.Now.Add(req.TTL)
	started := p.clock()
	ref := map[string]string{RefCredentialType: CredentialTypeServicePrincipal}
	fail := func(err error) (*providers.Issued, error) {
		// Undo what exists; WAL rollback retries if this fails too.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rerr := p.revoke(cctx, cl, cfg, req.CredentialID, ref); rerr != nil {
			return nil, fmt.Errorf("%w (cleanup failed, rollback will retry: %v)", err, rerr)
		}
		return nil, err
	}

	tags := []string{
		TagManaged,
		TagCredential + req.CredentialID,
		TagTask + truncate(req.Task, 200),
		TagRole + truncate(req.Role.Name, 200),
	}
	app, err := cl.Graph.CreateApplication(ctx, DisplayName(req.CredentialID), tags)
	if err != nil {
		return fail(err)
	}
	ref[RefApplicationID], ref[RefClientID] = app.ObjectID, app.AppID

	var sp ServicePrincipal
	err = p.retry(ctx, p.principalWait, func() (bool, error) {
		var err error
		sp, err = cl.Graph.CreateServicePrincipal(ctx, app.AppID, tags)
		// Until the new application replicates, Graph answers 404 or 400
		// Request_BadRequest ("appId does not reference a valid application object"):
		// for an appId Graph itself just returned there is no other reason.
		return IsNotFound(err) || HasCode(err, CodeGraphBadRequest), err
	})
	if err != nil {
		return fail(err)
	}
	ref[RefServicePrincipalID] = sp.ObjectID

	var pw PasswordCredential
	err = p.retry(ctx, p.principalWait, func() (bool, error) {
		var err error
		pw, err = cl.Graph.AddPassword(ctx, app.ObjectID, "nhi", expires.Add(PasswordSkew))
		return IsNotFound(err), err
	})
	if err != nil {
		return fail(err)
	}
	if pw.SecretText == "" {
		return fail(fmt.Errorf("azure: addPassword returned no secret"))
	}
	ref[RefPasswordKeyID] = pw.KeyID
	end := pw.EndDateTime
	if end.IsZero() {
		end = expires.Add(PasswordSkew)
	}
	ref[RefPasswordExpiresAt] = end.UTC().Format(time.RFC3339)

	ids := make([]string, 0, len(assignments))
	for i, a := range assignments {
		ra := RoleAssignment{
			Name: AssignmentName(req.CredentialID, i), Scope: a.Scope, RoleDefinitionID: a.RoleDefinitionID,
			PrincipalID: sp.ObjectID, Condition: a.Condition, ConditionVersion: a.ConditionVersion,
			Description: truncate("nhi credential "+req.CredentialID+" task "+req.Task, 1024),
		}
		ra.ID = assignmentID(ra.Scope, ra.Name)
		err := p.retry(ctx, p.principalWait, func() (bool, error) {
			_, err := cl.Authz.CreateRoleAssignment(ctx, ra)
			if HasCode(err, CodeRoleAssignmentExists) {
				return false, nil // created by an earlier attempt of this call
			}
			return HasCode(err, CodePrincipalNotFound), err
		})
		// Record before checking: a failed create may still have happened.
		ids = append(ids, ra.ID)
		ref[RefAssignmentIDs] = strings.Join(ids, ",")
		if err != nil {
			return fail(err)
		}
	}

	err = p.retry(ctx, p.readyWait, func() (bool, error) {
		err := cl.Tokens.CheckSecret(ctx, app.AppID, pw.SecretText)
		return transientToken(err), err
	})
	if err != nil {
		return fail(fmt.Errorf("the new credential did not obtain a token within %s: %w", p.readyWait, err))
	}
	ready := p.clock().Sub(started)

	scopes := make([]string, len(assignments))
	for i, a := range assignments {
		scopes[i] = a.RoleName + " at " + a.Scope
	}
	return &providers.Issued{
		Secret: map[string]any{"client_secret": pw.SecretText},
		Public: map[string]any{
			"client_id":        app.AppID,
			"tenant_id":        cfg.TenantID,
			"subscription_id":  cfg.SubscriptionID,
			"role_assignments": scopes,
			"ready_after_ms":   ready.Milliseconds(),
		},
		Ref:       ref,
		ExpiresAt: expires,
		Renewable: true,
	}, nil
}

// resolveRoles fills in the definition ids of custom roles (by name) and refuses those
// whose permissions escalate, unless allowed by name.
func (p *Provider) resolveRoles(ctx context.Context, cl *Clients, cfg Config, as []Assignment, allowed []string) error {
	for i := range as {
		if as[i].RoleDefinitionID != "" {
			continue
		}
		def, err := cl.Authz.FindRoleDefinition(ctx, "/subscriptions/"+cfg.SubscriptionID, as[i].RoleName)
		if IsNotFound(err) || HasCode(err, CodeRoleDefinitionMissing) {
			return &providers.FieldError{Field: "grants", Reason: fmt.Sprintf("azure_role %q is not a role definition in subscription %s", as[i].RoleName, cfg.SubscriptionID)}
		}
		if err != nil {
			return err
		}
		if err := checkEscalation(as[i].RoleName, Escalations(def.Actions, def.DataActions), allowed); err != nil {
			return err
		}
		as[i].RoleDefinitionID = def.ID
	}
	return nil
}

func assignmentID(scope, name string) string {
	return scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
}

// retry calls f until it succeeds, fails with a non-retryable error (retry=false), ctx
// ends or bound elapses, waiting with capped exponential backoff in between.
func (p *Provider) retry(ctx context.Context, bound time.Duration, f func() (retry bool, err error)) error {
	deadline := time.Now().Add(bound)
	wait := p.backoff
	for {
		again, err := f()
		if err == nil || !again {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
		if wait *= 2; wait > 5*time.Second {
			wait = 5 * time.Second
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Revoke makes the credential unusable: its role assignments, password and
// application are deleted and the application is permanently deleted. With an empty or
// partial reference (WAL rollback) the application is found by its displayName and tag,
// and its assignments by the principal and the names AssignmentName derives from the
// credential id. Missing objects are success, so revoking twice returns nil.
func (p *Provider) Revoke(ctx context.Context, s logical.Storage, req providers.RevokeRequest) error {
	if ct := req.Ref[RefCredentialType]; ct != "" && ct != CredentialTypeServicePrincipal {
		return &providers.FieldError{Field: "credential_type", Reason: fmt.Sprintf("reference names unknown credential type %q", ct)}
	}
	if req.CredentialID == "" && req.Ref[RefApplicationID] == "" {
		return nil
	}
	cfg, cl, err := p.clients(ctx, s)
	if err != nil {
		return err
	}
	return p.revoke(ctx, cl, cfg, req.CredentialID, req.Ref)
}

func (p *Provider) revoke(ctx context.Context, cl *Clients, cfg Config, credID string, ref map[string]string) error {
	var errs []error
	// 1. The application(s): from the reference, checked against the credential id, or
	// found by displayName and tag.
	var apps []Application
	if id := ref[RefApplicationID]; id != "" {
		app, err := cl.Graph.GetApplication(ctx, id)
		switch {
		case IsNotFound(err):
			// Gone already (or never created); the recycle bin may still hold it.
			if err := cl.Graph.PermanentlyDelete(ctx, id); err != nil && !IsNotFound(err) {
				errs = append(errs, err)
			}
		case err != nil:
			return err
		case credID != "" && !ownedBy(app, credID):
			return &providers.FieldError{Field: "ref", Reason: fmt.Sprintf("application %s is not the one issued for credential %s; refusing to delete it", id, credID)}
		default:
			apps = append(apps, app)
		}
	}
	if credID != "" {
		// Also by name: a create retried by the HTTP pipeline after a lost answer may
		// have left a second application the reference does not name.
		found, err := cl.Graph.FindApplications(ctx, DisplayName(credID))
		if err != nil {
			return err
		}
		for _, a := range found {
			if ownedBy(a, credID) && (len(apps) == 0 || a.ObjectID != apps[0].ObjectID) {
				apps = append(apps, a)
			}
		}
	}

	// 2. Role assignments: the referenced ids, then any left for the principals
	// (crash before the reference was stored), restricted to the deterministic names.
	deleted := map[string]bool{}
	for _, id := range strings.Split(ref[RefAssignmentIDs], ",") {
		id = strings.TrimSpace(id)
		if !strings.Contains(strings.ToLower(id), "/providers/microsoft.authorization/roleassignments/") {
			continue
		}
		if err := cl.Authz.DeleteRoleAssignment(ctx, id); err != nil && !IsNotFound(err) {
			errs = append(errs, err)
		}
		deleted[strings.ToLower(id)] = true
	}
	if credID != "" {
		names := map[string]bool{}
		for i := 0; i < MaxAssignments; i++ {
			names[AssignmentName(credID, i)] = true
		}
		var principals []string
		if sp := ref[RefServicePrincipalID]; sp != "" {
			principals = append(principals, sp)
		}
		for _, a := range apps {
			sp, err := cl.Graph.FindServicePrincipal(ctx, a.AppID)
			if err == nil && sp.ObjectID != "" && sp.ObjectID != ref[RefServicePrincipalID] {
				principals = append(principals, sp.ObjectID)
			} else if err != nil && !IsNotFound(err) {
				errs = append(errs, err)
			}
		}
		for _, pid := range principals {
			list, err := cl.Authz.ListRoleAssignments(ctx, "/subscriptions/"+cfg.SubscriptionID, pid)
			if err != nil {
				if !IsNotFound(err) {
					errs = append(errs, err)
				}
				continue
			}
			for _, ra := range list {
				if !names[strings.ToLower(ra.Name)] || deleted[strings.ToLower(ra.ID)] {
					continue
				}
				if err := cl.Authz.DeleteRoleAssignment(ctx, ra.ID); err != nil && !IsNotFound(err) {
					errs = append(errs, err)
				}
			}
		}
	}
	if len(errs) > 0 {
		// Keep the application until its assignments are gone, so a retry can find them.
		return errors.Join(errs...)
	}

	// 3. Password, application, recycle bin.
	for _, a := range apps {
		if kid := ref[RefPasswordKeyID]; kid != "" && a.ObjectID == ref[RefApplicationID] {
			if err := cl.Graph.RemovePassword(ctx, a.ObjectID, kid); err != nil && !IsNotFound(err) {
				errs = append(errs, err)
			}
		}
		if err := cl.Graph.DeleteApplication(ctx, a.ObjectID); err != nil && !IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		if err := cl.Graph.PermanentlyDelete(ctx, a.ObjectID); err != nil && !IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MaxExpiry returns when a credential stops working whatever its lease says: the end
// of its password (Ref password_expires_at). The engine's lease renewal should cap the
// renewed expiry at it; ok is false when the reference does not say.
func (p *Provider) MaxExpiry(ref map[string]string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, ref[RefPasswordExpiresAt])
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// ownedBy reports whether app is the application issued for credID.
func ownedBy(app Application, credID string) bool {
	if app.DisplayName != DisplayName(credID) {
		return false
	}
	for _, t := range app.Tags {
		if t == TagCredential+credID {
			return true
		}
	}
	return false
}

// Periodic finishes or undoes an interrupted root secret rotation and permanently
// deletes applications of this engine left in the recycle bin (a revocation whose
// last step failed).
func (p *Provider) Periodic(ctx context.Context, s logical.Storage) error {
	cfg, found, err := LoadConfig(ctx, s)
	if err != nil {
		return err
	}
	if !found || !cfg.Configured() {
		return nil
	}
	p.noteConfig(cfg)
	var errs []error
	if err := p.resumeRotationIfStale(ctx, s); err != nil {
		errs = append(errs, err)
	}
	if err := p.purgeDeleted(ctx, s); err != nil {
		errs = append(errs, err)
	}
	if err := p.sweepOrphans(ctx, s); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sweepOrphans revokes applications of this provider that outlived their password by
// OrphanGrace (a lease whose revocation never succeeded, a crash whose WAL entry was
// lost): they cannot authenticate any more, but their role assignments and directory
// objects count against the tenant's quotas.
func (p *Provider) sweepOrphans(ctx context.Context, s logical.Storage) error {
	cfg, cl, err := p.clients(ctx, s)
	if err != nil {
		return err
	}
	apps, err := cl.Graph.ListTaggedApplications(ctx, TagManaged)
	if err != nil {
		return err
	}
	now := p.clock()
	var errs []error
	done := 0
	for _, a := range apps {
		if done >= maxOrphansPerRun {
			break
		}
		credID := strings.TrimPrefix(a.DisplayName, DisplayNamePrefix)
		if !ownedBy(a, credID) || !orphaned(a, now) {
			continue
		}
		done++
		if err := p.revoke(ctx, cl, cfg, credID, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func orphaned(a Application, now time.Time) bool {
	if len(a.Passwords) == 0 {
		return !a.Created.IsZero() && now.Sub(a.Created) > OrphanGrace
	}
	for _, pw := range a.Passwords {
		if pw.EndDateTime.IsZero() || now.Sub(pw.EndDateTime) <= OrphanGrace {
			return false
		}
	}
	return true
}

func (p *Provider) purgeDeleted(ctx context.Context, s logical.Storage) error {
	_, cl, err := p.clients(ctx, s)
	if err != nil {
		return err
	}
	deleted, err := cl.Graph.ListDeletedApplications(ctx, DisplayNamePrefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range deleted {
		credID := strings.TrimPrefix(a.DisplayName, DisplayNamePrefix)
		if !ownedBy(a, credID) {
			continue // not one of ours
		}
		if err := cl.Graph.PermanentlyDelete(ctx, a.ObjectID); err != nil && !IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
