package azuresim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// ---- Entra ID (login.microsoftonline.com) ----

func (s *Sim) serveEntra(w http.ResponseWriter, r *http.Request, seg []string) {
	// Discovery documents name the host the client used (127.0.0.1:port, or
	// login.microsoftonline.com through a hosts/proxy override), as MSAL checks that the
	// issuer's host matches its authority.
	base := "https://" + r.Host
	tenant := seg[0]
	rest := strings.Join(seg[1:], "/")
	switch {
	case tenant == "common" && rest == "discovery/instance":
		// AAD instance discovery (MSAL calls it unless DisableInstanceDiscovery).
		h := strings.TrimPrefix(base, "https://")
		writeJSON(w, 200, map[string]any{
			"tenant_discovery_endpoint": base + "/" + tenantFromAuthz(r.URL.Query().Get("authorization_endpoint"), s.opts.TenantID) + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata":                  []any{map[string]any{"preferred_network": h, "preferred_cache": h, "aliases": []string{h}}},
		})
	case rest == "v2.0/.well-known/openid-configuration" || rest == ".well-known/openid-configuration":
		if tenant != s.opts.TenantID && tenant != "organizations" && tenant != "common" {
			entraError(w, 400, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
			return
		}
		t := s.opts.TenantID
		writeJSON(w, 200, map[string]any{
			"token_endpoint":                        base + "/" + t + "/oauth2/v2.0/token",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"jwks_uri":                              base + "/" + t + "/discovery/v2.0/keys",
			"response_modes_supported":              []string{"query", "fragment", "form_post"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"issuer":                                base + "/" + t + "/v2.0",
			"authorization_endpoint":                base + "/" + t + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         base + "/" + t + "/oauth2/v2.0/devicecode",
			"end_session_endpoint":                  base + "/" + t + "/oauth2/v2.0/logout",
			"tenant_region_scope":                   "EU",
			"cloud_instance_name":                   "microsoftonline.com",
		})
	case rest == "discovery/v2.0/keys" || rest == "discovery/keys":
		writeJSON(w, 200, map[string]any{"keys": []any{s.publicJWK()}})
	case rest == "oauth2/v2.0/token" && r.Method == http.MethodPost:
		s.serveToken(w, r, tenant)
	default:
		http.NotFound(w, r)
	}
}

func tenantFromAuthz(authz, def string) string {
	// https://host/{tenant}/oauth2/v2.0/authorize
	parts := strings.Split(authz, "/")
	if len(parts) > 3 && parts[3] != "" {
		return parts[3]
	}
	return def
}

func entraError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	now := time.Now().UTC()
	trace, corr := newGUID(), newGUID()
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + fmt.Sprint(aadsts),
	})
}

func knownResource(res string) (string, bool) {
	r := strings.TrimRight(strings.ToLower(res), "/")
	switch r {
	case ResourceGraph, "00000003-0000-0000-c000-000000000000":
		return ResourceGraph, true
	case ResourceARM, ResourceARMClassic:
		return strings.TrimRight(res, "/") + "/", true
	case ResourceStorage:
		return ResourceStorage, true
	case ResourceKeyVault:
		return ResourceKeyVault, true
	}
	if strings.HasPrefix(r, "https://") && strings.HasSuffix(r, ".blob.core.windows.net") {
		return r, true
	}
	return "", false
}

func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	fault := s.TakeFault("entra", "Token")
	if f := fault; f != nil && !f.AfterEffect {
		s.writeFault(w, "entra", f)
		return
	}
	if err := r.ParseForm(); err != nil {
		entraError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if tenant != s.opts.TenantID {
		entraError(w, 400, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		entraError(w, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+gt+"'.")
		return
	}
	clientID := r.PostForm.Get("client_id")
	secretIn := r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" {
		clientID, secretIn = u, p
	}
	var resource string
	for _, sc := range strings.Fields(r.PostForm.Get("scope")) {
		if strings.HasSuffix(sc, "/.default") {
			resource = strings.TrimSuffix(sc, "/.default")
		}
	}
	if resource == "" {
		entraError(w, 400, "invalid_scope", 1002012, "The provided value for scope "+r.PostForm.Get("scope")+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
		return
	}
	aud, ok := knownResource(resource)
	for alias, canon := range s.opts.AudienceAliases {
		if !ok && strings.EqualFold(strings.TrimRight(alias, "/"), strings.TrimRight(resource, "/")) {
			if _, known := knownResource(canon); known {
				aud, ok = resource, true
			}
		}
	}
	if !ok {
		entraError(w, 400, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, s.opts.TenantID))
		return
	}
	assertion := r.PostForm.Get("client_assertion")
	now := s.now()
	credType := "clientSecret"
	if assertion != "" {
		credType = "federatedIdentityCredential"
	}
	var spForLog *servicePrincipal
	fail := func(status int, code string, n int, msg string) {
		s.recordSignIn(r, clientID, spForLog, aud, credType, n, msg)
		entraError(w, status, code, n, msg)
	}

	s.mu.Lock()
	var app *application
	for _, a := range s.apps {
		if a.AppID == clientID && s.liveApp(a.ID) != nil {
			app = a
		}
	}
	if app == nil {
		s.mu.Unlock()
		fail(400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, s.opts.TenantID))
		return
	}
	var sp *servicePrincipal
	for _, x := range s.sps {
		if x.AppID == clientID && x.Deleted == nil {
			sp = x
		}
	}
	spForLog = sp
	fics := append([]*federatedCredential(nil), app.FICs...)
	var secretErr string
	var secretCode int
	if assertion == "" {
		if secretIn == "" {
			s.mu.Unlock()
			fail(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
			return
		}
		matched := false
		secretCode, secretErr = 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'."
		for _, pw := range app.Passwords {
			if subtle.ConstantTimeCompare([]byte(pw.Secret), []byte(secretIn)) != 1 {
				continue
			}
			if now.Before(pw.Created.Add(s.opts.CredentialPropagationDelay)) || now.Before(pw.Start) {
				continue // not yet replicated: looks like an invalid secret, as in Entra
			}
			if !now.Before(pw.End) {
				secretCode, secretErr = 7000222, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", clientID)
				continue
			}
			matched = true
		}
		s.mu.Unlock()
		if !matched {
			fail(401, "invalid_client", secretCode, secretErr)
			return
		}
	} else {
		s.mu.Unlock()
		if t := r.PostForm.Get("client_assertion_type"); t != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			fail(400, "invalid_request", 50027, "Invalid client_assertion_type '"+t+"'.")
			return
		}
		if code, msg := s.verifyAssertion(assertion, fics); code != 0 {
			fail(401, "invalid_client", code, msg)
			return
		}
	}
	if sp == nil {
		fail(400, "invalid_client", 7000229, "The client application "+clientID+" is missing service principal in the tenant "+s.opts.TenantID+". See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119")
		return
	}
	acr := "1"
	if assertion != "" {
		acr = "2"
	}
	claims := map[string]any{
		"aud": aud, "iss": s.issuerV1(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.opts.TokenLifetime).Unix(),
		"appid": clientID, "appidacr": acr, "idp": s.issuerV1(), "idtyp": "app", "oid": sp.ID, "sub": sp.ID,
		"tid": s.opts.TenantID, "uti": randHex(11), "ver": "1.0", "rh": "0.sim.",
	}
	if aud == ResourceGraph {
		s.mu.Lock()
		if len(sp.GraphRoles) > 0 {
			claims["roles"] = append([]string(nil), sp.GraphRoles...)
		}
		s.mu.Unlock()
	}
	if f := fault; f != nil {
		s.writeFault(w, "entra", f)
		return
	}
	s.recordSignIn(r, clientID, sp, aud, credType, 0, "")
	life := int(s.opts.TokenLifetime/time.Second) - 1
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": s.signJWT(claims)})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (s *Sim) signJWT(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": s.kid, "x5t": s.kid})
	c, _ := json.Marshal(claims)
	in := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(nil, s.signKey, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return in + "." + b64(sig)
}

func (s *Sim) publicJWK() map[string]any {
	return map[string]any{"kty": "RSA", "use": "sig", "kid": s.kid, "x5t": s.kid, "alg": "RS256",
		"n": b64(s.signKey.N.Bytes()), "e": b64(big.NewInt(int64(s.signKey.E)).Bytes()), "issuer": s.issuerV1()}
}

// tokenClaims are the parts of an access token the resource providers use.
type tokenClaims struct {
	Aud   string   `json:"aud"`
	Iss   string   `json:"iss"`
	Exp   int64    `json:"exp"`
	Nbf   int64    `json:"nbf"`
	OID   string   `json:"oid"`
	AppID string   `json:"appid"`
	TID   string   `json:"tid"`
	Roles []string `json:"roles"`

	sharedKey bool // request authorized with a storage account key, not a token
}

var errTokenExpired = errors.New("token expired")

// verifyAccessToken checks the signature, issuer, tenant and lifetime of a token this
// simulator issued and that its audience is one of auds.
func (s *Sim) verifyAccessToken(raw string, auds ...string) (*tokenClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("malformed token")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("malformed signature")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&s.signKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return nil, errors.New("signature validation failed")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("malformed claims")
	}
	var c tokenClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, errors.New("malformed claims")
	}
	if c.Iss != s.issuerV1() || c.TID != s.opts.TenantID {
		return nil, errors.New("invalid issuer")
	}
	if s.now().Unix() >= c.Exp {
		return nil, errTokenExpired
	}
	for alias, canon := range s.opts.AudienceAliases {
		for _, a := range auds {
			if strings.EqualFold(strings.TrimRight(canon, "/"), strings.TrimRight(a, "/")) {
				auds = append(auds, alias)
				break
			}
		}
	}
	ok := false
	for _, a := range auds {
		if strings.EqualFold(strings.TrimRight(c.Aud, "/"), strings.TrimRight(a, "/")) {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("invalid audience '%s'", c.Aud)
	}
	return &c, nil
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// ---- federated client assertions ----

func (s *Sim) verifyAssertion(raw string, fics []*federatedCredential) (int, string) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return 50027, "JWT token is invalid or malformed."
	}
	var hdr struct{ Alg, Kid string }
	var cl struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
		Nbf int64           `json:"nbf"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &cl) != nil {
		return 50027, "JWT token is invalid or malformed."
	}
	var auds []string
	if json.Unmarshal(cl.Aud, &auds) != nil {
		var one string
		_ = json.Unmarshal(cl.Aud, &one)
		auds = []string{one}
	}
	var fic *federatedCredential
	for _, f := range fics {
		if f.Issuer != cl.Iss || f.Subject != cl.Sub {
			continue
		}
		for _, a := range f.Audiences {
			for _, b := range auds {
				if a == b {
					fic = f
				}
			}
		}
	}
	if fic == nil {
		return 70021, fmt.Sprintf("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.", cl.Iss, cl.Sub, strings.Join(auds, ","))
	}
	now := s.now().Unix()
	if cl.Exp == 0 || now >= cl.Exp || cl.Nbf > now+300 {
		return 700024, "Client assertion is not within its valid time range."
	}
	key, err := s.fetchIssuerKey(cl.Iss, hdr.Kid)
	if err != nil {
		return 50166, "Request to External OIDC endpoint failed: " + err.Error()
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch k := key.(type) {
	case *rsa.PublicKey:
		if hdr.Alg != "RS256" || rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) != nil {
			return 700027, "Client assertion failed signature validation."
		}
	case *ecdsa.PublicKey:
		if hdr.Alg != "ES256" || len(sig) != 64 || !ecdsa.Verify(k, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return 700027, "Client assertion failed signature validation."
		}
	default:
		return 700027, "Client assertion failed signature validation."
	}
	return 0, ""
}

// fetchIssuerKey performs OIDC discovery on the issuer and returns the JWK with kid.
func (s *Sim) fetchIssuerKey(issuer, kid string) (any, error) {
	get := func(u string, v any) error {
		resp, err := s.opts.HTTPClient.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return json.NewDecoder(resp.Body).Decode(v)
	}
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := get(strings.TrimRight(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	var set struct {
		Keys []struct{ Kty, Kid, N, E, Crv, X, Y string }
	}
	if err := get(disc.JWKSURI, &set); err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		if kid != "" && k.Kid != kid {
			continue
		}
		switch k.Kty {
		case "RSA":
			n, err1 := base64.RawURLEncoding.DecodeString(k.N)
			e, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err1 != nil || err2 != nil {
				continue
			}
			return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
		case "EC":
			if k.Crv != "P-256" {
				continue
			}
			x, err1 := base64.RawURLEncoding.DecodeString(k.X)
			y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if err1 != nil || err2 != nil {
				continue
			}
			return &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}, nil
		}
	}
	return nil, fmt.Errorf("key %q not found in issuer JWKS", kid)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
