// Command demotool helps scripts/demo.sh show what happens without extra installs:
//
//	demotool verify <jwks-url> <token>   verify a workload token against the served JWKS
//	demotool audit <audit-log> [path...]  one line per audit entry for the given paths
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: demotool verify <jwks-url> <token> | demotool audit <audit-log> [path...]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "verify":
		err = verify(os.Args[2], os.Args[3])
	case "audit":
		err = audit(os.Args[2], os.Args[3:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demotool:", err)
		os.Exit(1)
	}
}

func verify(jwksURL, token string) error {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(jwksURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256}
	sig, err := jose.ParseSigned(token, algs)
	if err != nil {
		return fmt.Errorf("parsing token: %w", err)
	}
	kid := sig.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) == 0 {
		return fmt.Errorf("no key %q in JWKS", kid)
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return err
	}
	pretty, _ := json.MarshalIndent(claims, "    ", "  ")
	fmt.Printf("    signature OK: alg=%s kid=%s (one of %d published keys)\n", sig.Signatures[0].Header.Algorithm, kid, len(set.Keys))
	fmt.Printf("    claims: %s\n", pretty)
	return nil
}

type auditEntry struct {
	Time    string `json:"time"`
	Type    string `json:"type"`
	Request struct {
		Path      string `json:"path"`
		Operation string `json:"operation"`
	} `json:"request"`
	Response struct {
		Warnings []string       `json:"warnings"`
		Data     map[string]any `json:"data"`
	} `json:"response"`
}

func audit(path string, prefixes []string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		var e auditEntry
		if json.Unmarshal(scanner.Bytes(), &e) != nil || e.Type != "response" || !matches(e.Request.Path, prefixes) {
			continue
		}
		line := fmt.Sprintf("    %s %-6s %s", e.Time, e.Request.Operation, e.Request.Path)
		if reason, ok := e.Response.Data["error"].(string); ok {
			line += "  refused: " + reason
		} else if id, ok := e.Response.Data["credential_id"]; ok {
			line += fmt.Sprintf("  credential_id=%v", id)
		}
		for _, w := range e.Response.Warnings {
			line += "  warning=" + w
		}
		fmt.Println(line)
	}
	return scanner.Err()
}

func matches(path string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
