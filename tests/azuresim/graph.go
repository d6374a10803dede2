package azuresim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- Microsoft Graph v1.0 ----

const graphMeta = "https://graph.microsoft.com/v1.0/$metadata#"

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": newGUID(), "client-request-id": newGUID()},
	}})
}

func notFoundGraph(w http.ResponseWriter, id string) {
	graphError(w, 404, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

func gtime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (a *application) json() map[string]any {
	pcs := []any{}
	for _, p := range a.Passwords {
		pcs = append(pcs, p.json(false))
	}
	var del any
	if a.Deleted != nil {
		del = gtime(*a.Deleted)
	}
	return map[string]any{
		"id": a.ID, "appId": a.AppID, "displayName": a.DisplayName, "createdDateTime": gtime(a.Created),
		"deletedDateTime": del, "signInAudience": "AzureADMyOrg", "tags": nonNil(a.Tags), "passwordCredentials": pcs,
		"keyCredentials": []any{}, "identifierUris": []any{}, "publisherDomain": "nhisim.onmicrosoft.com",
		"requiredResourceAccess": []any{}, "description": nil, "notes": nil, "isFallbackPublicClient": nil,
		"api": map[string]any{"oauth2PermissionScopes": []any{}}, "appRoles": []any{},
	}
}

func (p *password) json(secret bool) map[string]any {
	m := map[string]any{"customKeyIdentifier": nil, "displayName": nilIfEmpty(p.DisplayName), "endDateTime": gtime(p.End),
		"hint": p.Secret[:3], "keyId": p.KeyID, "secretText": nil, "startDateTime": gtime(p.Start)}
	if secret {
		m["secretText"] = p.Secret
	}
	return m
}

func (sp *servicePrincipal) json() map[string]any {
	var del any
	if sp.Deleted != nil {
		del = gtime(*sp.Deleted)
	}
	return map[string]any{
		"id": sp.ID, "appId": sp.AppID, "displayName": sp.DisplayName, "accountEnabled": true, "deletedDateTime": del,
		"servicePrincipalType": "Application", "appOwnerOrganizationId": "", "tags": nonNil(sp.Tags),
		"servicePrincipalNames": []string{sp.AppID}, "signInAudience": "AzureADMyOrg", "passwordCredentials": []any{}, "keyCredentials": []any{},
	}
}

func nonNil(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var (
	reAppByAppID = regexp.MustCompile(`^applications\(appId='([^']+)'\)(/.*)?$`)
	reSPByAppID  = regexp.MustCompile(`^servicePrincipals\(appId='([^']+)'\)$`)
	reFilterEq   = regexp.MustCompile(`^\s*(appId|displayName|id)\s+eq\s+'([^']*)'\s*$`)
	reFilterTag  = regexp.MustCompile(`^\s*tags/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'([^']*)'\s*\)\s*$`)
)

// graphFilter supports `appId eq 'x'`, `displayName eq 'x'`, `id eq 'x'` and
// `tags/any(t:t eq 'x')`, joined by `and`.
func graphFilter(f string) (func(id, appID, name string, tags []string) bool, bool) {
	if strings.TrimSpace(f) == "" {
		return func(string, string, string, []string) bool { return true }, true
	}
	var preds []func(id, appID, name string, tags []string) bool
	for _, clause := range regexp.MustCompile(`(?i)\s+and\s+`).Split(f, -1) {
		if m := reFilterEq.FindStringSubmatch(clause); m != nil {
			field, val := m[1], m[2]
			preds = append(preds, func(id, appID, name string, _ []string) bool {
				switch field {
				case "appId":
					return strings.EqualFold(appID, val)
				case "id":
					return strings.EqualFold(id, val)
				}
				return name == val
			})
			continue
		}
		if m := reFilterTag.FindStringSubmatch(clause); m != nil && m[1] == m[2] {
			val := m[3]
			preds = append(preds, func(_, _, _ string, tags []string) bool {
				for _, t := range tags {
					if strings.EqualFold(t, val) {
						return true
					}
				}
				return false
			})
			continue
		}
		return nil, false
	}
	return func(id, appID, name string, tags []string) bool {
		for _, p := range preds {
			if !p(id, appID, name, tags) {
				return false
			}
		}
		return true
	}, true
}

func (s *Sim) graphAuth(w http.ResponseWriter, r *http.Request, write bool, only ...string) (*tokenClaims, bool) {
	raw, ok := bearer(r)
	if !ok {
		graphError(w, 401, "InvalidAuthenticationToken", "Access token is empty.")
		return nil, false
	}
	c, err := s.verifyAccessToken(raw, ResourceGraph)
	if err != nil {
		msg := "Access token validation failure. Invalid audience."
		if err == errTokenExpired {
			msg = "Lifetime validation failed, the token is expired."
		} else if !strings.Contains(err.Error(), "audience") {
			msg = "Access token validation failure."
		}
		graphError(w, 401, "InvalidAuthenticationToken", msg)
		return nil, false
	}
	allowed := map[string]bool{"Application.ReadWrite.All": true, "Directory.ReadWrite.All": true}
	if len(only) > 0 {
		allowed = map[string]bool{}
		for _, o := range only {
			allowed[o] = true
		}
	} else if !write {
		allowed["Application.Read.All"] = true
		allowed["Directory.Read.All"] = true
	}
	for _, role := range c.Roles {
		if allowed[role] {
			return c, true
		}
	}
	graphError(w, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return nil, false
}

func (s *Sim) serveGraph(w http.ResponseWriter, r *http.Request) {
	beta := strings.HasPrefix(r.URL.Path, "/beta/")
	p := strings.Trim(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1.0/"), "/beta/"), "/")
	if p == "auditLogs/signIns" && r.Method == "GET" {
		if f := s.TakeFault(ServiceGraph, "ListSignIns"); f != nil {
			s.writeFault(w, ServiceGraph, f)
			return
		}
		if _, ok := s.graphAuth(w, r, false, "AuditLog.Read.All", "Directory.Read.All"); ok {
			s.gListSignIns(w, r, beta)
		}
		return
	}
	if beta {
		graphError(w, 400, "BadRequest", "The simulator serves only auditLogs/signIns on /beta.")
		return
	}
	if m := reAppByAppID.FindStringSubmatch(p); m != nil {
		s.mu.Lock()
		id := ""
		for _, a := range s.apps {
			if strings.EqualFold(a.AppID, m[1]) && a.Deleted == nil {
				id = a.ID
			}
		}
		s.mu.Unlock()
		if id == "" {
			id = "00000000-0000-0000-0000-000000000000"
		}
		p = "applications/" + id + m[2]
	}
	if m := reSPByAppID.FindStringSubmatch(p); m != nil {
		s.mu.Lock()
		id := "00000000-0000-0000-0000-000000000000"
		for _, sp := range s.sps {
			if strings.EqualFold(sp.AppID, m[1]) && sp.Deleted == nil {
				id = sp.ID
			}
		}
		s.mu.Unlock()
		p = "servicePrincipals/" + id
	}
	seg := strings.Split(p, "/")
	m := r.Method
	type route struct {
		op    string
		write bool
		h     func(w http.ResponseWriter, r *http.Request, seg []string, f *faultState)
	}
	var rt *route
	switch {
	case len(seg) == 1 && seg[0] == "applications" && m == "POST":
		rt = &route{"CreateApplication", true, s.gCreateApp}
	case len(seg) == 1 && seg[0] == "applications" && m == "GET":
		rt = &route{"ListApplications", false, s.gListApps}
	case len(seg) == 2 && seg[0] == "applications" && m == "GET":
		rt = &route{"GetApplication", false, s.gGetApp}
	case len(seg) == 2 && seg[0] == "applications" && m == "PATCH":
		rt = &route{"UpdateApplication", true, s.gPatchApp}
	case len(seg) == 2 && seg[0] == "applications" && m == "DELETE":
		rt = &route{"DeleteApplication", true, s.gDeleteApp}
	case len(seg) == 3 && seg[0] == "applications" && seg[2] == "addPassword" && m == "POST":
		rt = &route{"AddPassword", true, s.gAddPassword}
	case len(seg) == 3 && seg[0] == "applications" && seg[2] == "removePassword" && m == "POST":
		rt = &route{"RemovePassword", true, s.gRemovePassword}
	case len(seg) == 3 && seg[0] == "applications" && seg[2] == "federatedIdentityCredentials" && m == "POST":
		rt = &route{"CreateFederatedIdentityCredential", true, s.gCreateFIC}
	case len(seg) == 3 && seg[0] == "applications" && seg[2] == "federatedIdentityCredentials" && m == "GET":
		rt = &route{"ListFederatedIdentityCredentials", false, s.gListFIC}
	case len(seg) == 4 && seg[0] == "applications" && seg[2] == "federatedIdentityCredentials" && m == "DELETE":
		rt = &route{"DeleteFederatedIdentityCredential", true, s.gDeleteFIC}
	case len(seg) == 1 && seg[0] == "servicePrincipals" && m == "POST":
		rt = &route{"CreateServicePrincipal", true, s.gCreateSP}
	case len(seg) == 1 && seg[0] == "servicePrincipals" && m == "GET":
		rt = &route{"ListServicePrincipals", false, s.gListSPs}
	case len(seg) == 2 && seg[0] == "servicePrincipals" && m == "GET":
		rt = &route{"GetServicePrincipal", false, s.gGetSP}
	case len(seg) == 2 && seg[0] == "servicePrincipals" && m == "DELETE":
		rt = &route{"DeleteServicePrincipal", true, s.gDeleteSP}
	case len(seg) == 3 && seg[0] == "directory" && seg[1] == "deletedItems" && strings.HasPrefix(seg[2], "microsoft.graph.") && m == "GET":
		rt = &route{"ListDeletedItems", false, s.gListDeleted}
	case len(seg) == 3 && seg[0] == "directory" && seg[1] == "deletedItems" && m == "GET":
		rt = &route{"GetDeletedItem", false, s.gGetDeleted}
	case len(seg) == 3 && seg[0] == "directory" && seg[1] == "deletedItems" && m == "DELETE":
		rt = &route{"PermanentlyDeleteItem", true, s.gPurgeDeleted}
	}
	if rt == nil {
		graphError(w, 400, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg[len(seg)-1]))
		return
	}
	f := s.TakeFault(ServiceGraph, rt.op)
	if f != nil && !f.AfterEffect {
		s.writeFault(w, ServiceGraph, f)
		return
	}
	if _, ok := s.graphAuth(w, r, rt.write); !ok {
		return
	}
	if f != nil {
		rec := &discardWriter{h: http.Header{}}
		rt.h(rec, r, seg, nil)
		s.writeFault(w, ServiceGraph, f)
		return
	}
	rt.h(w, r, seg, nil)
}

type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		graphError(w, 400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return false
	}
	return true
}

func (s *Sim) liveApp(id string) *application {
	if a := s.apps[id]; a != nil && a.Deleted == nil && !s.now().Before(a.Created.Add(s.opts.GraphReplicationDelay)) {
		return a
	}
	return nil
}

func (s *Sim) gCreateApp(w http.ResponseWriter, r *http.Request, _ []string, _ *faultState) {
	var body struct {
		DisplayName string   `json:"displayName"`
		Tags        []string `json:"tags"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.DisplayName == "" {
		graphError(w, 400, "Request_BadRequest", "Invalid value specified for property 'displayName' of resource 'Application'.")
		return
	}
	s.mu.Lock()
	a := &application{ID: newGUID(), AppID: newGUID(), DisplayName: body.DisplayName, Tags: body.Tags, Created: s.now()}
	s.apps[a.ID] = a
	out := a.json()
	s.mu.Unlock()
	out["@odata.context"] = graphMeta + "applications/$entity"
	writeJSON(w, 201, out)
}

func (s *Sim) gListApps(w http.ResponseWriter, r *http.Request, _ []string, _ *faultState) {
	pred, ok := graphFilter(r.URL.Query().Get("$filter"))
	if !ok {
		graphError(w, 400, "Request_UnsupportedQuery", "Unsupported Query.")
		return
	}
	s.mu.Lock()
	var list []*application
	for _, a := range s.apps {
		if a.Deleted == nil && pred(a.ID, a.AppID, a.DisplayName, a.Tags) {
			list = append(list, a)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		return list[i].Created.Before(list[j].Created) || list[i].Created.Equal(list[j].Created) && list[i].ID < list[j].ID
	})
	vals := []any{}
	for _, a := range list {
		vals = append(vals, a.json())
	}
	s.mu.Unlock()
	s.writePage(w, r, "applications", vals)
}

func (s *Sim) gGetApp(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	s.mu.Lock()
	a := s.liveApp(seg[1])
	if a == nil {
		s.mu.Unlock()
		notFoundGraph(w, seg[1])
		return
	}
	out := a.json()
	s.mu.Unlock()
	out["@odata.context"] = graphMeta + "applications/$entity"
	writeJSON(w, 200, out)
}

func (s *Sim) gPatchApp(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	var body map[string]json.RawMessage
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveApp(seg[1])
	if a == nil {
		notFoundGraph(w, seg[1])
		return
	}
	if v, ok := body["tags"]; ok {
		var t []string
		if json.Unmarshal(v, &t) != nil {
			graphError(w, 400, "BadRequest", "Invalid value for property 'tags'.")
			return
		}
		a.Tags = t
	}
	if v, ok := body["displayName"]; ok {
		_ = json.Unmarshal(v, &a.DisplayName)
	}
	w.WriteHeader(204)
}

// gDeleteApp soft-deletes the application (recycle bin, 30 days in Azure) and the service
// principal of that app.
func (s *Sim) gDeleteApp(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveApp(seg[1])
	if a == nil {
		notFoundGraph(w, seg[1])
		return
	}
	now := s.now()
	a.Deleted = &now
	for _, sp := range s.sps {
		if sp.AppID == a.AppID && sp.Deleted == nil {
			sp.Deleted = &now
		}
	}
	w.WriteHeader(204)
}

func (s *Sim) gAddPassword(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	var body struct {
		PasswordCredential struct {
			DisplayName   string `json:"displayName"`
			StartDateTime string `json:"startDateTime"`
			EndDateTime   string `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	now := s.now()
	pw := &password{KeyID: newGUID(), DisplayName: body.PasswordCredential.DisplayName, Secret: newSecret(), Start: now, End: now.AddDate(2, 0, 0), Created: now}
	for _, x := range []struct {
		v   string
		dst *time.Time
	}{{body.PasswordCredential.StartDateTime, &pw.Start}, {body.PasswordCredential.EndDateTime, &pw.End}} {
		if x.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, x.v)
		if err != nil {
			graphError(w, 400, "BadRequest", "Invalid value for DateTimeOffset: '"+x.v+"'.")
			return
		}
		*x.dst = t.UTC()
	}
	if !pw.End.After(pw.Start) {
		graphError(w, 400, "InvalidKeyEndDate", "Key credential end date is invalid.")
		return
	}
	s.mu.Lock()
	a := s.liveApp(seg[1])
	if a == nil {
		s.mu.Unlock()
		notFoundGraph(w, seg[1])
		return
	}
	a.Passwords = append(a.Passwords, pw)
	s.mu.Unlock()
	out := pw.json(true)
	out["@odata.context"] = graphMeta + "microsoft.graph.passwordCredential"
	writeJSON(w, 200, out)
}

func (s *Sim) gRemovePassword(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	var body struct {
		KeyID string `json:"keyId"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveApp(seg[1])
	if a == nil {
		notFoundGraph(w, seg[1])
		return
	}
	for i, p := range a.Passwords {
		if strings.EqualFold(p.KeyID, body.KeyID) {
			a.Passwords = append(a.Passwords[:i], a.Passwords[i+1:]...)
			w.WriteHeader(204)
			return
		}
	}
	graphError(w, 400, "CannotDeleteOrUpdateKeyCredential", "No password credential found with keyId "+body.KeyID+".")
}

func (s *Sim) gCreateFIC(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	var f federatedCredential
	if !decodeBody(w, r, &f) {
		return
	}
	if f.Name == "" || f.Issuer == "" || f.Subject == "" || len(f.Audiences) != 1 {
		graphError(w, 400, "Request_BadRequest", "name, issuer, subject and exactly one audience are required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveApp(seg[1])
	if a == nil {
		notFoundGraph(w, seg[1])
		return
	}
	if len(a.FICs) >= 20 {
		graphError(w, 400, "Request_BadRequest", "The maximum number of federated identity credentials (20) has been reached.")
		return
	}
	for _, x := range a.FICs {
		if x.Name == f.Name || x.Issuer == f.Issuer && x.Subject == f.Subject {
			graphError(w, 409, "Request_MultipleObjectsWithSameKeyValue", "FederatedIdentityCredential with name "+f.Name+" already exists.")
			return
		}
	}
	f.ID = newGUID()
	a.FICs = append(a.FICs, &f)
	b, _ := json.Marshal(f)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	out["@odata.context"] = graphMeta + "applications('" + a.ID + "')/federatedIdentityCredentials/$entity"
	writeJSON(w, 201, out)
}

func (s *Sim) gListFIC(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveApp(seg[1])
	if a == nil {
		notFoundGraph(w, seg[1])
		return
	}
	vals := []any{}
	for _, f := range a.FICs {
		vals = append(vals, f)
	}
	writeJSON(w, 200, map[string]any{"@odata.context": graphMeta + "applications('" + a.ID + "')/federatedIdentityCredentials", "value": vals})
}

func (s *Sim) gDeleteFIC(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveApp(seg[1])
	if a == nil {
		notFoundGraph(w, seg[1])
		return
	}
	for i, f := range a.FICs {
		if f.ID == seg[3] || f.Name == seg[3] {
			a.FICs = append(a.FICs[:i], a.FICs[i+1:]...)
			w.WriteHeader(204)
			return
		}
	}
	notFoundGraph(w, seg[3])
}

func (s *Sim) gCreateSP(w http.ResponseWriter, r *http.Request, _ []string, _ *faultState) {
	var body struct {
		AppID string   `json:"appId"`
		Tags  []string `json:"tags"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var app *application
	for _, a := range s.apps {
		if strings.EqualFold(a.AppID, body.AppID) && s.liveApp(a.ID) != nil {
			app = a
		}
	}
	if app == nil {
		graphError(w, 400, "Request_BadRequest", "The appId '"+body.AppID+"' of the service principal does not reference a valid application object.")
		return
	}
	for _, sp := range s.sps {
		if sp.AppID == app.AppID && sp.Deleted == nil {
			graphError(w, 409, "Request_MultipleObjectsWithSameKeyValue", "The service principal cannot be created, updated, or restored because the service principal name "+app.AppID+" is already in use.")
			return
		}
	}
	sp := &servicePrincipal{ID: newGUID(), AppID: app.AppID, DisplayName: app.DisplayName, Tags: body.Tags, Created: s.now()}
	s.sps[sp.ID] = sp
	out := sp.json()
	out["appOwnerOrganizationId"] = s.opts.TenantID
	out["@odata.context"] = graphMeta + "servicePrincipals/$entity"
	writeJSON(w, 201, out)
}

func (s *Sim) gListSPs(w http.ResponseWriter, r *http.Request, _ []string, _ *faultState) {
	pred, ok := graphFilter(r.URL.Query().Get("$filter"))
	if !ok {
		graphError(w, 400, "Request_UnsupportedQuery", "Unsupported Query.")
		return
	}
	s.mu.Lock()
	vals := []any{}
	var list []*servicePrincipal
	for _, sp := range s.sps {
		if sp.Deleted == nil && pred(sp.ID, sp.AppID, sp.DisplayName, sp.Tags) {
			list = append(list, sp)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	for _, sp := range list {
		o := sp.json()
		o["appOwnerOrganizationId"] = s.opts.TenantID
		vals = append(vals, o)
	}
	s.mu.Unlock()
	s.writePage(w, r, "servicePrincipals", vals)
}

func (s *Sim) gGetSP(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	s.mu.Lock()
	sp := s.sps[seg[1]]
	if sp == nil || sp.Deleted != nil {
		s.mu.Unlock()
		notFoundGraph(w, seg[1])
		return
	}
	out := sp.json()
	s.mu.Unlock()
	out["appOwnerOrganizationId"] = s.opts.TenantID
	out["@odata.context"] = graphMeta + "servicePrincipals/$entity"
	writeJSON(w, 200, out)
}

func (s *Sim) gDeleteSP(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.sps[seg[1]]
	if sp == nil || sp.Deleted != nil {
		notFoundGraph(w, seg[1])
		return
	}
	now := s.now()
	sp.Deleted = &now
	w.WriteHeader(204)
}

func (s *Sim) gListDeleted(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	typ := strings.TrimPrefix(seg[2], "microsoft.graph.")
	s.mu.Lock()
	vals := []any{}
	switch typ {
	case "application":
		for _, a := range s.apps {
			if a.Deleted != nil {
				o := a.json()
				o["@odata.type"] = "#microsoft.graph.application"
				vals = append(vals, o)
			}
		}
	case "servicePrincipal":
		for _, sp := range s.sps {
			if sp.Deleted != nil {
				o := sp.json()
				o["@odata.type"] = "#microsoft.graph.servicePrincipal"
				vals = append(vals, o)
			}
		}
	default:
		s.mu.Unlock()
		graphError(w, 400, "Request_BadRequest", "Unsupported type "+seg[2]+".")
		return
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"@odata.context": graphMeta + "directory/deletedItems/" + seg[2], "value": vals})
}

func (s *Sim) gGetDeleted(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[seg[2]]; a != nil && a.Deleted != nil {
		o := a.json()
		o["@odata.type"] = "#microsoft.graph.application"
		o["@odata.context"] = graphMeta + "directory/deletedItems/$entity"
		writeJSON(w, 200, o)
		return
	}
	if sp := s.sps[seg[2]]; sp != nil && sp.Deleted != nil {
		o := sp.json()
		o["@odata.type"] = "#microsoft.graph.servicePrincipal"
		o["@odata.context"] = graphMeta + "directory/deletedItems/$entity"
		writeJSON(w, 200, o)
		return
	}
	notFoundGraph(w, seg[2])
}

// gPurgeDeleted permanently deletes an item from the recycle bin. Purging an application
// also purges its soft-deleted service principal.
func (s *Sim) gPurgeDeleted(w http.ResponseWriter, r *http.Request, seg []string, _ *faultState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[seg[2]]; a != nil && a.Deleted != nil {
		delete(s.apps, a.ID)
		for id, sp := range s.sps {
			if sp.AppID == a.AppID && sp.Deleted != nil {
				delete(s.sps, id)
			}
		}
		w.WriteHeader(204)
		return
	}
	if sp := s.sps[seg[2]]; sp != nil && sp.Deleted != nil {
		delete(s.sps, sp.ID)
		w.WriteHeader(204)
		return
	}
	notFoundGraph(w, seg[2])
}

// writePage pages a collection as Graph does: $top (default 100, max 999) and an
// @odata.nextLink carrying an opaque $skiptoken.
func (s *Sim) writePage(w http.ResponseWriter, r *http.Request, entity string, vals []any) {
	q := r.URL.Query()
	top := 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			graphError(w, 400, "Request_UnsupportedQuery", "Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
			return
		}
		top = n
	}
	off := 0
	if v := q.Get("$skiptoken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "off:"))
		if err != nil || err2 != nil || n < 0 {
			graphError(w, 400, "Request_BadRequest", "Invalid skip token.")
			return
		}
		off = n
	}
	if off > len(vals) {
		off = len(vals)
	}
	end := off + top
	out := map[string]any{"@odata.context": graphMeta + entity}
	if end < len(vals) {
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("off:"+strconv.Itoa(end))))
		q.Set("$top", strconv.Itoa(top))
		out["@odata.nextLink"] = "https://" + r.Host + r.URL.Path + "?" + q.Encode()
	} else {
		end = len(vals)
	}
	out["value"] = vals[off:end]
	writeJSON(w, 200, out)
}
