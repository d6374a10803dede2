// Command awssim runs the offline AWS simulator (STS, IAM, S3, CloudTrail, Lambda) on one
// listener for demos and manual testing. It prints one JSON line on stdout with the URL
// and the seeded root keys, then serves until interrupted.
//
//	awssim -listen 127.0.0.1:0 -account 123456789012 -seed seed.json
//
// Point the AWS SDK / CLI at the printed URL (S3 path-style). Faults and introspection
// are under /_sim/ (loopback only): POST /_sim/faults, DELETE /_sim/faults, GET /_sim/state,
// GET /_sim/events, POST /_sim/roles, POST /_sim/users, POST /_sim/buckets/{name}, POST /_sim/oidc.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/awssim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	account := flag.String("account", "", "account id (default 123456789012, or the seed's)")
	region := flag.String("region", "", "region (default us-east-1, or the seed's)")
	seed := flag.String("seed", "", "JSON seed file: roles, users with keys, policies, buckets, oidc providers")
	trustIP := flag.Bool("trust-source-ip-header", false, "let X-Sim-Source-Ip override aws:SourceIp")
	flag.Parse()

	var opts awssim.Options
	if *seed != "" {
		o, err := awssim.LoadSeed(*seed)
		if err != nil {
			fmt.Fprintln(os.Stderr, "awssim:", err)
			os.Exit(2)
		}
		opts = o
	}
	if *account != "" {
		opts.AccountID = *account
	}
	if *region != "" {
		opts.Region = *region
	}
	if *trustIP {
		opts.TrustSourceIPHeader = true
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "awssim:", err)
		os.Exit(1)
	}
	var sim *awssim.Sim
	func() {
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintln(os.Stderr, r)
				os.Exit(2)
			}
		}()
		sim = awssim.New(opts)
	}()
	sim.StartOn(l)
	defer sim.Close()
	if err := json.NewEncoder(os.Stdout).Encode(sim.Banner()); err != nil {
		fmt.Fprintln(os.Stderr, "awssim:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
