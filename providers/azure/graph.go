package azure

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// graphClient is Microsoft Graph v1.0 over REST with azcore's pipeline (bearer token,
// retries on 429/5xx honouring Retry-After, the configured transport).
type graphClient struct {
	pl   runtime.Pipeline
	base string // e.g. https://graph.microsoft.com/v1.0
}

type graphApp struct {
	ID                  string          `json:"id"`
	AppID               string          `json:"appId"`
	DisplayName         string          `json:"displayName"`
	Tags                []string        `json:"tags"`
	PasswordCredentials []graphPassword `json:"passwordCredentials"`
	CreatedDateTime     *time.Time      `json:"createdDateTime,omitempty"`
}

type graphPassword struct {
	KeyID       string     `json:"keyId,omitempty"`
	DisplayName string     `json:"displayName,omitempty"`
	Hint        string     `json:"hint,omitempty"`
	SecretText  string     `json:"secretText,omitempty"`
	EndDateTime *time.Time `json:"endDateTime,omitempty"`
}

func (a graphApp) app() Application {
	out := Application{ObjectID: a.ID, AppID: a.AppID, DisplayName: a.DisplayName, Tags: a.Tags}
	if a.CreatedDateTime != nil {
		out.Created = *a.CreatedDateTime
	}
	for _, p := range a.PasswordCredentials {
		out.Passwords = append(out.Passwords, p.credential())
	}
	return out
}

func (p graphPassword) credential() PasswordCredential {
	c := PasswordCredential{KeyID: p.KeyID, DisplayName: p.DisplayName, Hint: p.Hint, SecretText: p.SecretText}
	if p.EndDateTime != nil {
		c.EndDateTime = *p.EndDateTime
	}
	return c
}

// do sends one request; body (if any) is JSON; out (if any) receives the JSON answer.
// A status outside ok is an *Error with Graph's error code; the request body never
// appears in errors (it may hold a secret's metadata).
func (g *graphClient) do(ctx context.Context, op, method, path string, body, out any, ok ...int) error {
	req, err := runtime.NewRequest(ctx, method, g.base+path)
	if err != nil {
		return err
	}
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return err
		}
	}
	resp, err := g.pl.Do(req)
	if err != nil {
		return fmt.Errorf("azure: %s failed: %w", op, err)
	}
	if !runtime.HasStatusCode(resp, ok...) {
		b, _ := runtime.Payload(resp)
		return &Error{Op: op, StatusCode: resp.StatusCode, Code: serviceCode(b), Message: serviceMessage(b)}
	}
	if out == nil {
		return nil
	}
	if err := runtime.UnmarshalAsJSON(resp, out); err != nil {
		return fmt.Errorf("azure: %s: decoding the answer: %w", op, err)
	}
	return nil
}

func (g *graphClient) CreateApplication(ctx context.Context, displayName string, tags []string) (Application, error) {
	var out graphApp
	err := g.do(ctx, "Graph create application "+displayName, http.MethodPost, "/applications",
		map[string]any{"displayName": displayName, "signInAudience": "AzureADMyOrg", "tags": tags}, &out, http.StatusCreated, http.StatusOK)
	return out.app(), err
}

func (g *graphClient) CreateServicePrincipal(ctx context.Context, appID string, tags []string) (ServicePrincipal, error) {
	var out struct {
		ID    string `json:"id"`
		AppID string `json:"appId"`
	}
	err := g.do(ctx, "Graph create service principal for "+appID, http.MethodPost, "/servicePrincipals",
		map[string]any{"appId": appID, "tags": tags}, &out, http.StatusCreated, http.StatusOK)
	return ServicePrincipal{ObjectID: out.ID, AppID: out.AppID}, err
}

func (g *graphClient) AddPassword(ctx context.Context, appObjectID, displayName string, end time.Time) (PasswordCredential, error) {
	var out graphPassword
	end = end.UTC().Truncate(time.Second)
	err := g.do(ctx, "Graph addPassword on application "+appObjectID, http.MethodPost, "/applications/"+url.PathEscape(appObjectID)+"/addPassword",
		map[string]any{"passwordCredential": graphPassword{DisplayName: displayName, EndDateTime: &end}}, &out, http.StatusOK, http.StatusCreated)
	return out.credential(), err
}

func (g *graphClient) RemovePassword(ctx context.Context, appObjectID, keyID string) error {
	return g.do(ctx, "Graph removePassword on application "+appObjectID, http.MethodPost, "/applications/"+url.PathEscape(appObjectID)+"/removePassword",
		map[string]any{"keyId": keyID}, nil, http.StatusNoContent, http.StatusOK)
}

func (g *graphClient) GetApplication(ctx context.Context, objectID string) (Application, error) {
	var out graphApp
	err := g.do(ctx, "Graph get application "+objectID, http.MethodGet, "/applications/"+url.PathEscape(objectID), nil, &out, http.StatusOK)
	return out.app(), err
}

func (g *graphClient) GetApplicationByAppID(ctx context.Context, appID string) (Application, error) {
	var out graphApp
	err := g.do(ctx, "Graph get application by appId "+appID, http.MethodGet, "/applications(appId='"+url.PathEscape(appID)+"')", nil, &out, http.StatusOK)
	return out.app(), err
}

func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (g *graphClient) list(ctx context.Context, op, path string) ([]graphApp, error) {
	var all []graphApp
	next := path
	for i := 0; next != "" && i < 100; i++ {
		var page struct {
			Value    []graphApp `json:"value"`
			NextLink string     `json:"@odata.nextLink"`
		}
		if err := g.do(ctx, op, http.MethodGet, next, nil, &page, http.StatusOK); err != nil {
			return nil, err
		}
		all = append(all, page.Value...)
		next = ""
		if page.NextLink != "" {
			if !strings.HasPrefix(page.NextLink, g.base) {
				return nil, fmt.Errorf("azure: %s: next page link leaves the Graph endpoint", op)
			}
			next = strings.TrimPrefix(page.NextLink, g.base)
		}
	}
	return all, nil
}

func (g *graphClient) FindApplications(ctx context.Context, displayName string) ([]Application, error) {
	q := url.Values{"$filter": {"displayName eq " + odataString(displayName)}}
	apps, err := g.list(ctx, "Graph find applications named "+displayName, "/applications?"+q.Encode())
	if err != nil {
		return nil, err
	}
	out := make([]Application, 0, len(apps))
	for _, a := range apps {
		out = append(out, a.app())
	}
	return out, nil
}

func (g *graphClient) FindServicePrincipal(ctx context.Context, appID string) (ServicePrincipal, error) {
	q := url.Values{"$filter": {"appId eq " + odataString(appID)}}
	list, err := g.list(ctx, "Graph find service principal of "+appID, "/servicePrincipals?"+q.Encode())
	if err != nil {
		return ServicePrincipal{}, err
	}
	if len(list) == 0 {
		return ServicePrincipal{}, &Error{Op: "Graph find service principal of " + appID, StatusCode: http.StatusNotFound, Code: CodeGraphResourceNotFound}
	}
	return ServicePrincipal{ObjectID: list[0].ID, AppID: list[0].AppID}, nil
}

func (g *graphClient) DeleteApplication(ctx context.Context, objectID string) error {
	return g.do(ctx, "Graph delete application "+objectID, http.MethodDelete, "/applications/"+url.PathEscape(objectID), nil, nil, http.StatusNoContent, http.StatusOK)
}

func (g *graphClient) PermanentlyDelete(ctx context.Context, objectID string) error {
	return g.do(ctx, "Graph permanently delete "+objectID, http.MethodDelete, "/directory/deletedItems/"+url.PathEscape(objectID), nil, nil, http.StatusNoContent, http.StatusOK)
}

func (g *graphClient) ListDeletedApplications(ctx context.Context, prefix string) ([]Application, error) {
	q := url.Values{"$filter": {"startswith(displayName," + odataString(prefix) + ")"}}
	apps, err := g.list(ctx, "Graph list deleted applications", "/directory/deletedItems/microsoft.graph.application?"+q.Encode())
	if err != nil {
		return nil, err
	}
	out := make([]Application, 0, len(apps))
	for _, a := range apps {
		out = append(out, a.app())
	}
	return out, nil
}

func (g *graphClient) ListTaggedApplications(ctx context.Context, tag string) ([]Application, error) {
	q := url.Values{"$filter": {"tags/any(t:t eq " + odataString(tag) + ")"}}
	apps, err := g.list(ctx, "Graph list applications tagged "+tag, "/applications?"+q.Encode())
	if err != nil {
		return nil, err
	}
	out := make([]Application, 0, len(apps))
	for _, a := range apps {
		out = append(out, a.app())
	}
	return out, nil
}
