package azure

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// wireServer is a minimal Entra token endpoint + Graph + ARM over TLS, enough to check
// that DefaultClients speaks the real wire formats (the full simulator lives under
// tests/azuresim).
type wireServer struct {
	t                 *testing.T
	srv               *httptest.Server
	mu                sync.Mutex
	apps              map[string]map[string]any // object id -> application JSON
	secrets           map[string]map[string]string
	sps               map[string]string // sp id -> appId
	deleted           map[string]bool
	assignments       map[string]map[string]any // lower id -> body
	principalNotFound int
	graphAuth         int // Graph requests carrying a bearer token
}

func newWireServer(t *testing.T) *wireServer {
	w := &wireServer{t: t, apps: map[string]map[string]any{}, secrets: map[string]map[string]string{}, sps: map[string]string{},
		deleted: map[string]bool{}, assignments: map[string]map[string]any{}}
	w.srv = httptest.NewTLSServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	rootObj := newGUID()
	w.apps[rootObj] = map[string]any{"id": rootObj, "appId": fakeRootAppID, "displayName": "root"}
	w.secrets[fakeRootAppID] = map[string]string{"k0": fakeRootSecret}
	return w
}

func (w *wireServer) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.srv.Certificate().Raw}))
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func graphErr(rw http.ResponseWriter, status int, code string) {
	writeJSON(rw, status, map[string]any{"error": map[string]any{"code": code, "message": "simulated " + code}})
}

func (w *wireServer) serve(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/.well-known/openid-configuration"):
		tenant := strings.Split(strings.TrimPrefix(p, "/"), "/")[0]
		base := w.srv.URL + "/" + tenant
		writeJSON(rw, 200, map[string]any{
			"token_endpoint": base + "/oauth2/v2.0/token", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer": base + "/v2.0", "jwks_uri": base + "/discovery/v2.0/keys",
		})
	case strings.HasSuffix(p, "/oauth2/v2.0/token"):
		_ = r.ParseForm()
		id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		for _, s := range w.secrets[id] {
			if s == secret && secret != "" {
				writeJSON(rw, 200, map[string]any{"token_type": "Bearer", "access_token": "tok-" + id, "expires_in": 3600, "ext_expires_in": 3600})
				return
			}
		}
		writeJSON(rw, 401, map[string]any{"error": "invalid_client", "error_codes": []int{7000215}, "error_description": "AADSTS7000215: Invalid client secret provided."})
	case strings.HasPrefix(p, "/v1.0/"):
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") {
			w.graphAuth++
		} else {
			graphErr(rw, 401, "InvalidAuthenticationToken")
			return
		}
		w.graph(rw, r, strings.TrimPrefix(p, "/v1.0"))
	case strings.HasPrefix(p, "/subscriptions/"):
		if r.Header.Get("Authorization") != "Bearer tok-"+fakeRootAppID {
			graphErr(rw, 401, "InvalidAuthenticationToken")
			return
		}
		w.arm(rw, r)
	default:
		http.NotFound(rw, r)
	}
}

func (w *wireServer) graph(rw http.ResponseWriter, r *http.Request, p string) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	segs := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case r.Method == "POST" && p == "/applications":
		id := newGUID()
		app := map[string]any{"id": id, "appId": newGUID(), "displayName": body["displayName"], "tags": body["tags"]}
		w.apps[id] = app
		w.secrets[app["appId"].(string)] = map[string]string{}
		writeJSON(rw, 201, app)
	case r.Method == "POST" && p == "/servicePrincipals":
		id := newGUID()
		w.sps[id] = body["appId"].(string)
		writeJSON(rw, 201, map[string]any{"id": id, "appId": body["appId"]})
	case r.Method == "POST" && len(segs) == 3 && segs[2] == "addPassword":
		app, ok := w.apps[segs[1]]
		if !ok {
			graphErr(rw, 404, "Request_ResourceNotFound")
			return
		}
		pc := body["passwordCredential"].(map[string]any)
		kid, secret := newGUID(), "sec~"+newGUID()
		w.secrets[app["appId"].(string)][kid] = secret
		writeJSON(rw, 200, map[string]any{"keyId": kid, "secretText": secret, "hint": secret[:3], "endDateTime": pc["endDateTime"], "displayName": pc["displayName"]})
	case r.Method == "POST" && len(segs) == 3 && segs[2] == "removePassword":
		app, ok := w.apps[segs[1]]
		if !ok {
			graphErr(rw, 404, "Request_ResourceNotFound")
			return
		}
		delete(w.secrets[app["appId"].(string)], body["keyId"].(string))
		rw.WriteHeader(204)
	case r.Method == "GET" && p == "/applications":
		want := strings.TrimSuffix(strings.TrimPrefix(r.URL.Query().Get("$filter"), "displayName eq '"), "'")
		var out []any
		for _, a := range w.apps {
			if a["displayName"] == want {
				out = append(out, a)
			}
		}
		writeJSON(rw, 200, map[string]any{"value": out})
	case r.Method == "GET" && p == "/servicePrincipals":
		want := strings.TrimSuffix(strings.TrimPrefix(r.URL.Query().Get("$filter"), "appId eq '"), "'")
		var out []any
		for id, appID := range w.sps {
			if appID == want {
				out = append(out, map[string]any{"id": id, "appId": appID})
			}
		}
		writeJSON(rw, 200, map[string]any{"value": out})
	case r.Method == "GET" && len(segs) == 2 && segs[0] == "applications":
		app, ok := w.apps[segs[1]]
		if !ok {
			graphErr(rw, 404, "Request_ResourceNotFound")
			return
		}
		writeJSON(rw, 200, app)
	case r.Method == "DELETE" && len(segs) == 2 && segs[0] == "applications":
		app, ok := w.apps[segs[1]]
		if !ok {
			graphErr(rw, 404, "Request_ResourceNotFound")
			return
		}
		delete(w.apps, segs[1])
		delete(w.secrets, app["appId"].(string))
		for id, a := range w.sps {
			if a == app["appId"] {
				delete(w.sps, id)
			}
		}
		w.deleted[segs[1]] = true
		rw.WriteHeader(204)
	case r.Method == "DELETE" && len(segs) == 3 && segs[0] == "directory" && segs[1] == "deletedItems":
		if !w.deleted[segs[2]] {
			graphErr(rw, 404, "Request_ResourceNotFound")
			return
		}
		delete(w.deleted, segs[2])
		rw.WriteHeader(204)
	default:
		graphErr(rw, 400, "BadRequest")
	}
}

const raSegment = "/providers/microsoft.authorization/roleassignments"

func (w *wireServer) arm(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") == "" {
		graphErr(rw, 400, "MissingApiVersionParameter")
		return
	}
	lp := strings.ToLower(r.URL.Path)
	switch {
	case r.Method == "PUT" && strings.Contains(lp, raSegment+"/"):
		var body struct {
			Properties map[string]any `json:"properties"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if w.principalNotFound > 0 {
			w.principalNotFound--
			graphErr(rw, 400, "PrincipalNotFound")
			return
		}
		if _, ok := w.sps[body.Properties["principalId"].(string)]; !ok {
			graphErr(rw, 400, "PrincipalNotFound")
			return
		}
		if c, _ := body.Properties["condition"].(string); c != "" && body.Properties["conditionVersion"] != "2.0" {
			graphErr(rw, 400, "InvalidConditionVersion")
			return
		}
		i := strings.Index(lp, raSegment+"/")
		name := r.URL.Path[i+len(raSegment)+1:]
		body.Properties["scope"] = r.URL.Path[:i]
		ra := map[string]any{"id": r.URL.Path, "name": name, "type": "Microsoft.Authorization/roleAssignments", "properties": body.Properties}
		w.assignments[lp] = ra
		writeJSON(rw, 201, ra)
	case r.Method == "DELETE" && strings.Contains(lp, raSegment+"/"):
		ra, ok := w.assignments[lp]
		if !ok {
			rw.WriteHeader(204)
			return
		}
		delete(w.assignments, lp)
		writeJSON(rw, 200, ra)
	case r.Method == "GET" && strings.HasSuffix(lp, raSegment):
		want := strings.TrimSuffix(strings.TrimPrefix(r.URL.Query().Get("$filter"), "principalId eq '"), "'")
		var out []any
		for _, ra := range w.assignments {
			if ra["properties"].(map[string]any)["principalId"] == want {
				out = append(out, ra)
			}
		}
		writeJSON(rw, 200, map[string]any{"value": out})
	default:
		graphErr(rw, 404, "NotFound")
	}
}

func TestDefaultClientsOverTheWire(t *testing.T) {
	w := newWireServer(t)
	cfg := testConfig()
	cfg.AuthorityHost, cfg.GraphEndpoint, cfg.ResourceManagerEndpoint, cfg.CACert = w.srv.URL, w.srv.URL, w.srv.URL, w.caPEM()
	s := &logical.InmemStorage{}
	if err := SaveConfig(context.Background(), s, cfg); err != nil {
		t.Fatal(err)
	}
	p := New(nil, DefaultClients, WithWaits(5*time.Second, 5*time.Second, 5*time.Second), WithBackoff(10*time.Millisecond))
	w.principalNotFound = 2
	req := providers.IssueRequest{
		CredentialID: "wire-1", Role: sampleRole(), Task: "nightly-export",
		Destinations: []string{"azure://stexports/exports/2026/12/*"}, Actions: []string{"write"},
		TTL: 10 * time.Minute, Now: time.Now(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := p.Issue(ctx, s, req)
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	if len(w.assignments) != 1 || w.principalNotFound != 0 || w.graphAuth == 0 {
		t.Errorf("assignments=%d principalNotFound left=%d graphAuth=%d", len(w.assignments), w.principalNotFound, w.graphAuth)
	}
	for _, ra := range w.assignments {
		props := ra["properties"].(map[string]any)
		if !strings.Contains(props["condition"].(string), "StringStartsWith '2026/12/'") || props["principalType"] != "ServicePrincipal" {
			t.Errorf("assignment = %v", props)
		}
	}
	w.mu.Unlock()
	secret := got.Secret["client_secret"].(string)
	checker := &tokenChecker{}
	_ = checker
	cl, err := DefaultClients(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Tokens.CheckSecret(ctx, got.Public["client_id"].(string), secret); err != nil {
		t.Fatalf("issued secret: %v", err)
	}
	if err := cl.Tokens.CheckSecret(ctx, got.Public["client_id"].(string), "wrong~secret"); err == nil {
		t.Fatal("wrong secret accepted")
	} else if te, ok := err.(*TokenError); !ok || !te.Transient() || te.Codes[0] != 7000215 {
		t.Fatalf("wrong secret: %#v", err)
	}

	// Rollback by credential id alone, then by ref: nothing is left.
	if err := p.Revoke(ctx, s, providers.RevokeRequest{CredentialID: "wire-1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(ctx, s, providers.RevokeRequest{CredentialID: "wire-1", Ref: got.Ref}); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.apps) != 1 || len(w.sps) != 0 || len(w.deleted) != 0 || len(w.assignments) != 0 {
		t.Errorf("left: apps=%d sps=%d deleted=%d assignments=%d", len(w.apps)-1, len(w.sps), len(w.deleted), len(w.assignments))
	}
	_ = fmt.Sprint
	_ = url.Values{}
}
