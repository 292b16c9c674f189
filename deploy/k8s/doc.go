// Package k8s holds the Kubernetes manifests (base/ and overlays/) and the
// test that builds them with kustomize's own library (krusty, what
// `kubectl kustomize` runs) and checks what an operator would otherwise
// find out on a cluster: every service deployed and reachable, probes on the
// platform's /healthz and /readyz, Prometheus scraping, hardened pods, a
// grace period longer than the service's shutdown, only environment
// variables the services read (taken from their Config structs' env tags by
// parsing the Go source), and no secret written into the manifests.
package k8s
