package azuresim

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestTokenClientSecret(t *testing.T) {
	s := startSim(t, Options{})
	tok, err := tokenFor(t, rootCred(t, s), ResourceGraph)
	if err != nil {
		t.Fatal(err)
	}
	c := jwtClaims(t, tok)
	if c["aud"] != ResourceGraph || c["oid"] != s.RootObjectID() || c["tid"] != s.TenantID() || c["exp"] == nil {
		t.Fatalf("claims %v", c)
	}
	if roles, _ := c["roles"].([]any); len(roles) != 2 || roles[0] != "Application.ReadWrite.All" {
		t.Fatalf("graph roles %v", c["roles"])
	}
	tok, err = tokenFor(t, rootCred(t, s), ResourceARM)
	if err != nil {
		t.Fatal(err)
	}
	if c := jwtClaims(t, tok); c["aud"] != ResourceARM+"/" || c["roles"] != nil {
		t.Fatalf("arm claims %v", c)
	}
	id, _ := s.RootCredentials()
	_, err = tokenFor(t, secretCred(t, s, id, "wrong-secret"), ResourceGraph)
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("wrong secret: %v", err)
	}
	_, err = tokenFor(t, secretCred(t, s, "11111111-2222-4333-8444-555555555555", "x"), ResourceGraph)
	if err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Fatalf("unknown app: %v", err)
	}
	_, err = tokenFor(t, rootCred(t, s), "https://unknown.example")
	if err == nil || !strings.Contains(err.Error(), "AADSTS500011") {
		t.Fatalf("unknown resource: %v", err)
	}
}

func TestGraphLifecycle(t *testing.T) {
	clk := &testClock{}
	s := startSim(t, Options{Now: clk.Now})
	g := newREST(s, rootCred(t, s), ResourceGraph, s.GraphV1())
	before := s.Counts()

	st, app, _ := g.do(t, "POST", "/applications", map[string]any{"displayName": "nhi-task-1", "tags": []string{"nhi:cred=abc"}})
	mustStatus(t, "create app", st, 201, app)
	appObj, appID := app["id"].(string), app["appId"].(string)
	if app["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#applications/$entity" {
		t.Fatalf("context %v", app["@odata.context"])
	}
	st, sp, _ := g.do(t, "POST", "/servicePrincipals", map[string]any{"appId": appID})
	mustStatus(t, "create sp", st, 201, sp)
	spID := sp["id"].(string)
	st, body, _ := g.do(t, "POST", "/servicePrincipals", map[string]any{"appId": appID})
	mustStatus(t, "duplicate sp", st, 409, body)

	end := clk.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
	st, pw, _ := g.do(t, "POST", "/applications/"+appObj+"/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": "lease", "endDateTime": end}})
	mustStatus(t, "addPassword", st, 200, pw)
	secret, keyID := pw["secretText"].(string), pw["keyId"].(string)
	if secret == "" || pw["endDateTime"] != end || pw["hint"] != secret[:3] {
		t.Fatalf("password %v", pw)
	}
	tok, err := tokenFor(t, secretCred(t, s, appID, secret), ResourceStorage)
	if err != nil {
		t.Fatal(err)
	}
	if c := jwtClaims(t, tok); c["oid"] != spID || c["appid"] != appID {
		t.Fatalf("claims %v", c)
	}
	// GET hides the secret; $filter by appId and by tag.
	st, got, _ := g.do(t, "GET", "/applications/"+appObj, nil)
	mustStatus(t, "get app", st, 200, got)
	if pcs := got["passwordCredentials"].([]any); len(pcs) != 1 || pcs[0].(map[string]any)["secretText"] != nil {
		t.Fatalf("passwordCredentials %v", got["passwordCredentials"])
	}
	st, list, _ := g.do(t, "GET", "/applications?$filter="+urlq("appId eq '"+appID+"'"), nil)
	mustStatus(t, "filter appId", st, 200, list)
	if v := list["value"].([]any); len(v) != 1 {
		t.Fatalf("filter appId: %v", v)
	}
	st, list, _ = g.do(t, "GET", "/applications?$filter="+urlq("tags/any(t:t eq 'nhi:cred=abc')"), nil)
	mustStatus(t, "filter tag", st, 200, list)
	if v := list["value"].([]any); len(v) != 1 {
		t.Fatalf("filter tag: %v", v)
	}
	st, body, _ = g.do(t, "PATCH", "/applications/"+appObj, map[string]any{"tags": []string{"x"}})
	mustStatus(t, "patch", st, 204, body)

	// Expired password refused.
	clk.Advance(11 * time.Minute)
	if _, err := tokenFor(t, secretCred(t, s, appID, secret), ResourceStorage); err == nil || !strings.Contains(err.Error(), "AADSTS7000222") {
		t.Fatalf("expired secret: %v", err)
	}
	// Removed password refused.
	st, pw2, _ := g.do(t, "POST", "/applications/"+appObj+"/addPassword", map[string]any{"passwordCredential": map[string]any{}})
	mustStatus(t, "addPassword 2", st, 200, pw2)
	if _, err := tokenFor(t, secretCred(t, s, appID, pw2["secretText"].(string)), ResourceStorage); err != nil {
		t.Fatal(err)
	}
	st, body, _ = g.do(t, "POST", "/applications/"+appObj+"/removePassword", map[string]any{"keyId": pw2["keyId"]})
	mustStatus(t, "removePassword", st, 204, body)
	if _, err := tokenFor(t, secretCred(t, s, appID, pw2["secretText"].(string)), ResourceStorage); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("removed secret: %v", err)
	}
	st, body, _ = g.do(t, "POST", "/applications/"+appObj+"/removePassword", map[string]any{"keyId": keyID})
	mustStatus(t, "removePassword expired", st, 204, body)

	// Delete → recycle bin → permanent delete.
	st, body, _ = g.do(t, "DELETE", "/applications/"+appObj, nil)
	mustStatus(t, "delete app", st, 204, body)
	st, body, _ = g.do(t, "GET", "/applications/"+appObj, nil)
	mustStatus(t, "get deleted app", st, 404, body)
	if errCode(body) != "Request_ResourceNotFound" {
		t.Fatalf("code %v", body)
	}
	if c := s.Counts(); c.DeletedApplications != 1 || c.DeletedSPs != 1 || c.Applications != before.Applications {
		t.Fatalf("counts after soft delete %+v", c)
	}
	st, del, _ := g.do(t, "GET", "/directory/deletedItems/"+appObj, nil)
	mustStatus(t, "get deleted item", st, 200, del)
	if del["@odata.type"] != "#microsoft.graph.application" || del["deletedDateTime"] == nil {
		t.Fatalf("deleted item %v", del)
	}
	st, list, _ = g.do(t, "GET", "/directory/deletedItems/microsoft.graph.application", nil)
	mustStatus(t, "list deleted", st, 200, list)
	if len(list["value"].([]any)) != 1 {
		t.Fatalf("deleted list %v", list)
	}
	st, body, _ = g.do(t, "DELETE", "/directory/deletedItems/"+appObj, nil)
	mustStatus(t, "purge", st, 204, body)
	st, body, _ = g.do(t, "GET", "/directory/deletedItems/"+appObj, nil)
	mustStatus(t, "get purged", st, 404, body)
	if c := s.Counts(); c != before {
		t.Fatalf("counts after purge %+v, before %+v", c, before)
	}

	// A principal without Graph permissions is refused.
	p := s.CreatePrincipal("no-graph", 0)
	g2 := newREST(s, secretCred(t, s, p.ClientID, p.ClientSecret), ResourceGraph, s.GraphV1())
	st, body, _ = g2.do(t, "POST", "/applications", map[string]any{"displayName": "x"})
	mustStatus(t, "unprivileged create", st, 403, body)
	if errCode(body) != "Authorization_RequestDenied" {
		t.Fatalf("code %v", body)
	}
}

func urlq(s string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27", "(", "%28", ")", "%29", ":", "%3A", "=", "%3D").Replace(s)
}

// oidcIssuer is a tiny external OIDC issuer (like this engine's own) for federated credentials.
type oidcIssuer struct {
	srv *httptest.Server
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}

func newIssuer(t *testing.T) *oidcIssuer {
	is := &oidcIssuer{}
	is.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	is.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys"})
		case "/keys":
			x := is.ec.PublicKey.X.FillBytes(make([]byte, 32))
			y := is.ec.PublicKey.Y.FillBytes(make([]byte, 32))
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{
				map[string]string{"kty": "RSA", "kid": "r1", "n": b64(is.rsa.N.Bytes()), "e": b64(big.NewInt(int64(is.rsa.E)).Bytes())},
				map[string]string{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64(x), "y": b64(y)},
			}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(is.srv.Close)
	return is
}

func (is *oidcIssuer) sign(t *testing.T, alg, sub, aud string) string {
	kid := "r1"
	if alg == "ES256" {
		kid = "e1"
	}
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	now := time.Now()
	c, _ := json.Marshal(map[string]any{"iss": is.srv.URL, "sub": sub, "aud": aud, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": randHex(8)})
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(in))
	var sig []byte
	if alg == "ES256" {
		r, s, err := ecdsa.Sign(rand.Reader, is.ec, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	} else {
		sig, _ = rsa.SignPKCS1v15(rand.Reader, is.rsa, crypto.SHA256, sum[:])
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestTokenClientAssertion(t *testing.T) {
	s := startSim(t, Options{})
	is := newIssuer(t)
	g := newREST(s, rootCred(t, s), ResourceGraph, s.GraphV1())
	st, app, _ := g.do(t, "POST", "/applications", map[string]any{"displayName": "federated"})
	mustStatus(t, "create app", st, 201, app)
	st, sp, _ := g.do(t, "POST", "/servicePrincipals", map[string]any{"appId": app["appId"]})
	mustStatus(t, "create sp", st, 201, sp)
	st, fic, _ := g.do(t, "POST", "/applications/"+app["id"].(string)+"/federatedIdentityCredentials", map[string]any{
		"name": "vault", "issuer": is.srv.URL, "subject": "nhi-engine", "audiences": []string{"api://AzureADTokenExchange"}})
	mustStatus(t, "create fic", st, 201, fic)

	for _, tc := range []struct {
		alg, sub, want string
	}{{"RS256", "nhi-engine", ""}, {"ES256", "nhi-engine", ""}, {"RS256", "someone-else", "AADSTS70021"}} {
		cred, err := azidentity.NewClientAssertionCredential(s.TenantID(), app["appId"].(string), func(context.Context) (string, error) {
			return is.sign(t, tc.alg, tc.sub, "api://AzureADTokenExchange"), nil
		}, &azidentity.ClientAssertionCredentialOptions{ClientOptions: s.clientOptions(), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokenFor(t, cred, ResourceARM)
		if tc.want == "" {
			if err != nil {
				t.Fatalf("%s: %v", tc.alg, err)
			}
			if c := jwtClaims(t, tok); c["oid"] != sp["id"] || c["appidacr"] != "2" {
				t.Fatalf("claims %v", c)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s/%s: want %s, got %v", tc.alg, tc.sub, tc.want, err)
		}
	}
	// A forged signature (another key, same kid) is refused.
	other := newIssuer(t)
	other.srv.URL = is.srv.URL
	cred, _ := azidentity.NewClientAssertionCredential(s.TenantID(), app["appId"].(string), func(context.Context) (string, error) {
		return other.sign(t, "RS256", "nhi-engine", "api://AzureADTokenExchange"), nil
	}, &azidentity.ClientAssertionCredentialOptions{ClientOptions: s.clientOptions(), DisableInstanceDiscovery: true})
	if _, err := tokenFor(t, cred, ResourceARM); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("forged assertion: %v", err)
	}
}

func TestGraphPaging(t *testing.T) {
	s := startSim(t, Options{})
	g := newREST(s, rootCred(t, s), ResourceGraph, "")
	for i := 0; i < 4; i++ {
		st, body, _ := g.do(t, "POST", s.GraphV1()+"/applications", map[string]any{"displayName": "p", "tags": []string{"batch"}})
		mustStatus(t, "create", st, 201, body)
	}
	next := s.GraphV1() + "/applications?$top=3&$filter=" + urlq("tags/any(t:t eq 'batch')")
	total, pages := 0, 0
	for next != "" {
		st, body, _ := g.do(t, "GET", next, nil)
		mustStatus(t, "page", st, 200, body)
		total += len(body["value"].([]any))
		pages++
		next, _ = body["@odata.nextLink"].(string)
	}
	if total != 4 || pages != 2 {
		t.Fatalf("total %d pages %d", total, pages)
	}
}

func TestSignInLogs(t *testing.T) {
	s := startSim(t, Options{})
	p := s.CreatePrincipal("signer", time.Hour)
	if _, err := tokenFor(t, secretCred(t, s, p.ClientID, p.ClientSecret), ResourceStorage); err != nil {
		t.Fatal(err)
	}
	if _, err := tokenFor(t, secretCred(t, s, p.ClientID, "bad"), ResourceStorage); err == nil {
		t.Fatal("bad secret accepted")
	}
	g := newREST(s, rootCred(t, s), ResourceGraph, "")
	from := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	q := urlq("signInEventTypes/any(t: t eq 'servicePrincipal') and appId eq '"+p.ClientID+"' and createdDateTime ge ") + from
	st, body, _ := g.do(t, "GET", s.URL()+"/beta/auditLogs/signIns?$filter="+q, nil)
	mustStatus(t, "signIns", st, 200, body)
	v := body["value"].([]any)
	if len(v) != 2 {
		t.Fatalf("sign-ins %v", v)
	}
	newest, oldest := v[0].(map[string]any), v[1].(map[string]any)
	if newest["status"].(map[string]any)["errorCode"].(float64) != 7000215 || oldest["status"].(map[string]any)["errorCode"].(float64) != 0 ||
		oldest["servicePrincipalId"] != p.ObjectID || oldest["resourceDisplayName"] != "Azure Storage" {
		t.Fatalf("sign-ins %v", v)
	}
	// v1.0 has no service principal sign-ins.
	st, body, _ = g.do(t, "GET", s.URL()+"/v1.0/auditLogs/signIns", nil)
	mustStatus(t, "v1 signIns", st, 200, body)
	if len(body["value"].([]any)) != 0 {
		t.Fatalf("v1.0 sign-ins %v", body)
	}
}
