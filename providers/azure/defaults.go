package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

const (
	moduleName    = "vault-plugin-secrets-nhi/azure"
	moduleVersion = "v0.1.0"
	// maxRetryDelay caps the wait between the pipeline's retries of one call (429 with
	// Retry-After, 408, 5xx, transient network errors).
	maxRetryDelay = 5 * time.Second
)

// clientOptions are the azcore options every client of a configuration shares: the
// cloud (authority host, ARM endpoint and audience), the transport trusting ca_cert,
// and bounded retries.
func clientOptions(cfg Config) (policy.ClientOptions, error) {
	tr, err := transport(cfg.CACert)
	if err != nil {
		return policy.ClientOptions{}, err
	}
	rmEndpoint, rmAudience := cfg.ResourceManager()
	cloudCfg := cloud.AzurePublic
	cloudCfg.ActiveDirectoryAuthorityHost = cfg.Authority()
	cloudCfg.Services = map[cloud.ServiceName]cloud.ServiceConfiguration{
		cloud.ResourceManager: {Endpoint: rmEndpoint, Audience: rmAudience},
	}
	return policy.ClientOptions{
		Cloud:     cloudCfg,
		Transport: tr,
		Retry:     policy.RetryOptions{MaxRetries: 4, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: maxRetryDelay, TryTimeout: 30 * time.Second},
	}, nil
}

func transport(caPEM string) (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caPEM != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if _, err := certPool(caPEM); err != nil {
			return nil, &providers.FieldError{Field: "ca_cert", Reason: err.Error()}
		}
		pool.AppendCertsFromPEM([]byte(caPEM))
		tlsCfg.RootCAs = pool
	}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsCfg,
			TLSHandshakeTimeout:   10 * time.Second,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		},
	}, nil
}

// DefaultClients builds the real clients: an azidentity credential for the root
// application (client secret, or a client assertion signed by the engine's issuer when
// federated), the ARM authorization SDK, Graph v1.0 REST over azcore's pipeline with a
// bearer token for Config.GraphScope, and a token checker that runs the client
// credentials grant against the configured authority.
func DefaultClients(ctx context.Context, cfg Config) (*Clients, error) {
	if !cfg.Configured() {
		return nil, fmt.Errorf("azure: config/azure is incomplete")
	}
	opts, err := clientOptions(cfg)
	if err != nil {
		return nil, err
	}
	// Instance discovery and authority validation only work against Entra itself.
	disableDiscovery := cfg.AuthorityHost != ""
	var cred azcore.TokenCredential
	if cfg.Federated {
		if cfg.ClientAssertion == nil {
			return nil, fmt.Errorf("azure: federated access needs the engine's assertion signer")
		}
		cred, err = azidentity.NewClientAssertionCredential(cfg.TenantID, cfg.ClientID, cfg.ClientAssertion,
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
	} else {
		cred, err = azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery})
	}
	if err != nil {
		return nil, fmt.Errorf("azure: building the root credential: %w", err)
	}
	ra, err := armauthorization.NewRoleAssignmentsClient(cfg.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("azure: building the role assignments client: %w", err)
	}
	rd, err := armauthorization.NewRoleDefinitionsClient(cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("azure: building the role definitions client: %w", err)
	}
	graphPl := runtime.NewPipeline(moduleName, moduleVersion, runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{cfg.GraphScope()}, nil)},
	}, &opts)
	_, rmAudience := cfg.ResourceManager()
	tokenPl := runtime.NewPipeline(moduleName, moduleVersion, runtime.PipelineOptions{}, &opts)
	return &Clients{
		Graph: &graphClient{pl: graphPl, base: cfg.Graph() + "/v1.0"},
		Authz: &authzClient{ra: ra, rd: rd},
		Tokens: &tokenChecker{
			pl:       tokenPl,
			endpoint: cfg.Authority() + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
			scope:    strings.TrimRight(rmAudience, "/") + "/.default",
		},
	}, nil
}

// tokenChecker runs the OAuth 2.0 client credentials grant and parses Entra's error
// codes (error_codes), so callers retry replication delay by code.
type tokenChecker struct {
	pl       runtime.Pipeline
	endpoint string
	scope    string
}

func (t *tokenChecker) CheckSecret(ctx context.Context, clientID, secret string) error {
	req, err := runtime.NewRequest(ctx, http.MethodPost, t.endpoint)
	if err != nil {
		return err
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {t.scope},
	}
	body := form.Encode()
	if err := req.SetBody(streaming.NopCloser(strings.NewReader(body)), "application/x-www-form-urlencoded"); err != nil {
		return err
	}
	resp, err := t.pl.Do(req)
	if err != nil {
		return err
	}
	payload, _ := runtime.Payload(resp)
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			AccessToken string `json:"access_token"`
		}
		if json.Unmarshal(payload, &ok) == nil && ok.AccessToken != "" {
			return nil
		}
		return &TokenError{StatusCode: resp.StatusCode}
	}
	var e struct {
		Codes []int `json:"error_codes"`
	}
	_ = json.Unmarshal(payload, &e)
	return &TokenError{StatusCode: resp.StatusCode, Codes: e.Codes}
}

// armError turns an SDK error into *Error.
func armError(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		e := &Error{Op: op, StatusCode: re.StatusCode, Code: re.ErrorCode, Err: err}
		if re.RawResponse != nil {
			if b, perr := runtime.Payload(re.RawResponse); perr == nil {
				e.Message = serviceMessage(b)
			}
		}
		return e
	}
	return fmt.Errorf("azure: %s failed: %w", op, err)
}

// serviceMessage extracts error.message from a Graph or ARM error body.
func serviceMessage(b []byte) string {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) != nil {
		return ""
	}
	return truncate(body.Error.Message, 512)
}

func serviceCode(b []byte) string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &body)
	return body.Error.Code
}

// authzClient adapts the ARM authorization SDK to AuthorizationAPI.
type authzClient struct {
	ra *armauthorization.RoleAssignmentsClient
	rd *armauthorization.RoleDefinitionsClient
}

func (c *authzClient) CreateRoleAssignment(ctx context.Context, a RoleAssignment) (RoleAssignment, error) {
	pt := armauthorization.PrincipalTypeServicePrincipal
	props := &armauthorization.RoleAssignmentProperties{
		PrincipalID:      &a.PrincipalID,
		RoleDefinitionID: &a.RoleDefinitionID,
		PrincipalType:    &pt,
	}
	if a.Description != "" {
		props.Description = &a.Description
	}
	if a.Condition != "" {
		props.Condition = &a.Condition
		v := a.ConditionVersion
		if v == "" {
			v = ConditionVersion
		}
		props.ConditionVersion = &v
	}
	resp, err := c.ra.Create(ctx, a.Scope, a.Name, armauthorization.RoleAssignmentCreateParameters{Properties: props}, nil)
	if err != nil {
		return RoleAssignment{}, armError("creating role assignment "+a.Name+" at "+a.Scope, err)
	}
	out := a
	if resp.ID != nil {
		out.ID = *resp.ID
	}
	return out, nil
}

func (c *authzClient) DeleteRoleAssignment(ctx context.Context, id string) error {
	_, err := c.ra.DeleteByID(ctx, id, nil)
	if err != nil {
		return armError("deleting role assignment "+id, err)
	}
	return nil
}

func (c *authzClient) ListRoleAssignments(ctx context.Context, scope, principalID string) ([]RoleAssignment, error) {
	// The SDK appends $filter unencoded: escape it here.
	filter := url.PathEscape(fmt.Sprintf("principalId eq '%s'", principalID))
	pager := c.ra.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &filter})
	var out []RoleAssignment
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, armError("listing role assignments of "+principalID, err)
		}
		for _, ra := range page.Value {
			if ra == nil {
				continue
			}
			r := RoleAssignment{ID: deref(ra.ID), Name: deref(ra.Name)}
			if p := ra.Properties; p != nil {
				r.Scope, r.RoleDefinitionID, r.PrincipalID = deref(p.Scope), deref(p.RoleDefinitionID), deref(p.PrincipalID)
				r.Condition, r.ConditionVersion = deref(p.Condition), deref(p.ConditionVersion)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (c *authzClient) GetRoleDefinition(ctx context.Context, id string) (RoleDefinition, error) {
	resp, err := c.rd.GetByID(ctx, id, nil)
	if err != nil {
		return RoleDefinition{}, armError("reading role definition "+id, err)
	}
	return roleDefinition(&resp.RoleDefinition), nil
}

func (c *authzClient) FindRoleDefinition(ctx context.Context, scope, roleName string) (RoleDefinition, error) {
	filter := url.PathEscape("roleName eq '" + strings.ReplaceAll(roleName, "'", "''") + "'")
	pager := c.rd.NewListPager(scope, &armauthorization.RoleDefinitionsClientListOptions{Filter: &filter})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return RoleDefinition{}, armError("finding role definition "+roleName, err)
		}
		for _, d := range page.Value {
			if d != nil && d.Properties != nil && strings.EqualFold(deref(d.Properties.RoleName), roleName) {
				return roleDefinition(d), nil
			}
		}
	}
	return RoleDefinition{}, &Error{Op: "finding role definition " + roleName, StatusCode: http.StatusNotFound, Code: CodeRoleDefinitionMissing}
}

func roleDefinition(d *armauthorization.RoleDefinition) RoleDefinition {
	out := RoleDefinition{ID: deref(d.ID), Name: deref(d.Name)}
	if d.Properties == nil {
		return out
	}
	out.RoleName = deref(d.Properties.RoleName)
	for _, p := range d.Properties.Permissions {
		if p == nil {
			continue
		}
		out.Actions = append(out.Actions, derefAll(p.Actions)...)
		out.NotActions = append(out.NotActions, derefAll(p.NotActions)...)
		out.DataActions = append(out.DataActions, derefAll(p.DataActions)...)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefAll(ss []*string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}
