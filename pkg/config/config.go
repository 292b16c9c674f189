// Package config loads a service's typed configuration from the environment
// once at start-up and reports every problem together.
package config

import (
	"errors"
	"fmt"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by config structs that check themselves.
type Validator interface{ Validate() error }

// Load parses the environment into cfg (a pointer to a struct with `env`
// tags) and validates it; the error lists every problem found.
func Load(cfg any) error {
	var errs []error
	if err := env.Parse(cfg); err != nil {
		var agg env.AggregateError
		if errors.As(err, &agg) {
			errs = append(errs, agg.Errors...)
		} else {
			errs = append(errs, err)
		}
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	return nil
}
