package azuresim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Shared Key authorization for Blob (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key).
// A valid signature with either account key grants full data access, which is why
// Microsoft.Storage/storageAccounts/listkeys/action is an escalation.

// headerLess orders x-ms-* header names as the storage service (and azblob) do: hyphens are
// ignored at the first comparison level and only break ties.
func headerLess(a, b string) bool {
	x, y := strings.ReplaceAll(a, "-", ""), strings.ReplaceAll(b, "-", "")
	if x != y {
		return x < y
	}
	return a < b
}

func sharedKeyStringToSign(r *http.Request, account string) string {
	h := r.Header
	get := func(k string) string { return h.Get(k) }
	cl := get("Content-Length")
	if cl == "" && r.ContentLength > 0 {
		cl = strconv.FormatInt(r.ContentLength, 10)
	}
	if cl == "0" {
		cl = ""
	}
	var names []string
	vals := map[string]string{}
	for k, v := range h {
		n := strings.TrimSpace(strings.ToLower(k))
		if strings.HasPrefix(n, "x-ms-") {
			names = append(names, n)
			vals[n] = strings.Join(v, ",")
		}
	}
	sort.Slice(names, func(i, j int) bool { return headerLess(names[i], names[j]) })
	var ch []string
	for _, n := range names {
		ch = append(ch, n+":"+vals[n])
	}
	res := "/" + account
	if p := r.URL.EscapedPath(); p != "" {
		res += p
	} else {
		res += "/"
	}
	if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(q) > 0 {
		var qn []string
		for k := range q {
			qn = append(qn, k)
		}
		sort.Strings(qn)
		for _, k := range qn {
			v := q[k]
			sort.Strings(v)
			res += "\n" + strings.ToLower(k) + ":" + strings.Join(v, ",")
		}
	}
	return strings.Join([]string{r.Method, get("Content-Encoding"), get("Content-Language"), cl, get("Content-MD5"),
		get("Content-Type"), get("Date"), get("If-Modified-Since"), get("If-Match"), get("If-None-Match"),
		get("If-Unmodified-Since"), get("Range"), strings.Join(ch, "\n"), res}, "\n")
}

// verifySharedKey checks "SharedKey account:signature" against the account's keys.
func (s *Sim) verifySharedKey(r *http.Request, account, auth string) bool {
	cred := strings.TrimSpace(strings.TrimPrefix(auth, "SharedKey "))
	name, sig, ok := strings.Cut(cred, ":")
	if !ok || name != account {
		return false
	}
	s.mu.Lock()
	a := s.accounts[account]
	var keys [2]string
	if a != nil {
		keys = a.Keys
	}
	s.mu.Unlock()
	if a == nil {
		return false
	}
	sts := sharedKeyStringToSign(r, account)
	for _, k := range keys {
		kb, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			continue
		}
		m := hmac.New(sha256.New, kb)
		m.Write([]byte(sts))
		if hmac.Equal([]byte(base64.StdEncoding.EncodeToString(m.Sum(nil))), []byte(sig)) {
			return true
		}
	}
	return false
}
