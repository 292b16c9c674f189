package policyfile

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

func TestParseJSONAndYAML(t *testing.T) {
	js := `{"markets":{"JP":{"refuse_role_addresses":false,"required_registration_schemes":["jp_corporate_number"]}}}`
	ym := "markets:\n  JP:\n    refuse_role_addresses: false\n    required_registration_schemes: [jp_corporate_number]\n"
	for ext, doc := range map[string]string{".json": js, ".yaml": ym} {
		set, err := Parse([]byte(doc), ext)
		if err != nil {
			t.Fatalf("%s: %v", ext, err)
		}
		jp := set.For("JP")
		if jp.IsRoleAddress("info") || len(jp.RequiredSchemes) != 1 || !set.For("US").IsRoleAddress("info") {
			t.Errorf("%s: %+v", ext, jp)
		}
	}
	for ext, doc := range map[string]string{".json": `{"markets":{"JP":{"refuse_role_adresses":false}}}`,
		".yml": "markets:\n  JP:\n    refuse_role_adresses: false\n"} {
		if _, err := Parse([]byte(doc), ext); err == nil || !strings.Contains(err.Error(), "refuse_role_adresses") {
			t.Errorf("%s: a misspelt member: %v", ext, err)
		}
	}
}

func TestReloadKeepsThePolicyInForceOnABadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{}`)
	var applied []domain.PolicySet
	var logs bytes.Buffer
	w := &Watcher{Path: path, Apply: func(s domain.PolicySet) { applied = append(applied, s) },
		Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	w.Start()
	write(`{"markets":{"JP":{"refuse_free_mail":false}}}`)
	if !w.Reload("test") || len(applied) != 1 || applied[0].For("JP").IsFreeMail("gmail.com") != false {
		t.Fatalf("valid file not applied: %v", applied)
	}
	write(`{"markets":{"ZZ":{}}}`)
	if w.Reload("test") || len(applied) != 1 {
		t.Fatal("invalid file applied")
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"registration policy file refused; the policy in force is kept"`) ||
		!strings.Contains(logs.String(), "markets.ZZ") {
		t.Errorf("log: %s", logs.String())
	}
}

// TestAnEmptyFileIsRefused: a file rewritten in place is empty for a moment;
// a reload that reads it then must keep the policy in force, not fall back
// to the built-in policy. {} is how an operator asks for the built-in one.
func TestAnEmptyFileIsRefused(t *testing.T) {
	for ext, doc := range map[string]string{".yaml": "", ".yml": "# only a comment\n", ".json": "  \n"} {
		if _, err := Parse([]byte(doc), ext); err == nil {
			t.Errorf("%s %q: accepted", ext, doc)
		}
	}
	for ext, doc := range map[string]string{".yaml": "{}\n", ".json": "{}"} {
		if _, err := Parse([]byte(doc), ext); err != nil {
			t.Errorf("%s {}: %v", ext, err)
		}
	}
}
