package azuresim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

func TestFaultThrottleRetryAfter(t *testing.T) {
	s := startSim(t, Options{})
	tok, err := tokenFor(t, rootCred(t, s), ResourceGraph)
	if err != nil {
		t.Fatal(err)
	}
	id := s.InjectFault(FaultSpec{Service: ServiceGraph, Operation: "CreateApplication", Kind: FaultThrottle, Count: 1, RetryAfter: 1})
	// Raw: 429 with Retry-After and Graph's error body.
	req, _ := http.NewRequest("POST", s.GraphV1()+"/applications", strings.NewReader(`{"displayName":"a"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || errCode(body) != "TooManyRequests" {
		t.Fatalf("throttle: %d %q %v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if s.FaultsFired(id) != 1 {
		t.Fatalf("fired %d", s.FaultsFired(id))
	}
	// Through azcore: the retry policy honours Retry-After and succeeds.
	s.InjectFault(FaultSpec{Service: ServiceGraph, Operation: "CreateApplication", Kind: FaultThrottle, Count: 1, RetryAfter: 1})
	g := newREST(s, rootCred(t, s), ResourceGraph, s.GraphV1())
	n0 := s.OperationCount(ServiceGraph, "CreateApplication")
	start := time.Now()
	st, app, _ := g.do(t, "POST", "/applications", map[string]any{"displayName": "b"})
	mustStatus(t, "create after throttle", st, 201, app)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("Retry-After not honoured: %v", d)
	}
	if n := s.OperationCount(ServiceGraph, "CreateApplication") - n0; n != 2 {
		t.Fatalf("calls %d", n)
	}
}

func TestFaultAfterEffectAndNth(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	// Crash right after the application is created: the response is a 500 but the app
	// exists; azcore retries the POST and a second app is created, as against real Graph.
	g := newREST(s, rootCred(t, s), ResourceGraph, s.GraphV1())
	before := s.Counts().Applications
	s.InjectFault(FaultSpec{Service: ServiceGraph, Operation: "CreateApplication", Kind: FaultInternal, Nth: 1, AfterEffect: true})
	st, app, _ := g.do(t, "POST", "/applications", map[string]any{"displayName": "crashy"})
	mustStatus(t, "create", st, 201, app)
	if c := s.Counts().Applications - before; c != 2 {
		t.Fatalf("applications created %d, want 2 (one orphan)", c)
	}
	// 500 after the role assignment PUT committed: the SDK retries the idempotent PUT and
	// gets 200 for the existing assignment.
	ra, _ := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), rootCred(t, s), armOpts(s))
	p := s.CreatePrincipal("x", time.Hour)
	s.InjectFault(FaultSpec{Service: ServiceARM, Operation: "PutRoleAssignment", Kind: FaultUnavailable, Nth: 1, AfterEffect: true})
	if err := assign(t, ra, s.ContainerScope("stexports", "exports"), newGUID(), roleDefID(s, RoleStorageBlobDataReader), p.ObjectID, ""); err != nil {
		t.Fatal(err)
	}
	if n := s.OperationCount(ServiceARM, "PutRoleAssignment"); n != 2 {
		t.Fatalf("put calls %d", n)
	}
	if c := s.Counts().RoleAssignments; c != 2 { // root's Owner + this one
		t.Fatalf("assignments %d", c)
	}
	// Token endpoint down beyond the retry budget.
	s.InjectFault(FaultSpec{Service: ServiceEntra, Operation: "Token", Kind: FaultUnavailable, Count: 10})
	if _, err := tokenFor(t, secretCred(t, s, p.ClientID, p.ClientSecret), ResourceStorage); err == nil {
		t.Fatal("token despite 503s")
	}
	s.ClearFaults()
	// Latency on Key Vault.
	if err := assign(t, ra, s.VaultID("kv-prod"), newGUID(), roleDefID(s, RoleKeyVaultSecretsUser), p.ObjectID, ""); err != nil {
		t.Fatal(err)
	}
	kc, _ := azsecrets.NewClient(s.VaultURL("kv-prod"), secretCred(t, s, p.ClientID, p.ClientSecret), &azsecrets.ClientOptions{ClientOptions: s.clientOptions(), DisableChallengeResourceVerification: true})
	s.InjectFault(FaultSpec{Service: ServiceKeyVault, Operation: "GetSecret", Kind: FaultLatency, Latency: 200 * time.Millisecond})
	start := time.Now()
	if _, err := kc.GetSecret(ctx, "api-key", "", nil); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatal("latency not applied")
	}
}

func TestAdminEndpoint(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	hc := s.Client()
	post := func(path, body string) *http.Response {
		resp, err := hc.Post(s.URL()+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("/_sim/principals", `{"display_name":"admin-made"}`)
	var p Principal
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if p.ClientID == "" || p.ObjectID == "" {
		t.Fatalf("principal %+v", p)
	}
	ra, _ := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), rootCred(t, s), armOpts(s))
	if err := assign(t, ra, s.StorageAccountID("stexports"), newGUID(), roleDefID(s, RoleStorageBlobDataOwner), p.ObjectID, ""); err != nil {
		t.Fatal(err)
	}
	resp = post("/_sim/faults", `{"service":"blob","operation":"PutBlob","kind":"throttle","count":10,"latency":"10ms"}`)
	resp.Body.Close()
	bc, _ := azblob.NewClient(s.BlobServiceURL("stexports"), secretCred(t, s, p.ClientID, p.ClientSecret), &azblob.ClientOptions{ClientOptions: s.clientOptions()})
	if _, err := bc.UploadBuffer(ctx, "exports", "x", []byte("x"), nil); err == nil || !strings.Contains(err.Error(), "ServerBusy") {
		t.Fatalf("blob throttle: %v", err)
	}
	req, _ := http.NewRequest("DELETE", s.URL()+"/_sim/faults", nil)
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("clear faults: %v %v", err, resp)
	}
	if _, err := bc.UploadBuffer(ctx, "exports", "x", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	resp, err = hc.Get(s.URL() + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	var b Banner
	_ = json.NewDecoder(resp.Body).Decode(&b)
	resp.Body.Close()
	if b.TenantID != s.TenantID() || b.ClientID == "" || b.Counts.Applications != 2 {
		t.Fatalf("state %+v", b)
	}
	if ev := s.DataEvents(); len(ev) == 0 || ev[len(ev)-1].Operation != "PutBlob" || ev[len(ev)-1].CallerOID != p.ObjectID {
		t.Fatalf("data events %+v", ev)
	}
}
