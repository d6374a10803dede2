package azuresim

import (
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// SignIn is a service principal sign-in (Graph beta signIn resource, signInEventTypes
// "servicePrincipal"), recorded at the token endpoint for successes and failures.
type SignIn struct {
	ID                   string       `json:"id"`
	CreatedDateTime      time.Time    `json:"createdDateTime"`
	AppID                string       `json:"appId"`
	AppDisplayName       string       `json:"appDisplayName"`
	ServicePrincipalID   string       `json:"servicePrincipalId"`
	ServicePrincipalName string       `json:"servicePrincipalName"`
	IPAddress            string       `json:"ipAddress"`
	ResourceDisplayName  string       `json:"resourceDisplayName"`
	ResourceID           string       `json:"resourceId"`
	ClientCredentialType string       `json:"clientCredentialType"`
	CorrelationID        string       `json:"correlationId"`
	IsInteractive        bool         `json:"isInteractive"`
	SignInEventTypes     []string     `json:"signInEventTypes"`
	Status               SignInStatus `json:"status"`
}

// SignInStatus is the sign-in result; ErrorCode 0 is success.
type SignInStatus struct {
	ErrorCode     int    `json:"errorCode"`
	FailureReason string `json:"failureReason"`
}

var resourceApps = map[string][2]string{
	ResourceGraph:            {"00000003-0000-0000-c000-000000000000", "Microsoft Graph"},
	ResourceARM + "/":        {"797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API"},
	ResourceARMClassic + "/": {"797f4846-ba00-4fd7-ba43-dac1f8f63013", "Windows Azure Service Management API"},
	ResourceStorage:          {"e406a681-f3d4-42a8-90b6-c2b029497af1", "Azure Storage"},
	ResourceKeyVault:         {"cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "Azure Key Vault"},
}

func (s *Sim) recordSignIn(r *http.Request, appID string, sp *servicePrincipal, aud, credType string, code int, reason string) {
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	res := resourceApps[aud]
	if res[1] == "" {
		res = [2]string{"e406a681-f3d4-42a8-90b6-c2b029497af1", "Azure Storage"}
	}
	e := &SignIn{ID: newGUID(), CreatedDateTime: s.now(), AppID: appID, IPAddress: ip, ResourceID: res[0], ResourceDisplayName: res[1],
		ClientCredentialType: credType, CorrelationID: newGUID(), SignInEventTypes: []string{"servicePrincipal"},
		Status: SignInStatus{ErrorCode: code, FailureReason: reason}}
	s.mu.Lock()
	if sp != nil {
		e.ServicePrincipalID, e.ServicePrincipalName, e.AppDisplayName = sp.ID, sp.DisplayName, sp.DisplayName
	}
	s.signIns = append(s.signIns, e)
	if len(s.signIns) > s.opts.MaxEvents {
		s.signIns = s.signIns[len(s.signIns)-s.opts.MaxEvents:]
	}
	s.mu.Unlock()
}

// SignIns returns a copy of the recorded service principal sign-ins.
func (s *Sim) SignIns() []SignIn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SignIn, len(s.signIns))
	for i, e := range s.signIns {
		out[i] = *e
	}
	return out
}

var (
	reSignInTime  = regexp.MustCompile(`(?i)createdDateTime\s+(ge|gt|le|lt)\s+([0-9T:.Z+-]+)`)
	reSignInApp   = regexp.MustCompile(`(?i)appId\s+eq\s+'([^']+)'`)
	reSignInSP    = regexp.MustCompile(`(?i)servicePrincipalId\s+eq\s+'([^']+)'`)
	reSignInTypes = regexp.MustCompile(`(?i)signInEventTypes/any\(\s*\w+\s*:\s*\w+\s+eq\s+'([^']+)'\s*\)`)
)

// gListSignIns serves GET /beta/auditLogs/signIns (service principal sign-ins need the beta
// endpoint and signInEventTypes/any(t: t eq 'servicePrincipal'); v1.0 lists interactive user
// sign-ins only, of which the simulator has none). Needs AuditLog.Read.All. Newest first.
func (s *Sim) gListSignIns(w http.ResponseWriter, r *http.Request, beta bool) {
	filter := r.URL.Query().Get("$filter")
	if !beta {
		s.writePage(w, r, "auditLogs/signIns", []any{})
		return
	}
	m := reSignInTypes.FindStringSubmatch(filter)
	if m == nil || !strings.EqualFold(m[1], "servicePrincipal") {
		s.writePage(w, r, "auditLogs/signIns", []any{})
		return
	}
	var from, to time.Time
	for _, x := range reSignInTime.FindAllStringSubmatch(filter, -1) {
		t, err := time.Parse(time.RFC3339Nano, x[2])
		if err != nil {
			graphError(w, 400, "BadRequest", "Invalid filter clause: "+x[0])
			return
		}
		if strings.HasPrefix(strings.ToLower(x[1]), "g") {
			from = t
		} else {
			to = t
		}
	}
	app, sp := "", ""
	if x := reSignInApp.FindStringSubmatch(filter); x != nil {
		app = x[1]
	}
	if x := reSignInSP.FindStringSubmatch(filter); x != nil {
		sp = x[1]
	}
	s.mu.Lock()
	vals := []any{}
	for i := len(s.signIns) - 1; i >= 0; i-- {
		e := s.signIns[i]
		if !from.IsZero() && e.CreatedDateTime.Before(from) || !to.IsZero() && e.CreatedDateTime.After(to) ||
			app != "" && !strings.EqualFold(e.AppID, app) || sp != "" && !strings.EqualFold(e.ServicePrincipalID, sp) {
			continue
		}
		vals = append(vals, *e)
	}
	s.mu.Unlock()
	s.writePage(w, r, "auditLogs/signIns", vals)
}
