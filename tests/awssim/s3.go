package awssim

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3 REST-XML, path-style addressing only.

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

type bucket struct {
	Name      string
	Created   time.Time
	Objects   map[string]*object
	Policy    string
	Lifecycle string
}

type object struct {
	Data        []byte
	ETag        string
	Modified    time.Time
	ContentType string
	SSECAlg     string
	SSECKeyMD5  string
	Metadata    map[string]string
}

func newObject(data []byte, t time.Time) *object {
	sum := md5.Sum(data)
	return &object{Data: append([]byte{}, data...), ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Modified: t, ContentType: "binary/octet-stream"}
}

func writeS3Error(w http.ResponseWriter, c *call, e *APIError) {
	w.Header().Set("x-amz-request-id", c.reqID)
	w.Header().Set("x-amz-id-2", base64.StdEncoding.EncodeToString([]byte(c.reqID)))
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	if c.r.Method == http.MethodHead {
		return
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error>%s%s%s%s</Error>`,
		el("Code", e.Code), el("Message", e.Message), el("Resource", c.r.URL.Path), el("RequestId", c.reqID))
}

// s3Route splits the path into bucket and key and names the operation.
func s3Route(r *http.Request) (bucketName, key, op, event string) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucketName, key, _ = strings.Cut(p, "/")
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case bucketName == "":
		if r.Method == http.MethodGet {
			return "", "", "ListBuckets", "ListBuckets"
		}
	case key == "":
		switch r.Method {
		case http.MethodGet:
			switch {
			case has("policy"):
				return bucketName, "", "GetBucketPolicy", "GetBucketPolicy"
			case has("lifecycle"):
				return bucketName, "", "GetBucketLifecycleConfiguration", "GetBucketLifecycle"
			case q.Get("list-type") == "2":
				return bucketName, "", "ListObjectsV2", "ListObjects"
			case len(q) == 0 || has("prefix") || has("delimiter") || has("marker") || has("max-keys") || has("encoding-type"):
				return bucketName, "", "ListObjects", "ListObjects"
			}
		case http.MethodPut:
			switch {
			case has("lifecycle"):
				return bucketName, "", "PutBucketLifecycleConfiguration", "PutBucketLifecycle"
			case has("policy"):
				return bucketName, "", "PutBucketPolicy", "PutBucketPolicy"
			}
		case http.MethodDelete:
			if has("policy") {
				return bucketName, "", "DeleteBucketPolicy", "DeleteBucketPolicy"
			}
		case http.MethodHead:
			return bucketName, "", "HeadBucket", "HeadBucket"
		}
	default:
		if len(q) > 0 && !has("x-id") && !has("versionId") {
			break
		}
		switch r.Method {
		case http.MethodGet:
			return bucketName, key, "GetObject", "GetObject"
		case http.MethodHead:
			return bucketName, key, "HeadObject", "HeadObject"
		case http.MethodPut:
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				return bucketName, key, "CopyObject", "CopyObject"
			}
			return bucketName, key, "PutObject", "PutObject"
		case http.MethodDelete:
			return bucketName, key, "DeleteObject", "DeleteObject"
		}
	}
	return bucketName, key, "", ""
}

func (s *Sim) serveS3(c *call) (writeFn, *APIError) {
	b, key, op, event := s3Route(c.r)
	c.op = op
	c.eventName = event
	if op == "" {
		c.op = "Unsupported"
		return nil, errf(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented.")
	}
	c.params["Host"] = c.r.Host
	if v := c.r.Header.Get("X-Amz-Content-Sha256"); strings.HasPrefix(v, "STREAMING-") || v == unsignedPayload {
		c.params["x-amz-content-sha256"] = v
	}
	if b != "" {
		c.params["bucketName"] = b
	}
	if key != "" {
		c.params["key"] = key
		c.dataEvent = true
	}
	if op == "ListObjectsV2" || op == "ListObjects" {
		c.dataEvent = true
	}
	return s.run(c, false, func() (writeFn, *APIError) {
		// S3 resolves the bucket before authorizing: a bucket that does not exist is
		// NoSuchBucket for everyone.
		if b != "" {
			if _, err := s.bucketOr404(b); err != nil {
				return nil, err
			}
		}
		switch op {
		case "ListBuckets":
			return s.s3ListBuckets(c)
		case "ListObjectsV2", "ListObjects":
			return s.s3ListObjects(c, b, op == "ListObjectsV2")
		case "GetObject", "HeadObject":
			return s.s3GetObject(c, b, key, op == "HeadObject")
		case "PutObject", "CopyObject":
			return s.s3PutObject(c, b, key, op == "CopyObject")
		case "DeleteObject":
			return s.s3DeleteObject(c, b, key)
		case "PutBucketLifecycleConfiguration":
			return s.s3PutLifecycle(c, b)
		case "GetBucketLifecycleConfiguration":
			return s.s3GetLifecycle(c, b)
		case "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy":
			return s.s3BucketPolicy(c, b, op)
		case "HeadBucket":
			return s.s3HeadBucket(c, b)
		}
		return nil, errf(501, "NotImplemented", "not implemented")
	})
}

func bucketArn(b string) string      { return "arn:aws:s3:::" + b }
func objectArn(b, key string) string { return "arn:aws:s3:::" + b + "/" + key }

func s3BaseKeys(c *call) map[string][]string {
	k := map[string][]string{
		"s3:signatureversion": {"AWS4-HMAC-SHA256"},
		"s3:authType":         {"REQUEST-HEADER"},
	}
	if v := c.r.Header.Get("X-Amz-Content-Sha256"); v != "" {
		k["s3:x-amz-content-sha256"] = []string{v}
	}
	return k
}

// s3Authorize checks the caller's policies and the bucket policy's denies.
func (s *Sim) s3Authorize(c *call, action, resource, bucketName string, keys map[string][]string) *APIError {
	s.mu.Lock()
	var pol string
	if b, ok := s.buckets[bucketName]; ok {
		pol = b.Policy
	}
	s.mu.Unlock()
	if pol != "" {
		return s.authorize(c, action, resource, keys, pol)
	}
	return s.authorize(c, action, resource, keys)
}

func (s *Sim) bucketOr404(name string) (*bucket, *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		return nil, errf(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	return b, nil
}

func xmlOK(c *call, body string) writeFn {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("x-amz-request-id", c.reqID)
		w.WriteHeader(200)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+body)
	}
}

func emptyOK(c *call, status int, headers map[string]string) writeFn {
	return func(w http.ResponseWriter) {
		w.Header().Set("x-amz-request-id", c.reqID)
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
	}
}

func (s *Sim) s3ListBuckets(c *call) (writeFn, *APIError) {
	c.readOnly = true
	if err := s.authorize(c, "s3:ListAllMyBuckets", "arn:aws:s3:::*", s3BaseKeys(c)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, `<ListAllMyBucketsResult xmlns="%s"><Owner><ID>%s</ID></Owner><Buckets>`, s3NS, hex.EncodeToString([]byte(s.opts.AccountID)))
	for _, n := range sortedKeys(s.buckets) {
		b.WriteString("<Bucket>" + el("Name", n) + el("CreationDate", s.buckets[n].Created.UTC().Format("2006-01-02T15:04:05.000Z")) + "</Bucket>")
	}
	b.WriteString("</Buckets></ListAllMyBucketsResult>")
	return xmlOK(c, b.String()), nil
}

func (s *Sim) s3ListObjects(c *call, bn string, v2 bool) (writeFn, *APIError) {
	c.readOnly = true
	q := c.r.URL.Query()
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, errf(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		if n < maxKeys {
			maxKeys = n
		}
	}
	c.params["prefix"], c.params["delimiter"] = prefix, delim
	if v2 {
		c.params["list-type"] = "2"
	}
	keys := s3BaseKeys(c)
	keys["s3:prefix"] = []string{prefix}
	if delim != "" {
		keys["s3:delimiter"] = []string{delim}
	}
	keys["s3:max-keys"] = []string{strconv.Itoa(maxKeys)}
	c.resources = append(c.resources, EventResource{ARN: bucketArn(bn), AccountID: s.opts.AccountID, Type: "AWS::S3::Bucket", name: bn})
	if err := s.s3Authorize(c, "s3:ListBucket", bucketArn(bn), bn, keys); err != nil {
		return nil, err
	}
	b, err := s.bucketOr404(bn)
	if err != nil {
		return nil, err
	}
	start := q.Get("start-after")
	if v2 && q.Get("continuation-token") != "" {
		t, e := base64.RawURLEncoding.DecodeString(q.Get("continuation-token"))
		if e != nil {
			return nil, errf(400, "InvalidArgument", "The continuation token provided is incorrect")
		}
		start = string(t)
	}
	if !v2 && q.Get("marker") != "" {
		start = q.Get("marker")
	}
	if delim != "" && start != "" && strings.HasSuffix(start, delim) {
		start += "\U0010FFFF"
	}
	encURL := q.Get("encoding-type") == "url"
	enc := func(v string) string {
		if encURL {
			return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
		}
		return v
	}
	s.mu.Lock()
	names := sortedKeys(b.Objects)
	var contents []string
	prefixes := map[string]bool{}
	var prefixOrder []string
	count := 0
	truncated := false
	last := ""
	for _, k := range names {
		if !strings.HasPrefix(k, prefix) || (start != "" && k <= start) {
			continue
		}
		entry := k
		isPrefix := false
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				entry = k[:len(prefix)+i+len(delim)]
				isPrefix = true
			}
		}
		if isPrefix && prefixes[entry] {
			continue
		}
		if count >= maxKeys {
			truncated = true
			break
		}
		count++
		if isPrefix {
			prefixes[entry] = true
			prefixOrder = append(prefixOrder, entry)
			last = entry
			// skip everything under this prefix
			start = entry + "\U0010FFFF"
			continue
		}
		o := b.Objects[k]
		contents = append(contents, "<Contents>"+el("Key", enc(k))+el("LastModified", o.Modified.UTC().Format("2006-01-02T15:04:05.000Z"))+el("ETag", o.ETag)+el("Size", strconv.Itoa(len(o.Data)))+el("StorageClass", "STANDARD")+"</Contents>")
		last = k
	}
	s.mu.Unlock()
	var out strings.Builder
	fmt.Fprintf(&out, `<ListBucketResult xmlns="%s">`, s3NS)
	out.WriteString(el("Name", bn) + el("Prefix", enc(prefix)))
	if delim != "" {
		out.WriteString(el("Delimiter", enc(delim)))
	}
	out.WriteString(el("MaxKeys", strconv.Itoa(maxKeys)))
	if encURL {
		out.WriteString(el("EncodingType", "url"))
	}
	out.WriteString(el("IsTruncated", strconv.FormatBool(truncated)))
	if v2 {
		out.WriteString(el("KeyCount", strconv.Itoa(count)))
		if t := q.Get("continuation-token"); t != "" {
			out.WriteString(el("ContinuationToken", t))
		}
		if sa := q.Get("start-after"); sa != "" {
			out.WriteString(el("StartAfter", enc(sa)))
		}
		if truncated {
			out.WriteString(el("NextContinuationToken", base64.RawURLEncoding.EncodeToString([]byte(last))))
		}
	} else {
		out.WriteString(el("Marker", q.Get("marker")))
		if truncated && delim != "" {
			out.WriteString(el("NextMarker", last))
		}
	}
	for _, ct := range contents {
		out.WriteString(ct)
	}
	sort.Strings(prefixOrder)
	for _, p := range prefixOrder {
		out.WriteString("<CommonPrefixes>" + el("Prefix", enc(p)) + "</CommonPrefixes>")
	}
	out.WriteString("</ListBucketResult>")
	return xmlOK(c, out.String()), nil
}

// ssec validates SSE-C headers (prefix "" or "copy-source-") and returns the algorithm
// and key MD5.
func ssec(h http.Header, variant string) (alg, keyMD5 string, err *APIError) {
	base := "X-Amz-" + variant + "Server-Side-Encryption-Customer-"
	alg = h.Get(base + "Algorithm")
	key := h.Get(base + "Key")
	keyMD5 = h.Get(base + "Key-Md5")
	if alg == "" && key == "" && keyMD5 == "" {
		return "", "", nil
	}
	if alg != "AES256" {
		return "", "", errf(400, "InvalidEncryptionAlgorithmError", "The encryption request that you specified is not valid. The valid value is AES256.")
	}
	raw, e := base64.StdEncoding.DecodeString(key)
	if e != nil || len(raw) != 32 {
		return "", "", errf(400, "InvalidArgument", "The secret key was invalid for the specified algorithm.")
	}
	sum := md5.Sum(raw)
	if keyMD5 != "" && keyMD5 != base64.StdEncoding.EncodeToString(sum[:]) {
		return "", "", errf(400, "InvalidArgument", "The calculated MD5 hash of the key did not match the hash that was provided.")
	}
	return alg, base64.StdEncoding.EncodeToString(sum[:]), nil
}

func (s *Sim) s3GetObject(c *call, bn, key string, head bool) (writeFn, *APIError) {
	c.readOnly = true
	arn := objectArn(bn, key)
	c.resources = append(c.resources, EventResource{ARN: arn, Type: "AWS::S3::Object", name: arn}, EventResource{ARN: bucketArn(bn), AccountID: s.opts.AccountID, Type: "AWS::S3::Bucket", name: bn})
	keys := s3BaseKeys(c)
	alg, kmd5, err := ssec(c.r.Header, "")
	if err != nil {
		return nil, err
	}
	if alg != "" {
		keys["s3:x-amz-server-side-encryption-customer-algorithm"] = []string{alg}
		c.params["SSECustomerAlgorithm"], c.params["SSECustomerKey"] = alg, "HIDDEN_DUE_TO_SECURITY_REASONS"
	}
	if err := s.s3Authorize(c, "s3:GetObject", arn, bn, keys); err != nil {
		return nil, err
	}
	b, err := s.bucketOr404(bn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	o, ok := b.Objects[key]
	s.mu.Unlock()
	if !ok {
		// Without s3:ListBucket S3 does not reveal whether the key exists.
		if s.s3Authorize(c, "s3:ListBucket", bucketArn(bn), bn, map[string][]string{"s3:prefix": {key}}) != nil {
			return nil, errf(403, "AccessDenied", "Access Denied")
		}
		return nil, errf(404, "NoSuchKey", "The specified key does not exist.")
	}
	if o.SSECAlg != "" {
		if alg == "" {
			return nil, errf(400, "InvalidRequest", "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
		}
		if kmd5 != o.SSECKeyMD5 {
			return nil, errf(403, "AccessDenied", "Access Denied")
		}
	} else if alg != "" {
		return nil, errf(400, "InvalidRequest", "The encryption parameters are not applicable to this object.")
	}
	return func(w http.ResponseWriter) {
		h := w.Header()
		h.Set("x-amz-request-id", c.reqID)
		h.Set("ETag", o.ETag)
		h.Set("Last-Modified", o.Modified.UTC().Format(http.TimeFormat))
		h.Set("Content-Type", o.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(o.Data)))
		h.Set("Accept-Ranges", "bytes")
		for k, v := range o.Metadata {
			h.Set("x-amz-meta-"+k, v)
		}
		if o.SSECAlg != "" {
			h.Set("x-amz-server-side-encryption-customer-algorithm", o.SSECAlg)
			h.Set("x-amz-server-side-encryption-customer-key-MD5", o.SSECKeyMD5)
		}
		w.WriteHeader(200)
		if !head {
			_, _ = w.Write(o.Data)
		}
	}, nil
}

func verifyChecksums(h http.Header, body []byte) *APIError {
	if v := h.Get("Content-Md5"); v != "" {
		sum := md5.Sum(body)
		if v != base64.StdEncoding.EncodeToString(sum[:]) {
			return errf(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	if v := h.Get("X-Amz-Checksum-Crc32"); v != "" {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE(body))
		if v != base64.StdEncoding.EncodeToString(b[:]) {
			return errf(400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.")
		}
	}
	return nil
}

func (s *Sim) s3PutObject(c *call, bn, key string, copy bool) (writeFn, *APIError) {
	arn := objectArn(bn, key)
	keys := s3BaseKeys(c)
	alg, kmd5, err := ssec(c.r.Header, "")
	if err != nil {
		return nil, err
	}
	if alg != "" {
		keys["s3:x-amz-server-side-encryption-customer-algorithm"] = []string{alg}
		c.params["SSECustomerAlgorithm"], c.params["SSECustomerKey"], c.params["SSECustomerKeyMD5"] = alg, "HIDDEN_DUE_TO_SECURITY_REASONS", kmd5
	}
	if v := c.r.Header.Get("X-Amz-Server-Side-Encryption"); v != "" {
		keys["s3:x-amz-server-side-encryption"] = []string{v}
	}
	if v := c.r.Header.Get("X-Amz-Acl"); v != "" {
		keys["s3:x-amz-acl"] = []string{v}
	}
	var src *object
	var srcBucket, srcKey string
	if copy {
		cs := c.r.Header.Get("X-Amz-Copy-Source")
		dec, e := url.PathUnescape(cs)
		if e != nil {
			return nil, errf(400, "InvalidArgument", "Invalid copy source encoding")
		}
		dec, _, _ = strings.Cut(dec, "?versionId=")
		dec = strings.TrimPrefix(dec, "/")
		var ok bool
		srcBucket, srcKey, ok = strings.Cut(dec, "/")
		if !ok || srcKey == "" {
			return nil, errf(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
		}
		keys["s3:x-amz-copy-source"] = []string{srcBucket + "/" + srcKey}
		c.params["x-amz-copy-source"] = cs
		srcArn := objectArn(srcBucket, srcKey)
		c.resources = append(c.resources, EventResource{ARN: srcArn, Type: "AWS::S3::Object", name: srcArn})
		srcKeys := s3BaseKeys(c)
		salg, smd5, err := ssec(c.r.Header, "Copy-Source-")
		if err != nil {
			return nil, err
		}
		if salg != "" {
			srcKeys["s3:x-amz-server-side-encryption-customer-algorithm"] = []string{salg}
			keys["s3:x-amz-copy-source-server-side-encryption-customer-algorithm"] = []string{salg}
			c.params["x-amz-copy-source-server-side-encryption-customer-algorithm"] = salg
		}
		c.resources = append(c.resources, EventResource{ARN: arn, Type: "AWS::S3::Object", name: arn}, EventResource{ARN: bucketArn(bn), AccountID: s.opts.AccountID, Type: "AWS::S3::Bucket", name: bn})
		if err := s.s3Authorize(c, "s3:GetObject", srcArn, srcBucket, srcKeys); err != nil {
			return nil, err
		}
		if err := s.s3Authorize(c, "s3:PutObject", arn, bn, keys); err != nil {
			return nil, err
		}
		sb, err := s.bucketOr404(srcBucket)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		src = sb.Objects[srcKey]
		s.mu.Unlock()
		if src == nil {
			return nil, errf(404, "NoSuchKey", "The specified key does not exist.")
		}
		if src.SSECAlg != "" && (salg == "" || smd5 != src.SSECKeyMD5) {
			return nil, errf(400, "InvalidRequest", "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
		}
	} else {
		c.resources = append(c.resources, EventResource{ARN: arn, Type: "AWS::S3::Object", name: arn}, EventResource{ARN: bucketArn(bn), AccountID: s.opts.AccountID, Type: "AWS::S3::Bucket", name: bn})
		if err := s.s3Authorize(c, "s3:PutObject", arn, bn, keys); err != nil {
			return nil, err
		}
		if err := verifyChecksums(c.r.Header, c.body); err != nil {
			return nil, err
		}
	}
	b, err := s.bucketOr404(bn)
	if err != nil {
		return nil, err
	}
	var o *object
	if copy {
		o = newObject(src.Data, c.time)
		o.ContentType = src.ContentType
		o.Metadata = src.Metadata
	} else {
		o = newObject(c.body, c.time)
		if ct := c.r.Header.Get("Content-Type"); ct != "" {
			o.ContentType = ct
		}
		o.Metadata = map[string]string{}
		for k, v := range c.r.Header {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-meta-") {
				o.Metadata[strings.TrimPrefix(lk, "x-amz-meta-")] = v[0]
			}
		}
	}
	o.SSECAlg, o.SSECKeyMD5 = alg, kmd5
	s.mu.Lock()
	b.Objects[key] = o
	s.mu.Unlock()
	hdr := map[string]string{"ETag": o.ETag}
	if alg != "" {
		hdr["x-amz-server-side-encryption-customer-algorithm"] = alg
		hdr["x-amz-server-side-encryption-customer-key-MD5"] = kmd5
	}
	if copy {
		body := fmt.Sprintf(`<CopyObjectResult xmlns="%s">%s%s</CopyObjectResult>`, s3NS, el("LastModified", o.Modified.UTC().Format("2006-01-02T15:04:05.000Z")), el("ETag", o.ETag))
		w := xmlOK(c, body)
		return func(rw http.ResponseWriter) {
			for k, v := range hdr {
				if k != "ETag" {
					rw.Header().Set(k, v)
				}
			}
			w(rw)
		}, nil
	}
	return emptyOK(c, 200, hdr), nil
}

func (s *Sim) s3DeleteObject(c *call, bn, key string) (writeFn, *APIError) {
	arn := objectArn(bn, key)
	c.resources = append(c.resources, EventResource{ARN: arn, Type: "AWS::S3::Object", name: arn}, EventResource{ARN: bucketArn(bn), AccountID: s.opts.AccountID, Type: "AWS::S3::Bucket", name: bn})
	if err := s.s3Authorize(c, "s3:DeleteObject", arn, bn, s3BaseKeys(c)); err != nil {
		return nil, err
	}
	b, err := s.bucketOr404(bn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(b.Objects, key)
	s.mu.Unlock()
	return emptyOK(c, 204, nil), nil
}

func (s *Sim) s3HeadBucket(c *call, bn string) (writeFn, *APIError) {
	c.readOnly = true
	if err := s.s3Authorize(c, "s3:ListBucket", bucketArn(bn), bn, s3BaseKeys(c)); err != nil {
		return nil, err
	}
	if _, err := s.bucketOr404(bn); err != nil {
		return nil, err
	}
	return emptyOK(c, 200, map[string]string{"x-amz-bucket-region": s.opts.Region}), nil
}

func (s *Sim) s3PutLifecycle(c *call, bn string) (writeFn, *APIError) {
	c.resources = append(c.resources, EventResource{ARN: bucketArn(bn), AccountID: s.opts.AccountID, Type: "AWS::S3::Bucket", name: bn})
	if err := s.s3Authorize(c, "s3:PutLifecycleConfiguration", bucketArn(bn), bn, s3BaseKeys(c)); err != nil {
		return nil, err
	}
	b, err := s.bucketOr404(bn)
	if err != nil {
		return nil, err
	}
	var lc struct {
		XMLName xml.Name
		Rules   []struct {
			ID     string `xml:"ID"`
			Status string `xml:"Status"`
		} `xml:"Rule"`
	}
	if e := xml.Unmarshal(c.body, &lc); e != nil || lc.XMLName.Local != "LifecycleConfiguration" {
		return nil, errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	for _, r := range lc.Rules {
		if r.Status != "Enabled" && r.Status != "Disabled" {
			return nil, errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
	}
	if c.r.Header.Get("Content-Md5") == "" && c.r.Header.Get("X-Amz-Checksum-Crc32") == "" && c.r.Header.Get("X-Amz-Sdk-Checksum-Algorithm") == "" {
		return nil, errf(400, "InvalidRequest", "Missing required header for this request: Content-MD5 OR x-amz-checksum-*")
	}
	if err := verifyChecksums(c.r.Header, c.body); err != nil {
		return nil, err
	}
	s.mu.Lock()
	b.Lifecycle = string(c.body)
	s.mu.Unlock()
	return emptyOK(c, 200, nil), nil
}

func (s *Sim) s3GetLifecycle(c *call, bn string) (writeFn, *APIError) {
	c.readOnly = true
	if err := s.s3Authorize(c, "s3:GetLifecycleConfiguration", bucketArn(bn), bn, s3BaseKeys(c)); err != nil {
		return nil, err
	}
	b, err := s.bucketOr404(bn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	lc := b.Lifecycle
	s.mu.Unlock()
	if lc == "" {
		return nil, errf(404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
	}
	return xmlOK(c, strings.TrimPrefix(lc, `<?xml version="1.0" encoding="UTF-8"?>`)), nil
}

func (s *Sim) s3BucketPolicy(c *call, bn, op string) (writeFn, *APIError) {
	action := map[string]string{"PutBucketPolicy": "s3:PutBucketPolicy", "GetBucketPolicy": "s3:GetBucketPolicy", "DeleteBucketPolicy": "s3:DeleteBucketPolicy"}[op]
	c.readOnly = op == "GetBucketPolicy"
	c.resources = append(c.resources, EventResource{ARN: bucketArn(bn), AccountID: s.opts.AccountID, Type: "AWS::S3::Bucket", name: bn})
	if err := s.s3Authorize(c, action, bucketArn(bn), bn, s3BaseKeys(c)); err != nil {
		return nil, err
	}
	b, err := s.bucketOr404(bn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case "GetBucketPolicy":
		if b.Policy == "" {
			return nil, errf(404, "NoSuchBucketPolicy", "The bucket policy does not exist")
		}
		pol := b.Policy
		return func(w http.ResponseWriter) {
			w.Header().Set("x-amz-request-id", c.reqID)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			fmt.Fprint(w, pol)
		}, nil
	case "DeleteBucketPolicy":
		b.Policy = ""
		return emptyOK(c, 204, nil), nil
	}
	doc := strings.TrimSpace(string(c.body))
	if !strings.HasPrefix(doc, "{") {
		return nil, errf(400, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
	}
	p, e := ParsePolicy(doc)
	if e != nil {
		return nil, errf(400, "MalformedPolicy", "%v", e)
	}
	for _, st := range p.Statements {
		if st.Principal == nil && st.NotPrincipal == nil {
			return nil, errf(400, "MalformedPolicy", "Missing required field Principal")
		}
	}
	c.params["bucketPolicy"] = doc
	b.Policy = doc
	return emptyOK(c, 204, nil), nil
}
