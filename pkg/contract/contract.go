// Package contract checks event payloads against the JSON Schemas in the
// repository's schemas/ folder: the published language is the schema, and
// a payload type that drifts from it fails its service's tests.
package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/partnerhub/onboarding/pkg/ce"
)

// RepoRoot finds the directory holding go.work, from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.work not found above the working directory")
		}
		dir = parent
	}
}

// SchemaPath is the schema file of an event type: schemas/<topic>.json.
func SchemaPath(root, eventType string) string {
	return filepath.Join(root, "schemas", ce.Topic(eventType)+".json")
}

var (
	mu    sync.Mutex
	cache = map[string]*jsonschema.Schema{}
)

// Validate checks that payload, marshalled to JSON, satisfies the schema of
// eventType.
func Validate(eventType string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return ValidateJSON(eventType, data)
}

// ValidateJSON checks raw JSON data against the schema of eventType.
func ValidateJSON(eventType string, data []byte) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	path := SchemaPath(root, eventType)
	mu.Lock()
	sch, ok := cache[path]
	if !ok {
		c := jsonschema.NewCompiler()
		sch, err = c.Compile(path)
		if err != nil {
			mu.Unlock()
			return fmt.Errorf("compile schema for %s: %w", eventType, err)
		}
		cache[path] = sch
	}
	mu.Unlock()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
	if err != nil {
		return err
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%s payload does not match %s: %w", eventType, filepath.Base(path), err)
	}
	return nil
}

// MustValidate fails tb when payload does not satisfy its schema.
func MustValidate(tb testing.TB, eventType string, payload any) {
	tb.Helper()
	if err := Validate(eventType, payload); err != nil {
		tb.Fatal(err)
	}
}
