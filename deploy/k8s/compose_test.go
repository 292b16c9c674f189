package k8s

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestComposeEnvIsRead holds docker-compose.yml to the same rule as the
// manifests: every service is there, and every variable set on a service
// is one its Config reads (a variable nobody reads is a setting the user
// believes in and the service ignores).
func TestComposeEnvIsRead(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Environment map[string]any `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	var present []string
	for _, s := range services {
		c, ok := doc.Services[s]
		if !ok {
			continue
		}
		present = append(present, s)
		known := knownEnv(t, s)
		if len(c.Environment) == 0 {
			t.Errorf("compose service %s sets no environment (the shared anchor did not merge?)", s)
		}
		for name := range c.Environment {
			if !known[name] {
				t.Errorf("compose service %s sets %s, which its Config does not read", s, name)
			}
		}
	}
	sort.Strings(present)
	want := slices.Clone(services)
	sort.Strings(want)
	if !slices.Equal(present, want) {
		t.Errorf("compose runs %v, the repository has %v", present, want)
	}
}
