package k8s

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// services are the deployed services; TestEveryServiceIsDeployed keeps the
// list equal to services/*/internal/service.
var services = []string{"registration", "email-ownership", "verification", "agreements", "relationships", "notifier", "timeline"}

// secretEnv must come from a Secret (secretKeyRef), never a ConfigMap or
// a literal value.
var secretEnv = []string{"NATS_PASSWORD", "POSTGRES_URL", "POSTGRES_ADMIN_URL", "CODE_PEPPER", "NOTIFIER_PRIVATE_KEY", "SMTP_USERNAME", "SMTP_PASSWORD", "WEBHOOK_SECRET_KEY"}

type object = map[string]any

type built struct {
	all []object
}

func build(t *testing.T, dir string) built {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return toObjects(t, rm)
}

func toObjects(t *testing.T, rm resmap.ResMap) built {
	t.Helper()
	var b built
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		b.all = append(b.all, m)
	}
	return b
}

func (b built) find(kind, name string) object {
	for _, o := range b.all {
		if o["kind"] == kind && get(o, "metadata", "name") == name {
			return o
		}
	}
	return nil
}

func (b built) ofKind(kind string) []object {
	var out []object
	for _, o := range b.all {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

// get walks nested maps; a missing step gives nil.
func get(o any, path ...string) any {
	for _, p := range path {
		m, ok := o.(map[string]any)
		if !ok {
			return nil
		}
		o = m[p]
	}
	return o
}

func list(v any) []any { l, _ := v.([]any); return l }

func str(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

func TestBase(t *testing.T) {
	b := build(t, "base")
	checkServices(t, b)
	for _, s := range b.ofKind("Secret") {
		t.Errorf("the base writes Secret %s: reference Secrets, create them per environment", get(s, "metadata", "name"))
	}
	for _, kind := range []string{"Service"} {
		for _, dep := range []string{"nats", "postgres"} {
			if o := b.find(kind, dep); o == nil || get(o, "spec", "type") != "ExternalName" {
				t.Errorf("external dependency %s is not an ExternalName Service", dep)
			}
		}
	}
	job := b.find("Job", "streams")
	if job == nil {
		t.Fatal("no streams provisioning Job: services wait for the admin to provision the streams")
	}
	c := list(get(job, "spec", "template", "spec", "containers"))[0]
	if !slices.Contains(toStrings(get(c, "args")), "$(NATS_REPLICAS)") {
		t.Errorf("the streams Job does not pass NATS_REPLICAS: args %v", get(c, "args"))
	}
	checkContainerHardening(t, "streams", get(job, "spec", "template", "spec").(object), c.(object))
}

func TestClusterOverlay(t *testing.T) {
	b := build(t, "overlays/cluster")
	checkServices(t, b)
	for _, s := range b.ofKind("Secret") {
		t.Errorf("the overlay writes Secret %s", get(s, "metadata", "name"))
	}
	cfg := configMapData(t, b, "partnerhub-config")
	if cfg["NATS_REPLICAS"] != "3" {
		t.Errorf("NATS_REPLICAS = %q on a cluster, want 3 (R3 streams)", cfg["NATS_REPLICAS"])
	}
	if n := len(strings.Split(cfg["NATS_URL"], ",")); n < 3 {
		t.Errorf("NATS_URL lists %d servers, want every node of the cluster", n)
	}
	for _, name := range services {
		d := b.find("Deployment", name)
		if r, _ := get(d, "spec", "replicas").(int); r < 2 {
			t.Errorf("%s: %v replicas on a cluster, want at least 2", name, get(d, "spec", "replicas"))
		}
		if b.find("PodDisruptionBudget", name) == nil {
			t.Errorf("%s has no PodDisruptionBudget", name)
		}
		img := str(get(list(get(d, "spec", "template", "spec", "containers"))[0], "image"))
		if i := strings.LastIndex(img, ":"); i < 0 || strings.HasSuffix(img, ":latest") || strings.Contains(img[i:], "/") {
			t.Errorf("%s: image %q has no pinned tag", name, img)
		}
		if get(d, "metadata", "namespace") != "partnerhub" {
			t.Errorf("%s is not in the partnerhub namespace", name)
		}
	}
}

func checkServices(t *testing.T, b built) {
	t.Helper()
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			d := b.find("Deployment", name)
			if d == nil {
				t.Fatalf("no Deployment %s", name)
			}
			pod := get(d, "spec", "template").(object)
			spec := pod["spec"].(object)
			containers := list(spec["containers"])
			if len(containers) != 1 {
				t.Fatalf("%d containers, want 1", len(containers))
			}
			c := containers[0].(object)
			port, portName := containerPort(t, c)

			// The Service reaches the container port and selects the pods.
			svc := b.find("Service", name)
			if svc == nil {
				t.Fatalf("no Service %s", name)
			}
			for _, p := range list(get(svc, "spec", "ports")) {
				if tp := str(get(p, "targetPort")); tp != portName && tp != strconv.Itoa(port) {
					t.Errorf("Service targetPort %s is not the container port %s/%d", tp, portName, port)
				}
			}
			labels, _ := get(pod, "metadata", "labels").(object)
			for k, v := range get(svc, "spec", "selector").(object) {
				if labels[k] != v {
					t.Errorf("Service selector %s=%v does not select the pods (labels %v)", k, v, labels)
				}
			}
			for k, v := range get(d, "spec", "selector", "matchLabels").(object) {
				if labels[k] != v {
					t.Errorf("Deployment selector %s=%v does not select its pods", k, v)
				}
			}

			// Probes on the platform's endpoints, on the serving port.
			for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
				g := get(c, probe, "httpGet")
				if g == nil {
					t.Errorf("no %s httpGet", probe)
					continue
				}
				if str(get(g, "path")) != path {
					t.Errorf("%s path = %v, want %s", probe, get(g, "path"), path)
				}
				if p := str(get(g, "port")); p != portName && p != strconv.Itoa(port) {
					t.Errorf("%s port %s is not the container port", probe, p)
				}
			}

			// Prometheus scrapes /metrics on the serving port.
			ann, _ := get(pod, "metadata", "annotations").(object)
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != strconv.Itoa(port) {
				t.Errorf("Prometheus annotations %v, want scrape true, path /metrics, port %d", ann, port)
			}

			for _, kind := range []string{"requests", "limits"} {
				for _, r := range []string{"cpu", "memory"} {
					if get(c, "resources", kind, r) == nil {
						t.Errorf("no resources.%s.%s", kind, r)
					}
				}
			}
			checkContainerHardening(t, name, spec, c)

			// The grace period outlasts the preStop sleep and the shutdown.
			env := effectiveEnv(t, b, c)
			shutdown, err := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
			if err != nil {
				t.Fatalf("SHUTDOWN_TIMEOUT %q: %v", env["SHUTDOWN_TIMEOUT"], err)
			}
			preStop, _ := get(c, "lifecycle", "preStop", "sleep", "seconds").(int)
			grace, ok := spec["terminationGracePeriodSeconds"].(int)
			if !ok || time.Duration(grace)*time.Second <= shutdown+time.Duration(preStop)*time.Second {
				t.Errorf("terminationGracePeriodSeconds %v must exceed preStop %ds + SHUTDOWN_TIMEOUT %s", spec["terminationGracePeriodSeconds"], preStop, shutdown)
			}
			if env["NATS_USER"] != name {
				t.Errorf("NATS_USER = %q, want the service's own bus user %s", env["NATS_USER"], name)
			}

			// Only variables the service reads, secrets only from Secrets.
			known := knownEnv(t, name)
			for k := range env {
				if !known[k] {
					t.Errorf("sets %s, which %s's Config does not read", k, name)
				}
			}
			checkSecretsReferenced(t, b, c)
		})
	}
}

func checkContainerHardening(t *testing.T, name string, spec, c object) {
	t.Helper()
	if get(spec, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", name)
	}
	if get(c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Errorf("%s: readOnlyRootFilesystem is not true", name)
	}
	if get(c, "securityContext", "allowPrivilegeEscalation") != false {
		t.Errorf("%s: allowPrivilegeEscalation is not false", name)
	}
	if !slices.Contains(toStrings(get(c, "securityContext", "capabilities", "drop")), "ALL") {
		t.Errorf("%s: capabilities do not drop ALL", name)
	}
}

func containerPort(t *testing.T, c object) (int, string) {
	t.Helper()
	ports := list(c["ports"])
	if len(ports) != 1 {
		t.Fatalf("container has %d ports, want 1 (API, health and metrics share it)", len(ports))
	}
	p, _ := get(ports[0], "containerPort").(int)
	return p, str(get(ports[0], "name"))
}

// effectiveEnv is the container's environment: the ConfigMaps of envFrom
// (which must exist in the build) overlaid by env; values from a Secret or
// a ConfigMap key read as "<from …>".
func effectiveEnv(t *testing.T, b built, c object) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range list(c["envFrom"]) {
		if get(ef, "secretRef") != nil {
			t.Errorf("envFrom a Secret: name each secret variable so that the test can check it")
			continue
		}
		for k, v := range configMapData(t, b, str(get(ef, "configMapRef", "name"))) {
			env[k] = v
		}
	}
	for _, e := range list(c["env"]) {
		name := str(get(e, "name"))
		switch {
		case get(e, "valueFrom", "secretKeyRef") != nil:
			env[name] = "<from secret>"
		case get(e, "valueFrom", "configMapKeyRef") != nil:
			ref := get(e, "valueFrom", "configMapKeyRef")
			data := configMapData(t, b, str(get(ref, "name")))
			v, ok := data[str(get(ref, "key"))]
			if !ok {
				t.Errorf("%s: ConfigMap %s has no key %s", name, get(ref, "name"), get(ref, "key"))
			}
			env[name] = v
		default:
			env[name] = str(get(e, "value"))
		}
	}
	return env
}

func checkSecretsReferenced(t *testing.T, b built, c object) {
	t.Helper()
	for _, e := range list(c["env"]) {
		name := str(get(e, "name"))
		if slices.Contains(secretEnv, name) && get(e, "valueFrom", "secretKeyRef") == nil {
			t.Errorf("%s is not taken from a Secret", name)
		}
	}
	for _, ef := range list(c["envFrom"]) {
		for k := range configMapData(t, b, str(get(ef, "configMapRef", "name"))) {
			if slices.Contains(secretEnv, k) {
				t.Errorf("secret %s is in ConfigMap %s", k, get(ef, "configMapRef", "name"))
			}
		}
	}
}

func configMapData(t *testing.T, b built, name string) map[string]string {
	t.Helper()
	cm := b.find("ConfigMap", name)
	if cm == nil {
		// A generated ConfigMap referenced by its generator name: the
		// build appends a content hash (<name>-<hash>).
		for _, o := range b.ofKind("ConfigMap") {
			n := str(get(o, "metadata", "name"))
			if rest, ok := strings.CutPrefix(n, name+"-"); ok && len(rest) == 10 && !strings.Contains(rest, "-") {
				cm = o
			}
		}
	}
	if cm == nil {
		t.Fatalf("ConfigMap %s is referenced but not built", name)
	}
	out := map[string]string{}
	if data, ok := cm["data"].(object); ok {
		for k, v := range data {
			out[k] = str(v)
		}
	}
	return out
}

func toStrings(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, str(x))
	}
	return out
}

// TestEveryServiceIsDeployed keeps the manifests in step with the
// repository: a new service (services/<name>/internal/service) needs its
// Deployment.
func TestEveryServiceIsDeployed(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repoRoot(t), "services", "*", "internal", "service"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, d := range dirs {
		found = append(found, filepath.Base(filepath.Dir(filepath.Dir(d))))
	}
	sort.Strings(found)
	want := slices.Clone(services)
	sort.Strings(want)
	if !slices.Equal(found, want) {
		t.Errorf("services in the repository %v, deployed %v", found, want)
	}
}

func TestKnownEnvReadsTheConfigStructs(t *testing.T) {
	known := knownEnv(t, "notifier")
	for _, name := range []string{"SMTP_PASSWORD", "NOTIFIER_PRIVATE_KEY", "NATS_URL", "POSTGRES_URL", "POSTGRES_ADMIN_URL", "OUTBOX_BATCH_SIZE", "AUTH_JWKS_URL", "SHUTDOWN_TIMEOUT", "METRICS_ENABLED"} {
		if !known[name] {
			t.Errorf("notifier's Config reads %s, but the scan did not find it (found %d names)", name, len(known))
		}
	}
	for _, name := range []string{"CODE_PEPPER", "SMTP_CLOCK", "POLL_INTERVAL", "URL"} {
		if known[name] {
			t.Errorf("the scan found %s, which notifier does not read", name)
		}
	}
}

// knownEnv lists the environment variables service reads: the env tags of
// its internal/service Config, following nested and embedded structs across
// the workspace's modules with their envPrefix, as caarlos0/env does.
func knownEnv(t *testing.T, service string) map[string]bool {
	t.Helper()
	root := repoRoot(t)
	s := &scanner{modules: workspaceModules(t, root), pkgs: map[string]*goPkg{}}
	out := map[string]bool{}
	mod := ""
	for path, dir := range s.modules {
		if dir == filepath.Join(root, "services", service) {
			mod = path
		}
	}
	if mod == "" {
		t.Fatalf("no workspace module at services/%s", service)
	}
	if err := s.collect(mod+"/internal/service", "Config", "", out, 0); err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d variables for %s: the scan is broken", len(out), service)
	}
	return out
}

type goPkg struct {
	types   map[string]*ast.StructType
	imports map[*ast.StructType]map[string]string // per file: name → import path
}

type scanner struct {
	modules map[string]string // module path → directory
	pkgs    map[string]*goPkg
}

func (s *scanner) load(importPath string) (*goPkg, error) {
	if p, ok := s.pkgs[importPath]; ok {
		return p, nil
	}
	dir := ""
	best := ""
	for mod, d := range s.modules {
		if (importPath == mod || strings.HasPrefix(importPath, mod+"/")) && len(mod) > len(best) {
			best, dir = mod, filepath.Join(d, strings.TrimPrefix(importPath, mod))
		}
	}
	if dir == "" {
		s.pkgs[importPath] = nil // outside the workspace (time, crypto/tls): not a config struct
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	p := &goPkg{types: map[string]*ast.StructType{}, imports: map[*ast.StructType]map[string]string{}}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		imports := map[string]string{}
		for _, im := range file.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			name := filepath.Base(path)
			if im.Name != nil {
				name = im.Name.Name
			} else if strings.HasPrefix(name, "v") && len(name) <= 3 { // …/env/v11
				name = filepath.Base(filepath.Dir(path))
			}
			imports[name] = path
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					p.types[ts.Name.Name] = st
					p.imports[st] = imports
				}
			}
			return true
		})
	}
	s.pkgs[importPath] = p
	return p, nil
}

func (s *scanner) collect(importPath, typeName, prefix string, out map[string]bool, depth int) error {
	if depth > 10 {
		return fmt.Errorf("config structs nest deeper than 10 at %s.%s", importPath, typeName)
	}
	p, err := s.load(importPath)
	if err != nil || p == nil {
		return err
	}
	st, ok := p.types[typeName]
	if !ok {
		return nil // not a struct type
	}
	for _, f := range st.Fields.List {
		var tag reflect.StructTag
		if f.Tag != nil {
			raw, _ := strconv.Unquote(f.Tag.Value)
			tag = reflect.StructTag(raw)
		}
		name, _, _ := strings.Cut(tag.Get("env"), ",")
		if name == "-" {
			continue
		}
		if name != "" {
			out[prefix+name] = true
			continue
		}
		// A nested struct: its fields, under envPrefix.
		typ := f.Type
		if star, ok := typ.(*ast.StarExpr); ok {
			typ = star.X
		}
		switch x := typ.(type) {
		case *ast.Ident:
			err = s.collect(importPath, x.Name, prefix+tag.Get("envPrefix"), out, depth+1)
		case *ast.SelectorExpr:
			if pkg, ok := x.X.(*ast.Ident); ok {
				if path, ok := p.imports[st][pkg.Name]; ok {
					err = s.collect(path, x.Sel.Name, prefix+tag.Get("envPrefix"), out, depth+1)
				}
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// workspaceModules maps each module of go.work to its directory.
func workspaceModules(t *testing.T, root string) map[string]string {
	t.Helper()
	work, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	mods := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(work)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "use ")
		if !strings.HasPrefix(line, "./") {
			continue
		}
		dir := filepath.Join(root, filepath.FromSlash(line))
		gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(gomod), "\n") {
			if strings.HasPrefix(l, "module ") {
				mods[strings.TrimSpace(strings.TrimPrefix(l, "module "))] = dir
			}
		}
	}
	return mods
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.work")); err != nil {
		t.Fatalf("repository root not at %s: %v", dir, err)
	}
	return dir
}
