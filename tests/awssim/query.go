package awssim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// AWS Query protocol (STS, IAM): form-encoded POST, XML responses.

const (
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
)

type queryHandler func(c *call) (string, *APIError)

func (s *Sim) serveQuery(c *call) (writeFn, *APIError) {
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		return nil, errf(400, "MalformedQueryString", "%v", err)
	}
	for k, v := range c.r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	c.form = form
	c.op = form.Get("Action")
	var h queryHandler
	var unsigned bool
	ns, version := iamNS, "2010-05-08"
	if c.service == "sts" {
		ns, version = stsNS, "2011-06-15"
		h = s.stsOps()[c.op]
		unsigned = c.op == "AssumeRoleWithWebIdentity"
	} else {
		h = s.iamOps()[c.op]
	}
	if c.op == "" {
		return nil, errf(400, "MissingAction", "Missing Action")
	}
	if h == nil {
		return nil, errf(400, "InvalidAction", "Could not find operation %s for version %s", c.op, form.Get("Version"))
	}
	if v := form.Get("Version"); v != version {
		return nil, errf(400, "InvalidAction", "Could not find operation %s for version %s", c.op, v)
	}
	return s.run(c, unsigned, func() (writeFn, *APIError) {
		inner, apiErr := h(c)
		if apiErr != nil {
			return nil, apiErr
		}
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/xml")
			w.Header().Set("X-Amzn-RequestId", c.reqID)
			w.WriteHeader(200)
			fmt.Fprintf(w, `<%sResponse xmlns="%s">`, c.op, ns)
			if inner != "\x00" {
				fmt.Fprintf(w, "<%sResult>%s</%sResult>", c.op, inner, c.op)
			}
			fmt.Fprintf(w, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", c.reqID, c.op)
		}, nil
	})
}

// noResult marks operations whose response has no <Result> element.
const noResult = "\x00"

func writeQueryError(w http.ResponseWriter, c *call, e *APIError) {
	typ := "Sender"
	if e.Receiver || e.Status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", c.reqID)
	w.WriteHeader(e.Status)
	ns := iamNS
	if c.service == "sts" {
		ns = stsNS
	}
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		ns, typ, esc(e.Code), esc(e.Message), c.reqID)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// el renders <name>value</name> with escaping.
func el(name, value string) string { return "<" + name + ">" + esc(value) + "</" + name + ">" }

// elOpt renders the element only when value is non-empty.
func elOpt(name, value string) string {
	if value == "" {
		return ""
	}
	return el(name, value)
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func tagsXML(tags []Tag) string {
	if len(tags) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("<Tags>")
	for _, t := range tags {
		b.WriteString("<member>" + el("Key", t.Key) + el("Value", t.Value) + "</member>")
	}
	b.WriteString("</Tags>")
	return b.String()
}

func membersXML(name string, vals []string) string {
	var b strings.Builder
	b.WriteString("<" + name + ">")
	for _, v := range vals {
		b.WriteString(el("member", v))
	}
	b.WriteString("</" + name + ">")
	return b.String()
}

// urlEncodePolicy encodes a policy document the way IAM returns it (RFC 3986).
func urlEncodePolicy(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

// queryList reads a Query-protocol list: Prefix.member.1, Prefix.member.2, …
func queryList(form url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		k := fmt.Sprintf("%s.member.%d", prefix, i)
		if _, ok := form[k]; !ok {
			break
		}
		out = append(out, form.Get(k))
	}
	return out
}

// queryStructList reads Prefix.member.N.Field for the given fields.
func queryStructList(form url.Values, prefix string, fields ...string) []map[string]string {
	var out []map[string]string
	for i := 1; ; i++ {
		m := map[string]string{}
		found := false
		for _, f := range fields {
			k := fmt.Sprintf("%s.member.%d.%s", prefix, i, f)
			if v, ok := form[k]; ok {
				m[f] = v[0]
				found = true
			}
		}
		if !found {
			break
		}
		out = append(out, m)
	}
	return out
}

func queryTags(form url.Values) []Tag {
	var out []Tag
	for _, m := range queryStructList(form, "Tags", "Key", "Value") {
		out = append(out, Tag{m["Key"], m["Value"]})
	}
	return out
}

// paginate applies Marker / MaxItems to a sorted list of names.
func paginate(form url.Values, items []string) (page []string, truncated bool, marker string, err *APIError) {
	sort.Strings(items)
	start := 0
	if m := form.Get("Marker"); m != "" {
		start = sort.SearchStrings(items, m)
	}
	max := 100
	if v := form.Get("MaxItems"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 1 || n > 1000 {
			return nil, false, "", validationErr("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
		max = n
	}
	end := start + max
	if end >= len(items) {
		return items[start:], false, "", nil
	}
	return items[start:end], true, items[end], nil
}

func pageXML(truncated bool, marker string) string {
	if truncated {
		return "<IsTruncated>true</IsTruncated>" + el("Marker", marker)
	}
	return "<IsTruncated>false</IsTruncated>"
}
