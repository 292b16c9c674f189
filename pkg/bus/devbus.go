package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DevBusFile is where `make run` writes, in the development keys directory,
// how to reach the bus it runs: its URL and the password of every user
// (generated at each start; mode 0600). partnerctl reads it to connect as
// the admin, an integrator to try the upstream or verifier user.
const DevBusFile = "nats.json"

// DevBus is the content of DevBusFile.
type DevBus struct {
	URL       string            `json:"url"`
	Passwords map[string]string `json:"passwords"`
}

// WriteDevBus writes b to dir/DevBusFile (0600, replacing it atomically).
func WriteDevBus(dir string, b DevBus) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+DevBusFile+"-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, DevBusFile))
}

// ReadDevBus reads dir/DevBusFile (os.ErrNotExist when make run has not
// written one).
func ReadDevBus(dir string) (DevBus, error) {
	data, err := os.ReadFile(filepath.Join(dir, DevBusFile))
	if err != nil {
		return DevBus{}, err
	}
	var b DevBus
	if err := json.Unmarshal(data, &b); err != nil || b.URL == "" {
		return DevBus{}, fmt.Errorf("%s: not what make run writes", filepath.Join(dir, DevBusFile))
	}
	return b, nil
}
