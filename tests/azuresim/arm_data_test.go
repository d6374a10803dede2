package azuresim

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

const pathCond = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'}) AND " +
	"!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'})) OR " +
	"(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringStartsWith '2026/12/'))"

func roleDefID(s *Sim, guid string) string {
	return "/subscriptions/" + s.SubscriptionID() + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

func assign(t *testing.T, c *armauthorization.RoleAssignmentsClient, scope, name, role, principal, cond string) error {
	t.Helper()
	p := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr(role), PrincipalID: to.Ptr(principal), PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal)}}
	if cond != "" {
		p.Properties.Condition, p.Properties.ConditionVersion = to.Ptr(cond), to.Ptr("2.0")
	}
	_, err := c.Create(context.Background(), scope, name, p, nil)
	return err
}

func respCode(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

func TestBlobPrefixScoping(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	ra, err := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), rootCred(t, s), armOpts(s))
	if err != nil {
		t.Fatal(err)
	}
	p := s.CreatePrincipal("task", time.Hour)
	scope := s.ContainerScope("stexports", "exports")
	name := newGUID()
	if err := assign(t, ra, scope, name, roleDefID(s, RoleStorageBlobDataContributor), p.ObjectID, pathCond); err != nil {
		t.Fatal(err)
	}
	got, err := ra.Get(ctx, scope, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Properties.Condition != pathCond || *got.Properties.ConditionVersion != "2.0" || *got.Properties.Scope != scope ||
		!strings.HasSuffix(*got.Properties.RoleDefinitionID, RoleStorageBlobDataContributor) {
		t.Fatalf("assignment %+v", got.Properties)
	}
	// The same role, principal, scope and condition under another name is a conflict.
	if err := assign(t, ra, scope, newGUID(), roleDefID(s, RoleStorageBlobDataContributor), p.ObjectID, pathCond); err == nil {
		t.Fatal("duplicate assignment accepted")
	} else if st, code := respCode(err); st != 409 || code != "RoleAssignmentExists" {
		t.Fatalf("duplicate: %v", err)
	}
	if err := assign(t, ra, scope, newGUID(), roleDefID(s, RoleStorageBlobDataReader), p.ObjectID, "@Resource[x] Bogus 'y'"); err == nil {
		t.Fatal("bad condition accepted")
	} else if st, _ := respCode(err); st != 400 {
		t.Fatalf("bad condition: %v", err)
	}

	cred := secretCred(t, s, p.ClientID, p.ClientSecret)
	bc, err := azblob.NewClient(s.BlobServiceURL("stexports"), cred, &azblob.ClientOptions{ClientOptions: s.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bc.UploadBuffer(ctx, "exports", "2026/12/part-0.csv", []byte("a,b\n1,2\n"), nil); err != nil {
		t.Fatalf("write under prefix: %v", err)
	}
	if b, ok := s.Blob("stexports", "exports", "2026/12/part-0.csv"); !ok || string(b) != "a,b\n1,2\n" {
		t.Fatalf("stored blob %q", b)
	}
	resp, err := bc.DownloadStream(ctx, "exports", "2026/12/part-0.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if buf.String() != "a,b\n1,2\n" {
		t.Fatalf("download %q", buf.String())
	}
	_, err = bc.UploadBuffer(ctx, "exports", "2026/11/part-0.csv", []byte("x"), nil)
	if !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Fatalf("write outside prefix: %v", err)
	}
	_, err = bc.UploadBuffer(ctx, "private", "2026/12/part-0.csv", []byte("x"), nil)
	if !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Fatalf("write in other container: %v", err)
	}
	pager := bc.NewListBlobsFlatPager("exports", nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 1 || *page.Segment.BlobItems[0].Name != "2026/12/part-0.csv" {
		t.Fatalf("list: %v %+v", err, page)
	}

	// Management plane: listKeys, role assignment write and access policy write are denied.
	armc := newREST(s, cred, ResourceARM, s.URL())
	st, body, _ := armc.do(t, "POST", s.StorageAccountID("stexports")+"/listKeys?api-version=2023-01-01", nil)
	if st != 403 || errCode(body) != "AuthorizationFailed" {
		t.Fatalf("listKeys: %d %v", st, body)
	}
	pra, _ := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), cred, armOpts(s))
	err = assign(t, pra, scope, newGUID(), roleDefID(s, RoleStorageBlobDataOwner), p.ObjectID, "")
	if st, code := respCode(err); st != 403 || code != "AuthorizationFailed" {
		t.Fatalf("escalation via role assignment: %v", err)
	}
	st, body, _ = armc.do(t, "PUT", s.VaultID("kv-prod")+"/accessPolicies/add?api-version=2023-07-01",
		map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{"tenantId": s.TenantID(), "objectId": p.ObjectID,
			"permissions": map[string]any{"secrets": []string{"get"}}}}}})
	if st != 403 || errCode(body) != "AuthorizationFailed" {
		t.Fatalf("access policy write: %d %v", st, body)
	}
	// Root can list keys.
	rootARM := newREST(s, rootCred(t, s), ResourceARM, s.URL())
	st, body, _ = rootARM.do(t, "POST", s.StorageAccountID("stexports")+"/listKeys?api-version=2023-01-01", nil)
	if st != 200 || len(body["keys"].([]any)) != 2 {
		t.Fatalf("root listKeys: %d %v", st, body)
	}
	st, body, _ = rootARM.do(t, "POST", s.StorageAccountID("stexports")+"/listKeys", nil)
	if st != 400 || errCode(body) != "MissingApiVersionParameter" {
		t.Fatalf("no api-version: %d %v", st, body)
	}

	// Activity log: the denied writes and the assignment create, filtered by caller.
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	filter := url.QueryEscape("eventTimestamp ge '" + from + "' and caller eq '" + p.ClientID + "'")
	st, body, _ = rootARM.do(t, "GET", "/subscriptions/"+s.SubscriptionID()+"/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter="+filter, nil)
	if st != 200 {
		t.Fatalf("activity: %d %v", st, body)
	}
	ops := map[string]string{}
	for _, v := range body["value"].([]any) {
		e := v.(map[string]any)
		ops[e["operationName"].(map[string]any)["value"].(string)] = e["status"].(map[string]any)["value"].(string)
	}
	for _, want := range []string{"Microsoft.Storage/storageAccounts/listkeys/action", "Microsoft.Authorization/roleAssignments/write", "Microsoft.KeyVault/vaults/accessPolicies/write"} {
		if ops[want] != "Failed" {
			t.Fatalf("activity for caller: %v", ops)
		}
	}

	// Listing through the SDK pager, filtered by principal.
	pg := ra.NewListForScopePager(s.StorageAccountID("stexports"), &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr(url.QueryEscape("principalId eq '" + p.ObjectID + "'"))})
	lp, err := pg.NextPage(ctx)
	if err != nil || len(lp.Value) != 1 || *lp.Value[0].Name != name {
		t.Fatalf("list for scope: %v %+v", err, lp.Value)
	}

	// Removing the assignment removes access.
	if _, err := ra.Delete(ctx, scope, name, nil); err != nil {
		t.Fatal(err)
	}
	_, err = bc.UploadBuffer(ctx, "exports", "2026/12/part-1.csv", []byte("x"), nil)
	if !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Fatalf("write after delete: %v", err)
	}
	if _, err := ra.Get(ctx, scope, name, nil); err == nil {
		t.Fatal("deleted assignment still readable")
	}
}

func TestPathOnlyConditionDeniesList(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	ra, _ := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), rootCred(t, s), armOpts(s))
	p := s.CreatePrincipal("reader", time.Hour)
	cond := "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike 'reports/*.csv'"
	if err := assign(t, ra, s.StorageAccountID("stexports"), newGUID(), roleDefID(s, RoleStorageBlobDataContributor), p.ObjectID, cond); err != nil {
		t.Fatal(err)
	}
	bc, _ := azblob.NewClient(s.BlobServiceURL("stexports"), secretCred(t, s, p.ClientID, p.ClientSecret), &azblob.ClientOptions{ClientOptions: s.clientOptions()})
	if _, err := bc.UploadBuffer(ctx, "private", "reports/q4.csv", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.UploadBuffer(ctx, "private", "reports/q4.json", []byte("x"), nil); !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Fatalf("StringLike mismatch: %v", err)
	}
	// List Blobs carries no blob path: the condition is false, so listing is denied.
	_, err := bc.NewListBlobsFlatPager("private", nil).NextPage(ctx)
	if !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Fatalf("list with path-only condition: %v", err)
	}
	if _, err := bc.DeleteBlob(ctx, "private", "reports/q4.csv", nil); err != nil {
		t.Fatal(err)
	}
}

func TestKeyVaultSecretScope(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	ra, _ := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), rootCred(t, s), armOpts(s))
	p := s.CreatePrincipal("kv-task", time.Hour)
	if err := assign(t, ra, s.SecretScope("kv-prod", "db-password"), newGUID(), roleDefID(s, RoleKeyVaultSecretsUser), p.ObjectID, ""); err != nil {
		t.Fatal(err)
	}
	kc, err := azsecrets.NewClient(s.VaultURL("kv-prod"), secretCred(t, s, p.ClientID, p.ClientSecret), &azsecrets.ClientOptions{
		ClientOptions: s.clientOptions(), DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := kc.GetSecret(ctx, "db-password", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Value != "s3cr3t-db" || got.ID.Name() != "db-password" {
		t.Fatalf("secret %v %v", *got.Value, *got.ID)
	}
	_, err = kc.GetSecret(ctx, "api-key", "", nil)
	if st, code := respCode(err); st != 403 || code != "Forbidden" {
		t.Fatalf("other secret: %v", err)
	}
	_, err = kc.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	if st, _ := respCode(err); st != 403 {
		t.Fatalf("set secret: %v", err)
	}
	// Role definitions read through the real client.
	rd, _ := armauthorization.NewRoleDefinitionsClient(rootCred(t, s), armOpts(s))
	def, err := rd.Get(ctx, "/subscriptions/"+s.SubscriptionID(), RoleKeyVaultSecretsUser, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *def.Properties.RoleName != "Key Vault Secrets User" || len(def.Properties.Permissions[0].DataActions) != 2 {
		t.Fatalf("definition %+v", def.Properties)
	}
}

func TestReplicationDelay(t *testing.T) {
	clk := &testClock{}
	s := startSim(t, Options{Now: clk.Now, ReplicationDelay: time.Minute})
	g := newREST(s, rootCred(t, s), ResourceGraph, s.GraphV1())
	_, app, _ := g.do(t, "POST", "/applications", map[string]any{"displayName": "fresh"})
	_, sp, _ := g.do(t, "POST", "/servicePrincipals", map[string]any{"appId": app["appId"]})
	armc := newREST(s, rootCred(t, s), ResourceARM, s.URL())
	role := RoleStorageBlobDataReader
	put := func(ptype string) (int, map[string]any) {
		props := map[string]any{"roleDefinitionId": roleDefID(s, role), "principalId": sp["id"]}
		if ptype != "" {
			props["principalType"] = ptype
		}
		st, body, _ := armc.do(t, "PUT", s.ContainerScope("stexports", "exports")+"/providers/Microsoft.Authorization/roleAssignments/"+newGUID()+"?api-version=2022-04-01", map[string]any{"properties": props})
		return st, body
	}
	if st, body := put(""); st != 400 || errCode(body) != "PrincipalNotFound" {
		t.Fatalf("untyped during delay: %d %v", st, body)
	}
	// principalType bypasses the directory lookup, as Azure documents...
	if st, body := put("ServicePrincipal"); st != 201 {
		t.Fatalf("typed during delay: %d %v", st, body)
	}
	// ...unless strict.
	s.mu.Lock()
	s.opts.StrictReplication = true
	s.mu.Unlock()
	if st, body := put("User"); st != 400 || errCode(body) != "PrincipalNotFound" {
		t.Fatalf("strict typed during delay: %d %v", st, body)
	}
	clk.Advance(2 * time.Minute)
	role = RoleStorageBlobDataContributor
	if st, body := put("User"); st != 201 {
		t.Fatalf("after delay: %d %v", st, body)
	}
	// A never-existing principal is always unknown.
	sp["id"] = newGUID()
	if st, body := put("ServicePrincipal"); st != 400 || errCode(body) != "PrincipalNotFound" {
		t.Fatalf("unknown principal: %d %v", st, body)
	}
	// Credential propagation delay: a new secret is refused for a while.
	s.SetCredentialPropagationDelay(30 * time.Second)
	_, pw, _ := g.do(t, "POST", "/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{}})
	if _, err := tokenFor(t, secretCred(t, s, app["appId"].(string), pw["secretText"].(string)), ResourceARM); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("new secret during propagation: %v", err)
	}
	clk.Advance(time.Minute)
	if _, err := tokenFor(t, secretCred(t, s, app["appId"].(string), pw["secretText"].(string)), ResourceARM); err != nil {
		t.Fatal(err)
	}
}

func TestGraphReplicationAndAssignmentPropagation(t *testing.T) {
	clk := &testClock{}
	s := startSim(t, Options{Now: clk.Now, GraphReplicationDelay: 10 * time.Second, AssignmentPropagationDelay: 30 * time.Second, TokenLifetime: 5 * time.Minute})
	ctx := context.Background()
	g := newREST(s, rootCred(t, s), ResourceGraph, s.GraphV1())
	st, app, _ := g.do(t, "POST", "/applications", map[string]any{"displayName": "lagging"})
	mustStatus(t, "create", st, 201, app)
	st, body, _ := g.do(t, "POST", "/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{}})
	mustStatus(t, "addPassword during replication", st, 404, body)
	st, body, _ = g.do(t, "POST", "/servicePrincipals", map[string]any{"appId": app["appId"]})
	mustStatus(t, "sp during replication", st, 400, body)
	clk.Advance(11 * time.Second)
	st, body, _ = g.do(t, "GET", "/applications(appId='"+app["appId"].(string)+"')", nil)
	mustStatus(t, "get by appId", st, 200, body)
	st, sp, _ := g.do(t, "POST", "/servicePrincipals", map[string]any{"appId": app["appId"]})
	mustStatus(t, "sp", st, 201, sp)
	st, body, _ = g.do(t, "GET", "/servicePrincipals(appId='"+app["appId"].(string)+"')", nil)
	mustStatus(t, "get sp by appId", st, 200, body)
	st, pw, _ := g.do(t, "POST", "/applications/"+app["id"].(string)+"/addPassword", map[string]any{"passwordCredential": map[string]any{}})
	mustStatus(t, "addPassword", st, 200, pw)

	ra, _ := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), rootCred(t, s), armOpts(s))
	if err := assign(t, ra, s.VaultID("kv-prod"), newGUID(), roleDefID(s, RoleKeyVaultSecretsUser), sp["id"].(string), ""); err != nil {
		t.Fatal(err)
	}
	cred := secretCred(t, s, app["appId"].(string), pw["secretText"].(string))
	kc, _ := azsecrets.NewClient(s.VaultURL("kv-prod"), cred, &azsecrets.ClientOptions{ClientOptions: s.clientOptions(), DisableChallengeResourceVerification: true})
	if _, err := kc.GetSecret(ctx, "api-key", "", nil); err == nil {
		t.Fatal("assignment effective before propagation")
	}
	clk.Advance(time.Minute)
	if _, err := kc.GetSecret(ctx, "api-key", "", nil); err != nil {
		t.Fatal(err)
	}
	// Access tokens outlive their password (as in Azure) but not their exp.
	tok, err := tokenFor(t, cred, ResourceARM)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(6 * time.Minute)
	req, _ := http.NewRequest("GET", s.URL()+s.StorageAccountID("stexports")+"?api-version=2023-01-01", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
}

func TestBlobBlocksAndRanges(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	ra, _ := armauthorization.NewRoleAssignmentsClient(s.SubscriptionID(), rootCred(t, s), armOpts(s))
	p := s.CreatePrincipal("blocks", time.Hour)
	if err := assign(t, ra, s.ContainerScope("stexports", "exports"), newGUID(), roleDefID(s, RoleStorageBlobDataContributor), p.ObjectID, pathCond); err != nil {
		t.Fatal(err)
	}
	bc, _ := azblob.NewClient(s.BlobServiceURL("stexports"), secretCred(t, s, p.ClientID, p.ClientSecret), &azblob.ClientOptions{ClientOptions: s.clientOptions()})
	data := bytes.Repeat([]byte("0123456789"), 1000)
	if _, err := bc.UploadStream(ctx, "exports", "2026/12/big.bin", bytes.NewReader(data), &azblob.UploadStreamOptions{BlockSize: 1024, Concurrency: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.UploadStream(ctx, "exports", "2026/01/big.bin", bytes.NewReader(data), &azblob.UploadStreamOptions{BlockSize: 1024}); !bloberror.HasCode(err, bloberror.AuthorizationPermissionMismatch) {
		t.Fatalf("block upload outside prefix: %v", err)
	}
	buf := make([]byte, len(data))
	n, err := bc.DownloadBuffer(ctx, "exports", "2026/12/big.bin", buf, &azblob.DownloadBufferOptions{BlockSize: 3000})
	if err != nil || n != int64(len(data)) || !bytes.Equal(buf, data) {
		t.Fatalf("ranged download: %d %v", n, err)
	}
}

func TestAudienceAlias(t *testing.T) {
	s := New(Options{})
	s.opts.AudienceAliases = map[string]string{"https://management.sim.local": ResourceARM}
	s.Start()
	defer s.Close()
	cred := rootCred(t, s)
	tok, err := tokenFor(t, cred, "https://management.sim.local")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", s.URL()+s.StorageAccountID("stexports")+"?api-version=2023-01-01", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("alias token at ARM: %d", resp.StatusCode)
	}
	// ...but not at Graph.
	req, _ = http.NewRequest("GET", s.GraphV1()+"/applications", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ = s.Client().Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("alias token at Graph: %d", resp.StatusCode)
	}
}

func TestBlobSharedKey(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	rootARM := newREST(s, rootCred(t, s), ResourceARM, s.URL())
	st, body, _ := rootARM.do(t, "POST", s.StorageAccountID("stexports")+"/listKeys?api-version=2023-01-01", nil)
	mustStatus(t, "listKeys", st, 200, body)
	key := body["keys"].([]any)[1].(map[string]any)["value"].(string)
	kc, err := azblob.NewSharedKeyCredential("stexports", key)
	if err != nil {
		t.Fatal(err)
	}
	bc, _ := azblob.NewClientWithSharedKeyCredential(s.BlobServiceURL("stexports"), kc, &azblob.ClientOptions{ClientOptions: s.clientOptions()})
	// Keys are full access: any container, any path, blocks and lists.
	if _, err := bc.UploadStream(ctx, "private", "anything/at/all.bin", bytes.NewReader(bytes.Repeat([]byte("k"), 3000)), &azblob.UploadStreamOptions{BlockSize: 1024}); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.NewListBlobsFlatPager("private", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("anything/")}).NextPage(ctx); err != nil {
		t.Fatal(err)
	}
	bad, _ := azblob.NewSharedKeyCredential("stexports", base64.StdEncoding.EncodeToString([]byte("not-the-key")))
	bc2, _ := azblob.NewClientWithSharedKeyCredential(s.BlobServiceURL("stexports"), bad, &azblob.ClientOptions{ClientOptions: s.clientOptions()})
	if _, err := bc2.UploadBuffer(ctx, "private", "x", []byte("x"), nil); !bloberror.HasCode(err, bloberror.AuthenticationFailed) {
		t.Fatalf("bad key: %v", err)
	}
}
