package backend

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/paths"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/aws"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers/token"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

// submitBatch bounds one signed submission; the ingest path takes at most 1,000 events.
const submitBatch = 500

// CollectResult says what one collector run did.
type CollectResult struct {
	Credentials int
	Events      int
	Findings    int
	Submissions int
}

// collectIfDue runs the collectors when the configured interval has passed.
func (b *Backend) collectIfDue(ctx context.Context, s logical.Storage) error {
	cfg, err := store.GetDriftConfig(ctx, s)
	if err != nil || cfg.CollectorInterval <= 0 {
		return err
	}
	now := b.clock()
	b.collectMu.Lock()
	due := now.Sub(b.lastCollect) >= cfg.CollectorInterval
	if due {
		b.lastCollect = now
	}
	b.collectMu.Unlock()
	if !due {
		return nil
	}
	_, err = b.Collect(ctx, s)
	return err
}

// Collect reads the cloud logs of every credential that is active or recently ended,
// from each credential's checkpoint, and submits the evidence to this mount's ingest
// path through Vault's API, so the verdicts pass through the audit devices. A
// checkpoint advances only after its evidence was accepted: a crash or restart
// neither loses nor re-reports events.
func (b *Backend) Collect(ctx context.Context, s logical.Storage) (CollectResult, error) {
	// One run at a time on this node: two runs reading the same checkpoint would submit
	// the same events twice.
	b.collectRunMu.Lock()
	defer b.collectRunMu.Unlock()
	var result CollectResult
	awsProvider, ok := b.providers[aws.Name].(*aws.Provider)
	if !ok {
		return result, nil
	}
	cfg, err := store.GetDriftConfig(ctx, s)
	if err != nil {
		return result, err
	}
	now := b.clock().UTC()
	targets, err := store.CollectTargets(ctx, s, now)
	if err != nil {
		return result, err
	}
	// Oldest reading position first, so a bounded run drains a backlog fairly.
	sort.Slice(targets, func(i, j int) bool { return targets[i].IssuedAt.Before(targets[j].IssuedAt) })
	if len(targets) > cfg.CollectorMaxCredentials {
		targets = targets[:cfg.CollectorMaxCredentials]
	}
	var errs []error
	if err := b.refreshPosture(ctx, s, awsProvider, targets); err != nil {
		errs = append(errs, err)
	}
	var batch []map[string]any
	var advanced []store.CollectTarget
	flush := func() error {
		if len(batch) > 0 {
			findings, err := b.submit(ctx, s, batch)
			if err != nil {
				return err
			}
			result.Submissions++
			result.Events += len(batch)
			result.Findings += findings
		}
		for _, t := range advanced {
			if err := store.PutCollectTarget(ctx, s, t); err != nil {
				return err
			}
		}
		batch, advanced = nil, nil
		return nil
	}
	for _, t := range targets {
		if t.Provider != aws.Name {
			continue
		}
		cp := aws.CollectorCheckpoint{Since: t.IssuedAt}
		if len(t.Checkpoint) > 0 {
			if err := json.Unmarshal(t.Checkpoint, &cp); err != nil {
				errs = append(errs, fmt.Errorf("checkpoint of %s: %w", t.CredentialID, err))
				continue
			}
		}
		events, next, err := awsProvider.CollectEvents(ctx, s, t.KeyID, cp, now, aws.CollectLimits{MaxPages: cfg.CollectorMaxPages})
		if errors.Is(err, aws.ErrNotConfiguredForCollection) {
			return result, nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("collecting %s: %w", t.CredentialID, err))
			continue
		}
		result.Credentials++
		if len(events) == 0 {
			continue
		}
		if t.Checkpoint, err = json.Marshal(next); err != nil {
			return result, err
		}
		batch = append(batch, events...)
		advanced = append(advanced, t)
		if len(batch) >= submitBatch {
			if err := flush(); err != nil {
				return result, err
			}
		}
	}
	if err := flush(); err != nil {
		return result, err
	}
	return result, errors.Join(errs...)
}

// refreshPosture re-reads the policies of every cloud role the targets assumed, once per
// run, so that judging their evidence can tell whether the role changed since issuance.
func (b *Backend) refreshPosture(ctx context.Context, s logical.Storage, p *aws.Provider, targets []store.CollectTarget) error {
	seen := map[string]bool{}
	var errs []error
	for _, t := range targets {
		if t.PostureRef == "" || seen[t.PostureRef] {
			continue
		}
		seen[t.PostureRef] = true
		hash, err := p.RolePolicyHash(ctx, s, t.PostureRef)
		if err != nil {
			errs = append(errs, fmt.Errorf("posture of %s: %w", t.PostureRef, err))
			continue
		}
		if err := store.PutPostureHash(ctx, s, t.PostureRef, hash); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// submit signs events with the mount's ingest key and posts them to the mount's own
// ingest path at the configured issuer URL (Vault's address + /v1/<mount>).
func (b *Backend) submit(ctx context.Context, s logical.Storage, events []map[string]any) (int, error) {
	tokenCfg, err := token.LoadConfig(ctx, s)
	if err != nil {
		return 0, err
	}
	if tokenCfg.Issuer == "" {
		return 0, errors.New("collectors submit through Vault's API at config/token issuer, which is not set")
	}
	key, err := store.IngestKey(ctx, s, true)
	if err != nil {
		return 0, err
	}
	var nonce [18]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return 0, err
	}
	payload, signature, err := paths.SignIngest(key, paths.IngestEnvelope{
		Nonce: base64.RawURLEncoding.EncodeToString(nonce[:]), IssuedAt: b.clock().Unix(), Events: events,
	})
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(map[string]string{"payload": payload, "signature": signature})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenCfg.Issuer+"/ingest", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.httpClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("submitting evidence to %s/ingest: %w", tokenCfg.Issuer, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("submitting evidence to %s/ingest: HTTP %d: %s", tokenCfg.Issuer, resp.StatusCode, bytes.TrimSpace(raw))
	}
	var answer struct {
		Data struct {
			Findings []any `json:"findings"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return 0, fmt.Errorf("ingest answer: %w", err)
	}
	return len(answer.Data.Findings), nil
}
