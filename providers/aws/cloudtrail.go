package aws

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/backend/drift"
)

// CloudTrailLag is how far back each lookup reaches before the checkpoint: CloudTrail
// delivers events minutes late, so an event older than the newest one judged may still
// appear. Events in that window are recognised by id and judged once.
const CloudTrailLag = 15 * time.Minute

// CollectorCheckpoint is where a credential's CloudTrail reading stands: the newest event
// time judged, and the ids (with times) judged within CloudTrailLag of it.
type CollectorCheckpoint struct {
	Since time.Time        `json:"since"`
	Seen  map[string]int64 `json:"seen,omitempty"`
}

// CollectLimits bound one credential's share of one collector run.
type CollectLimits struct {
	MaxPages int // LookupEvents pages of up to 50 events
}

// ErrNotConfiguredForCollection means there is no AWS root access to read CloudTrail with.
var ErrNotConfiguredForCollection = errors.New("aws is not configured")

// CollectEvents reads the CloudTrail events of one access key after the checkpoint and
// returns them as observe-style evidence (oldest first) with the advanced checkpoint.
// The checkpoint only moves over events returned, so a failed submission loses nothing.
func (p *Provider) CollectEvents(ctx context.Context, s logical.Storage, accessKeyID string, cp CollectorCheckpoint, until time.Time, limits CollectLimits) ([]map[string]any, CollectorCheckpoint, error) {
	cfg, clients, err := p.clients(ctx, s)
	if err != nil {
		return nil, cp, err
	}
	if clients == nil || clients.CloudTrail == nil {
		return nil, cp, ErrNotConfiguredForCollection
	}
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyAccessKeyId, AttributeValue: awssdk.String(accessKeyID)}},
		StartTime:        awssdk.Time(cp.Since.Add(-CloudTrailLag)),
		EndTime:          awssdk.Time(until),
		MaxResults:       awssdk.Int32(50),
	}
	var records []cloudTrailRecord
	for page := 0; page < limits.MaxPages; page++ {
		out, err := clients.CloudTrail.LookupEvents(ctx, in)
		if err != nil {
			return nil, cp, wrap("cloudtrail LookupEvents", err)
		}
		for _, e := range out.Events {
			if e.CloudTrailEvent == nil {
				continue
			}
			var r cloudTrailRecord
			if json.Unmarshal([]byte(*e.CloudTrailEvent), &r) != nil || cp.Seen[r.EventID] != 0 {
				continue
			}
			records = append(records, r)
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	// LookupEvents answers newest first; evidence is judged in the order it happened.
	next := CollectorCheckpoint{Since: cp.Since, Seen: map[string]int64{}}
	for id, at := range cp.Seen {
		next.Seen[id] = at
	}
	evidence := make([]map[string]any, 0, len(records))
	for i := len(records) - 1; i >= 0; i-- {
		r := records[i]
		t, err := time.Parse(time.RFC3339, r.EventTime)
		if err != nil {
			continue
		}
		if t.After(next.Since) {
			next.Since = t
		}
		next.Seen[r.EventID] = t.Unix()
		evidence = append(evidence, r.evidence(cfg.Partition()))
	}
	horizon := next.Since.Add(-CloudTrailLag).Unix()
	for id, at := range next.Seen {
		if at < horizon {
			delete(next.Seen, id)
		}
	}
	return evidence, next, nil
}

// cloudTrailRecord is the part of a CloudTrail record the drift rules need.
type cloudTrailRecord struct {
	EventTime         string         `json:"eventTime"`
	EventSource       string         `json:"eventSource"`
	EventName         string         `json:"eventName"`
	SourceIPAddress   string         `json:"sourceIPAddress"`
	ErrorCode         string         `json:"errorCode"`
	EventID           string         `json:"eventID"`
	RecipientAccount  string         `json:"recipientAccountId"`
	RequestParameters map[string]any `json:"requestParameters"`
	UserIdentity      struct {
		AccessKeyID string `json:"accessKeyId"`
	} `json:"userIdentity"`
	Resources []struct {
		ARN string `json:"ARN"`
	} `json:"resources"`
}

// evidence converts the record to observe's event fields.
func (r cloudTrailRecord) evidence(partition string) map[string]any {
	service := strings.TrimSuffix(r.EventSource, ".amazonaws.com")
	ev := map[string]any{
		"access_key_id": r.UserIdentity.AccessKeyID,
		"action":        service + ":" + r.EventName,
		"resource":      r.resource(service, partition),
		"time":          r.EventTime,
		"outcome":       r.outcome(),
		"source":        drift.SourceCloudTrail,
		"event_id":      r.EventID,
	}
	// CloudTrail names AWS services ("s3.amazonaws.com", "AWS Internal") as sources too.
	if addr, err := netip.ParseAddr(r.SourceIPAddress); err == nil {
		ev["source_ip"] = addr.String()
	}
	if _, sseC := r.RequestParameters["SSECustomerAlgorithm"]; sseC {
		ev["encryption"] = drift.EncryptionSSEC
	}
	return ev
}

func (r cloudTrailRecord) outcome() string {
	switch {
	case r.ErrorCode == "":
		return drift.OutcomeSuccess
	case strings.Contains(r.ErrorCode, "AccessDenied"), strings.Contains(r.ErrorCode, "Unauthorized"):
		return drift.OutcomeDenied
	default:
		return drift.OutcomeError
	}
}

// resource is the concrete resource the call touched, in a form the rules match against
// intents: S3 object and bucket ARNs, the first listed resource ARN otherwise, and for
// calls without one (GetCallerIdentity, ListBuckets) a resource naming the account.
func (r cloudTrailRecord) resource(service, partition string) string {
	bucket, _ := r.RequestParameters["bucketName"].(string)
	if service == "s3" && bucket != "" {
		if key, _ := r.RequestParameters["key"].(string); key != "" {
			return "arn:" + partition + ":s3:::" + bucket + "/" + key
		}
		prefix, _ := r.RequestParameters["prefix"].(string)
		return drift.S3ListResource(partition, bucket, prefix)
	}
	for _, res := range r.Resources {
		if res.ARN != "" {
			return res.ARN
		}
	}
	account := r.RecipientAccount
	if account == "" {
		account = "000000000000"
	}
	return "arn:" + partition + ":" + service + "::" + account + ":" + r.EventName
}
