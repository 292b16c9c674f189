package k8s

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestComposeEnvIsRead holds docker-compose.yml to the same rule as the
// manifests: every service is there, and every variable set on a service
// is one its Config reads (a variable nobody reads is a setting the user
// believes in and the service ignores).
func TestComposeEnvIsRead(t *testing.T) {
	environments := composeEnvironments(t)
	var present []string
	for _, s := range services {
		c, ok := environments[s]
		if !ok {
			continue
		}
		present = append(present, s)
		known := knownEnv(t, s)
		if len(c) == 0 {
			t.Errorf("compose service %s sets no environment (the shared anchor did not merge?)", s)
		}
		for name := range c {
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

// TestComposeSetsEveryBusPassword: each NATS node of docker-compose.yml
// has in its environment the password of every user of
// deploy/nats/accounts.conf (the server refuses to start on an undefined
// $NATS_PASSWORD_<USER>).
func TestComposeSetsEveryBusPassword(t *testing.T) {
	accounts, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "nats", "accounts.conf"))
	if err != nil {
		t.Fatal(err)
	}
	passwords := regexp.MustCompile(`(?m)^\s*password: \$(NATS_PASSWORD_[A-Z0-9_]+)$`).FindAllStringSubmatch(string(accounts), -1)
	if len(passwords) < 10 {
		t.Fatalf("accounts.conf names %d passwords; want every user's", len(passwords))
	}
	nodes := 0
	for name, env := range composeEnvironments(t) {
		if !strings.HasPrefix(name, "nats-") {
			continue
		}
		nodes++
		for _, p := range passwords {
			if _, ok := env[p[1]]; !ok {
				t.Errorf("compose's %s does not set %s", name, p[1])
			}
		}
	}
	if nodes != 3 {
		t.Fatalf("%d NATS nodes in docker-compose.yml, want 3", nodes)
	}
}

// composeEnvironments reads docker-compose.yml's environment of each
// service, as Docker resolves it (the anchors merged).
func composeEnvironments(t *testing.T) map[string]map[string]any {
	t.Helper()
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
	out := make(map[string]map[string]any, len(doc.Services))
	for name, s := range doc.Services {
		out[name] = s.Environment
	}
	return out
}

// nonrootUID is the uid of distroless's nonroot user, which deploy/Dockerfile
// runs every service as.
const nonrootUID = "65532"

// TestComposeKeysReadableByTheServiceUser reads docker-compose.yml as Docker
// would resolve it (no engine here) and holds it to what the README says:
// every service reads the development keys from the dev-keys volume, which
// a one-shot job fills from the host's .run/dev-keys and hands to the
// image's user, and no service mounts the host directory itself (its files
// are 0600 and owned by the host user, unreadable as uid 65532).
func TestComposeKeysReadableByTheServiceUser(t *testing.T) {
	root := repoRoot(t)
	dockerfile, err := os.ReadFile(filepath.Join(root, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), "distroless/static-debian12:nonroot") || !strings.Contains(string(dockerfile), "USER nonroot:nonroot") {
		t.Fatalf("deploy/Dockerfile no longer runs as distroless nonroot (uid %s): revisit the dev-keys job", nonrootUID)
	}
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			User      string         `yaml:"user"`
			Command   []string       `yaml:"command"`
			Volumes   []string       `yaml:"volumes"`
			DependsOn map[string]any `yaml:"depends_on"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	job, ok := doc.Services["dev-keys"]
	if !ok {
		t.Fatal("no dev-keys job in docker-compose.yml")
	}
	if _, ok := doc.Volumes["dev-keys"]; !ok {
		t.Error("the dev-keys volume is not declared")
	}
	script := strings.Join(job.Command, " ")
	for _, want := range []string{"/host-keys/", "chown -R " + nonrootUID + ":" + nonrootUID + " /keys", "chmod 0700 /keys"} {
		if !strings.Contains(script, want) {
			t.Errorf("the dev-keys job's command %q lacks %q", script, want)
		}
	}
	if job.User != "0:0" || !slices.Contains(job.Volumes, "./.run/dev-keys:/host-keys:ro") || !slices.Contains(job.Volumes, "dev-keys:/keys") {
		t.Errorf("the dev-keys job must run as root over the host keys (read-only) and the volume: user %q volumes %q", job.User, job.Volumes)
	}
	for name, s := range doc.Services {
		for _, v := range s.Volumes {
			if strings.HasPrefix(v, "./.run/dev-keys") && name != "dev-keys" {
				t.Errorf("%s mounts the host's keys directly (%s): uid %s cannot read them", name, v, nonrootUID)
			}
		}
	}
	for _, name := range services {
		s := doc.Services[name]
		if !slices.Contains(s.Volumes, "dev-keys:/keys") {
			t.Errorf("%s does not mount the dev-keys volume at /keys (volumes %q)", name, s.Volumes)
		}
		if _, ok := s.DependsOn["dev-keys"]; !ok {
			t.Errorf("%s may start before the dev-keys job copied the keys", name)
		}
	}
}
