package paths

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/store"
)

const ingestHelpSyn = `Evidence the engine's own collectors submit, signed with the mount's key.`

const ingestHelpDesc = `
External plugins cannot write audit entries, so the engine's collectors (AWS
CloudTrail, ...) submit what they gather to this path of their own mount through
Vault's API: the request and its verdicts then pass through every audit device like
any other. The path takes no Vault token; instead payload (base64url JSON with nonce,
issued_at and events) must carry signature, an HMAC-SHA256 under a per-mount key that
only the engine holds (seal-wrapped storage). A submission older than 5 minutes, from
the future, or whose nonce was seen before is refused (403), as is a forged signature.
The answer is the same as observe's.
`

// IngestMaxSkew bounds how old (or early) a signed submission may be.
const IngestMaxSkew = 5 * time.Minute

// IngestEnvelope is what a collector signs.
type IngestEnvelope struct {
	Nonce    string           `json:"nonce"`
	IssuedAt int64            `json:"issued_at"`
	Events   []map[string]any `json:"events"`
}

// SignIngest encodes and signs an envelope for the ingest path.
func SignIngest(key []byte, env IngestEnvelope) (payload, signature string, err error) {
	raw, err := json.Marshal(env)
	if err != nil {
		return "", "", err
	}
	payload = base64.RawURLEncoding.EncodeToString(raw)
	return payload, ingestMAC(key, payload), nil
}

func ingestMAC(key []byte, payload string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("nhi-ingest-v1\n" + payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func ingestPath(d *Deps) *framework.Path {
	h := &ingestHandler{deps: d}
	return &framework.Path{
		Pattern: "ingest",
		Fields: map[string]*framework.FieldSchema{
			"payload":   {Type: framework.TypeString, Required: true, Description: "base64url JSON envelope: nonce, issued_at, events."},
			"signature": {Type: framework.TypeString, Required: true, Description: "base64url HMAC-SHA256 of the payload under the mount's ingest key."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: forwardedOp(h.ingest, "Accept signed collector evidence and return drift verdicts."),
		},
		HelpSynopsis:    ingestHelpSyn,
		HelpDescription: ingestHelpDesc,
	}
}

type ingestHandler struct{ deps *Deps }

func (h *ingestHandler) ingest(ctx context.Context, req *logical.Request, data *framework.FieldData) (*logical.Response, error) {
	payload, signature := data.Get("payload").(string), data.Get("signature").(string)
	if payload == "" || signature == "" {
		return badRequest("payload and signature: both are required")
	}
	key, err := store.IngestKey(ctx, req.Storage, false)
	if err != nil {
		return nil, err
	}
	if key == nil || !hmac.Equal([]byte(ingestMAC(key, payload)), []byte(signature)) {
		return forbidden("signature: does not verify under this mount's ingest key")
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return badRequest("payload: not base64url: %s", err)
	}
	var env IngestEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return badRequest("payload: not an ingest envelope: %s", err)
	}
	now := h.deps.now()
	issued := time.Unix(env.IssuedAt, 0)
	if issued.Before(now.Add(-IngestMaxSkew)) || issued.After(now.Add(IngestMaxSkew)) {
		return forbidden("issued_at: %s is outside the %s window around now", issued.UTC().Format(time.RFC3339), IngestMaxSkew)
	}
	if len(env.Nonce) < 16 || len(env.Nonce) > 64 {
		return badRequest("nonce: must be 16 to 64 characters")
	}
	fresh, err := store.UseNonce(ctx, req.Storage, fmt.Sprintf("%x", sha256.Sum256([]byte(env.Nonce))), issued)
	if err != nil {
		return nil, err
	}
	if !fresh {
		return forbidden("nonce: this submission was accepted before (replay)")
	}
	events := make([]any, len(env.Events))
	for i, e := range env.Events {
		events[i] = e
	}
	return h.deps.judgeBatch(ctx, req.Storage, map[string]any{"events": events})
}

func forbidden(format string, args ...any) (*logical.Response, error) {
	return logical.ErrorResponse(format, args...), logical.ErrPermissionDenied
}
