package azuresim

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// ---- Azure Resource Manager ----

func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-ms-failure-cause", "gateway")
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// ActivityEvent is one activity-log record (EventData as returned by
// Microsoft.Insights/eventtypes/management/values).
type ActivityEvent struct {
	Authorization        map[string]any    `json:"authorization"`
	Caller               string            `json:"caller"`
	Channels             string            `json:"channels"`
	Claims               map[string]string `json:"claims"`
	CorrelationID        string            `json:"correlationId"`
	Description          string            `json:"description"`
	EventDataID          string            `json:"eventDataId"`
	EventName            localized         `json:"eventName"`
	Category             localized         `json:"category"`
	HTTPRequest          map[string]string `json:"httpRequest"`
	ID                   string            `json:"id"`
	Level                string            `json:"level"`
	ResourceGroupName    string            `json:"resourceGroupName"`
	ResourceProviderName localized         `json:"resourceProviderName"`
	ResourceID           string            `json:"resourceId"`
	ResourceType         localized         `json:"resourceType"`
	OperationID          string            `json:"operationId"`
	OperationName        localized         `json:"operationName"`
	Properties           map[string]string `json:"properties"`
	Status               localized         `json:"status"`
	SubStatus            localized         `json:"subStatus"`
	EventTimestamp       time.Time         `json:"eventTimestamp"`
	SubmissionTimestamp  time.Time         `json:"submissionTimestamp"`
	SubscriptionID       string            `json:"subscriptionId"`
	TenantID             string            `json:"tenantId"`
}

type localized struct {
	Value          string `json:"value"`
	LocalizedValue string `json:"localizedValue"`
}

func loc(s string) localized { return localized{s, s} }

// ActivityEvents returns a copy of the recorded activity-log events.
func (s *Sim) ActivityEvents() []ActivityEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ActivityEvent, len(s.activity))
	for i, e := range s.activity {
		out[i] = *e
	}
	return out
}

func (s *Sim) recordActivity(r *http.Request, c *tokenClaims, action, resource string, status int, subStatus string) {
	now := s.now()
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	st := "Succeeded"
	if status >= 400 {
		st = "Failed"
	}
	rg, prov := "", ""
	parts := strings.Split(resource, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			rg = parts[i+1]
		}
		if strings.EqualFold(parts[i], "providers") && prov == "" {
			prov = parts[i+1]
		}
	}
	corr := r.Header.Get("x-ms-correlation-request-id")
	if corr == "" {
		corr = newGUID()
	}
	e := &ActivityEvent{
		Authorization: map[string]any{"action": action, "scope": resource},
		Caller:        c.OID, Channels: "Operation",
		Claims:        map[string]string{"aud": "https://management.azure.com/", "appid": c.AppID, "http://schemas.microsoft.com/identity/claims/objectidentifier": c.OID, "http://schemas.microsoft.com/identity/claims/tenantid": c.TID},
		CorrelationID: corr, EventDataID: newGUID(), EventName: loc("EndRequest"), Category: loc("Administrative"),
		HTTPRequest: map[string]string{"clientRequestId": r.Header.Get("x-ms-client-request-id"), "clientIpAddress": ip, "method": r.Method},
		Level:       "Informational", ResourceGroupName: rg, ResourceProviderName: loc(prov), ResourceID: resource,
		ResourceType: loc(strings.TrimSuffix(action, "/"+lastSeg(action))), OperationID: newGUID(), OperationName: loc(action),
		Properties: map[string]string{"statusCode": http.StatusText(status), "principalOid": c.OID},
		Status:     loc(st), SubStatus: loc(subStatus), EventTimestamp: now, SubmissionTimestamp: now,
		SubscriptionID: s.opts.SubscriptionID, TenantID: s.opts.TenantID,
	}
	if status >= 400 {
		e.Level = "Error"
	}
	e.ID = resource + "/events/" + e.EventDataID + "/ticks/" + fmt.Sprint(now.UnixNano()/100)
	s.mu.Lock()
	s.activity = append(s.activity, e)
	if len(s.activity) > s.opts.MaxEvents {
		s.activity = s.activity[len(s.activity)-s.opts.MaxEvents:]
	}
	s.mu.Unlock()
}

func lastSeg(s string) string { return s[strings.LastIndex(s, "/")+1:] }

var supportedAPIVersions = map[string][]string{
	"authorization": {"2015-07-01", "2018-01-01-preview", "2018-09-01-preview", "2020-04-01-preview", "2020-10-01-preview", "2022-04-01", "2022-05-01-preview"},
	"insights":      {"2015-04-01"},
	"storage":       {"2021-09-01", "2022-09-01", "2023-01-01", "2023-05-01", "2024-01-01"},
	"keyvault":      {"2021-10-01", "2022-07-01", "2023-02-01", "2023-07-01", "2024-11-01"},
}

type armCall struct {
	r      *http.Request
	w      http.ResponseWriter
	c      *tokenClaims
	path   string
	status int
}

func (s *Sim) serveARM(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimRight(r.URL.Path, "/")
	lp := strings.ToLower(p)
	var op, family string
	switch {
	case strings.Contains(lp, "/providers/microsoft.authorization/roleassignments"):
		family = "authorization"
		tail := lp[strings.Index(lp, "/providers/microsoft.authorization/roleassignments")+len("/providers/microsoft.authorization/roleassignments"):]
		switch {
		case tail == "" && r.Method == "GET":
			op = "ListRoleAssignments"
		case tail != "" && r.Method == "PUT":
			op = "PutRoleAssignment"
		case tail != "" && r.Method == "GET":
			op = "GetRoleAssignment"
		case tail != "" && r.Method == "DELETE":
			op = "DeleteRoleAssignment"
		}
	case strings.Contains(lp, "/providers/microsoft.authorization/roledefinitions"):
		family = "authorization"
		if r.Method == "GET" {
			op = "GetRoleDefinition"
			if strings.HasSuffix(lp, "/roledefinitions") {
				op = "ListRoleDefinitions"
			}
		}
	case strings.HasSuffix(lp, "/providers/microsoft.insights/eventtypes/management/values") && r.Method == "GET":
		family, op = "insights", "ListActivityLogs"
	case strings.Contains(lp, "/providers/microsoft.storage/storageaccounts/"):
		family = "storage"
		if strings.HasSuffix(lp, "/listkeys") && r.Method == "POST" {
			op = "ListKeys"
		} else if r.Method == "GET" && regexp.MustCompile(`/storageaccounts/[^/]+$`).MatchString(lp) {
			op = "GetStorageAccount"
		}
	case strings.Contains(lp, "/providers/microsoft.keyvault/vaults/"):
		family = "keyvault"
		if regexp.MustCompile(`/vaults/[^/]+/accesspolicies/(add|replace|remove)$`).MatchString(lp) && r.Method == "PUT" {
			op = "UpdateAccessPolicy"
		} else if r.Method == "GET" && regexp.MustCompile(`/vaults/[^/]+$`).MatchString(lp) {
			op = "GetVault"
		}
	}
	if op == "" {
		armError(w, 404, "NoRegisteredProviderFound", fmt.Sprintf("No registered resource provider found for location 'global' and API version '%s' for type '%s'.", r.URL.Query().Get("api-version"), p))
		return
	}
	f := s.TakeFault(ServiceARM, op)
	if f != nil && !f.AfterEffect {
		s.writeFault(w, ServiceARM, f)
		return
	}
	av := r.URL.Query().Get("api-version")
	if av == "" {
		armError(w, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	okv := false
	for _, v := range supportedAPIVersions[family] {
		okv = okv || v == av
	}
	if !okv {
		armError(w, 400, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid. The supported versions are '%s'.", av, strings.Join(supportedAPIVersions[family], ",")))
		return
	}
	raw, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+s.URL()+"/"+s.opts.TenantID+`", error="invalid_token", error_description="Authentication failed. The 'Authorization' header is missing."`)
		armError(w, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	}
	c, err := s.verifyAccessToken(raw, ResourceARM, ResourceARMClassic)
	if err != nil {
		if err == errTokenExpired {
			armError(w, 401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time.")
			return
		}
		armError(w, 401, "InvalidAuthenticationToken", "The access token is invalid: "+err.Error()+".")
		return
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") && !strings.EqualFold(parts[1], s.opts.SubscriptionID) {
		armError(w, 404, "SubscriptionNotFound", fmt.Sprintf("The subscription '%s' could not be found.", parts[1]))
		return
	}
	ac := &armCall{r: r, w: w, c: c, path: p}
	target := w
	if f != nil {
		target = &discardWriter{h: http.Header{}}
		ac.w = target
	}
	switch op {
	case "PutRoleAssignment":
		s.putRoleAssignment(ac)
	case "GetRoleAssignment", "DeleteRoleAssignment":
		s.getDeleteRoleAssignment(ac, op == "DeleteRoleAssignment")
	case "ListRoleAssignments":
		s.listRoleAssignments(ac)
	case "GetRoleDefinition", "ListRoleDefinitions":
		s.roleDefinitions(ac, op == "ListRoleDefinitions")
	case "ListActivityLogs":
		s.listActivity(ac)
	case "ListKeys", "GetStorageAccount":
		s.storageMgmt(ac, op == "ListKeys")
	case "UpdateAccessPolicy", "GetVault":
		s.vaultMgmt(ac, op == "UpdateAccessPolicy")
	}
	if f != nil {
		s.writeFault(w, ServiceARM, f)
	}
}

// check authorizes a management action; on denial it writes 403 AuthorizationFailed and
// records a failed activity-log event for write/delete/action operations.
func (s *Sim) check(ac *armCall, action, scope string) bool {
	s.mu.Lock()
	ok, _ := s.authorize(evalRequest{principal: ac.c.OID, action: action, resource: scope})
	s.mu.Unlock()
	if ok {
		return true
	}
	if !strings.HasSuffix(strings.ToLower(action), "/read") {
		s.recordActivity(ac.r, ac.c, action, scope, 403, "Forbidden")
	}
	armError(ac.w, 403, "AuthorizationFailed", fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.", ac.c.OID, ac.c.OID, action, scope))
	return false
}

func splitScope(p, marker string) (scope, rest string) {
	i := strings.Index(strings.ToLower(p), marker)
	scope = p[:i]
	rest = strings.TrimPrefix(p[i+len(marker):], "/")
	if scope == "" {
		scope = "/"
	}
	return
}

// resourceExists checks that the scope names an existing seeded resource; returns an ARM
// error code and message otherwise.
func (s *Sim) resourceExists(scope string) (string, string) {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	if len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") {
		if scope == "/" {
			return "", ""
		}
		return "InvalidScope", fmt.Sprintf("The scope '%s' is invalid.", scope)
	}
	if len(parts) <= 2 {
		return "", ""
	}
	if len(parts) < 4 || !strings.EqualFold(parts[2], "resourceGroups") {
		return "InvalidScope", fmt.Sprintf("The scope '%s' is invalid.", scope)
	}
	rg := parts[3]
	if len(parts) == 4 {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, a := range s.accounts {
			if strings.EqualFold(a.ResourceGroup, rg) {
				return "", ""
			}
		}
		for _, v := range s.vaults {
			if strings.EqualFold(v.ResourceGroup, rg) {
				return "", ""
			}
		}
		return "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", rg)
	}
	if len(parts) < 8 || !strings.EqualFold(parts[4], "providers") {
		return "InvalidScope", fmt.Sprintf("The scope '%s' is invalid.", scope)
	}
	typ, name := parts[5]+"/"+parts[6], parts[7]
	notFound := func(t string) (string, string) {
		return "ResourceNotFound", fmt.Sprintf("The Resource '%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", t, rg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch strings.ToLower(typ) {
	case "microsoft.storage/storageaccounts":
		a := s.accounts[name]
		if a == nil || !strings.EqualFold(a.ResourceGroup, rg) {
			return notFound(typ + "/" + name)
		}
		// .../blobServices/default/containers/{c}
		if len(parts) >= 12 && strings.EqualFold(parts[8], "blobServices") && strings.EqualFold(parts[10], "containers") {
			if a.Containers[parts[11]] == nil {
				return notFound(typ + "/" + name + "/blobServices/default/containers/" + parts[11])
			}
		}
	case "microsoft.keyvault/vaults":
		v := s.vaults[name]
		if v == nil || !strings.EqualFold(v.ResourceGroup, rg) {
			return notFound(typ + "/" + name)
		}
	}
	return "", ""
}

func (s *Sim) principalKnownToARM(id string, typed bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.sps[id]
	if sp == nil || sp.Deleted != nil {
		return false
	}
	if s.now().Before(sp.Created.Add(s.opts.ReplicationDelay)) {
		return typed && !s.opts.StrictReplication
	}
	return true
}

func (s *Sim) raJSON(ra *roleAssignment) map[string]any {
	var cond, cv any
	if ra.Condition != "" {
		cond, cv = ra.Condition, ra.ConditionVersion
	}
	return map[string]any{
		"id": ra.id(), "type": "Microsoft.Authorization/roleAssignments", "name": ra.Name,
		"properties": map[string]any{
			"roleDefinitionId": "/subscriptions/" + s.opts.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + ra.RoleDefID,
			"principalId":      ra.PrincipalID, "principalType": ra.PrincipalType, "scope": ra.Scope,
			"condition": cond, "conditionVersion": cv, "description": nilIfEmpty(ra.Description),
			"createdOn": ra.Created.Format(time.RFC3339Nano), "updatedOn": ra.Updated.Format(time.RFC3339Nano),
			"createdBy": ra.CreatedBy, "updatedBy": ra.CreatedBy, "delegatedManagedIdentityResourceId": nil,
		},
	}
}

var reRoleDefID = regexp.MustCompile(`(?i)^(?:/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/([0-9a-f-]{36})$`)

func (s *Sim) putRoleAssignment(ac *armCall) {
	scope, name := splitScope(ac.path, "/providers/microsoft.authorization/roleassignments")
	if !isGUID(name) {
		armError(ac.w, 400, "InvalidRoleAssignmentId", fmt.Sprintf("The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name))
		return
	}
	var body struct {
		Properties struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
			PrincipalID      string `json:"principalId"`
			PrincipalType    string `json:"principalType"`
			Condition        string `json:"condition"`
			ConditionVersion string `json:"conditionVersion"`
			Description      string `json:"description"`
		} `json:"properties"`
	}
	if err := json.NewDecoder(ac.r.Body).Decode(&body); err != nil {
		armError(ac.w, 400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
		return
	}
	pr := body.Properties
	if code, msg := s.resourceExists(scope); code != "" {
		st := 404
		if code == "InvalidScope" {
			st = 400
		}
		armError(ac.w, st, code, msg)
		return
	}
	if !s.check(ac, "Microsoft.Authorization/roleAssignments/write", scope) {
		return
	}
	m := reRoleDefID.FindStringSubmatch(pr.RoleDefinitionID)
	s.mu.Lock()
	var def *roleDefinition
	if m != nil {
		def = s.roleDefs[strings.ToLower(m[1])]
	}
	s.mu.Unlock()
	if def == nil {
		armError(ac.w, 400, "RoleDefinitionDoesNotExist", fmt.Sprintf("The specified role definition with ID '%s' does not exist.", lastSeg(pr.RoleDefinitionID)))
		return
	}
	switch pr.PrincipalType {
	case "", "User", "Group", "ServicePrincipal", "ForeignGroup", "Device":
	default:
		armError(ac.w, 400, "InvalidPrincipalType", "The principal type '"+pr.PrincipalType+"' is not valid.")
		return
	}
	if pr.Condition != "" {
		if pr.ConditionVersion == "" {
			pr.ConditionVersion = "2.0"
		}
		if pr.ConditionVersion != "2.0" {
			armError(ac.w, 400, "InvalidConditionVersion", "The condition version '"+pr.ConditionVersion+"' is not supported. Supported version is 2.0.")
			return
		}
		if _, err := parseCondition(pr.Condition); err != nil {
			armError(ac.w, 400, "InvalidRoleAssignmentCondition", "The condition is invalid: "+err.Error())
			return
		}
		if len(def.Perm.DataActions) == 0 {
			armError(ac.w, 400, "ConditionNotSupportedForRoleDefinition", "Conditions are only supported on role definitions with data actions.")
			return
		}
	} else if pr.ConditionVersion != "" {
		armError(ac.w, 400, "InvalidRoleAssignmentCondition", "conditionVersion is set but condition is empty.")
		return
	}
	if !s.principalKnownToARM(pr.PrincipalID, pr.PrincipalType != "") {
		s.recordActivity(ac.r, ac.c, "Microsoft.Authorization/roleAssignments/write", scope+"/providers/Microsoft.Authorization/roleAssignments/"+name, 400, "BadRequest")
		armError(ac.w, 400, "PrincipalNotFound", fmt.Sprintf("Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype", strings.ReplaceAll(pr.PrincipalID, "-", ""), s.opts.TenantID))
		return
	}
	if pr.PrincipalType == "" {
		pr.PrincipalType = "ServicePrincipal"
	}
	now := s.now()
	ra := &roleAssignment{Name: strings.ToLower(name), Scope: scope, RoleDefID: def.ID, PrincipalID: pr.PrincipalID, PrincipalType: pr.PrincipalType,
		Condition: pr.Condition, ConditionVersion: pr.ConditionVersion, Description: pr.Description, Created: now, Updated: now, CreatedBy: ac.c.OID}
	key := strings.ToLower(ra.id())
	s.mu.Lock()
	if old := s.assignments[key]; old != nil {
		if !strings.EqualFold(old.PrincipalID, ra.PrincipalID) || !strings.EqualFold(old.RoleDefID, ra.RoleDefID) {
			s.mu.Unlock()
			armError(ac.w, 400, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			return
		}
		old.Condition, old.ConditionVersion, old.Description, old.Updated = ra.Condition, ra.ConditionVersion, ra.Description, now
		out := s.raJSON(old)
		s.mu.Unlock()
		s.recordActivity(ac.r, ac.c, "Microsoft.Authorization/roleAssignments/write", ra.id(), 200, "OK")
		writeJSON(ac.w, 200, out)
		return
	}
	for _, x := range s.assignments {
		if strings.EqualFold(x.Scope, ra.Scope) && strings.EqualFold(x.PrincipalID, ra.PrincipalID) && strings.EqualFold(x.RoleDefID, ra.RoleDefID) && x.Condition == ra.Condition {
			s.mu.Unlock()
			armError(ac.w, 409, "RoleAssignmentExists", "The role assignment already exists. The ID of the existing role assignment is "+strings.ReplaceAll(x.Name, "-", "")+".")
			return
		}
	}
	s.assignments[key] = ra
	out := s.raJSON(ra)
	s.mu.Unlock()
	s.recordActivity(ac.r, ac.c, "Microsoft.Authorization/roleAssignments/write", ra.id(), 201, "Created")
	writeJSON(ac.w, 201, out)
}

func (s *Sim) getDeleteRoleAssignment(ac *armCall, del bool) {
	scope, name := splitScope(ac.path, "/providers/microsoft.authorization/roleassignments")
	action := "Microsoft.Authorization/roleAssignments/read"
	if del {
		action = "Microsoft.Authorization/roleAssignments/delete"
	}
	if !s.check(ac, action, scope) {
		return
	}
	key := strings.ToLower(strings.TrimRight(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name)
	s.mu.Lock()
	ra := s.assignments[key]
	if ra == nil {
		s.mu.Unlock()
		if del {
			ac.w.WriteHeader(204)
			return
		}
		armError(ac.w, 404, "RoleAssignmentNotFound", fmt.Sprintf("The role assignment '%s' is not found.", name))
		return
	}
	out := s.raJSON(ra)
	if del {
		delete(s.assignments, key)
	}
	s.mu.Unlock()
	if del {
		s.recordActivity(ac.r, ac.c, action, ra.id(), 200, "OK")
	}
	writeJSON(ac.w, 200, out)
}

var reFilterPrincipal = regexp.MustCompile(`(?i)principalId\s+eq\s+'([^']+)'`)

func (s *Sim) listRoleAssignments(ac *armCall) {
	scope, _ := splitScope(ac.path, "/providers/microsoft.authorization/roleassignments")
	if !s.check(ac, "Microsoft.Authorization/roleAssignments/read", scope) {
		return
	}
	filter := ac.r.URL.Query().Get("$filter")
	principal := ""
	if m := reFilterPrincipal.FindStringSubmatch(filter); m != nil {
		principal = m[1]
	}
	atScope := strings.Contains(strings.ToLower(filter), "atscope()")
	s.mu.Lock()
	var list []*roleAssignment
	for _, ra := range s.assignments {
		if principal != "" && !strings.EqualFold(ra.PrincipalID, principal) {
			continue
		}
		// Assignments at, above (inherited) and below the scope are listed, as ARM does;
		// atScope() limits to at and above.
		if !scopeContains(ra.Scope, scope) && (atScope || !scopeContains(scope, ra.Scope)) {
			continue
		}
		list = append(list, ra)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id() < list[j].id() })
	vals := []any{}
	for _, ra := range list {
		vals = append(vals, s.raJSON(ra))
	}
	s.mu.Unlock()
	writeJSON(ac.w, 200, map[string]any{"value": vals})
}

func (s *Sim) rdJSON(d *roleDefinition) map[string]any {
	return map[string]any{
		"id":   "/subscriptions/" + s.opts.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + d.ID,
		"type": "Microsoft.Authorization/roleDefinitions", "name": d.ID,
		"properties": map[string]any{"roleName": d.Name, "type": "BuiltInRole", "description": d.Description,
			"assignableScopes": []string{"/"}, "permissions": []permission{d.Perm},
			"createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2024-01-01T00:00:00.0000000Z", "createdBy": nil, "updatedBy": nil},
	}
}

var reFilterRoleName = regexp.MustCompile(`(?i)roleName\s+eq\s+'([^']+)'`)

func (s *Sim) roleDefinitions(ac *armCall, list bool) {
	scope, id := splitScope(ac.path, "/providers/microsoft.authorization/roledefinitions")
	if !s.check(ac, "Microsoft.Authorization/roleDefinitions/read", scope) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !list {
		d := s.roleDefs[strings.ToLower(id)]
		if d == nil {
			armError(ac.w, 404, "RoleDefinitionDoesNotExist", fmt.Sprintf("The specified role definition with ID '%s' does not exist.", id))
			return
		}
		writeJSON(ac.w, 200, s.rdJSON(d))
		return
	}
	name := ""
	if m := reFilterRoleName.FindStringSubmatch(ac.r.URL.Query().Get("$filter")); m != nil {
		name = m[1]
	}
	var ids []string
	for k, d := range s.roleDefs {
		if name == "" || strings.EqualFold(d.Name, name) {
			ids = append(ids, k)
		}
	}
	sort.Strings(ids)
	vals := []any{}
	for _, k := range ids {
		vals = append(vals, s.rdJSON(s.roleDefs[k]))
	}
	writeJSON(ac.w, 200, map[string]any{"value": vals})
}

var (
	reFilterTime   = regexp.MustCompile(`(?i)eventTimestamp\s+(ge|le|gt|lt)\s+'([^']+)'`)
	reFilterCaller = regexp.MustCompile(`(?i)caller\s+eq\s+'([^']+)'`)
	reFilterRG     = regexp.MustCompile(`(?i)resourceGroupName\s+eq\s+'([^']+)'`)
	reFilterRes    = regexp.MustCompile(`(?i)resourceUri\s+eq\s+'([^']+)'`)
)

// listActivity serves the activity log. Like Azure, $filter must carry an eventTimestamp
// range (ge ... and le ...), at most 90 days back; caller, resourceGroupName and resourceUri
// are optional.
func (s *Sim) listActivity(ac *armCall) {
	sub := "/subscriptions/" + s.opts.SubscriptionID
	if !s.check(ac, "Microsoft.Insights/eventtypes/values/read", sub) {
		return
	}
	filter := ac.r.URL.Query().Get("$filter")
	var from, to time.Time
	for _, m := range reFilterTime.FindAllStringSubmatch(filter, -1) {
		t, err := time.Parse(time.RFC3339Nano, m[2])
		if err != nil {
			armError(ac.w, 400, "BadRequest", "The filter value '"+m[2]+"' is not a valid date time.")
			return
		}
		switch strings.ToLower(m[1]) {
		case "ge", "gt":
			from = t
		default:
			to = t
		}
	}
	if from.IsZero() {
		armError(ac.w, 400, "BadRequest", "Required parameter eventTimestamp ge is missing in $filter.")
		return
	}
	if to.IsZero() {
		to = s.now()
	}
	if s.now().Sub(from) > 90*24*time.Hour {
		armError(ac.w, 400, "BadRequest", "The start time cannot be more than 90 days in the past.")
		return
	}
	caller, rg, res := "", "", ""
	if m := reFilterCaller.FindStringSubmatch(filter); m != nil {
		caller = m[1]
	}
	if m := reFilterRG.FindStringSubmatch(filter); m != nil {
		rg = m[1]
	}
	if m := reFilterRes.FindStringSubmatch(filter); m != nil {
		res = m[1]
	}
	s.mu.Lock()
	vals := []any{}
	for i := len(s.activity) - 1; i >= 0; i-- { // newest first, as Azure returns
		e := s.activity[i]
		if e.EventTimestamp.Before(from) || e.EventTimestamp.After(to) {
			continue
		}
		if caller != "" && !strings.EqualFold(e.Caller, caller) && !strings.EqualFold(e.Claims["appid"], caller) || rg != "" && !strings.EqualFold(e.ResourceGroupName, rg) || res != "" && !strings.EqualFold(e.ResourceID, res) {
			continue
		}
		vals = append(vals, e)
	}
	s.mu.Unlock()
	writeJSON(ac.w, 200, map[string]any{"value": vals})
}

func (s *Sim) storageMgmt(ac *armCall, listKeys bool) {
	res := ac.path
	if listKeys {
		res = strings.TrimSuffix(res, res[strings.LastIndex(res, "/"):])
	}
	if code, msg := s.resourceExists(res); code != "" {
		armError(ac.w, 404, code, msg)
		return
	}
	action := "Microsoft.Storage/storageAccounts/read"
	if listKeys {
		action = "Microsoft.Storage/storageAccounts/listkeys/action"
	}
	if !s.check(ac, action, res) {
		return
	}
	name := lastSeg(res)
	s.mu.Lock()
	a := s.accounts[name]
	keys := a.Keys
	rg := a.ResourceGroup
	s.mu.Unlock()
	if listKeys {
		s.recordActivity(ac.r, ac.c, action, res, 200, "OK")
		ct := s.now().Add(-24 * time.Hour).Format(time.RFC3339Nano)
		writeJSON(ac.w, 200, map[string]any{"keys": []any{
			map[string]any{"keyName": "key1", "value": keys[0], "permissions": "FULL", "creationTime": ct},
			map[string]any{"keyName": "key2", "value": keys[1], "permissions": "FULL", "creationTime": ct}}})
		return
	}
	writeJSON(ac.w, 200, map[string]any{"id": s.ResourceGroupID(rg) + "/providers/Microsoft.Storage/storageAccounts/" + name, "name": name,
		"type": "Microsoft.Storage/storageAccounts", "location": "westeurope", "kind": "StorageV2", "sku": map[string]string{"name": "Standard_LRS", "tier": "Standard"},
		"properties": map[string]any{"allowSharedKeyAccess": true, "provisioningState": "Succeeded",
			"primaryEndpoints": map[string]string{"blob": s.BlobServiceURL(name) + "/"}}})
}

func (s *Sim) vaultMgmt(ac *armCall, accessPolicy bool) {
	res := ac.path
	if accessPolicy {
		i := strings.Index(strings.ToLower(res), "/accesspolicies/")
		res = res[:i]
	}
	if code, msg := s.resourceExists(res); code != "" {
		armError(ac.w, 404, code, msg)
		return
	}
	action := "Microsoft.KeyVault/vaults/read"
	if accessPolicy {
		action = "Microsoft.KeyVault/vaults/accessPolicies/write"
	}
	if !s.check(ac, action, res) {
		return
	}
	name := lastSeg(res)
	s.mu.Lock()
	v := s.vaults[name]
	rg := v.ResourceGroup
	s.mu.Unlock()
	id := s.ResourceGroupID(rg) + "/providers/Microsoft.KeyVault/vaults/" + name
	if accessPolicy {
		var body struct {
			Properties struct {
				AccessPolicies []map[string]any `json:"accessPolicies"`
			} `json:"properties"`
		}
		if err := json.NewDecoder(ac.r.Body).Decode(&body); err != nil {
			armError(ac.w, 400, "BadRequest", "Invalid request body.")
			return
		}
		s.mu.Lock()
		v.AccessPolicies = append(v.AccessPolicies, body.Properties.AccessPolicies...)
		s.mu.Unlock()
		s.recordActivity(ac.r, ac.c, action, id, 200, "OK")
		writeJSON(ac.w, 200, map[string]any{"id": id + "/accessPolicies/" + lastSeg(ac.path), "type": "Microsoft.KeyVault/vaults/accessPolicies",
			"properties": map[string]any{"accessPolicies": body.Properties.AccessPolicies}})
		return
	}
	writeJSON(ac.w, 200, map[string]any{"id": id, "name": name, "type": "Microsoft.KeyVault/vaults", "location": "westeurope",
		"properties": map[string]any{"tenantId": s.opts.TenantID, "enableRbacAuthorization": true, "vaultUri": s.VaultURL(name) + "/",
			"sku": map[string]string{"family": "A", "name": "standard"}, "accessPolicies": []any{}, "provisioningState": "Succeeded"}})
}
