package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestCloudTrailCollectorFindsDriftOnceThroughAudit uses an AWS credential outside its
// intent, runs the collectors (the same run the periodic work does every interval), and
// checks the finding is listed, went through the audit log as a signed ingest request,
// and is not reported again by later runs or after a plugin restart.
func TestCloudTrailCollectorFindsDriftOnceThroughAudit(t *testing.T) {
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-collect", nil)
	s := mustIssueAWS(t, role, s3Intent(nil))
	id := str(s.Data, "credential_id")
	c, _ := awsClients(sim, s, "")
	if err := s3Get(c, "a", "b/seed.txt"); err != nil {
		t.Fatalf("in-intent get: %v", err)
	}
	if err := s3Get(c, "a", "c/other.txt"); !isAccessDenied(err) {
		t.Fatalf("out-of-intent get: %v", err)
	}

	collect := func() map[string]any {
		t.Helper()
		resp, err := env.root.Logical().Write("nhi/drift/collect", nil)
		if err != nil {
			t.Fatalf("drift/collect: %v", err)
		}
		return resp.Data
	}
	first := collect()
	findings := func() []string {
		list, err := env.root.Logical().ReadWithData("nhi/drift/", map[string][]string{"list": {"true"}, "credential_id": {id}})
		if err != nil || list == nil {
			return nil
		}
		return strs(list.Data["keys"])
	}
	got := findings()
	if len(got) == 0 {
		t.Fatalf("no finding after collection %v", first)
	}
	var destination bool
	for _, fid := range got {
		f, err := env.root.Logical().Read("nhi/drift/" + fid)
		if err != nil || f == nil {
			t.Fatal(err)
		}
		if f.Data["rule"] == "destination-outside-intent" && f.Data["source"] == "cloudtrail" && strings.Contains(str(f.Data, "resource"), "a/c/other.txt") {
			destination = true
		}
	}
	if !destination {
		t.Errorf("no destination-outside-intent finding from cloudtrail among %v", got)
	}

	entries, _ := readAudit(t)
	var audited bool
	for _, e := range entries {
		if e.Type == "response" && e.Request.Path == "nhi/ingest" {
			for _, w := range e.Response.Warnings {
				audited = audited || (strings.Contains(w, id) && strings.Contains(w, "destination-outside-intent"))
			}
		}
	}
	if !audited {
		t.Error("the collector's finding is not in the audit log as an ingest response")
	}

	collect()
	if again := findings(); len(again) != len(got) {
		t.Errorf("a second run re-reported: %d -> %d findings", len(got), len(again))
	}
	if _, err := env.srv.CLI(context.Background(), "root", "plugin", "reload", "-plugin=vault-plugin-secrets-nhi"); err != nil {
		t.Fatalf("plugin reload: %v", err)
	}
	eventually(t, 30e9, "plugin did not come back after reload", func() bool {
		_, err := env.root.Logical().Read("nhi/config/drift")
		return err == nil
	})
	collect()
	if again := findings(); len(again) != len(got) {
		t.Errorf("after a restart the collector re-reported: %d -> %d findings", len(got), len(again))
	}
	// New activity after the restart is still read: nothing is lost either.
	if err := s3Get(c, "c", "x.txt"); !isAccessDenied(err) {
		t.Fatalf("bucket c: %v", err)
	}
	collect()
	if after := findings(); len(after) <= len(got) {
		t.Errorf("activity after the restart produced no finding (%d findings)", len(after))
	}
}

// TestPeriodicCollectorReportsWithinTwoIntervals relies on Vault's own periodic tick
// (about a minute) instead of drift/collect.
func TestPeriodicCollectorReportsWithinTwoIntervals(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Vault's periodic tick")
	}
	t.Parallel()
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-periodic", nil)
	s := mustIssueAWS(t, role, s3Intent(nil))
	id := str(s.Data, "credential_id")
	c, _ := awsClients(sim, s, "")
	if err := s3Put(c, "c", "stolen.txt"); !isAccessDenied(err) {
		t.Fatalf("out-of-intent put: %v", err)
	}
	interval := 60 * time.Second
	start := time.Now()
	eventually(t, 2*interval+15*time.Second, "no finding within two collector intervals", func() bool {
		list, err := env.root.Logical().ReadWithData("nhi/drift/", map[string][]string{"list": {"true"}, "credential_id": {id}})
		return err == nil && list != nil && len(strs(list.Data["keys"])) > 0
	})
	t.Logf("periodic collector reported after %s", time.Since(start).Round(time.Second))
}

// TestCollectorRevokesOnSeriousDrift: with drift_action=revoke, the collector's high
// finding kills the AWS session at once, and later use of it is a critical finding.
func TestCollectorRevokesOnSeriousDrift(t *testing.T) {
	sim := awsSetup(t)
	role := writeAWSRole(t, "aws-driftrevoke", map[string]any{"drift_action": "revoke"})
	s := mustIssueAWS(t, role, s3Intent(nil))
	id := str(s.Data, "credential_id")
	c, _ := awsClients(sim, s, "")
	if err := s3Get(c, "a", "b/seed.txt"); err != nil {
		t.Fatalf("in-intent get: %v", err)
	}
	if err := s3Get(c, "c", "x.txt"); !isAccessDenied(err) {
		t.Fatalf("out-of-intent get: %v", err)
	}
	if _, err := env.root.Logical().Write("nhi/drift/collect", nil); err != nil {
		t.Fatal(err)
	}
	if rec := readRecord(t, id); str(rec, "status") != "revoked" || !strings.Contains(str(rec, "revoke_reason"), "drift") {
		t.Fatalf("record after drift = %v / %v", rec["status"], rec["revoke_reason"])
	}
	eventually(t, 10*time.Second, "session still works after drift revocation", func() bool {
		return isAccessDenied(s3Get(c, "a", "b/seed.txt"))
	})
	// CloudTrail times have whole seconds: a use in the second of the revocation cannot
	// be told from one just before it, so the evidence of later use comes a second on.
	time.Sleep(1100 * time.Millisecond)
	if err := s3Get(c, "a", "b/seed.txt"); !isAccessDenied(err) {
		t.Fatalf("revoked session: %v", err)
	}
	if _, err := env.root.Logical().Write("nhi/drift/collect", nil); err != nil {
		t.Fatal(err)
	}
	list, err := env.root.Logical().ReadWithData("nhi/drift/", map[string][]string{"list": {"true"}, "credential_id": {id}, "severity": {"critical"}})
	if err != nil || list == nil || len(strs(list.Data["keys"])) == 0 {
		t.Errorf("no critical finding for use after revocation (%v)", err)
	}
}

// TestObserveThousandInIntentEventsHasNoFinding is the false-positive check through the
// real server: a workload's normal day of 1,000 uses, inside its intent, window and network.
func TestObserveThousandInIntentEventsHasNoFinding(t *testing.T) {
	role := writeRole(t, "quiet", map[string]any{"max_ttl": "2h"})
	s := mustIssue(t, env.workload.Client, role, intent(map[string]any{"ttl": "2h"}))
	id := str(s.Data, "credential_id")
	now := time.Now().UTC()
	events := make([]map[string]any, 1000)
	for i := range events {
		events[i] = map[string]any{
			"credential_id": id, "action": "write", "source_ip": "127.0.0.1", "source": "gateway",
			"resource": "https://reports.internal/exports/2026/part-" + strconv.Itoa(i) + ".csv",
			// Spread evenly back over the last 25 minutes: about 40 per minute.
			"time": now.Add(-time.Duration(1000-i) * 1500 * time.Millisecond).Format(time.RFC3339),
		}
	}
	resp, err := env.root.Logical().Write("nhi/observe", map[string]any{"events": events})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Data["drift"] != false || len(resp.Warnings) != 0 {
		t.Errorf("1,000 in-intent events gave drift=%v findings=%v", resp.Data["drift"], resp.Data["findings"])
	}
}

// TestCollectorReportsPostureDrift: the cloud role gains a policy after issuance; the
// next use of the credential, read by the collector, is a posture-drift finding.
func TestCollectorReportsPostureDrift(t *testing.T) {
	sim := awsSetup(t)
	arn, err := sim.CreateRole("etl-posture", simTrust, map[string]string{"all": simAllowAll}, 43200)
	if err != nil {
		t.Fatal(err)
	}
	role := writeAWSRole(t, "aws-posture", map[string]any{"role_arn": arn})
	s := mustIssueAWS(t, role, s3Intent(nil))
	id := str(s.Data, "credential_id")
	c, _ := awsClients(sim, s, "")
	if _, err := env.root.Logical().Write("nhi/drift/collect", nil); err != nil {
		t.Fatal(err)
	}

	rootKey, rootSecret := sim.RootCredentials()
	admin := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: awssdk.String(sim.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(rootKey, rootSecret, "")})
	if _, err := admin.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{
		RoleName: awssdk.String("etl-posture"), PolicyName: awssdk.String("added-later"),
		PolicyDocument: awssdk.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`),
	}); err != nil {
		t.Fatal(err)
	}
	if err := s3Get(c, "a", "b/seed.txt"); err != nil {
		t.Fatalf("in-intent get: %v", err)
	}
	if _, err := env.root.Logical().Write("nhi/drift/collect", nil); err != nil {
		t.Fatal(err)
	}
	list, err := env.root.Logical().ReadWithData("nhi/drift/", map[string][]string{"list": {"true"}, "credential_id": {id}})
	if err != nil || list == nil {
		t.Fatalf("no findings (%v)", err)
	}
	var posture bool
	for _, info := range list.Data["key_info"].(map[string]any) {
		posture = posture || info.(map[string]any)["rule"] == "posture-drift"
	}
	if !posture {
		t.Errorf("no posture-drift finding: %v", list.Data["key_info"])
	}
}
