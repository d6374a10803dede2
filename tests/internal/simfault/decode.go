package simfault

import (
	"encoding/json"
	"io"
	"time"
)

// DecodeSpec reads a fault from a simulator's control endpoint. latency may be given
// as a Go duration string ("50ms") as well as in nanoseconds.
func DecodeSpec(r io.Reader) (Spec, error) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return Spec{}, err
	}
	if l, ok := raw["latency"]; ok {
		var str string
		if json.Unmarshal(l, &str) == nil {
			d, err := time.ParseDuration(str)
			if err != nil {
				return Spec{}, err
			}
			raw["latency"], _ = json.Marshal(int64(d))
		}
	}
	b, _ := json.Marshal(raw)
	var spec Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return Spec{}, err
	}
	return spec, nil
}
