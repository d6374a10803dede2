package awssim

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// EventResource is a resource touched by a call.
type EventResource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
	name      string // ResourceName for LookupEvents (defaults to ARN)
}

// Event is one recorded API call, in CloudTrail's record shape.
type Event struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       map[string]any  `json:"userIdentity"`
	EventTime          time.Time       `json:"-"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  map[string]any  `json:"requestParameters"`
	ResponseElements   map[string]any  `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	Resources          []EventResource `json:"resources,omitempty"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`

	// AccessKeyID and Username are the LookupEvents attributes.
	AccessKeyID string `json:"-"`
	Username    string `json:"-"`
}

// JSON returns the CloudTrail record as LookupEvents returns it in CloudTrailEvent.
func (e *Event) JSON() string {
	type alias Event
	b, _ := json.Marshal(struct {
		*alias
		EventTime string `json:"eventTime"`
	}{(*alias)(e), e.EventTime.UTC().Format("2006-01-02T15:04:05Z")})
	return string(b)
}

var eventSources = map[string]string{
	"sts": "sts.amazonaws.com", "iam": "iam.amazonaws.com", "s3": "s3.amazonaws.com",
	"cloudtrail": "cloudtrail.amazonaws.com", "lambda": "lambda.amazonaws.com",
}

func (s *Sim) record(c *call) {
	if c.op == "" {
		return
	}
	e := &Event{
		EventVersion: "1.09", EventTime: c.time, EventSource: eventSources[c.service], EventName: c.op,
		AWSRegion: s.opts.Region, SourceIPAddress: c.sourceIP, UserAgent: c.userAgent,
		ErrorCode: c.errCode, ErrorMessage: c.errMsg, RequestParameters: c.params, ResponseElements: c.response,
		RequestID: c.reqID, EventID: requestID(), ReadOnly: c.readOnly, Resources: c.resources,
		EventType: "AwsApiCall", ManagementEvent: !c.dataEvent, RecipientAccountID: s.opts.AccountID,
		EventCategory: "Management",
	}
	if c.dataEvent {
		e.EventCategory = "Data"
	}
	if c.eventName != "" {
		e.EventName = c.eventName
	}
	if c.region != "" {
		e.AWSRegion = c.region
	}
	if c.service == "iam" || c.service == "sts" && c.region == "" {
		e.AWSRegion = "us-east-1"
	}
	if len(e.RequestParameters) == 0 {
		e.RequestParameters = nil
	}
	ui := map[string]any{}
	p := c.principal
	switch {
	case p == nil:
		ui["type"] = "Unknown"
		if auth := c.r.Header.Get("Authorization"); auth != "" {
			if sc, err := parseAuthHeader(auth); err == nil {
				ui["accessKeyId"] = sc.accessKey
				e.AccessKeyID = sc.accessKey
			}
		}
	case p.Type == "WebIdentityUser":
		ui["type"] = "WebIdentityUser"
		ui["principalId"] = p.UserID
		ui["userName"] = p.UserName
		if c.webIdentity != nil {
			ui["identityProvider"] = c.webIdentity["federatedProvider"]
		}
		e.Username = p.UserName
	case p.user != nil:
		ui["type"] = "IAMUser"
		ui["principalId"] = p.UserID
		ui["arn"] = p.Arn
		ui["accountId"] = s.opts.AccountID
		ui["accessKeyId"] = p.AccessKeyID
		ui["userName"] = p.UserName
		e.AccessKeyID, e.Username = p.AccessKeyID, p.UserName
	case p.sess != nil:
		x := p.sess
		ui["type"] = "AssumedRole"
		ui["principalId"] = p.UserID
		ui["arn"] = p.Arn
		ui["accountId"] = s.opts.AccountID
		ui["accessKeyId"] = p.AccessKeyID
		sc := map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": x.RoleID, "arn": x.RoleArn, "accountId": s.opts.AccountID, "userName": x.RoleName},
			"attributes":    map[string]any{"creationDate": x.Issued.Format("2006-01-02T15:04:05Z"), "mfaAuthenticated": "false"},
		}
		if x.WebIdentityProvider != "" {
			sc["webIdFederationData"] = map[string]any{"federatedProvider": x.WebIdentityProvider, "attributes": map[string]any{}}
		}
		if x.SourceIdentity != "" {
			sc["sourceIdentity"] = x.SourceIdentity
		}
		ui["sessionContext"] = sc
		e.AccessKeyID, e.Username = p.AccessKeyID, x.SessionName
	}
	e.UserIdentity = ui
	s.mu.Lock()
	s.events = append(s.events, e)
	if n := len(s.events); n > s.opts.MaxEvents {
		s.events = append([]*Event(nil), s.events[n-s.opts.MaxEvents:]...)
	}
	s.mu.Unlock()
}

// Events returns every recorded call, oldest first (management and data events).
func (s *Sim) Events() []*Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Event{}, s.events...)
}

// ---- LookupEvents (JSON 1.1) ----

func (s *Sim) serveCloudTrail(c *call) (writeFn, *APIError) {
	t := c.r.Header.Get("X-Amz-Target")
	// The SDK sends "CloudTrail_20131101.Op"; the service also accepts the fully
	// qualified "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.Op".
	t = strings.TrimPrefix(t, "com.amazonaws.cloudtrail.v20131101.")
	const prefix = "CloudTrail_20131101."
	if !strings.HasPrefix(t, prefix) {
		return nil, errf(400, "UnknownOperationException", "")
	}
	c.op = strings.TrimPrefix(t, prefix)
	if c.op != "LookupEvents" {
		return nil, errf(400, "UnknownOperationException", "")
	}
	return s.run(c, false, func() (writeFn, *APIError) {
		out, err := s.lookupEvents(c)
		if err != nil {
			return nil, err
		}
		body, _ := json.Marshal(out)
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-RequestId", c.reqID)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(200)
			_, _ = w.Write(body)
		}, nil
	})
}

type lookupInput struct {
	LookupAttributes []struct {
		AttributeKey   string
		AttributeValue string
	}
	StartTime  *float64
	EndTime    *float64
	MaxResults *int
	NextToken  *string
}

func epoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func (s *Sim) lookupEvents(c *call) (map[string]any, *APIError) {
	c.readOnly = true
	var in lookupInput
	if len(c.body) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			return nil, errf(400, "SerializationException", "Start of structure or map found where not expected.")
		}
	}
	if err := s.authorize(c, "cloudtrail:LookupEvents", "*", nil); err != nil {
		return nil, err
	}
	if len(in.LookupAttributes) > 1 {
		return nil, errf(400, "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
	}
	max := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, errf(400, "InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
		}
		max = *in.MaxResults
	}
	now := s.now()
	start, end := now.Add(-90*24*time.Hour), now
	if in.StartTime != nil {
		start = epoch(*in.StartTime)
	}
	if in.EndTime != nil {
		end = epoch(*in.EndTime)
	}
	if start.After(end) {
		return nil, errf(400, "InvalidTimeRangeException", "Start time must be before end time.")
	}
	var key, val string
	if len(in.LookupAttributes) == 1 {
		key, val = in.LookupAttributes[0].AttributeKey, in.LookupAttributes[0].AttributeValue
		switch key {
		case "EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId":
		default:
			return nil, errf(400, "InvalidLookupAttributesException", "Invalid attribute key: %s", key)
		}
	}
	// The paging token names the last event returned, so events recorded meanwhile (which
	// are newer and sort first) do not shift later pages.
	after := ""
	if in.NextToken != nil && *in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || !strings.HasPrefix(string(b), "evt:") {
			return nil, errf(400, "InvalidNextTokenException", "Invalid NextToken.")
		}
		after = strings.TrimPrefix(string(b), "evt:")
	}
	s.mu.Lock()
	var matched []*Event
	for i := len(s.events) - 1; i >= 0; i-- {
		e := s.events[i]
		if e.EventTime.Before(start) || e.EventTime.After(end) || now.Sub(e.EventTime) < s.opts.EventDelay {
			continue
		}
		if s.opts.LookupManagementEventsOnly && !e.ManagementEvent {
			continue
		}
		if key != "" && !eventMatches(e, key, val) {
			continue
		}
		matched = append(matched, e)
	}
	s.mu.Unlock()
	skip := 0
	if after != "" {
		skip = -1
		for i, e := range matched {
			if e.EventID == after {
				skip = i + 1
				break
			}
		}
		if skip < 0 {
			return nil, errf(400, "InvalidNextTokenException", "Invalid NextToken.")
		}
	}
	page := matched[skip:]
	out := map[string]any{}
	if len(page) > max {
		page = page[:max]
		out["NextToken"] = base64.RawURLEncoding.EncodeToString([]byte("evt:" + page[max-1].EventID))
	}
	var evs []map[string]any
	for _, e := range page {
		m := map[string]any{
			"EventId": e.EventID, "EventName": e.EventName, "ReadOnly": strconv.FormatBool(e.ReadOnly),
			"EventTime": float64(e.EventTime.UnixNano()) / 1e9, "EventSource": e.EventSource,
			"CloudTrailEvent": e.JSON(),
		}
		if e.AccessKeyID != "" {
			m["AccessKeyId"] = e.AccessKeyID
		}
		if e.Username != "" {
			m["Username"] = e.Username
		}
		var res []map[string]string
		for _, r := range e.Resources {
			n := r.name
			if n == "" {
				n = r.ARN
			}
			res = append(res, map[string]string{"ResourceType": r.Type, "ResourceName": n})
		}
		if res != nil {
			m["Resources"] = res
		}
		evs = append(evs, m)
	}
	if evs == nil {
		evs = []map[string]any{}
	}
	out["Events"] = evs
	return out, nil
}

func eventMatches(e *Event, key, val string) bool {
	switch key {
	case "EventId":
		return e.EventID == val
	case "EventName":
		return e.EventName == val
	case "ReadOnly":
		return strconv.FormatBool(e.ReadOnly) == val
	case "Username":
		return e.Username == val
	case "EventSource":
		return e.EventSource == val
	case "AccessKeyId":
		return e.AccessKeyID == val
	case "ResourceType", "ResourceName":
		for _, r := range e.Resources {
			n := r.name
			if n == "" {
				n = r.ARN
			}
			if key == "ResourceType" && r.Type == val || key == "ResourceName" && (n == val || r.ARN == val) {
				return true
			}
		}
	}
	return false
}
