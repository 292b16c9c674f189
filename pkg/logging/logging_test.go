package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/ce"
)

// members reads one JSON object and lists its member names in order,
// nested objects as "<name>.<member>"; it fails on a name given twice in
// one object.
func members(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	var names []string
	var object func(prefix string)
	object = func(prefix string) {
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			name := tok.(string)
			if seen[name] {
				t.Fatalf("member %q twice in %s", prefix+name, line)
			}
			seen[name] = true
			names = append(names, prefix+name)
			tok, err = dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := tok.(json.Delim); ok && d == '{' {
				object(prefix + name + ".")
				if _, err := dec.Token(); err != nil { // '}'
					t.Fatal(err)
				}
			}
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", line)
	}
	object("")
	return names
}

func TestEveryMemberNameOnceWhateverTheCallerGives(t *testing.T) {
	var buf bytes.Buffer
	log := NewTo(&buf, "registration", "info")
	ctx := ce.WithCause(context.Background(), ce.Cause{CorrelationID: "corr-ctx", CausationID: "cause-ctx"})

	log.With("consumer", "a", "consumer", "b").InfoContext(ctx, "m", "service", "timeline", "n", 1, "n", 2, "correlation_id", "corr-record")
	log.WithGroup("g").InfoContext(ctx, "m", "service", "inner")
	log.InfoContext(ctx, "m", "request_id", "r-1")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	want := [][]string{
		{"time", "level", "msg", "service", "consumer", "consumer_2", "service_2", "n", "n_2", "correlation_id", "causation_id"},
		{"time", "level", "msg", "service", "g", "g.service", "g.correlation_id", "g.causation_id"},
		{"time", "level", "msg", "service", "request_id", "correlation_id", "causation_id"},
	}
	for i, line := range lines {
		if got := members(t, line); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("line %d: members %v, want %v\n%s", i+1, got, want[i], line)
		}
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%v %v %v %v %v %v %v", first["service"], first["service_2"], first["consumer"], first["consumer_2"], first["n"], first["n_2"], first["correlation_id"])
	if got != "registration timeline a b 1 2 corr-record" {
		t.Errorf("values: %s\n%s", got, lines[0])
	}
}
