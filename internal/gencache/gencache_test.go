package gencache

import (
	"errors"
	"testing"
)

func TestGetCachesFoundValuesOnly(t *testing.T) {
	var c Cache[string, int]
	loads := 0
	load := func(v int, found bool, err error) func() (int, bool, error) {
		return func() (int, bool, error) { loads++; return v, found, err }
	}
	if _, found, _ := c.Get("missing", load(0, false, nil)); found {
		t.Fatal("a value the loader did not find was reported found")
	}
	if _, found, _ := c.Get("missing", load(0, false, nil)); found || loads != 2 {
		t.Fatalf("not-found is cached: loads=%d", loads)
	}
	if _, _, err := c.Get("broken", load(0, false, errors.New("storage down"))); err == nil {
		t.Fatal("the loader's error was lost")
	}
	if v, found, err := c.Get("k", load(7, true, nil)); v != 7 || !found || err != nil {
		t.Fatalf("Get = %d, %v, %v", v, found, err)
	}
	before := loads
	if v, _, _ := c.Get("k", load(8, true, nil)); v != 7 || loads != before {
		t.Fatalf("a cached value was reloaded: got %d after %d loads", v, loads-before)
	}
}

func TestForgetReloads(t *testing.T) {
	var c Cache[string, int]
	c.Get("k", func() (int, bool, error) { return 1, true, nil })
	c.Forget("k")
	if v, _, _ := c.Get("k", func() (int, bool, error) { return 2, true, nil }); v != 2 {
		t.Fatalf("after Forget Get = %d, want the reloaded 2", v)
	}
	c.Reset()
	if v, _, _ := c.Get("k", func() (int, bool, error) { return 3, true, nil }); v != 3 {
		t.Fatalf("after Reset Get = %d, want the reloaded 3", v)
	}
}

// A load that read storage before a writer's Forget must not cache the old value.
func TestLoadRacingAWriteIsNotCached(t *testing.T) {
	var c Cache[string, string]
	v, _, _ := c.Get("role", func() (string, bool, error) {
		// The writer stores a new version and forgets while this load is in flight.
		c.Forget("role")
		return "old", true, nil
	})
	if v != "old" {
		t.Fatalf("the racing load's caller got %q, want what it read", v)
	}
	got, _, _ := c.Get("role", func() (string, bool, error) { return "new", true, nil })
	if got != "new" {
		t.Fatalf("Get after the write = %q: the racing load cached its stale value", got)
	}
}
