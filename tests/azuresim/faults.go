package azuresim

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/simfault"
)

// Fault kinds.
const (
	// FaultThrottle answers 429 with Retry-After (RetryAfter seconds, default 1) and the
	// service's throttling error body.
	FaultThrottle = simfault.Throttle
	// FaultUnavailable answers 503.
	FaultUnavailable = simfault.Unavailable
	// FaultInternal answers 500.
	FaultInternal = simfault.Internal
	// FaultLatency only delays the call by Latency.
	FaultLatency = simfault.Latency
	// FaultError answers with Status/Code/Message as given.
	FaultError = simfault.Error
)

// Services for FaultSpec.Service.
const (
	ServiceEntra    = "entra"
	ServiceGraph    = "graph"
	ServiceARM      = "arm"
	ServiceBlob     = "blob"
	ServiceKeyVault = "keyvault"
)

// FaultSpec describes an injected fault.
//
// Operations: entra Token; graph CreateApplication, GetApplication, ListApplications,
// UpdateApplication, DeleteApplication, AddPassword, RemovePassword,
// CreateFederatedIdentityCredential, ListFederatedIdentityCredentials,
// DeleteFederatedIdentityCredential, CreateServicePrincipal, GetServicePrincipal,
// ListServicePrincipals, DeleteServicePrincipal, GetDeletedItem, ListDeletedItems,
// PermanentlyDeleteItem, ListSignIns; arm PutRoleAssignment, GetRoleAssignment, DeleteRoleAssignment,
// ListRoleAssignments, GetRoleDefinition, ListRoleDefinitions, ListActivityLogs,
// GetStorageAccount, ListKeys, GetVault, UpdateAccessPolicy; blob PutBlob, GetBlob,
// PutBlock, PutBlockList, DeleteBlob, ListBlobs, GetBlobProperties; keyvault GetSecret, SetSecret.
type FaultSpec = simfault.Spec

type faultState = simfault.Fault

func (s *Sim) writeFault(w http.ResponseWriter, service string, f *faultState) {
	status, code, msg := 500, "InternalServerError", "Encountered an internal server error."
	switch f.Kind {
	case FaultThrottle:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = 1
		}
		if service != ServiceBlob {
			w.Header().Set("Retry-After", strconv.Itoa(ra))
		}
		status, code, msg = 429, "TooManyRequests", "Too many requests. Please retry after "+strconv.Itoa(ra)+" seconds."
		if service == ServiceGraph {
			code = "TooManyRequests"
			msg = "Too many requests are being made to this resource. Please try again later."
		}
		if service == ServiceBlob {
			// Blob storage signals throttling with 503 ServerBusy (no Retry-After).
			status, code, msg = 503, "ServerBusy", "The server is busy."
		}
	case FaultUnavailable:
		status, code, msg = 503, "ServiceUnavailable", "The service is temporarily unavailable."
	case FaultError:
		status, code, msg = f.Status, f.Code, f.Message
		if status == 0 {
			status = 500
		}
	}
	switch service {
	case ServiceEntra:
		codeN := 50196
		if status >= 500 {
			codeN = 90033
		}
		entraError(w, status, "temporarily_unavailable", codeN, msg)
	case ServiceGraph:
		graphError(w, status, code, msg)
	case ServiceBlob:
		blobError(w, status, code, msg)
	case ServiceKeyVault:
		writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
	default:
		armError(w, status, code, msg)
	}
}

// serveAdmin implements (loopback only, unauthenticated):
//
//	GET    /_sim/state           tenant, subscription, root credentials, counts
//	GET    /_sim/activity        recorded activity-log events
//	GET    /_sim/data-events     recorded data-plane events (blob, key vault)
//	POST   /_sim/faults          install a FaultSpec (latency as "250ms")
//	DELETE /_sim/faults          clear all faults
//	DELETE /_sim/faults/{id}     remove one fault
//	POST   /_sim/replication     {"replication_delay":"30s","credential_propagation_delay":"5s"}
//	POST   /_sim/principals      {"display_name":"x"} → Principal (app + SP + secret)
func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		http.Error(w, "admin endpoint is loopback-only", http.StatusForbidden)
		return
	}
	fail := func(err error) { http.Error(w, err.Error(), http.StatusBadRequest) }
	path := strings.TrimPrefix(r.URL.Path, "/_sim")
	switch {
	case path == "/state" && r.Method == http.MethodGet:
		writeJSON(w, 200, s.Banner())
	case path == "/activity" && r.Method == http.MethodGet:
		writeJSON(w, 200, s.ActivityEvents())
	case path == "/data-events" && r.Method == http.MethodGet:
		writeJSON(w, 200, s.DataEvents())
	case path == "/faults" && r.Method == http.MethodPost:
		f, err := simfault.DecodeSpec(r.Body)
		if err != nil {
			fail(err)
			return
		}
		writeJSON(w, 200, map[string]int{"id": s.InjectFault(f)})
	case path == "/faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, "/faults/") && r.Method == http.MethodDelete:
		id, err := strconv.Atoi(strings.TrimPrefix(path, "/faults/"))
		if err != nil {
			fail(err)
			return
		}
		s.RemoveFault(id)
		w.WriteHeader(http.StatusNoContent)
	case path == "/replication" && r.Method == http.MethodPost:
		var body struct {
			Replication string `json:"replication_delay"`
			Credential  string `json:"credential_propagation_delay"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			fail(err)
			return
		}
		for _, x := range []struct {
			v   string
			set func(time.Duration)
		}{{body.Replication, s.SetReplicationDelay}, {body.Credential, s.SetCredentialPropagationDelay}} {
			if x.v == "" {
				continue
			}
			d, err := time.ParseDuration(x.v)
			if err != nil {
				fail(err)
				return
			}
			x.set(d)
		}
		w.WriteHeader(http.StatusNoContent)
	case path == "/principals" && r.Method == http.MethodPost:
		var body struct {
			DisplayName string `json:"display_name"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		writeJSON(w, 200, s.CreatePrincipal(body.DisplayName, 0))
	default:
		http.NotFound(w, r)
	}
}

// Banner is what cmd/azuresim prints and GET /_sim/state returns.
type Banner struct {
	URL                     string   `json:"url"`
	CACertPath              string   `json:"ca_cert_path,omitempty"`
	TenantID                string   `json:"tenant_id"`
	SubscriptionID          string   `json:"subscription_id"`
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	RootObjectID            string   `json:"root_object_id"`
	AuthorityHost           string   `json:"authority_host"`
	GraphEndpoint           string   `json:"graph_endpoint"`
	ResourceManagerEndpoint string   `json:"resource_manager_endpoint"`
	StorageAccounts         []string `json:"storage_accounts"`
	KeyVaults               []string `json:"key_vaults"`
	Counts                  Counts   `json:"counts"`
}

// Banner describes the running simulator.
func (s *Sim) Banner() Banner {
	id, sec := s.RootCredentials()
	b := Banner{URL: s.URL(), TenantID: s.opts.TenantID, SubscriptionID: s.opts.SubscriptionID, ClientID: id, ClientSecret: sec,
		RootObjectID: s.rootSPID, AuthorityHost: s.AuthorityHost(), GraphEndpoint: s.URL(), ResourceManagerEndpoint: s.URL(), Counts: s.Counts()}
	s.mu.Lock()
	for n := range s.accounts {
		b.StorageAccounts = append(b.StorageAccounts, n)
	}
	for n := range s.vaults {
		b.KeyVaults = append(b.KeyVaults, n)
	}
	s.mu.Unlock()
	return b
}
