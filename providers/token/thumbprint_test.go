package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/providers"
)

// RFC 7638 §3.1: the RSA key of RFC 7517 Appendix A.1 and its SHA-256 thumbprint.
const (
	rfc7638Key = `{
     "kty": "RSA",
     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
     "e": "AQAB",
     "alg": "RS256",
     "kid": "2011-04-29"
    }`
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

	// RFC 8037 Appendix A.2/A.3: an Ed25519 public key and its thumbprint.
	rfc8037Key        = `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

	// RFC 7517 Appendix A.1: a P-256 public key (its "use" member removed).
	rfc7517ECKey = `{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"1"}`
)

func TestThumbprintRFCExamples(t *testing.T) {
	for name, tc := range map[string]struct{ jwk, want string }{
		"RFC 7638 RSA":     {rfc7638Key, rfc7638Thumbprint},
		"RFC 8037 Ed25519": {rfc8037Key, rfc8037Thumbprint},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Thumbprint([]byte(tc.jwk))
			if err != nil || got != tc.want {
				t.Fatalf("Thumbprint = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCnfJKTIsRFC7638Thumbprint(t *testing.T) {
	p, s, clock := setup(t, AlgES256)
	req := request(clock)
	req.PublicKeyJWK = []byte(rfc7638Key)
	tok, _ := issue(t, p, s, req)
	c, err := p.Verify(context.Background(), s, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Confirmation == nil || c.Confirmation.JKT != rfc7638Thumbprint {
		t.Fatalf("cnf = %+v, want jkt %s", c.Confirmation, rfc7638Thumbprint)
	}
	_, payload := parts(t, tok)
	if cnf, _ := payload["cnf"].(map[string]any); cnf["jkt"] != rfc7638Thumbprint {
		t.Fatalf("payload cnf = %v", payload["cnf"])
	}
}

// goJoseThumbprint is an independent computation of the same value.
func goJoseThumbprint(t testing.TB, jwk []byte) string {
	t.Helper()
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(jwk); err != nil {
		t.Fatalf("go-jose cannot parse a JWK Thumbprint accepted: %v\n%s", err, jwk)
	}
	if !k.IsPublic() {
		t.Fatalf("Thumbprint accepted a key go-jose sees as non-public: %s", jwk)
	}
	sum, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatalf("go-jose thumbprint: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

func TestThumbprintGeneratedKeys(t *testing.T) {
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, key := range map[string]any{
		"P-256": &ec256.PublicKey, "P-384": &ec384.PublicKey, "P-521": &ec521.PublicKey,
		"Ed25519": edPub, "RSA": &rsaKey.PublicKey,
	} {
		t.Run(name, func(t *testing.T) {
			jwk, err := jose.JSONWebKey{Key: key, KeyID: "k", Algorithm: "x", Use: "sig"}.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Thumbprint(jwk)
			if err != nil {
				t.Fatalf("Thumbprint: %v", err)
			}
			if want := goJoseThumbprint(t, jwk); got != want {
				t.Fatalf("Thumbprint = %s, go-jose = %s", got, want)
			}
		})
	}
	// Optional members do not change the thumbprint.
	a, _ := Thumbprint([]byte(rfc7517ECKey))
	b, _ := Thumbprint([]byte(strings.Replace(rfc7517ECKey, `"kid":"1"`, `"kid":"2","alg":"ES256","use":"sig"`, 1)))
	if a == "" || a != b {
		t.Fatalf("thumbprints differ with optional members: %q %q", a, b)
	}
}

// edEncoding returns the 32-byte little-endian encoding of y with the sign bit.
func edEncoding(y *big.Int, sign bool) []byte {
	be := y.FillBytes(make([]byte, 32))
	le := make([]byte, 32)
	for i := range be {
		le[i] = be[31-i]
	}
	if sign {
		le[31] |= 0x80
	}
	return le
}

func okpJWK(x []byte) string {
	return `{"kty":"OKP","crv":"Ed25519","x":"` + base64.RawURLEncoding.EncodeToString(x) + `"}`
}

func TestValidEd25519Point(t *testing.T) {
	for i := 0; i < 200; i++ {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if !validEd25519Point(pub) {
			t.Fatalf("valid Ed25519 key %x refused", []byte(pub))
		}
	}
	if !validEd25519Point(edEncoding(big.NewInt(1), false)) {
		t.Fatal("identity point (y=1) refused")
	}
	if validEd25519Point(edEncoding(big.NewInt(1), true)) {
		t.Fatal("x=0 with sign bit accepted")
	}
	if validEd25519Point(edEncoding(ed25519P, false)) {
		t.Fatal("non-canonical y=p accepted")
	}
}

// invalidEd25519Point finds a y with no matching x.
func invalidEd25519Point(t *testing.T) []byte {
	for y := int64(2); y < 100; y++ {
		enc := edEncoding(big.NewInt(y), false)
		if !validEd25519Point(enc) {
			return enc
		}
	}
	t.Fatal("no invalid point found")
	return nil
}

func malformedJWKs(t testing.TB) map[string]string {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecJWK, _ := jose.JSONWebKey{Key: &ec.PublicKey}.MarshalJSON()
	ecPriv, _ := jose.JSONWebKey{Key: ec}.MarshalJSON()
	var ecm map[string]string
	_ = json.Unmarshal(ecJWK, &ecm)
	ecWith := func(k, v string) string {
		m := map[string]string{}
		for a, b := range ecm {
			m[a] = b
		}
		m[k] = v
		out, _ := json.Marshal(m)
		return string(out)
	}
	y, _ := base64.RawURLEncoding.DecodeString(ecm["y"])
	y[len(y)-1] ^= 1
	rsaPriv, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaPrivJWK, _ := jose.JSONWebKey{Key: rsaPriv}.MarshalJSON()
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa1024JWK, _ := jose.JSONWebKey{Key: &rsa1024.PublicKey}.MarshalJSON()
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edPrivJWK, _ := jose.JSONWebKey{Key: edPriv}.MarshalJSON()
	nRFC := `0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw`
	nBytes, _ := base64.RawURLEncoding.DecodeString(nRFC)
	nLeadingZero := base64.RawURLEncoding.EncodeToString(append([]byte{0}, nBytes...))
	rsaJWK := func(n, e string) string { return `{"kty":"RSA","n":"` + n + `","e":"` + e + `"}` }

	return map[string]string{
		"empty":                 "",
		"whitespace":            "  \n",
		"null":                  "null",
		"array":                 `[{"kty":"EC"}]`,
		"string":                `"kty"`,
		"truncated":             `{"kty":"EC","crv":"P-256"`,
		"trailing data":         string(ecJWK) + `{}`,
		"empty object":          `{}`,
		"kty number":            `{"kty":1}`,
		"duplicate kty":         `{"kty":"oct","kty":"EC","crv":"P-256","x":"` + ecm["x"] + `","y":"` + ecm["y"] + `"}`,
		"duplicate x":           strings.Replace(string(ecJWK), `"kty"`, `"x":"AAAA","kty"`, 1),
		"too large":             `{"kty":"EC","pad":"` + strings.Repeat("a", maxJWKSize) + `"}`,
		"EC private":            string(ecPriv),
		"RSA private":           string(rsaPrivJWK),
		"RSA with only p":       strings.TrimSuffix(rsaJWK(nRFC, "AQAB"), "}") + `,"p":"AQAB"}`,
		"Ed25519 private":       string(edPrivJWK),
		"symmetric":             `{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg"}`,
		"oct without k":         `{"kty":"oct"}`,
		"unsupported kty":       `{"kty":"XYZ","x":"AA"}`,
		"lower-case kty":        strings.Replace(string(ecJWK), `"EC"`, `"ec"`, 1),
		"missing kty":           `{"crv":"P-256","x":"` + ecm["x"] + `","y":"` + ecm["y"] + `"}`,
		"use enc":               ecWith("use", "enc"),
		"EC secp256k1":          ecWith("crv", "secp256k1"),
		"EC missing y":          `{"kty":"EC","crv":"P-256","x":"` + ecm["x"] + `"}`,
		"EC point off curve":    ecWith("y", base64.RawURLEncoding.EncodeToString(y)),
		"EC zero point":         ecWith("x", strings.Repeat("A", 43)),
		"EC short x":            ecWith("x", ecm["x"][:40]),
		"EC padded base64":      ecWith("x", ecm["x"]+"="),
		"EC std base64":         ecWith("x", strings.NewReplacer("-", "+", "_", "/").Replace(ecm["x"])+"+"),
		"EC x not a string":     strings.Replace(string(ecJWK), `"x":"`+ecm["x"]+`"`, `"x":12`, 1),
		"EC P-384 with 32-byte": ecWith("crv", "P-384"),
		"RSA 1024":              string(rsa1024JWK),
		"RSA leading zero":      rsaJWK(nLeadingZero, "AQAB"),
		"RSA even e":            rsaJWK(nRFC, "AQAA"),
		"RSA e=1":               rsaJWK(nRFC, "AQ"),
		"RSA empty e":           rsaJWK(nRFC, ""),
		"RSA huge e":            rsaJWK(nRFC, "AQAAAAAB"),
		"RSA missing n":         `{"kty":"RSA","e":"AQAB"}`,
		"RSA newline in n":      rsaJWK(nRFC[:20]+`\n`+nRFC[20:], "AQAB"),
		"OKP X25519":            `{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`,
		"OKP Ed448":             `{"kty":"OKP","crv":"Ed448","x":"AA"}`,
		"Ed25519 short x":       okpJWK(make([]byte, 31)),
		"Ed25519 non-canonical": okpJWK(edEncoding(ed25519P, false)),
		"Ed25519 x=0 sign bit":  okpJWK(edEncoding(big.NewInt(1), true)),
	}
}

func TestThumbprintRefusesMalformed(t *testing.T) {
	cases := malformedJWKs(t)
	cases["Ed25519 invalid point"] = okpJWK(invalidEd25519Point(t))
	for name, jwk := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Thumbprint([]byte(jwk))
			var fe *providers.FieldError
			if !errors.As(err, &fe) || fe.Field != "public_key" {
				t.Fatalf("Thumbprint = %q, %v; want a public_key FieldError", got, err)
			}
			if got != "" {
				t.Errorf("thumbprint %q returned with an error", got)
			}
		})
	}
}

func FuzzThumbprint(f *testing.F) {
	f.Add([]byte(rfc7638Key))
	f.Add([]byte(rfc8037Key))
	f.Add([]byte(rfc7517ECKey))
	for _, jwk := range malformedJWKs(f) {
		if len(jwk) < 4096 {
			f.Add([]byte(jwk))
		}
	}
	f.Fuzz(func(t *testing.T, jwk []byte) {
		got, err := Thumbprint(jwk)
		if err != nil {
			var fe *providers.FieldError
			if !errors.As(err, &fe) || fe.Field != "public_key" {
				t.Fatalf("error %v (%T) is not a public_key FieldError", err, err)
			}
			return
		}
		if len(got) != 43 || strings.ContainsAny(got, "+/=") {
			t.Fatalf("thumbprint %q is not base64url SHA-256", got)
		}
		// Anything accepted is a public key go-jose agrees on.
		if want := goJoseThumbprint(t, jwk); got != want {
			t.Fatalf("Thumbprint = %s, go-jose = %s for %s", got, want, jwk)
		}
	})
}
