package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestEnsureDevKeysCreatesOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev-keys")
	first, err := EnsureDevKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := EnsureDevKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.KeyID() == "" || first.KeyID() != second.KeyID() {
		t.Fatalf("kids %q and %q: the key was not reused", first.KeyID(), second.KeyID())
	}
	info, err := os.Stat(filepath.Join(dir, devPrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, want 0600", info.Mode().Perm())
	}
	jwks, err := os.ReadFile(DevJWKSPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(jwks), first.KeyID()) || strings.Contains(string(jwks), `"d"`) {
		t.Fatalf("jwks.json must list the kid and no private member: %s", jwks)
	}
	// The public file is regenerated if deleted.
	_ = os.Remove(DevJWKSPath(dir))
	if _, err := EnsureDevKeys(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(DevJWKSPath(dir)); err != nil {
		t.Fatal("jwks.json not rewritten")
	}
}

func TestEnsureDevKeysConcurrentCallersAgree(t *testing.T) {
	dir := t.TempDir()
	kids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range kids {
		wg.Go(func() {
			s, err := EnsureDevKeys(dir)
			if err != nil {
				t.Error(err)
				return
			}
			kids[i] = s.KeyID()
		})
	}
	wg.Wait()
	for _, k := range kids {
		if k != kids[0] {
			t.Fatalf("concurrent callers got different keys: %v", kids)
		}
	}
}

func TestDevKeysDir(t *testing.T) {
	t.Setenv(DevKeysEnv, "/somewhere/keys")
	if got := DevKeysDir(); got != "/somewhere/keys" {
		t.Fatalf("DevKeysDir = %q", got)
	}
	t.Setenv(DevKeysEnv, "")
	if got := DevKeysDir(); !strings.HasSuffix(got, DevKeysRelDir) {
		t.Fatalf("DevKeysDir = %q", got)
	}
}

func TestEnsureDevSecretIsCreatedOnceAndShared(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := EnsureDevSecret(dir, "webhook-secret.key", 32)
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		}()
	}
	wg.Wait()
	for _, b := range got {
		if len(b) != 32 || !bytes.Equal(b, got[0]) {
			t.Fatalf("concurrent callers got %x and %x", got[0], b)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "webhook-secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	if _, err := EnsureDevSecret(dir, "webhook-secret.key", 16); err == nil {
		t.Fatal("a secret of another size was accepted")
	}
}
