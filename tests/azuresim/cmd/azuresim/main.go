// Command azuresim runs the offline Azure simulator (Entra token endpoint, Microsoft Graph,
// ARM, Blob and Key Vault data planes) on one HTTPS listener for demos and manual testing.
// It writes the self-signed CA to a file and prints one JSON line on stdout with the URL,
// the CA path and the seeded root credentials, then serves until interrupted.
//
//	azuresim -listen 127.0.0.1:0 -ca-out /tmp/azuresim-ca.pem -seed seed.json
//
// Faults and introspection are under /_sim/ (loopback only): POST /_sim/faults,
// DELETE /_sim/faults[/{id}], GET /_sim/state, GET /_sim/activity, GET /_sim/data-events,
// POST /_sim/replication, POST /_sim/principals.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/azuresim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	caOut := flag.String("ca-out", "", "where to write the CA certificate PEM (default: a file in the temp dir)")
	seed := flag.String("seed", "", "JSON seed file (azuresim.Seed: tenant_id, subscription_id, root_client_id, root_client_secret, storage_accounts, key_vaults, delays)")
	tenant := flag.String("tenant", "", "tenant id")
	sub := flag.String("subscription", "", "subscription id")
	repl := flag.Duration("replication-delay", 0, "Entra→ARM replication delay for new service principals")
	credDelay := flag.Duration("credential-delay", 0, "propagation delay of new client secrets")
	flag.Parse()

	var opts azuresim.Options
	if *seed != "" {
		o, err := azuresim.LoadSeed(*seed)
		if err != nil {
			fmt.Fprintln(os.Stderr, "azuresim:", err)
			os.Exit(2)
		}
		opts = o
	}
	if *tenant != "" {
		opts.TenantID = *tenant
	}
	if *sub != "" {
		opts.SubscriptionID = *sub
	}
	if *repl != 0 {
		opts.ReplicationDelay = *repl
	}
	if *credDelay != 0 {
		opts.CredentialPropagationDelay = *credDelay
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "azuresim:", err)
		os.Exit(1)
	}
	sim := azuresim.New(opts).StartOn(l)
	defer sim.Close()
	path := *caOut
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("azuresim-ca-%d.pem", time.Now().UnixNano()))
	}
	if err := os.WriteFile(path, sim.CACertPEM(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "azuresim:", err)
		os.Exit(1)
	}
	b := sim.Banner()
	b.CACertPath = path
	if err := json.NewEncoder(os.Stdout).Encode(b); err != nil {
		fmt.Fprintln(os.Stderr, "azuresim:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
