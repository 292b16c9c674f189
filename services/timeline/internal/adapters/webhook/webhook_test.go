package webhook_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/webhook"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// TestSignatureVerifiedByTheStandardWebhooksLibrary: a delivery signed with
// two secrets (a rotation) verifies with either, using the reference
// library; a changed body or id does not.
func TestSignatureVerifiedByTheStandardWebhooksLibrary(t *testing.T) {
	current, previous := domain.NewSecret(), domain.NewSecret()
	keys := make([][]byte, 2)
	for i, s := range []string{current, previous} {
		k, err := domain.SecretKey(s)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	body := []byte(`{"specversion":"1.0","id":"e1","source":"/services/registration","type":"com.partnerhub.x.v1"}`)
	at := time.Now()
	h := http.Header{}
	h.Set(webhook.HeaderID, "e1")
	h.Set(webhook.HeaderTimestamp, strconvUnix(at))
	h.Set(webhook.HeaderSignature, webhook.Sign("e1", at, body, keys))
	if n := len(strings.Fields(h.Get(webhook.HeaderSignature))); n != 2 {
		t.Fatalf("%d signatures, want one per secret", n)
	}
	for _, s := range []string{current, previous} {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("the reference library refuses our signature: %v", err)
		}
		if err := wh.Verify(append(bytes.Clone(body), ' '), h); err == nil {
			t.Error("a changed body verified")
		}
	}
	other, _ := standardwebhooks.NewWebhook(domain.NewSecret())
	if err := other.Verify(body, h); err == nil {
		t.Error("a foreign secret verified")
	}
	h.Set(webhook.HeaderID, "e2")
	wh, _ := standardwebhooks.NewWebhook(current)
	if err := wh.Verify(body, h); err == nil {
		t.Error("another message id verified")
	}
}

func strconvUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestKeyringBindsTheSecretToItsRow(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	k, err := webhook.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	sealed, err := k.Seal("we_1", "ws_1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed form holds the clear secret")
	}
	if got, err := k.Open("we_1", "ws_1", sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := k.Open("we_2", "ws_1", sealed); err == nil {
		t.Error("opened for another endpoint")
	}
	other, _ := webhook.NewKeyring(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open("we_1", "ws_1", sealed); err == nil {
		t.Error("opened with another key")
	}
	if _, err := webhook.NewKeyring(key[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

// TestSenderRefusesPrivateAddressesOutsideDevelopment: a name that
// resolves to loopback is refused at connect time unless allowed; the
// error never carries the URL's query.
func TestSenderRefusesPrivateAddressesOutsideDevelopment(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	target := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/hook?token=s3cr3t"
	keys := [][]byte{bytes.Repeat([]byte{1}, 32)}
	a := webhook.NewSender(time.Second, false).Send(context.Background(), target, "e1", time.Now(), []byte("{}"), keys)
	if a.Succeeded() || hits != 0 || !strings.Contains(a.Error, "not a public address") || strings.Contains(a.Error, "s3cr3t") {
		t.Fatalf("to loopback outside development: %+v (hits %d)", a, hits)
	}
	a = webhook.NewSender(time.Second, true).Send(context.Background(), target, "e1", time.Now(), []byte("{}"), keys)
	if !a.Succeeded() || a.Status != http.StatusNoContent || hits != 1 {
		t.Fatalf("to loopback in development: %+v (hits %d)", a, hits)
	}
}
