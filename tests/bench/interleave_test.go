package bench

import (
	"sort"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/awssim"
	"github.com/nhi-dev/vault-plugin-secrets-nhi/tests/internal/vaulttest"
)

// engineRun is one engine's operation in interleaved phases.
type engineRun struct {
	name    string
	clients []*api.Client
	op      func(c *api.Client) error
}

// interleave runs the engines' phases in rounds (NHI_BENCH_ROUNDS, default 3), each engine
// for its share of duration (or count) per round, in the same order every round: a slow
// spell of the shared machine then falls on every engine instead of on one. Results are
// summed per engine, with the simulator calls each engine's phases made.
func interleave(srv *vaulttest.Server, sim *awssim.Sim, duration time.Duration, count int64, runs []engineRun) ([]phaseResult, []simSnapshot) {
	rounds := envInt("NHI_BENCH_ROUNDS", 3)
	if rounds < 1 {
		rounds = 1
	}
	results := make([]phaseResult, len(runs))
	calls := make([]simSnapshot, len(runs))
	for i, r := range runs {
		results[i].name = r.name
		calls[i] = simSnapshot{ops: map[string]int{}}
	}
	share, shareCount := duration/time.Duration(rounds), count/int64(rounds)
	if count > 0 && shareCount == 0 {
		shareCount = 1
	}
	for round := 0; round < rounds; round++ {
		for i, r := range runs {
			before := takeSimSnapshot(sim)
			results[i].add(runPhase(srv, r.name, r.clients, share, shareCount, r.op))
			calls[i].addDelta(before, takeSimSnapshot(sim))
		}
	}
	for i := range results {
		sort.Slice(results[i].latencies, func(a, b int) bool { return results[i].latencies[a] < results[i].latencies[b] })
	}
	return results, calls
}

func (r *phaseResult) add(o phaseResult) {
	r.ops += o.ops
	r.errors += o.errors
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	r.cpu = cpuUse{vault: r.cpu.vault + o.cpu.vault, plugins: r.cpu.plugins + o.cpu.plugins, test: r.cpu.test + o.cpu.test}
}

func (s *simSnapshot) addDelta(before, after simSnapshot) {
	for op, n := range after.ops {
		s.ops[op] += n - before.ops[op]
	}
	s.calls += after.calls - before.calls
	s.failed += after.failed - before.failed
}
