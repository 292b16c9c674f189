package stack_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/partnerhub/onboarding/deploy/local/stack"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	"github.com/partnerhub/onboarding/pkg/httpx"
)

var update = flag.Bool("update", false, "rewrite schemas/asyncapi.yaml from contract.AsyncAPI")

// TestAsyncAPIDocument keeps schemas/asyncapi.yaml equal to what
// contract.AsyncAPI generates from the declared types, the bus permissions
// and the schemas (-update rewrites it), and checks the committed document:
// valid against the official AsyncAPI 3.0.0 schema, every $ref resolving
// (inside the document, or to a schema file), exactly one message per
// declared type whose payload is that type's schema, a send operation for
// every message and a receive operation for every durable of
// the services' declarations.
func TestAsyncAPIDocument(t *testing.T) {
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	schemaDir := filepath.Join(root, "schemas")
	path := filepath.Join(schemaDir, contract.AsyncAPIFile)
	types := declaredTypes(t, root)
	want, err := contract.AsyncAPI(types, stack.Consumes(), schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("schemas/%s drifted from contract.AsyncAPI; run cd deploy/local && go test ./stack -run TestAsyncAPIDocument -update", contract.AsyncAPIFile)
	}
	checkAsyncAPI(t, got, schemaDir, types)
}

func checkAsyncAPI(t *testing.T, yamlDoc []byte, schemaDir string, types []string) {
	t.Helper()
	js, err := httpx.YAMLToJSON(yamlDoc)
	if err != nil {
		t.Fatalf("asyncapi.yaml is not YAML: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	official, err := c.Compile("testdata/asyncapi-3.0.0.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := official.Validate(doc); err != nil {
		t.Fatalf("asyncapi.yaml is not a valid AsyncAPI 3.0.0 document: %v", err)
	}

	var d struct {
		AsyncAPI   string                    `json:"asyncapi"`
		Info       map[string]any            `json:"info"`
		Channels   map[string]map[string]any `json:"channels"`
		Operations map[string]struct {
			Action   string            `json:"action"`
			Channel  map[string]string `json:"channel"`
			Messages []map[string]string
			Durable  string `json:"x-jetstream-durable"`
		} `json:"operations"`
		Components struct {
			Messages map[string]struct {
				Payload map[string]any `json:"payload"`
				Headers map[string]any `json:"headers"`
			} `json:"messages"`
		} `json:"components"`
	}
	if err := json.Unmarshal(js, &d); err != nil {
		t.Fatal(err)
	}
	if d.AsyncAPI != "3.0.0" || d.Info["title"] == nil || d.Info["version"] == nil || len(d.Channels) == 0 || len(d.Operations) == 0 {
		t.Fatalf("asyncapi.yaml lacks asyncapi: 3.0.0, info, channels or operations")
	}

	// Every $ref resolves: a JSON pointer into the document or a schema file.
	var raw any
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	refs := 0
	walkRefs(raw, func(ref string) {
		refs++
		if strings.HasPrefix(ref, "#") {
			if _, err := resolvePointer(raw, strings.TrimPrefix(ref, "#")); err != nil {
				t.Errorf("$ref %s does not resolve: %v", ref, err)
			}
			return
		}
		file, frag, _ := strings.Cut(ref, "#")
		data, err := os.ReadFile(filepath.Join(schemaDir, filepath.FromSlash(file)))
		if err != nil {
			t.Errorf("$ref %s: %v", ref, err)
			return
		}
		var target any
		if err := json.Unmarshal(data, &target); err != nil {
			t.Errorf("$ref %s is not JSON: %v", ref, err)
			return
		}
		if _, err := resolvePointer(target, frag); err != nil {
			t.Errorf("$ref %s does not resolve: %v", ref, err)
		}
	})
	if refs < len(types)*4 {
		t.Fatalf("only %d $refs for %d types: the walk is broken", refs, len(types))
	}

	// Messages, payloads and operations against the declared types and
	// the bus permissions.
	declared := map[string]bool{}
	for _, typ := range types {
		declared[ce.Topic(typ)] = true
	}
	for id, m := range d.Components.Messages {
		if id == "deadLetter" {
			continue
		}
		if !declared[id] {
			t.Errorf("AsyncAPI message %s has no type constant in pkg/events", id)
			continue
		}
		if want := "./" + id + ".json"; m.Payload["$ref"] != want {
			t.Errorf("message %s payload = %v, want $ref %s", id, m.Payload, want)
		}
		if m.Headers == nil {
			t.Errorf("message %s has no CloudEvents headers", id)
		}
	}
	sends, receives := map[string]int{}, map[string]bool{}
	for id, op := range d.Operations {
		channel := strings.TrimPrefix(op.Channel["$ref"], "#/channels/")
		switch op.Action {
		case "send":
			sends[channel]++
		case "receive":
			receives[op.Durable+" "+channel] = true
		default:
			t.Errorf("operation %s: action %q", id, op.Action)
		}
		if len(op.Messages) != 1 || !strings.HasPrefix(op.Messages[0]["$ref"], "#/channels/"+channel+"/messages/") {
			t.Errorf("operation %s: messages %v are not its channel's", id, op.Messages)
		}
	}
	for topic := range declared {
		if _, ok := d.Components.Messages[topic]; !ok {
			t.Errorf("%s is declared in pkg/events but has no AsyncAPI message", topic)
		}
		if sends[topic] == 0 {
			t.Errorf("%s has no send operation", topic)
		}
	}
	for user, durables := range stack.Consumes() {
		for _, d := range durables {
			f := d.Filter
			if s, err := bus.StreamFor(f); err == nil && s.Name == bus.DeadLetterStream {
				if !receives[bus.DurableName(user, f)+" deadletter"] {
					t.Errorf("%s consumes %s (its declaration) but the document has no receive operation for it", user, f)
				}
				continue
			}
			matched := 0
			for topic := range declared {
				if server.SubjectMatchesFilter(published(topic), d.Receives()) {
					matched++
					if !receives[bus.DurableName(user, f)+" "+topic] {
						t.Errorf("%s consumes %s (its declaration) but the document has no receive operation for %s", user, f, topic)
					}
				}
			}
			if matched == 0 {
				t.Errorf("%s consumes %s, which matches no declared event type", user, f)
			}
		}
	}
}

func walkRefs(v any, fn func(string)) {
	switch t := v.(type) {
	case map[string]any:
		if r, ok := t["$ref"].(string); ok {
			fn(r)
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkRefs(t[k], fn)
		}
	case []any:
		for _, e := range t {
			walkRefs(e, fn)
		}
	}
}

func resolvePointer(root any, ptr string) (any, error) {
	if ptr == "" {
		return root, nil
	}
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not in an object", tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return cur, nil
}

// published is a subject topic's events are published on: partition 0 of
// a service's topic, the bare topic of intake.
func published(topic string) string {
	if bus.OwnerSource(topic) != "" {
		return bus.PartitionSubject(topic, 0)
	}
	return topic
}
