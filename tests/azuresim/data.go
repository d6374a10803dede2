package azuresim

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DataEvent is one data-plane call (blob or key vault), as a storage/diagnostic log would
// record it. Not part of the activity log (Azure keeps data-plane events out of it).
type DataEvent struct {
	Time       time.Time `json:"time"`
	Service    string    `json:"service"`
	Operation  string    `json:"operation"`
	Action     string    `json:"action"`
	Resource   string    `json:"resource"`
	CallerOID  string    `json:"caller_oid"`
	CallerApp  string    `json:"caller_appid"`
	SourceIP   string    `json:"source_ip"`
	StatusCode int       `json:"status_code"`
}

// DataEvents returns a copy of the recorded data-plane events.
func (s *Sim) DataEvents() []DataEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DataEvent, len(s.data))
	for i, e := range s.data {
		out[i] = *e
	}
	return out
}

func (s *Sim) recordData(r *http.Request, c *tokenClaims, svc, op, action, res string, status int) {
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	e := &DataEvent{Time: s.now(), Service: svc, Operation: op, Action: action, Resource: res, SourceIP: ip, StatusCode: status}
	if c != nil {
		e.CallerOID, e.CallerApp = c.OID, c.AppID
		if c.sharedKey {
			e.CallerApp = "SharedKey"
		}
	}
	s.mu.Lock()
	s.data = append(s.data, e)
	if len(s.data) > s.opts.MaxEvents {
		s.data = s.data[len(s.data)-s.opts.MaxEvents:]
	}
	s.mu.Unlock()
}

// ---- Blob ----

const blobAPIVersion = "2025-01-05"

func blobError(w http.ResponseWriter, status int, code, msg string) {
	reqID := newGUID()
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("x-ms-request-id", reqID)
	w.Header().Set("x-ms-version", blobAPIVersion)
	w.WriteHeader(status)
	fmt.Fprintf(w, "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s</Message></Error>",
		code, xmlEscape(msg), reqID, time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const blobPrefix = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/"

func (s *Sim) serveBlob(w http.ResponseWriter, r *http.Request, account, p string) {
	p = strings.TrimPrefix(p, "/")
	ctrName, blobName, _ := strings.Cut(p, "/")
	q := r.URL.Query()
	var op, action, subOp string
	switch {
	case blobName == "" && q.Get("restype") == "container" && q.Get("comp") == "list" && r.Method == "GET":
		op, action, subOp = "ListBlobs", blobPrefix+"read", "Blob.List"
	case blobName != "" && q.Get("comp") == "" && r.Method == "PUT":
		op, action = "PutBlob", blobPrefix+"write"
	case blobName != "" && q.Get("comp") == "block" && r.Method == "PUT":
		op, action = "PutBlock", blobPrefix+"write"
	case blobName != "" && q.Get("comp") == "blocklist" && r.Method == "PUT":
		op, action = "PutBlockList", blobPrefix+"write"
	case blobName != "" && q.Get("comp") == "" && (r.Method == "GET" || r.Method == "HEAD"):
		op, action = "GetBlob", blobPrefix+"read"
		if r.Method == "HEAD" {
			op = "GetBlobProperties"
		}
	case blobName != "" && q.Get("comp") == "" && r.Method == "DELETE":
		op, action = "DeleteBlob", blobPrefix+"delete"
	default:
		blobError(w, 400, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb or query (simulator subset: Put Blob, Put Block, Put Block List, Get Blob, Get Blob Properties, Delete Blob, List Blobs).")
		return
	}
	f := s.TakeFault(ServiceBlob, op)
	if f != nil && !f.AfterEffect {
		s.writeFault(w, ServiceBlob, f)
		return
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "SharedKey ") {
		if r.Header.Get("x-ms-version") == "" || r.Header.Get("x-ms-date") == "" && r.Header.Get("Date") == "" {
			blobError(w, 400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.")
			return
		}
		if !s.verifySharedKey(r, account, auth) {
			blobError(w, 403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")
			return
		}
		accountID := s.StorageAccountID(account)
		out := w
		if f != nil {
			out = &discardWriter{h: http.Header{}}
		}
		// Account keys are full access: no role assignment or condition applies.
		s.blobOp(out, r, &tokenClaims{sharedKey: true}, op, action, subOp, account, accountID, ctrName, blobName)
		if f != nil {
			s.writeFault(w, ServiceBlob, f)
		}
		return
	}
	raw, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer authorization_uri="+s.URL()+"/"+s.opts.TenantID+"/oauth2/authorize resource_id=https://storage.azure.com")
		blobError(w, 401, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
		return
	}
	if r.Header.Get("x-ms-version") == "" {
		blobError(w, 400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.")
		return
	}
	c, err := s.verifyAccessToken(raw, ResourceStorage, "https://"+account+".blob.core.windows.net")
	if err != nil {
		w.Header().Set("WWW-Authenticate", "Bearer authorization_uri="+s.URL()+"/"+s.opts.TenantID+"/oauth2/authorize resource_id=https://storage.azure.com")
		msg := "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
		if err == errTokenExpired {
			blobError(w, 401, "InvalidAuthenticationInfo", "Lifetime validation failed. The token is expired.")
			return
		}
		blobError(w, 401, "InvalidAuthenticationInfo", msg)
		return
	}
	accountID := s.StorageAccountID(account)
	if accountID == "" {
		blobError(w, 404, "ResourceNotFound", "The specified resource does not exist.")
		return
	}
	out := w
	if f != nil {
		out = &discardWriter{h: http.Header{}}
	}
	s.blobOp(out, r, c, op, action, subOp, account, accountID, ctrName, blobName)
	if f != nil {
		s.writeFault(w, ServiceBlob, f)
	}
}

func (s *Sim) blobOp(w http.ResponseWriter, r *http.Request, c *tokenClaims, op, action, subOp, account, accountID, ctrName, blobName string) {
	scope := accountID + "/blobServices/default/containers/" + ctrName
	res := scope
	attrs := map[string]string{AttrAccountName: account, AttrContainerName: ctrName}
	if blobName != "" {
		res = scope + "/blobs/" + blobName
		attrs[AttrBlobPath] = blobName
	} else if r.URL.Query().Has("prefix") {
		attrs[AttrListPrefix] = r.URL.Query().Get("prefix")
	}
	var body []byte
	if op == "PutBlob" || op == "PutBlock" || op == "PutBlockList" {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, 256<<20))
		if err != nil {
			blobError(w, 400, "InvalidInput", "Could not read the request body.")
			return
		}
		if bt := r.Header.Get("x-ms-blob-type"); op == "PutBlob" && bt != "BlockBlob" {
			blobError(w, 400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format (x-ms-blob-type).")
			return
		}
	}
	s.mu.Lock()
	acct := s.accounts[account]
	ctr := acct.Containers[ctrName]
	var existing *blob
	if ctr != nil && blobName != "" {
		existing = ctr.Blobs[blobName]
	}
	allowed, _ := s.authorize(evalRequest{principal: c.OID, action: action, data: true, resource: res, attrs: attrs, subOp: subOp})
	if c.sharedKey {
		allowed = true
	}
	if !allowed && (op == "PutBlob" || op == "PutBlock" || op == "PutBlockList") && existing == nil {
		// Creating a new blob is also permitted by blobs/add/action.
		allowed, _ = s.authorize(evalRequest{principal: c.OID, action: blobPrefix + "add/action", data: true, resource: res, attrs: attrs})
	}
	if !allowed {
		s.mu.Unlock()
		s.recordData(r, c, "blob", op, action, res, 403)
		blobError(w, 403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
		return
	}
	if ctr == nil {
		s.mu.Unlock()
		s.recordData(r, c, "blob", op, action, res, 404)
		blobError(w, 404, "ContainerNotFound", "The specified container does not exist.")
		return
	}
	now := s.now()
	h := w.Header()
	h.Set("x-ms-request-id", newGUID())
	h.Set("x-ms-version", blobAPIVersion)
	h.Set("Date", now.Format(http.TimeFormat))
	if crid := r.Header.Get("x-ms-client-request-id"); crid != "" {
		h.Set("x-ms-client-request-id", crid)
	}
	status := 200
	switch op {
	case "PutBlob":
		b := &blob{Data: body, ContentType: r.Header.Get("x-ms-blob-content-type"), ETag: fmt.Sprintf("\"0x%X\"", now.UnixNano()), Modified: now, Created: now}
		if b.ContentType == "" {
			b.ContentType = "application/octet-stream"
		}
		if existing != nil {
			b.Created = existing.Created
		}
		ctr.Blobs[blobName] = b
		sum := md5.Sum(body)
		h.Set("ETag", b.ETag)
		h.Set("Last-Modified", now.Format(http.TimeFormat))
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		h.Set("x-ms-request-server-encrypted", "true")
		h.Set("x-ms-version-id", now.Format("2006-01-02T15:04:05.0000000Z"))
		status = 201
		w.WriteHeader(201)
	case "PutBlock":
		id := r.URL.Query().Get("blockid")
		if _, err := base64.StdEncoding.DecodeString(id); err != nil || id == "" || len(id) > 88 {
			s.mu.Unlock()
			blobError(w, 400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid (blockid).")
			return
		}
		if ctr.Uncommitted == nil {
			ctr.Uncommitted = map[string]map[string][]byte{}
		}
		if ctr.Uncommitted[blobName] == nil {
			ctr.Uncommitted[blobName] = map[string][]byte{}
		}
		ctr.Uncommitted[blobName][id] = body
		sum := md5.Sum(body)
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		h.Set("x-ms-request-server-encrypted", "true")
		status = 201
		w.WriteHeader(201)
	case "PutBlockList":
		var bl struct {
			Items []struct {
				XMLName xml.Name
				ID      string `xml:",chardata"`
			} `xml:",any"`
		}
		if err := xml.Unmarshal(body, &bl); err != nil {
			s.mu.Unlock()
			blobError(w, 400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
			return
		}
		var data []byte
		for _, it := range bl.Items {
			blk, ok := ctr.Uncommitted[blobName][it.ID]
			if !ok {
				s.mu.Unlock()
				blobError(w, 400, "InvalidBlockList", "The specified block list is invalid.")
				return
			}
			data = append(data, blk...)
		}
		delete(ctr.Uncommitted, blobName)
		b := &blob{Data: data, ContentType: r.Header.Get("x-ms-blob-content-type"), ETag: fmt.Sprintf("\"0x%X\"", now.UnixNano()), Modified: now, Created: now}
		if b.ContentType == "" {
			b.ContentType = "application/octet-stream"
		}
		if existing != nil {
			b.Created = existing.Created
		}
		ctr.Blobs[blobName] = b
		h.Set("ETag", b.ETag)
		h.Set("Last-Modified", now.Format(http.TimeFormat))
		h.Set("x-ms-request-server-encrypted", "true")
		status = 201
		w.WriteHeader(201)
	case "GetBlob", "GetBlobProperties":
		if existing == nil {
			s.mu.Unlock()
			s.recordData(r, c, "blob", op, action, res, 404)
			blobError(w, 404, "BlobNotFound", "The specified blob does not exist.")
			return
		}
		h.Set("ETag", existing.ETag)
		h.Set("Last-Modified", existing.Modified.Format(http.TimeFormat))
		h.Set("x-ms-creation-time", existing.Created.Format(http.TimeFormat))
		h.Set("Content-Type", existing.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(existing.Data)))
		h.Set("x-ms-blob-type", "BlockBlob")
		h.Set("x-ms-server-encrypted", "true")
		h.Set("Accept-Ranges", "bytes")
		h.Set("x-ms-lease-state", "available")
		h.Set("x-ms-lease-status", "unlocked")
		data := existing.Data
		rng := r.Header.Get("x-ms-range")
		if rng == "" {
			rng = r.Header.Get("Range")
		}
		if op == "GetBlob" && rng != "" {
			start, end, ok := parseRange(rng, len(data))
			if !ok {
				s.mu.Unlock()
				blobError(w, 416, "InvalidRange", "The range specified is invalid for the current size of the resource.")
				return
			}
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(data)))
			h.Set("Content-Length", strconv.Itoa(end-start+1))
			status = 206
			w.WriteHeader(206)
			_, _ = w.Write(data[start : end+1])
			break
		}
		w.WriteHeader(200)
		if op == "GetBlob" {
			_, _ = w.Write(data)
		}
	case "DeleteBlob":
		if existing == nil {
			s.mu.Unlock()
			s.recordData(r, c, "blob", op, action, res, 404)
			blobError(w, 404, "BlobNotFound", "The specified blob does not exist.")
			return
		}
		delete(ctr.Blobs, blobName)
		h.Set("x-ms-delete-type-permanent", "true")
		status = 202
		w.WriteHeader(202)
	case "ListBlobs":
		prefix := r.URL.Query().Get("prefix")
		var names []string
		for n := range ctr.Blobs {
			if strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		var sb strings.Builder
		sb.WriteString("\ufeff<?xml version=\"1.0\" encoding=\"utf-8\"?>")
		fmt.Fprintf(&sb, `<EnumerationResults ServiceEndpoint="%s/" ContainerName="%s">`, xmlEscape(s.BlobServiceURL(account)), xmlEscape(ctrName))
		if prefix != "" {
			fmt.Fprintf(&sb, "<Prefix>%s</Prefix>", xmlEscape(prefix))
		}
		sb.WriteString("<Blobs>")
		for _, n := range names {
			b := ctr.Blobs[n]
			fmt.Fprintf(&sb, "<Blob><Name>%s</Name><Properties><Creation-Time>%s</Creation-Time><Last-Modified>%s</Last-Modified><Etag>%s</Etag><Content-Length>%d</Content-Length><Content-Type>%s</Content-Type><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>",
				xmlEscape(n), b.Created.Format(http.TimeFormat), b.Modified.Format(http.TimeFormat), b.ETag, len(b.Data), xmlEscape(b.ContentType))
		}
		sb.WriteString("</Blobs><NextMarker /></EnumerationResults>")
		h.Set("Content-Type", "application/xml")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, sb.String())
	}
	s.mu.Unlock()
	s.recordData(r, c, "blob", op, action, res, status)
}

// ---- Key Vault secrets ----

func kvError(w http.ResponseWriter, status int, code, msg string, inner string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]any{"code": inner}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func (s *Sim) serveVault(w http.ResponseWriter, r *http.Request, vault, p string) {
	p = strings.Trim(p, "/")
	seg := strings.Split(p, "/")
	var op, action string
	switch {
	case len(seg) >= 2 && len(seg) <= 3 && seg[0] == "secrets" && r.Method == "GET":
		op, action = "GetSecret", "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	case len(seg) == 2 && seg[0] == "secrets" && r.Method == "PUT":
		op, action = "SetSecret", "Microsoft.KeyVault/vaults/secrets/setSecret/action"
	default:
		kvError(w, 400, "BadParameter", "The request URI contains an invalid name: "+p+" (simulator subset: get and set secret).", "")
		return
	}
	f := s.TakeFault(ServiceKeyVault, op)
	if f != nil && !f.AfterEffect {
		s.writeFault(w, ServiceKeyVault, f)
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		kvError(w, 400, "BadParameter", "The request is missing api-version.", "")
		return
	}
	challenge := fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, s.URL(), s.opts.TenantID, ResourceKeyVault)
	raw, ok := bearer(r)
	if !ok {
		// The first request of a challenge-based client carries no token and no body.
		w.Header().Set("WWW-Authenticate", challenge)
		kvError(w, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", "")
		return
	}
	c, err := s.verifyAccessToken(raw, ResourceKeyVault)
	if err != nil {
		w.Header().Set("WWW-Authenticate", challenge)
		msg := "AKV10022: Invalid audience."
		if err == errTokenExpired {
			msg = "AKV10032: Token expired."
		}
		kvError(w, 401, "Unauthorized", msg, "")
		return
	}
	vaultID := s.VaultID(vault)
	if vaultID == "" {
		kvError(w, 404, "VaultNotFound", "Vault "+vault+" not found.", "")
		return
	}
	name := seg[1]
	res := vaultID + "/secrets/" + name
	var body struct {
		Value string `json:"value"`
	}
	if op == "SetSecret" {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			kvError(w, 400, "BadParameter", "Invalid request body.", "")
			return
		}
	}
	out := w
	if f != nil {
		out = &discardWriter{h: http.Header{}}
	}
	s.mu.Lock()
	allowed, _ := s.authorize(evalRequest{principal: c.OID, action: action, data: true, resource: res})
	if !allowed {
		s.mu.Unlock()
		s.recordData(r, c, "keyvault", op, action, res, 403)
		kvError(out, 403, "Forbidden", fmt.Sprintf("Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=%s;oid=%s;iss=%s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: %s;location=westeurope\r\n", c.AppID, c.OID, s.issuerV1(), action, strings.ToLower(res), vault), "ForbiddenByRbac")
		if f != nil {
			s.writeFault(w, ServiceKeyVault, f)
		}
		return
	}
	v := s.vaults[vault]
	// Ids are in Azure's canonical form whatever URL the client used, so that
	// azsecrets.ID.Name()/Version() parse them.
	base := "https://" + vault + ".vault.azure.net"
	now := s.now()
	sec := v.Secrets[name]
	status := 200
	if op == "SetSecret" {
		sec = &secret{Value: body.Value, Version: randHex(16), Created: now}
		v.Secrets[name] = sec
	} else if sec == nil || len(seg) == 3 && seg[2] != "" && seg[2] != sec.Version {
		s.mu.Unlock()
		s.recordData(r, c, "keyvault", op, action, res, 404)
		kvError(out, 404, "SecretNotFound", fmt.Sprintf("A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", strings.Join(seg[1:], "/")), "")
		if f != nil {
			s.writeFault(w, ServiceKeyVault, f)
		}
		return
	}
	resp := map[string]any{"value": sec.Value, "id": base + "/secrets/" + name + "/" + sec.Version,
		"attributes": map[string]any{"enabled": true, "created": sec.Created.Unix(), "updated": sec.Created.Unix(), "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
		"tags":       map[string]string{}}
	s.mu.Unlock()
	s.recordData(r, c, "keyvault", op, action, res, status)
	writeJSON(out, status, resp)
	if f != nil {
		s.writeFault(w, ServiceKeyVault, f)
	}
}

// parseRange parses "bytes=a-b" / "bytes=a-" against size; end is inclusive.
func parseRange(v string, size int) (int, int, bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "bytes=")
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return 0, 0, false
	}
	start, err := strconv.Atoi(a)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end := size - 1
	if b != "" {
		e, err := strconv.Atoi(b)
		if err != nil || e < start {
			return 0, 0, false
		}
		if e < end {
			end = e
		}
	}
	return start, end, true
}
