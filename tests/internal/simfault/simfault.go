// Package simfault is the fault injection the cloud simulators share: which calls an
// injected fault matches, when it fires, the latency it adds, and how many calls each
// operation received. How a fired fault looks on the wire is each simulator's own
// business (AWS error XML or JSON, Azure error bodies and Retry-After).
package simfault

import (
	"strings"
	"sync"
	"time"
)

// Fault kinds.
const (
	// Throttle answers with the service's throttling error.
	Throttle = "throttle"
	// Unavailable answers 503.
	Unavailable = "unavailable"
	// Internal answers 500.
	Internal = "internal"
	// Latency only delays the call by Spec.Latency.
	Latency = "latency"
	// Error answers with Spec.Status, Code and Message.
	Error = "error"
)

// Spec describes an injected fault.
type Spec struct {
	// Service and Operation select the calls; empty matches all (case-insensitive).
	Service   string `json:"service,omitempty"`
	Operation string `json:"operation,omitempty"`
	// Kind is one of the kinds above.
	Kind string `json:"kind"`
	// Nth, when > 0, fires only on the Nth matching call after injection (1-based).
	Nth int `json:"nth,omitempty"`
	// Count limits how many times the fault fires (0 = unlimited; with Nth it is 1).
	Count int `json:"count,omitempty"`
	// Latency is added before the call is served (all kinds).
	Latency time.Duration `json:"latency,omitempty"`
	// AfterEffect performs the operation and then returns the error, like a response
	// lost after the server committed the change, or a crash right after a step.
	AfterEffect bool `json:"after_effect,omitempty"`
	// RetryAfter seconds for Throttle where the service sends Retry-After (default 1).
	RetryAfter int `json:"retry_after,omitempty"`
	// Status, Code, Message for Error.
	Status  int    `json:"status,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// Fault is an installed Spec with its counters.
type Fault struct {
	Spec
	id    int
	seen  int
	fired int
}

// Set holds the installed faults and counts calls per operation. The zero value is ready
// to use; it is safe for concurrent use.
type Set struct {
	mu     sync.Mutex
	seq    int
	faults []*Fault
	calls  map[string]int // "service:Operation" → calls so far
}

// InjectFault installs a fault and returns its id.
func (s *Set) InjectFault(spec Spec) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.faults = append(s.faults, &Fault{Spec: spec, id: s.seq})
	return s.seq
}

// RemoveFault removes one fault by id.
func (s *Set) RemoveFault(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.id == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return
		}
	}
}

// ClearFaults removes every fault.
func (s *Set) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// FaultsFired reports how many times the fault with the given id has fired (-1 if unknown).
func (s *Set) FaultsFired(id int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.id == id {
			return f.fired
		}
	}
	return -1
}

// OperationCount returns how many calls of service:operation were received.
func (s *Set) OperationCount(service, operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[service+":"+operation]
}

// TakeFault counts a call, sleeps for the latency of the faults it matches and returns the
// first error fault that fires for it, if any.
func (s *Set) TakeFault(service, op string) *Fault {
	var delay time.Duration
	var fire *Fault
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[service+":"+op]++
	for _, f := range s.faults {
		if f.Service != "" && !strings.EqualFold(f.Service, service) || f.Operation != "" && !strings.EqualFold(f.Operation, op) {
			continue
		}
		f.seen++
		if f.Nth > 0 && f.seen != f.Nth {
			continue
		}
		limit := f.Count
		if f.Nth > 0 {
			limit = 1
		}
		if limit > 0 && f.fired >= limit {
			continue
		}
		if f.Latency > delay {
			delay = f.Latency
		}
		if f.Kind == Latency {
			f.fired++
			continue
		}
		if fire == nil {
			f.fired++
			fire = f
		}
	}
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	return fire
}
