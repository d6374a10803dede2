package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestIssueAsWorkloadVerifiesAgainstJWKS issues as the userpass workload from a role with
// allowed_tasks, grants, bound_entity_metadata and bound_cidrs, then checks the response
// fields, the lease, the token's signature against the unauthenticated JWKS, its claims,
// the discovery document, the credential record and introspection.
func TestIssueAsWorkloadVerifiesAgainstJWKS(t *testing.T) {
	role := writeRole(t, "issue", nil)
	const ttl = 10 * time.Minute
	s := mustIssue(t, env.workload.Client, role, intent(map[string]any{
		"ttl":           "10m",
		"justification": "e2e: nightly export of 2026 reports",
	}))

	// Response fields.
	d := s.Data
	id := str(d, "credential_id")
	if !strings.HasPrefix(id, "c-") {
		t.Errorf("credential_id = %q, want c-...", id)
	}
	if got := str(d, "task"); got != "nightly-export" {
		t.Errorf("task = %q", got)
	}
	if got := strs(d["destinations"]); !equalStrings(got, []string{exportsDest}) {
		t.Errorf("destinations = %q", got)
	}
	if got := strs(d["actions"]); !equalStrings(got, []string{"write"}) {
		t.Errorf("actions = %q", got)
	}
	if got := str(d, "sensitivity"); got != "internal" {
		t.Errorf("sensitivity = %q", got)
	}
	expiresAt, err := time.Parse(time.RFC3339, str(d, "expires_at"))
	if err != nil {
		t.Fatalf("expires_at %q: %v", d["expires_at"], err)
	}
	if until := time.Until(expiresAt); until < ttl-30*time.Second || until > ttl+5*time.Second {
		t.Errorf("expires_at %s is %s away, want about %s", expiresAt, until, ttl)
	}

	// Lease with the requested ttl, under the creds path.
	if !strings.HasPrefix(s.LeaseID, "nhi/creds/"+role+"/") {
		t.Errorf("lease_id = %q, want nhi/creds/%s/...", s.LeaseID, role)
	}
	if s.LeaseDuration != int(ttl.Seconds()) {
		t.Errorf("lease_duration = %d, want %d", s.LeaseDuration, int(ttl.Seconds()))
	}
	if s.Renewable {
		t.Error("token lease is renewable; the signed exp cannot move")
	}

	// Signature against the JWKS fetched without a token.
	set := fetchJWKS(t)
	raw := str(d, "token")
	header, claims := verifyToken(t, set, raw)
	if header.Algorithm != "ES256" {
		t.Errorf("alg = %s, want ES256 (the default)", header.Algorithm)
	}
	if claims.Issuer != env.srv.Issuer {
		t.Errorf("iss = %q, want %q", claims.Issuer, env.srv.Issuer)
	}
	if claims.Subject != env.workload.EntityID {
		t.Errorf("sub = %q, want the workload's entity id %q", claims.Subject, env.workload.EntityID)
	}
	if !equalStrings(claims.Audience, []string{exportsDest}) {
		t.Errorf("aud = %q, want the destinations", claims.Audience)
	}
	if got := claims.Expiry - claims.IssuedAt; got != int64(ttl.Seconds()) {
		t.Errorf("exp-iat = %d, want %d", got, int64(ttl.Seconds()))
	}
	if claims.Expiry != expiresAt.Unix() {
		t.Errorf("exp = %d, expires_at = %d", claims.Expiry, expiresAt.Unix())
	}
	if now := time.Now().Unix(); claims.IssuedAt > now+2 || claims.IssuedAt < now-60 {
		t.Errorf("iat = %d, now %d", claims.IssuedAt, now)
	}
	if claims.NotBefore == 0 || claims.NotBefore > claims.IssuedAt {
		t.Errorf("nbf = %d, iat = %d", claims.NotBefore, claims.IssuedAt)
	}
	if claims.ID != id {
		t.Errorf("jti = %q, want credential_id %q", claims.ID, id)
	}
	if claims.NHI.Task != "nightly-export" || claims.NHI.Sensitivity != "internal" || claims.NHI.Role != role ||
		!equalStrings(claims.NHI.Actions, []string{"write"}) || !equalStrings(claims.NHI.Destinations, []string{exportsDest}) {
		t.Errorf("nhi claim = %+v", claims.NHI)
	}
	if claims.Cnf != nil {
		t.Errorf("cnf present without public_key: %+v", claims.Cnf)
	}

	// Discovery, also without a token.
	status, hdr, body := httpGet(t, "/v1/nhi/.well-known/openid-configuration")
	if status != http.StatusOK {
		t.Fatalf("discovery: HTTP %d: %s", status, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("discovery Content-Type = %q", ct)
	}
	var disc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(body, &disc); err != nil {
		t.Fatalf("discovery is not JSON: %v\n%s", err, body)
	}
	if disc.Issuer != env.srv.Issuer {
		t.Errorf("discovery issuer = %q, want %q", disc.Issuer, env.srv.Issuer)
	}
	if disc.JWKSURI != env.srv.Issuer+"/jwks" {
		t.Errorf("jwks_uri = %q, want %q", disc.JWKSURI, env.srv.Issuer+"/jwks")
	}
	// What discovery points at must serve the same keys, still without a token.
	if !strings.HasPrefix(disc.JWKSURI, env.srv.Addr) {
		t.Fatalf("jwks_uri %q is not on this server", disc.JWKSURI)
	}
	status, _, body = httpGet(t, strings.TrimPrefix(disc.JWKSURI, env.srv.Addr))
	if status != http.StatusOK || !strings.Contains(string(body), header.KeyID) {
		t.Errorf("jwks_uri: HTTP %d, kid %s missing: %s", status, header.KeyID, body)
	}

	// The record: who, from where, approved what.
	rec := readRecord(t, id)
	if got := str(rec, "entity_id"); got != env.workload.EntityID {
		t.Errorf("record entity_id = %q", got)
	}
	if got := str(rec, "source_address"); got != "127.0.0.1" {
		t.Errorf("record source_address = %q, want 127.0.0.1", got)
	}
	if got := str(rec, "status"); got != "active" {
		t.Errorf("record status = %q", got)
	}
	if got := str(rec, "justification"); got != "e2e: nightly export of 2026 reports" {
		t.Errorf("record justification = %q", got)
	}
	if _, ok := rec["token"]; ok {
		t.Error("credential record exposes the token")
	}

	// Introspection as the workload (its policy allows it).
	is, err := env.workload.Client.Logical().Write("nhi/introspect", map[string]any{"token": raw})
	if err != nil {
		t.Fatalf("introspect as workload: %v", err)
	}
	if is.Data["active"] != true || str(is.Data, "sub") != env.workload.EntityID || str(is.Data, "jti") != id ||
		str(is.Data, "task") != "nightly-export" || str(is.Data, "scope") != "write" {
		t.Errorf("introspect = %v", is.Data)
	}

	// authorize: inside the intent allowed, outside refused with a reason.
	az, err := env.workload.Client.Logical().Write("nhi/authorize", map[string]any{
		"token": raw, "action": "write", "resource": "https://reports.internal/exports/2026/a.csv", "source_ip": "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if az.Data["allowed"] != true {
		t.Errorf("authorize inside the intent = %v", az.Data)
	}
	az, err = env.workload.Client.Logical().Write("nhi/authorize", map[string]any{
		"token": raw, "action": "write", "resource": "https://reports.internal/payroll/2026.csv", "source_ip": "127.0.0.1",
	})
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if az.Data["allowed"] != false || len(strs(az.Data["reasons"])) == 0 {
		t.Errorf("authorize outside the intent = %v", az.Data)
	}
	// A CIDR-bound credential is judged fail-closed when the caller does not say where
	// it is used from.
	az, err = env.workload.Client.Logical().Write("nhi/authorize", map[string]any{
		"token": raw, "action": "write", "resource": "https://reports.internal/exports/2026/a.csv",
	})
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if az.Data["allowed"] != false || !strings.Contains(strings.Join(strs(az.Data["reasons"]), " "), "source address") {
		t.Errorf("authorize without source_ip of a CIDR-bound credential = %v", az.Data)
	}
	// Used from outside the role's bound_cidrs.
	az, err = env.workload.Client.Logical().Write("nhi/authorize", map[string]any{
		"token": raw, "action": "write", "resource": "https://reports.internal/exports/2026/a.csv", "source_ip": "10.1.2.3",
	})
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if az.Data["allowed"] != false || !strings.Contains(strings.Join(strs(az.Data["reasons"]), " "), "10.1.2.3") {
		t.Errorf("authorize from outside bound_cidrs = %v", az.Data)
	}
}

// TestIssueWithReadQueryParameters issues through GET with the intent in query
// parameters (Logical().ReadWithData), as `vault read nhi/creds/<role> task=...` does.
func TestIssueWithReadQueryParameters(t *testing.T) {
	role := writeRole(t, "read", nil)
	s, err := env.workload.Client.Logical().ReadWithData("nhi/creds/"+role, map[string][]string{
		"task":         {"nightly-read"},
		"destinations": {exportsDest},
		"actions":      {"list"},
		"sensitivity":  {"confidential"},
		"ttl":          {"2m"},
	})
	if err != nil {
		t.Fatalf("read with query parameters: %v", err)
	}
	if s == nil || s.Data == nil || s.LeaseID == "" {
		t.Fatalf("read returned no credential or lease: %+v", s)
	}
	if s.LeaseDuration != 120 {
		t.Errorf("lease_duration = %d, want 120", s.LeaseDuration)
	}
	if str(s.Data, "task") != "nightly-read" || str(s.Data, "sensitivity") != "confidential" ||
		!equalStrings(strs(s.Data["actions"]), []string{"list"}) ||
		!equalStrings(strs(s.Data["destinations"]), []string{exportsDest}) {
		t.Errorf("response = %v", s.Data)
	}
	_, claims := verifyToken(t, fetchJWKS(t), str(s.Data, "token"))
	if claims.Expiry-claims.IssuedAt != 120 || claims.NHI.Task != "nightly-read" || claims.Subject != env.workload.EntityID {
		t.Errorf("claims = %+v", claims)
	}

	// Default actions: every action the grant allows, when none are asked for.
	s, err = env.workload.Client.Logical().ReadWithData("nhi/creds/"+role, map[string][]string{
		"task":         {"nightly-read"},
		"destinations": {exportsDest},
	})
	if err != nil {
		t.Fatalf("read without actions: %v", err)
	}
	if got := strs(s.Data["actions"]); !equalStrings(got, []string{"write", "list"}) {
		t.Errorf("default actions = %q, want every granted action [write list]", got)
	}
	if got := str(s.Data, "sensitivity"); got != "internal" {
		t.Errorf("default sensitivity = %q, want internal", got)
	}
	if s.LeaseDuration != 300 {
		t.Errorf("default lease_duration = %d, want the role's ttl 300", s.LeaseDuration)
	}

	// A refusal through GET is the same 403.
	_, err = env.workload.Client.Logical().ReadWithData("nhi/creds/"+role, map[string][]string{
		"task":         {"adhoc-dump"},
		"destinations": {exportsDest},
	})
	expectError(t, err, http.StatusForbidden, "denied by task check")
}

// TestIssueBoundToPublicKey sends a public JWK: the token carries cnf.jkt equal to the
// RFC 7638 thumbprint go-jose computes for the same key.
func TestIssueBoundToPublicKey(t *testing.T) {
	role := writeRole(t, "pop", nil)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey, KeyID: "workload-key", Use: "sig"}
	pub, err := jwk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	s := mustIssue(t, env.workload.Client, role, intent(map[string]any{"public_key": string(pub)}))
	_, claims := verifyToken(t, fetchJWKS(t), str(s.Data, "token"))
	if claims.Cnf == nil || claims.Cnf.JKT != base64.RawURLEncoding.EncodeToString(want) {
		t.Errorf("cnf = %+v, want jkt %s", claims.Cnf, base64.RawURLEncoding.EncodeToString(want))
	}

	// A private JWK is refused: the engine must never be handed key material.
	privJWK, err := jose.JSONWebKey{Key: priv}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	_, err = issue(env.workload.Client, role, intent(map[string]any{"public_key": string(privJWK)}))
	expectError(t, err, http.StatusBadRequest, "public_key:")
}

// TestTamperedTokenIsInactive changes one claim of a real token (keeping header and
// signature) and signs another with a foreign key under the engine's kid: introspect
// says inactive and authorize refuses both.
func TestTamperedTokenIsInactive(t *testing.T) {
	role := writeRole(t, "tamper", nil)
	s := mustIssue(t, env.workload.Client, role, intent(nil))
	raw := str(s.Data, "token")
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a compact JWS: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["aud"] = []string{"https://reports.internal/*"}
	widened, _ := json.Marshal(claims)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(widened) + "." + parts[2]

	header, _ := verifyToken(t, fetchJWKS(t), raw)
	foreignKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: foreignKey},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", header.KeyID))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}

	for name, tok := range map[string]string{"tampered claims": tampered, "foreign signature": forged, "garbage": "not.a.token"} {
		if isActive(t, tok) {
			t.Errorf("%s: introspect active", name)
		}
		got := authorizeAsRoot(t, tok, "write", "https://reports.internal/exports/2026/a.csv")
		if got["allowed"] != false {
			t.Errorf("%s: authorize = %v", name, got)
		}
	}
	if !isActive(t, raw) {
		t.Error("the genuine token is inactive")
	}
}
