package awssim

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/simfault"
)

// Fault kinds.
const (
	// FaultThrottle answers with the service's throttling error: Throttling (400) for
	// STS/IAM, ThrottlingException (400) for CloudTrail, TooManyRequestsException (429)
	// for Lambda, SlowDown (503) for S3.
	FaultThrottle = simfault.Throttle
	// FaultUnavailable answers 503 ServiceUnavailable (ServiceUnavailableException for
	// JSON services).
	FaultUnavailable = simfault.Unavailable
	// FaultInternal answers 500 InternalFailure (S3: InternalError; Lambda: ServiceException).
	FaultInternal = simfault.Internal
	// FaultLatency only delays the call by Latency.
	FaultLatency = simfault.Latency
	// FaultError answers with Status/Code/Message as given.
	FaultError = simfault.Error
)

// FaultSpec describes an injected fault. Services: sts, iam, s3, cloudtrail, lambda;
// operations are the API action names (CreateAccessKey, PutObject, LookupEvents, ...).
type FaultSpec = simfault.Spec

type faultState = simfault.Fault

func faultAPIError(f *faultState, service string) *APIError {
	json := service == "cloudtrail" || service == "lambda"
	switch f.Kind {
	case FaultThrottle:
		switch service {
		case "s3":
			return errf(503, "SlowDown", "Please reduce your request rate.")
		case "lambda":
			return errf(429, "TooManyRequestsException", "Rate exceeded")
		case "cloudtrail":
			return errf(400, "ThrottlingException", "Rate exceeded")
		}
		return errf(400, "Throttling", "Rate exceeded")
	case FaultUnavailable:
		if json {
			return &APIError{Status: 503, Code: "ServiceUnavailableException", Message: "Service is unavailable", Receiver: true}
		}
		return &APIError{Status: 503, Code: "ServiceUnavailable", Message: "Service is unavailable. Please try again later.", Receiver: true}
	case FaultError:
		st := f.Status
		if st == 0 {
			st = 500
		}
		return &APIError{Status: st, Code: f.Code, Message: f.Message, Receiver: st >= 500}
	}
	switch service {
	case "s3":
		return &APIError{Status: 500, Code: "InternalError", Message: "We encountered an internal error. Please try again.", Receiver: true}
	case "lambda":
		return &APIError{Status: 500, Code: "ServiceException", Message: "An internal error occurred.", Receiver: true}
	}
	return &APIError{Status: 500, Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure.", Receiver: true}
}

// ---- admin endpoint (/_sim/, loopback only, unsigned) ----

// serveAdmin implements:
//
//	GET    /_sim/state             counts and the root credentials
//	GET    /_sim/events            all recorded events (CloudTrail record JSON)
//	POST   /_sim/faults            install a FaultSpec (JSON body; latency in Go duration string or ns)
//	DELETE /_sim/faults            clear all faults
//	DELETE /_sim/faults/{id}       remove one fault
//	POST   /_sim/roles             create a role: {"name","trust_policy","inline_policies","max_session_duration"}
//	POST   /_sim/users             create a user: SeedUser JSON
//	POST   /_sim/buckets/{name}    create a bucket
//	POST   /_sim/oidc              register an OIDC provider: OIDCProvider JSON
func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		http.Error(w, "admin endpoint is loopback-only", http.StatusForbidden)
		return
	}
	writeJSON := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(err error) { http.Error(w, err.Error(), http.StatusBadRequest) }
	path := strings.TrimPrefix(r.URL.Path, "/_sim")
	switch {
	case path == "/state" && r.Method == http.MethodGet:
		id, secret := s.RootCredentials()
		writeJSON(map[string]any{"account_id": s.opts.AccountID, "region": s.opts.Region, "root_access_key_id": id, "root_secret_access_key": secret, "counts": s.Counts(), "users": s.Users(), "roles": s.Roles(), "sessions": s.Sessions()})
	case path == "/events" && r.Method == http.MethodGet:
		var out []json.RawMessage
		for _, e := range s.Events() {
			out = append(out, json.RawMessage(e.JSON()))
		}
		writeJSON(out)
	case path == "/faults" && r.Method == http.MethodPost:
		f, err := simfault.DecodeSpec(r.Body)
		if err != nil {
			fail(err)
			return
		}
		writeJSON(map[string]int{"id": s.InjectFault(f)})
	case path == "/faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, "/faults/") && r.Method == http.MethodDelete:
		var id int
		if err := json.Unmarshal([]byte(strings.TrimPrefix(path, "/faults/")), &id); err != nil {
			fail(err)
			return
		}
		s.RemoveFault(id)
		w.WriteHeader(http.StatusNoContent)
	case path == "/roles" && r.Method == http.MethodPost:
		var sr SeedRole
		if err := json.NewDecoder(r.Body).Decode(&sr); err != nil {
			fail(err)
			return
		}
		if err := s.CreateRoleSeed(sr); err != nil {
			fail(err)
			return
		}
		writeJSON(map[string]string{"arn": s.roleArn(orSlash(sr.Path), sr.Name)})
	case path == "/users" && r.Method == http.MethodPost:
		var su SeedUser
		if err := json.NewDecoder(r.Body).Decode(&su); err != nil {
			fail(err)
			return
		}
		if err := s.CreateUser(su); err != nil {
			fail(err)
			return
		}
		writeJSON(s.userInfo(su.Name))
	case strings.HasPrefix(path, "/buckets/") && r.Method == http.MethodPost:
		s.CreateBucket(strings.TrimPrefix(path, "/buckets/"))
		w.WriteHeader(http.StatusNoContent)
	case path == "/oidc" && r.Method == http.MethodPost:
		var p OIDCProvider
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			fail(err)
			return
		}
		writeJSON(map[string]string{"arn": s.AddOIDCProvider(p)})
	default:
		http.NotFound(w, r)
	}
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func (s *Sim) userInfo(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return nil
	}
	var keys []map[string]string
	for _, id := range sortedKeys(s.keys) {
		if k := s.keys[id]; k.User == name {
			keys = append(keys, map[string]string{"access_key_id": k.ID, "secret_access_key": k.Secret})
		}
	}
	return map[string]any{"name": u.Name, "arn": u.Arn, "keys": keys}
}
