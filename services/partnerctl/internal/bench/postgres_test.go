package bench

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestPostgresMallocIsCompose holds the benchmark's Postgres to the
// environment docker-compose.yml gives its Postgres, so that the figures
// `make bench` prints are those of the configuration the repository ships.
func TestPostgresMallocIsCompose(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := FindRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	pg, ok := doc.Services["postgres"]
	if !ok {
		t.Fatal("docker-compose.yml runs no postgres service")
	}
	if got := "GLIBC_TUNABLES=" + pg.Environment["GLIBC_TUNABLES"]; got != PostgresMalloc {
		t.Errorf("compose's postgres has %q, the benchmark's %q", got, PostgresMalloc)
	}
}
