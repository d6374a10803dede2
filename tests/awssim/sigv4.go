package awssim

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SigV4 verification. The canonical request is rebuilt from the request exactly as the
// aws-sdk-go-v2 signer builds it (and as AWS documents it): method, URI path (escaped a
// second time except for S3), query sorted by key with RFC 3986 escaping, the headers named
// in SignedHeaders (trimmed, inner spaces collapsed), the signed-headers list and the
// payload hash (X-Amz-Content-Sha256 when sent, otherwise the SHA-256 of the body).

type authScope struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseAuthHeader(h string) (*authScope, error) {
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(h, algo) {
		return nil, errors.New("Unsupported authorization type")
	}
	sc := &authScope{}
	for _, part := range strings.Split(h[len(algo):], ",") {
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", h)
		}
		switch k {
		case "Credential":
			p := strings.Split(v, "/")
			if len(p) != 5 || p[4] != "aws4_request" {
				return nil, fmt.Errorf("Credential should be scoped to a valid region. ")
			}
			sc.accessKey, sc.date, sc.region, sc.service = p[0], p[1], p[2], p[3]
		case "SignedHeaders":
			sc.signedHeaders = strings.Split(v, ";")
		case "Signature":
			sc.signature = v
		}
	}
	if sc.accessKey == "" || sc.signature == "" || len(sc.signedHeaders) == 0 {
		return nil, errors.New("Authorization header is malformed")
	}
	return sc, nil
}

// authErr maps a generic authentication failure to the service's own error code.
func authErr(service, kind, msg string) *APIError {
	type codes struct {
		status int
		code   string
	}
	var table map[string]codes
	switch service {
	case "s3":
		table = map[string]codes{
			"unknown":   {403, "InvalidAccessKeyId"},
			"signature": {403, "SignatureDoesNotMatch"},
			"expired":   {400, "ExpiredToken"},
			"token":     {400, "InvalidToken"},
			"skew":      {403, "RequestTimeTooSkewed"},
			"missing":   {403, "AccessDenied"},
			"hash":      {400, "XAmzContentSHA256Mismatch"},
		}
	case "cloudtrail", "lambda":
		table = map[string]codes{
			"unknown":   {403, "UnrecognizedClientException"},
			"signature": {403, "InvalidSignatureException"},
			"expired":   {403, "ExpiredTokenException"},
			"token":     {403, "UnrecognizedClientException"},
			"skew":      {403, "InvalidSignatureException"},
			"missing":   {403, "MissingAuthenticationTokenException"},
			"hash":      {403, "InvalidSignatureException"},
		}
	default:
		table = map[string]codes{
			"unknown":   {403, "InvalidClientTokenId"},
			"signature": {403, "SignatureDoesNotMatch"},
			"expired":   {403, "ExpiredToken"},
			"token":     {403, "InvalidClientTokenId"},
			"skew":      {403, "SignatureDoesNotMatch"},
			"missing":   {403, "MissingAuthenticationToken"},
			"hash":      {403, "SignatureDoesNotMatch"},
		}
	}
	c := table[kind]
	return &APIError{Status: c.status, Code: c.code, Message: msg}
}

const (
	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrail   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
)

// authenticate verifies the request's signature and returns the caller. On success
// c.body holds the decoded payload (aws-chunked bodies are unwrapped).
func (s *Sim) authenticate(c *call) (*principal, string, *APIError) {
	r := c.r
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return nil, "", authErr(c.service, "missing", "Presigned (query-string) authentication is not supported by the simulator")
		}
		msg := "Request is missing Authentication Token"
		if c.service == "s3" {
			msg = "Access Denied"
		}
		return nil, "", authErr(c.service, "missing", msg)
	}
	sc, err := parseAuthHeader(auth)
	if err != nil {
		return nil, "", authErr(c.service, "signature", err.Error())
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return nil, "", authErr(c.service, "signature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	now := s.now()
	if d := now.Sub(t); d > s.opts.ClockSkew || d < -s.opts.ClockSkew {
		if c.service == "s3" {
			return nil, "", authErr(c.service, "skew", "The difference between the request time and the current time is too large.")
		}
		return nil, "", authErr(c.service, "skew", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)", amzDate, now.Add(-s.opts.ClockSkew).Format("20060102T150405Z"), now.Format("20060102T150405Z")))
	}
	if sc.date != amzDate[:8] {
		return nil, "", authErr(c.service, "signature", "Credential should be scoped to a valid date")
	}

	// find the secret
	s.mu.Lock()
	var p *principal
	var secret string
	token := r.Header.Get("X-Amz-Security-Token")
	if k, ok := s.keys[sc.accessKey]; ok && k.Status == "Active" && !now.Before(k.Created.Add(s.opts.KeyPropagationDelay)) {
		u := s.users[k.User]
		if token != "" {
			s.mu.Unlock()
			return nil, "", authErr(c.service, "token", "The security token included in the request is invalid.")
		}
		secret = k.Secret
		p = &principal{Type: "IAMUser", Arn: u.Arn, UserID: u.ID, UserName: u.Name, AccessKeyID: k.ID, user: u}
	} else if x, ok := s.sessions[sc.accessKey]; ok {
		if token != x.Token {
			s.mu.Unlock()
			return nil, "", authErr(c.service, "token", "The security token included in the request is invalid.")
		}
		if now.After(x.Expiration) {
			s.mu.Unlock()
			return nil, "", authErr(c.service, "expired", "The security token included in the request is expired")
		}
		secret = x.Secret
		p = &principal{Type: "AssumedRole", Arn: s.sessionArn(x), UserID: x.RoleID + ":" + x.SessionName, UserName: x.RoleName, AccessKeyID: x.AccessKeyID, sess: x}
	}
	s.mu.Unlock()
	if p == nil {
		if c.service == "s3" {
			return nil, "", authErr(c.service, "unknown", "The AWS Access Key Id you provided does not exist in our records.")
		}
		return nil, "", authErr(c.service, "unknown", "The security token included in the request is invalid.")
	}

	// payload
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	body := c.body
	switch payloadHash {
	case "":
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	case unsignedPayload:
	case streamingUnsignedTrail, streamingSigned, streamingSignedTrail:
		dec, trailers, err := decodeAWSChunked(body, payloadHash != streamingUnsignedTrail)
		if err != nil {
			return nil, "", errf(400, "IncompleteBody", "%v", err)
		}
		// trailing checksums are verified like header checksums
		for k, v := range trailers {
			if strings.HasPrefix(k, "x-amz-checksum-") {
				r.Header.Set(k, v)
			}
		}
		if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" {
			if n, err := strconv.Atoi(dl); err != nil || n != len(dec) {
				return nil, "", errf(400, "IncompleteBody", "The request body terminated unexpectedly")
			}
		}
		body = dec
	default:
		sum := sha256.Sum256(body)
		if !strings.EqualFold(payloadHash, hex.EncodeToString(sum[:])) {
			if c.service == "s3" {
				return nil, "", authErr(c.service, "hash", "The provided 'x-amz-content-sha256' header does not match what was computed.")
			}
			return nil, "", authErr(c.service, "signature", "The request signature we calculated does not match the signature you provided.")
		}
	}

	canon, err := canonicalRequest(r, sc, payloadHash, c.service == "s3")
	if err != nil {
		return nil, "", authErr(c.service, "signature", err.Error())
	}
	scope := strings.Join([]string{sc.date, sc.region, sc.service, "aws4_request"}, "/")
	ch := sha256.Sum256([]byte(canon))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(ch[:])
	key := hmacSHA256([]byte("AWS4"+secret), sc.date)
	key = hmacSHA256(key, sc.region)
	key = hmacSHA256(key, sc.service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, sts))
	if !hmac.Equal([]byte(want), []byte(sc.signature)) {
		msg := "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
		return nil, "", authErr(c.service, "signature", msg)
	}
	c.body = body

	// bookkeeping: last used
	s.mu.Lock()
	if k, ok := s.keys[sc.accessKey]; ok {
		k.LastUsed, k.LastService, k.LastRegion = now, sc.service, sc.region
	}
	if p.sess != nil {
		if rl, ok := s.roles[p.sess.RoleName]; ok {
			rl.LastUsed = now
		}
	}
	s.mu.Unlock()
	return p, sc.region, nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func canonicalRequest(r *http.Request, sc *authScope, payloadHash string, isS3 bool) (string, error) {
	rawPath := r.RequestURI
	if i := strings.IndexByte(rawPath, '?'); i >= 0 {
		rawPath = rawPath[:i]
	}
	if strings.HasPrefix(rawPath, "http://") || strings.HasPrefix(rawPath, "https://") {
		if u, err := url.Parse(rawPath); err == nil {
			rawPath = u.EscapedPath()
		}
	}
	if rawPath == "" {
		rawPath = "/"
	}
	uri := rawPath
	if !isS3 {
		uri = escapePath(rawPath)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", err
	}
	query := strings.ReplaceAll(q.Encode(), "+", "%20")

	var hb strings.Builder
	for _, name := range sc.signedHeaders {
		var vals []string
		switch name {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			if v := r.Header.Get("Content-Length"); v != "" {
				vals = []string{v}
			} else {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			vals = r.Header.Values(name)
		}
		hb.WriteString(name)
		hb.WriteByte(':')
		for i, v := range vals {
			hb.WriteString(strings.TrimSpace(stripExcessSpaces(v)))
			if i < len(vals)-1 {
				hb.WriteByte(',')
			}
		}
		hb.WriteByte('\n')
	}
	return strings.Join([]string{r.Method, uri, query, hb.String(), strings.Join(sc.signedHeaders, ";"), payloadHash}, "\n"), nil
}

func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func stripExcessSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// decodeAWSChunked unwraps an aws-chunked body: "<hex size>[;chunk-signature=..]\r\n<data>\r\n"
// repeated, a zero-size chunk, then optional trailer lines. Chunk signatures are parsed
// but not verified.
func decodeAWSChunked(body []byte, signed bool) ([]byte, map[string]string, error) {
	br := bufio.NewReader(bytes.NewReader(body))
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("malformed aws-chunked body")
		}
		line = strings.TrimRight(line, "\r\n")
		sizeStr, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("malformed aws-chunked chunk size")
		}
		if n == 0 {
			break
		}
		if _, err := io.CopyN(&out, br, n); err != nil {
			return nil, nil, fmt.Errorf("truncated aws-chunked body")
		}
		if crlf, err := br.ReadString('\n'); err != nil || strings.TrimRight(crlf, "\r\n") != "" {
			return nil, nil, fmt.Errorf("malformed aws-chunked chunk terminator")
		}
	}
	_ = signed
	trailers := map[string]string{}
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(k, "x-amz-trailer-signature") {
			trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if err != nil {
			break
		}
	}
	return out.Bytes(), trailers, nil
}
