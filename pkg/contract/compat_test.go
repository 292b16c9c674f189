package contract_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/contract"
)

var update = flag.Bool("update", false, "record new (and compatibly changed) schemas in testdata/published")

// published is the baseline every schema is held to: the schemas as they
// were last published (committed), one file per event type.
const published = "testdata/published"

// base is a small published schema in the shape of schemas/*.json.
const base = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://partnerhub.example/schemas/x.thing.happened.v1.json",
  "title": "ThingHappened",
  "description": "A thing happened.",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "partner_id": {"type": "string", "pattern": "^PG-[0-9A-Z]+$"},
    "note": {"type": "string", "maxLength": 100},
    "count": {"type": "integer", "minimum": 0, "maximum": 10},
    "program": {"type": "string", "enum": ["partner_network", "indirect_reseller"]},
    "kind": {"type": "string"},
    "at": {"type": "string", "format": "date-time"},
    "version": {"const": 1},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5},
    "meta": {"type": "object", "properties": {"source": {"type": "string"}}},
    "address": {"$ref": "#/$defs/address"}
  },
  "required": ["partner_id", "program", "at"],
  "$defs": {
    "address": {
      "type": "object",
      "additionalProperties": false,
      "properties": {"city": {"type": "string"}, "zip": {"type": "string", "maxLength": 8}},
      "required": ["city"]
    }
  }
}`

// mutate applies edits (old → new substring replacements) to base; each
// edit must apply exactly once so that a typo cannot make a test vacuous.
func mutate(t *testing.T, edits ...string) string {
	t.Helper()
	s := base
	for i := 0; i+1 < len(edits); i += 2 {
		if n := strings.Count(s, edits[i]); n != 1 {
			t.Fatalf("edit %q matches %d times", edits[i], n)
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	return s
}

func check(t *testing.T, old, cur string) []contract.Incompatibility {
	t.Helper()
	o, err := contract.ParseSchemaDoc(t.TempDir(), []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	n, err := contract.ParseSchemaDoc(t.TempDir(), []byte(cur))
	if err != nil {
		t.Fatal(err)
	}
	return contract.CheckCompatible(o, n)
}

func TestBreakingChangesAreFound(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
		rule  string
		path  string
	}{
		{"property removed", []string{`"kind": {"type": "string"},`, ``}, contract.RulePropertyRemoved, "/properties/kind"},
		{"type changed", []string{`"count": {"type": "integer"`, `"count": {"type": "string"`}, contract.RuleTypeChanged, "/properties/count"},
		{"type widened to nullable", []string{`"kind": {"type": "string"}`, `"kind": {"type": ["string", "null"]}`}, contract.RuleTypeChanged, "/properties/kind"},
		{"type narrowed", []string{`"count": {"type": "integer"`, `"count": {"type": "number"`}, contract.RuleTypeChanged, "/properties/count"},
		{"new required property", []string{`"kind": {"type": "string"},`, `"kind": {"type": "string"}, "extra": {"type": "string"},`, `"required": ["partner_id",`, `"required": ["extra", "partner_id",`}, contract.RuleRequiredAdded, "/required"},
		{"optional property made required", []string{`"required": ["partner_id",`, `"required": ["kind", "partner_id",`}, contract.RuleRequiredAdded, "/required"},
		{"required property made optional", []string{`"required": ["partner_id", "program", "at"]`, `"required": ["partner_id", "program"]`}, contract.RuleRequiredRemoved, "/required"},
		{"enum value removed", []string{`"enum": ["partner_network", "indirect_reseller"]`, `"enum": ["partner_network"]`}, contract.RuleEnumValueRemoved, "/properties/program/enum"},
		{"enum added to an open field", []string{`"kind": {"type": "string"}`, `"kind": {"type": "string", "enum": ["a", "b"]}`}, contract.RuleEnumAdded, "/properties/kind"},
		{"const put on an open field", []string{`"kind": {"type": "string"}`, `"kind": {"type": "string", "const": "a"}`}, contract.RuleEnumAdded, "/properties/kind"},
		{"enum narrowed to a const", []string{`"enum": ["partner_network", "indirect_reseller"]`, `"const": "partner_network"`}, contract.RuleEnumValueRemoved, "/properties/program/enum"},
		{"const changed", []string{`"version": {"const": 1}`, `"version": {"const": 2}`}, contract.RuleConstChanged, "/properties/version"},
		{"pattern tightened", []string{`"^PG-[0-9A-Z]+$"`, `"^PG-[0-9]+$"`}, contract.RulePatternTightened, "/properties/partner_id"},
		{"pattern added", []string{`"kind": {"type": "string"}`, `"kind": {"type": "string", "pattern": "^[a-z]+$"}`}, contract.RulePatternTightened, "/properties/kind"},
		{"format added", []string{`"kind": {"type": "string"}`, `"kind": {"type": "string", "format": "email"}`}, contract.RuleFormatChanged, "/properties/kind"},
		{"format changed", []string{`"format": "date-time"`, `"format": "date"`}, contract.RuleFormatChanged, "/properties/at"},
		{"format dropped", []string{`"at": {"type": "string", "format": "date-time"}`, `"at": {"type": "string"}`}, contract.RuleFormatChanged, "/properties/at"},
		{"maxLength tightened", []string{`"maxLength": 100`, `"maxLength": 99`}, contract.RuleBoundTightened, "/properties/note"},
		{"maxLength added", []string{`"kind": {"type": "string"}`, `"kind": {"type": "string", "maxLength": 5}`}, contract.RuleBoundTightened, "/properties/kind"},
		{"minimum tightened", []string{`"minimum": 0`, `"minimum": 1`}, contract.RuleBoundTightened, "/properties/count"},
		{"maximum tightened", []string{`"maximum": 10`, `"maximum": 9.5`}, contract.RuleBoundTightened, "/properties/count"},
		{"minLength added", []string{`"kind": {"type": "string"}`, `"kind": {"type": "string", "minLength": 1}`}, contract.RuleBoundTightened, "/properties/kind"},
		{"maxItems tightened", []string{`"maxItems": 5`, `"maxItems": 4`}, contract.RuleBoundTightened, "/properties/tags"},
		{"array items narrowed", []string{`"maxLength": 20}`, `"maxLength": 10}`}, contract.RuleBoundTightened, "/properties/tags/items"},
		{"uniqueItems added", []string{`"maxItems": 5`, `"maxItems": 5, "uniqueItems": true`}, contract.RuleUniqueItemsAdded, "/properties/tags"},
		{"additionalProperties closed", []string{`"meta": {"type": "object",`, `"meta": {"type": "object", "additionalProperties": false,`}, contract.RuleAdditionalProperties, "/properties/meta/additionalProperties"},
		{"additionalProperties constrained", []string{`"meta": {"type": "object",`, `"meta": {"type": "object", "additionalProperties": {"type": "string"},`}, contract.RuleAdditionalProperties, "/properties/meta/additionalProperties"},
		{"$ref target narrowed", []string{`"zip": {"type": "string", "maxLength": 8}`, `"zip": {"type": "string", "maxLength": 7}`}, contract.RuleBoundTightened, "/properties/address/properties/zip"},
		{"$ref target gains a required property", []string{`"required": ["city"]`, `"required": ["city", "zip"]`}, contract.RuleRequiredAdded, "/properties/address/required"},
		{"$ref re-pointed at an incompatible schema", []string{`"address": {"$ref": "#/$defs/address"}`, `"address": {"$ref": "#/$defs/other"}`, `"$defs": {`, `"$defs": {"other": {"type": "string"},`}, contract.RuleTypeChanged, "/properties/address"},
		{"dangling $ref", []string{`"address": {"$ref": "#/$defs/address"}`, `"address": {"$ref": "#/$defs/nowhere"}`}, contract.RuleBadRef, "/properties/address"},
		{"unanalysed keyword changed", []string{`"kind": {"type": "string"}`, `"kind": {"type": "string", "not": {"const": "x"}}`}, contract.RuleKeywordChanged, "/properties/kind"},
		{"identity changed", []string{`x.thing.happened.v1.json`, `x.thing.happened.v2.json`}, contract.RuleIdentityChanged, "/"},
		{"schema became false", []string{`"kind": {"type": "string"}`, `"kind": false`}, contract.RuleSchemaNarrowed, "/properties/kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(t, base, mutate(t, tt.edits...))
			for _, inc := range got {
				if inc.Rule == tt.rule && inc.Path == tt.path {
					return
				}
			}
			t.Errorf("want %s at %s, got %v", tt.rule, tt.path, got)
		})
	}
}

func TestCompatibleChangesPass(t *testing.T) {
	tests := []struct {
		name  string
		edits []string
	}{
		{"unchanged", nil},
		{"new optional property", []string{`"kind": {"type": "string"},`, `"kind": {"type": "string"}, "extra": {"type": "string", "maxLength": 3},`}},
		{"description and title changed", []string{`"description": "A thing happened."`, `"description": "A thing happened, said better."`, `"title": "ThingHappened"`, `"title": "Thing happened"`}},
		{"annotations added", []string{`"kind": {"type": "string"}`, `"kind": {"type": "string", "description": "what", "examples": ["a"], "deprecated": true}`}},
		{"maxLength loosened", []string{`"maxLength": 100`, `"maxLength": 200`}},
		{"maxLength dropped", []string{`"note": {"type": "string", "maxLength": 100}`, `"note": {"type": "string"}`}},
		{"minimum loosened, maximum loosened", []string{`"minimum": 0`, `"minimum": -1`, `"maximum": 10`, `"maximum": 100`}},
		{"enum value added", []string{`"enum": ["partner_network", "indirect_reseller"]`, `"enum": ["partner_network", "indirect_reseller", "indirect_provider"]`}},
		{"pattern dropped", []string{`"partner_id": {"type": "string", "pattern": "^PG-[0-9A-Z]+$"}`, `"partner_id": {"type": "string"}`}},
		{"additionalProperties opened", []string{`"additionalProperties": false,
  "properties"`, `"additionalProperties": true,
  "properties"`}},
		{"property order and $ref inlined", []string{`"address": {"$ref": "#/$defs/address"}`, `"address": {"required": ["city"], "type": "object", "additionalProperties": false, "properties": {"zip": {"maxLength": 8, "type": "string"}, "city": {"type": "string"}}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := check(t, base, mutate(t, tt.edits...)); len(got) > 0 {
				t.Errorf("compatible change refused: %v", got)
			}
		})
	}
}

func TestRefsToSiblingFilesAreResolvedOnEachSide(t *testing.T) {
	oldDir, newDir := t.TempDir(), t.TempDir()
	write := func(dir, name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(oldDir, "money.json", `{"type": "object", "properties": {"amount": {"type": "integer"}}, "required": ["amount"]}`)
	write(newDir, "money.json", `{"type": "object", "properties": {"amount": {"type": "string"}}, "required": ["amount"]}`)
	doc := `{"type": "object", "properties": {"price": {"$ref": "money.json"}}}`
	write(oldDir, "x.json", doc)
	write(newDir, "x.json", doc)
	o, err := contract.LoadSchemaDoc(filepath.Join(oldDir, "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := contract.LoadSchemaDoc(filepath.Join(newDir, "x.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := contract.CheckCompatible(o, n)
	if len(got) != 1 || got[0].Rule != contract.RuleTypeChanged || got[0].Path != "/properties/price/properties/amount" {
		t.Fatalf("a referenced file's breaking change: got %v", got)
	}
}

func TestRecursiveRefsTerminate(t *testing.T) {
	doc := `{"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"}`
	if got := check(t, doc, doc); len(got) != 0 {
		t.Fatalf("a recursive schema against itself: %v", got)
	}
}

// TestPublishedSchemasStayCompatible holds every schema in schemas/ to its
// published baseline in testdata/published: a breaking change fails (make
// it a new v2 type instead); a new schema or a compatible change must be
// recorded with -update, so that the baseline always is what was last
// published (otherwise a loosening followed by a re-tightening would pass).
// A baseline entry may only be removed by hand, when the type is retired.
func TestPublishedSchemasStayCompatible(t *testing.T) {
	root, err := contract.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	schemaDir := filepath.Join(root, "schemas")
	current, err := filepath.Glob(filepath.Join(schemaDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(current) < 10 {
		t.Fatalf("found only %d schemas in %s", len(current), schemaDir)
	}
	if *update {
		if err := os.MkdirAll(published, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	inCurrent := map[string]bool{}
	for _, path := range current {
		name := filepath.Base(path)
		inCurrent[name] = true
		now, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(published, name)
		was, err := os.ReadFile(base)
		if os.IsNotExist(err) {
			if *update {
				writeBaseline(t, base, now)
				continue
			}
			t.Errorf("%s is not recorded as published: run cd pkg && go test ./contract -run TestPublishedSchemasStayCompatible -update", name)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(was, now) {
			continue
		}
		o, err := contract.LoadSchemaDoc(base)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		n, err := contract.LoadSchemaDoc(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if breaks := contract.CheckCompatible(o, n); len(breaks) > 0 {
			for _, b := range breaks {
				t.Errorf("schemas/%s breaks the published v%s: %s", name, major(name), b)
			}
			t.Errorf("schemas/%s: a breaking change is a new type (…v%d) published beside this one; restore the published schema (%s)", name, nextMajor(name), base)
			continue
		}
		if *update {
			writeBaseline(t, base, now)
			continue
		}
		t.Errorf("schemas/%s changed compatibly but its baseline is stale: run cd pkg && go test ./contract -run TestPublishedSchemasStayCompatible -update", name)
	}
	entries, err := os.ReadDir(published)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !inCurrent[e.Name()] {
			t.Errorf("published schema %s was deleted from schemas/: its events may still be in the streams and consumers may still read them; "+
				"retire a type deliberately by deleting %s/%s too", e.Name(), published, e.Name())
		}
	}
}

func writeBaseline(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func major(name string) string {
	name = strings.TrimSuffix(name, ".json")
	return name[strings.LastIndex(name, ".v")+2:]
}

func nextMajor(name string) int {
	n := 0
	for _, r := range major(name) {
		n = n*10 + int(r-'0')
	}
	return n + 1
}
