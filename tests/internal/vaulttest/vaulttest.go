// Package vaulttest runs a real `vault server -dev` with this repository's plugin
// registered by SHA-256, for the end-to-end tests and the issuance benchmark.
//
// The vault binary is $NHI_VAULT_BIN, or whatever scripts/get-vault.sh prints (which
// honours VAULT_BIN and otherwise builds and caches the pinned release once).
package vaulttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"
)

const (
	// PluginName is the name the plugin is registered and reloaded under.
	PluginName = "vault-plugin-secrets-nhi"
	// RootToken is the dev server's root token.
	RootToken = "root"
	// Mount is where the engine is enabled.
	Mount = "nhi"
)

// NonHMACResponseKeys and NonHMACRequestKeys are the mount's audit settings, as in
// scripts/dev-server.sh: refusal reasons (error), verdicts and the stated intent stay
// readable in the audit log; tokens and justifications stay HMAC'd.
var (
	NonHMACResponseKeys = []string{"error", "credential_id", "task", "reasons", "sensitivity", "max_severity", "findings", "finding_id", "finding_ids"}
	NonHMACRequestKeys  = []string{"task", "destinations", "actions", "sensitivity"}
)

// RepoRoot is the module root, found from this file's location.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("vaulttest: cannot locate source file")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("vaulttest: %s does not look like the module root: %w", root, err)
	}
	return root, nil
}

// VaultBin returns $NHI_VAULT_BIN or the output of scripts/get-vault.sh.
func VaultBin(ctx context.Context) (string, error) {
	if bin := os.Getenv("NHI_VAULT_BIN"); bin != "" {
		if st, err := os.Stat(bin); err != nil || st.IsDir() {
			return "", fmt.Errorf("vaulttest: NHI_VAULT_BIN=%s is not a file", bin)
		}
		return bin, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	// The first build of Vault takes about 10 minutes on 2 cores; get-vault.sh takes a
	// lock, so concurrent callers wait for one build.
	ctx, cancel := context.WithTimeout(ctx, 25*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "get-vault.sh"))
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("vaulttest: scripts/get-vault.sh: %v\n%s", err, stderr.String())
	}
	bin := strings.TrimSpace(string(out))
	if bin == "" {
		return "", errors.New("vaulttest: scripts/get-vault.sh printed nothing")
	}
	return bin, nil
}

// BuildPlugin builds the plugin binary into dir and returns its path and SHA-256.
func BuildPlugin(ctx context.Context, dir string) (path, sha string, err error) {
	root, err := RepoRoot()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	path = filepath.Join(dir, PluginName)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/vault-plugin-secrets-nhi")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("vaulttest: building the plugin: %v\n%s", err, out)
	}
	sha, err = fileSHA256(path)
	return path, sha, err
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Options configure Start.
type Options struct {
	// Dir holds the plugin directory, the server log and the audit log. Required.
	Dir string
	// LogLevel of the server (default info).
	LogLevel string
	// Plugins are further secrets-engine binaries, copied into the plugin directory and
	// registered by SHA-256 under their Name (not mounted).
	Plugins []ExtraPlugin
	// Env is added to the server's environment, which its plugin processes inherit.
	Env []string
}

// ExtraPlugin is a secrets plugin binary to register beside this repository's.
type ExtraPlugin struct {
	Name string // catalog name and file name in the plugin directory
	Path string // the binary to copy
}

// Server is a running dev server with the engine mounted at nhi/.
type Server struct {
	Addr      string // http://127.0.0.1:<port>
	Bin       string // the vault binary
	Dir       string
	PluginSHA string
	ExtraSHAs map[string]string // Options.Plugins' SHA-256 by name
	AuditLog  string
	LogPath   string
	Issuer    string // Addr + /v1/nhi

	cmd      *exec.Cmd
	exited   chan struct{}
	stopOnce sync.Once
}

// Start builds the plugin, starts `vault server -dev` on a free loopback port, registers
// the plugin by SHA-256, enables a file audit device, mounts the engine at nhi/ with the
// audit settings of scripts/dev-server.sh, and sets the token issuer.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("vaulttest: Options.Dir is required")
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	bin, err := VaultBin(ctx)
	if err != nil {
		return nil, err
	}
	pluginDir := filepath.Join(opts.Dir, "plugins")
	_, sha, err := BuildPlugin(ctx, pluginDir)
	if err != nil {
		return nil, err
	}
	extra := map[string]string{}
	for _, p := range opts.Plugins {
		if extra[p.Name], err = copyPlugin(p.Path, filepath.Join(pluginDir, p.Name)); err != nil {
			return nil, err
		}
	}
	var s *Server
	// A free port can be taken between choosing and binding it; try a few.
	for attempt := 0; attempt < 3; attempt++ {
		s, err = launch(ctx, bin, pluginDir, opts)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	s.PluginSHA = sha
	s.ExtraSHAs = extra
	if err := s.configure(ctx); err != nil {
		tail := s.LogTail(40)
		s.Stop()
		return nil, fmt.Errorf("%w\nlast lines of the vault log:\n%s", err, tail)
	}
	return s, nil
}

// copyPlugin copies an executable to dst and returns its SHA-256.
func copyPlugin(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("vaulttest: plugin %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return fileSHA256(dst)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// childEnv is the environment without any VAULT_* settings of the caller, with HOME in
// dir so the dev server's token helper file lands there and not in the user's home.
func childEnv(dir string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+dir)
	return append(env, extra...)
}

func launch(ctx context.Context, bin, pluginDir string, opts Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Addr:     fmt.Sprintf("http://127.0.0.1:%d", port),
		Bin:      bin,
		Dir:      opts.Dir,
		AuditLog: filepath.Join(opts.Dir, "audit.log"),
		LogPath:  filepath.Join(opts.Dir, "vault.log"),
		exited:   make(chan struct{}),
	}
	s.Issuer = s.Addr + "/v1/" + Mount
	logFile, err := os.Create(s.LogPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "-dev",
		"-dev-root-token-id="+RootToken,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port),
		"-dev-plugin-dir="+pluginDir,
		"-log-level="+opts.LogLevel,
	)
	cmd.Dir = opts.Dir
	cmd.Env = childEnv(opts.Dir, opts.Env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = serverProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("vaulttest: starting %s: %w", bin, err)
	}
	s.cmd = cmd
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	if err := s.waitHealthy(ctx, 60*time.Second); err != nil {
		tail := s.LogTail(30)
		s.Stop()
		return nil, fmt.Errorf("%w\nlast lines of the vault log:\n%s", err, tail)
	}
	return s, nil
}

func (s *Server) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			return errors.New("vaulttest: vault server exited during startup")
		default:
		}
		resp, err := hc.Get(s.Addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vaulttest: vault at %s not healthy after %s (last error: %v)", s.Addr, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Server) configure(ctx context.Context) error {
	root, err := s.Client(RootToken)
	if err != nil {
		return err
	}
	sys := root.Sys()
	if err := sys.RegisterPluginWithContext(ctx, &api.RegisterPluginInput{
		Name:    PluginName,
		Type:    api.PluginTypeSecrets,
		Command: PluginName,
		SHA256:  s.PluginSHA,
	}); err != nil {
		return fmt.Errorf("vaulttest: registering the plugin: %w", err)
	}
	for name, sha := range s.ExtraSHAs {
		if err := sys.RegisterPluginWithContext(ctx, &api.RegisterPluginInput{
			Name: name, Type: api.PluginTypeSecrets, Command: name, SHA256: sha,
		}); err != nil {
			return fmt.Errorf("vaulttest: registering plugin %s: %w", name, err)
		}
	}
	if err := sys.EnableAuditWithOptionsWithContext(ctx, "file", &api.EnableAuditOptions{
		Type:    "file",
		Options: map[string]string{"file_path": s.AuditLog},
	}); err != nil {
		return fmt.Errorf("vaulttest: enabling the file audit device: %w", err)
	}
	if err := sys.MountWithContext(ctx, Mount, &api.MountInput{
		Type: PluginName,
		Config: api.MountConfigInput{
			AuditNonHMACRequestKeys:  NonHMACRequestKeys,
			AuditNonHMACResponseKeys: NonHMACResponseKeys,
		},
	}); err != nil {
		return fmt.Errorf("vaulttest: mounting the engine: %w", err)
	}
	if _, err := root.Logical().WriteWithContext(ctx, Mount+"/config/token", map[string]any{"issuer": s.Issuer}); err != nil {
		return fmt.Errorf("vaulttest: config/token: %w", err)
	}
	return nil
}

// Client returns an API client for the server with the given token ("" for none). Each
// call returns a new client with its own connection pool.
func (s *Server) Client(token string) (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Address = s.Addr
	cfg.Timeout = 60 * time.Second
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	// NewClient reads VAULT_* from the environment; the tests' settings win.
	c.SetNamespace("")
	c.ClearToken()
	if token != "" {
		c.SetToken(token)
	}
	return c, nil
}

// CLI runs the vault CLI against the server with VAULT_TOKEN=token and returns its
// combined output.
func (s *Server) CLI(ctx context.Context, token string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Bin, args...)
	cmd.Dir = s.Dir
	cmd.Env = childEnv(s.Dir, "VAULT_ADDR="+s.Addr, "VAULT_TOKEN="+token, "VAULT_FORMAT=table")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vault %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// PluginPIDs lists the running processes of the plugin binary started by this server.
func (s *Server) PluginPIDs() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		var state string
		var ppid int
		if _, err := fmt.Sscanf(string(stat[i+1:]), " %s %d", &state, &ppid); err != nil || ppid != s.PID() {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && filepath.Base(strings.TrimSuffix(exe, " (deleted)")) == PluginName {
			pids = append(pids, pid)
		}
	}
	return pids
}

// LogTail returns the last n lines of the server log.
func (s *Server) LogTail(n int) string {
	f, err := os.Open(s.LogPath)
	if err != nil {
		return fmt.Sprintf("(no vault log: %v)", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Stop ends the server (SIGTERM, then SIGKILL after 15 s) and waits for it.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// Workload is a userpass user logged in to the server.
type Workload struct {
	Name     string
	Token    string
	EntityID string
	Client   *api.Client
}

// EnableUserpass enables userpass at path and returns its mount accessor.
func EnableUserpass(ctx context.Context, root *api.Client, path string) (string, error) {
	if err := root.Sys().EnableAuthWithOptionsWithContext(ctx, path, &api.EnableAuthOptions{Type: "userpass"}); err != nil {
		return "", fmt.Errorf("enabling userpass at %s: %w", path, err)
	}
	auths, err := root.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return "", err
	}
	m, ok := auths[strings.TrimSuffix(path, "/")+"/"]
	if !ok {
		return "", fmt.Errorf("auth mount %s not listed", path)
	}
	return m.Accessor, nil
}

// NewWorkload creates a userpass user with the given policies, logs it in and returns
// its token, entity id and a client using that token.
func (s *Server) NewWorkload(ctx context.Context, root *api.Client, mount, name string, policies ...string) (*Workload, error) {
	password := "pw-" + name + "-e2e-only"
	if _, err := root.Logical().WriteWithContext(ctx, "auth/"+mount+"/users/"+name, map[string]any{
		"password": password,
		"policies": strings.Join(policies, ","),
	}); err != nil {
		return nil, fmt.Errorf("creating user %s: %w", name, err)
	}
	anon, err := s.Client("")
	if err != nil {
		return nil, err
	}
	secret, err := anon.Logical().WriteWithContext(ctx, "auth/"+mount+"/login/"+name, map[string]any{"password": password})
	if err != nil {
		return nil, fmt.Errorf("logging in as %s: %w", name, err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, fmt.Errorf("login as %s returned no token", name)
	}
	if secret.Auth.EntityID == "" {
		return nil, fmt.Errorf("login as %s returned no entity", name)
	}
	c, err := s.Client(secret.Auth.ClientToken)
	if err != nil {
		return nil, err
	}
	return &Workload{Name: name, Token: secret.Auth.ClientToken, EntityID: secret.Auth.EntityID, Client: c}, nil
}

// WorkloadPolicy lets a workload issue from any role and call authorize and introspect.
const WorkloadPolicy = `
path "nhi/creds/*" { capabilities = ["read", "update"] }
path "nhi/authorize" { capabilities = ["update"] }
path "nhi/introspect" { capabilities = ["update"] }
`
