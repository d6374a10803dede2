// Package gencache keeps values read from Vault storage in memory, so that hot paths
// (issuance) do not pay a plugin-to-Vault round trip per request for data that changes
// only when an operator writes it.
//
// Correctness rests on one rule: whoever changes the stored value calls Forget after the
// storage write returns (this node's handlers, or the backend's Invalidate when Vault
// replicates a change from elsewhere). A load that raced with such a write is never
// cached: every Forget bumps a generation, and a load only fills the cache if the
// generation it started under is still current.
package gencache

import "sync"

// Cache maps keys to values loaded on first use. The zero value is ready to use.
// Cached values are shared between callers and must be treated as read-only.
type Cache[K comparable, V any] struct {
	mu         sync.RWMutex
	generation uint64
	entries    map[K]V
}

// Get returns the cached value for key, or calls load and caches what it finds. Values
// load reports as not found, and errors, are not cached.
func (c *Cache[K, V]) Get(key K, load func() (V, bool, error)) (V, bool, error) {
	c.mu.RLock()
	v, ok := c.entries[key]
	generation := c.generation
	c.mu.RUnlock()
	if ok {
		return v, true, nil
	}
	v, found, err := load()
	if err != nil || !found {
		return v, found, err
	}
	c.mu.Lock()
	if c.generation == generation {
		if c.entries == nil {
			c.entries = map[K]V{}
		}
		c.entries[key] = v
	}
	c.mu.Unlock()
	return v, true, nil
}

// Forget drops key and keeps any load that started before this call from caching what
// it read.
func (c *Cache[K, V]) Forget(key K) {
	c.mu.Lock()
	c.generation++
	delete(c.entries, key)
	c.mu.Unlock()
}

// Reset drops every entry, with the same guarantee as Forget.
func (c *Cache[K, V]) Reset() {
	c.mu.Lock()
	c.generation++
	c.entries = nil
	c.mu.Unlock()
}
