// Package policyfile loads the operator's registration policy (contact
// e-mail policy and registration-number schemes per market) from the file
// REGISTRATION_POLICY_FILE names, and reloads it while the service runs: on
// SIGHUP and when the file's modification time or size changes. A file that
// does not parse or validate is refused with a log line and the policy in
// force is kept.
package policyfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Load reads and validates the policy file at path: YAML when its name ends
// in .yaml or .yml, JSON otherwise; unknown members are errors.
func Load(path string) (domain.PolicySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return domain.PolicySet{}, fmt.Errorf("registration policy file: %w", err)
	}
	set, err := Parse(data, strings.ToLower(filepath.Ext(path)))
	if err != nil {
		return domain.PolicySet{}, fmt.Errorf("registration policy file %s: %w", path, err)
	}
	return set, nil
}

// errEmpty refuses a document without content: write {} for the built-in
// policy everywhere.
var errEmpty = errors.New("the file has no policy document (write {} for the built-in policy; a file caught while being rewritten looks empty)")

// Parse decodes a policy document (ext ".yaml"/".yml": YAML, else JSON).
func Parse(data []byte, ext string) (domain.PolicySet, error) {
	var f domain.PolicyFile
	switch ext {
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); errors.Is(err, io.EOF) {
			// What a file being rewritten in place looks like between its
			// truncation and its write: never taken for "the built-in policy".
			return domain.PolicySet{}, errEmpty
		} else if err != nil {
			return domain.PolicySet{}, fmt.Errorf("decode YAML: %w", err)
		}
	default:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return domain.PolicySet{}, fmt.Errorf("decode JSON: %w", err)
		}
		if dec.More() {
			return domain.PolicySet{}, errors.New("decode JSON: more than one document")
		}
	}
	return f.PolicySet()
}

// Watcher reloads the policy file and hands every valid new policy to Apply.
type Watcher struct {
	Path     string
	Interval time.Duration // modification-time poll; 0: 5s
	Apply    func(domain.PolicySet)
	Log      *slog.Logger

	stamp stamp
}

type stamp struct {
	mod  time.Time
	size int64
}

// Start records the file's current state (call it after the first Load).
func (w *Watcher) Start() { w.stamp, _ = stat(w.Path) }

// Run reloads on SIGHUP and on a change of the file until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	every := w.Interval
	if every <= 0 {
		every = 5 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			w.Reload("sighup")
		case <-tick.C:
			if s, err := stat(w.Path); err == nil && s != w.stamp {
				w.Reload("file_changed")
			}
		}
	}
}

// Reload loads the file now: a valid policy is applied, an invalid one
// refused (logged at error level) and the policy in force kept. It reports
// whether the new policy was applied.
func (w *Watcher) Reload(trigger string) bool {
	s, _ := stat(w.Path)
	w.stamp = s
	set, err := Load(w.Path)
	if err != nil {
		w.Log.Error("registration policy file refused; the policy in force is kept",
			"path", w.Path, "trigger", trigger, "err", err.Error())
		return false
	}
	w.Apply(set)
	w.Log.Info("registration policy file applied", "path", w.Path, "trigger", trigger, "markets", len(set.Markets))
	return true
}

func stat(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	return stamp{mod: fi.ModTime(), size: fi.Size()}, nil
}
