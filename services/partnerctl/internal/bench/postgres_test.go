package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestPostgresMallocIsCompose holds the benchmark's Postgres to the
// environment docker-compose.yml gives its Postgres, so that the figures
// `make bench` prints are those of the configuration the repository ships,
// and compose's image to a glibc build (musl's malloc ignores the setting).
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
			Image       string         `yaml:"image"`
			Environment map[string]any `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	pg, ok := doc.Services["postgres"]
	if !ok {
		t.Fatal("docker-compose.yml runs no postgres service")
	}
	if got := fmt.Sprint("GLIBC_TUNABLES=", pg.Environment["GLIBC_TUNABLES"]); got != PostgresMalloc {
		t.Errorf("compose's postgres has %q, the benchmark's %q", got, PostgresMalloc)
	}
	if strings.Contains(pg.Image, "alpine") {
		t.Errorf("compose's postgres image %s is built on musl, whose malloc does not read GLIBC_TUNABLES", pg.Image)
	}
}
