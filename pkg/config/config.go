// Package config loads a service's typed configuration from the environment
// once at start-up and reports every problem together.
package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Validator is implemented by config structs that check themselves.
type Validator interface{ Validate() error }

// Load parses the environment into cfg (a pointer to a struct with `env`
// tags) and validates it; the error lists every problem found, each value
// that does not parse under the name of its variable.
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
	keys := map[string][]string{}
	if t := reflect.TypeOf(cfg); t != nil && t.Kind() == reflect.Pointer {
		variables(t.Elem(), "", keys)
	}
	for i, err := range errs {
		var pe env.ParseError
		if errors.As(err, &pe) && len(keys[pe.Name]) == 1 {
			errs[i] = fmt.Errorf("%s: %w", keys[pe.Name][0], pe.Err)
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

// variables adds to keys, for each field of t and of the structs it nests,
// the variables that set a field of that name (env's parse errors name the
// field, not the variable). A name two fields share is left ambiguous.
func variables(t reflect.Type, prefix string, keys map[string][]string) {
	if t.Kind() != reflect.Struct {
		return
	}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		if tag, ok := f.Tag.Lookup("env"); ok {
			if name, _, _ := strings.Cut(tag, ","); name != "" && name != "-" {
				keys[f.Name] = append(keys[f.Name], prefix+name)
			}
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		variables(ft, prefix+f.Tag.Get("envPrefix"), keys)
	}
}
