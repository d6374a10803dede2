package azure

import (
	"context"
	"sync"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// Application is the part of a Microsoft Graph application object the provider uses.
type Application struct {
	ObjectID    string
	AppID       string // the client id
	DisplayName string
	Tags        []string
	Passwords   []PasswordCredential
	Created     time.Time
}

// ServicePrincipal is the part of a Graph servicePrincipal the provider uses.
type ServicePrincipal struct {
	ObjectID string
	AppID    string
}

// PasswordCredential is an application password. SecretText is only set in the answer
// to AddPassword.
type PasswordCredential struct {
	KeyID       string
	DisplayName string
	Hint        string
	SecretText  string
	EndDateTime time.Time
}

// GraphAPI is the part of Microsoft Graph v1.0 the provider calls. Errors are *Error
// (IsNotFound for a missing object).
type GraphAPI interface {
	CreateApplication(ctx context.Context, displayName string, tags []string) (Application, error)
	CreateServicePrincipal(ctx context.Context, appID string, tags []string) (ServicePrincipal, error)
	AddPassword(ctx context.Context, appObjectID, displayName string, end time.Time) (PasswordCredential, error)
	RemovePassword(ctx context.Context, appObjectID, keyID string) error
	GetApplication(ctx context.Context, objectID string) (Application, error)
	GetApplicationByAppID(ctx context.Context, appID string) (Application, error)
	// FindApplications lists applications with exactly this displayName.
	FindApplications(ctx context.Context, displayName string) ([]Application, error)
	FindServicePrincipal(ctx context.Context, appID string) (ServicePrincipal, error)
	DeleteApplication(ctx context.Context, objectID string) error
	// PermanentlyDelete removes a deleted object from the recycle bin (deletedItems).
	PermanentlyDelete(ctx context.Context, objectID string) error
	// ListDeletedApplications lists deleted applications whose displayName starts with prefix.
	ListDeletedApplications(ctx context.Context, prefix string) ([]Application, error)
	// ListTaggedApplications lists live applications carrying the tag.
	ListTaggedApplications(ctx context.Context, tag string) ([]Application, error)
}

// RoleAssignment is an Azure RBAC role assignment.
type RoleAssignment struct {
	// ID is the full resource id: {Scope}/providers/Microsoft.Authorization/roleAssignments/{Name}.
	ID               string
	Name             string // a GUID chosen by the caller
	Scope            string
	RoleDefinitionID string
	PrincipalID      string
	Condition        string
	ConditionVersion string
	Description      string
}

// RoleDefinition is an Azure RBAC role definition with its permissions.
type RoleDefinition struct {
	ID          string
	Name        string // the GUID
	RoleName    string // "Storage Blob Data Reader"
	Actions     []string
	NotActions  []string
	DataActions []string
}

// AuthorizationAPI is the part of ARM's Microsoft.Authorization the provider calls.
type AuthorizationAPI interface {
	// CreateRoleAssignment creates a.Name at a.Scope for a ServicePrincipal principal.
	CreateRoleAssignment(ctx context.Context, a RoleAssignment) (RoleAssignment, error)
	// DeleteRoleAssignment deletes by full id; a missing assignment is IsNotFound.
	DeleteRoleAssignment(ctx context.Context, id string) error
	// ListRoleAssignments lists the assignments of principalID at or below scope.
	ListRoleAssignments(ctx context.Context, scope, principalID string) ([]RoleAssignment, error)
	// GetRoleDefinition reads a definition by full id.
	GetRoleDefinition(ctx context.Context, id string) (RoleDefinition, error)
	// FindRoleDefinition finds a definition by its roleName at scope.
	FindRoleDefinition(ctx context.Context, scope, roleName string) (RoleDefinition, error)
}

// TokenChecker proves that an application's secret works by obtaining a token with it.
type TokenChecker interface {
	// CheckSecret returns nil once clientID/secret obtain a token from the tenant, or a
	// *TokenError (Transient for replication delay).
	CheckSecret(ctx context.Context, clientID, secret string) error
}

// Clients are the clients for one configuration revision, authenticated as the engine's
// root application.
type Clients struct {
	Graph  GraphAPI
	Authz  AuthorizationAPI
	Tokens TokenChecker
}

// ClientFactory builds the clients for a configuration.
type ClientFactory func(ctx context.Context, cfg Config) (*Clients, error)

// clientCache keeps the clients of the latest configuration revision.
type clientCache struct {
	mu       sync.Mutex
	revision string
	clients  *Clients
}

func (c *clientCache) get(ctx context.Context, cfg Config, factory ClientFactory) (*Clients, error) {
	rev := providers.Revision(cfg)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clients != nil && c.revision == rev {
		return c.clients, nil
	}
	cl, err := factory(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.revision, c.clients = rev, cl
	return cl, nil
}
