package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// createEndpoint creates e with its first secret, under no key.
func createEndpoint(ctx context.Context, w *postgres.Webhooks, e domain.Endpoint, s app.SealedSecret) error {
	_, err := w.CreateEndpoint(ctx, e, s, app.Idempotency{})
	return err
}

// A creation retried under its key — after the first committed, or while
// it runs — creates nothing: it finds the endpoint and the digest of the
// request that created it. Another principal's key of the same text, and
// creations under no key, are their own.
func TestAnEndpointIsCreatedOncePerPrincipalAndIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	w := postgres.NewWebhooks(p, nil, nil)
	once := app.Idempotency{Key: "k-1", RequestDigest: "d-1"}

	prior, err := w.CreateEndpoint(ctx, registeredEndpoint("we_a", "crm"), secretOf("a"), once)
	if err != nil || prior.EndpointID != "" {
		t.Fatalf("first creation: %+v %v", prior, err)
	}
	prior, err = w.CreateEndpoint(ctx, registeredEndpoint("we_b", "crm"), secretOf("b"), app.Idempotency{Key: "k-1", RequestDigest: "d-2"})
	if err != nil || prior != (app.PriorCreation{EndpointID: "we_a", RequestDigest: "d-1"}) {
		t.Fatalf("retry: %+v %v, want we_a's creation", prior, err)
	}

	// Eight retries at once of another creation: one creates, seven find it.
	var wg sync.WaitGroup
	found := make([]string, 8)
	for i := range found {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "we_c" + string(rune('0'+i))
			prior, err := w.CreateEndpoint(ctx, registeredEndpoint(id, "crm"), secretOf(id[3:]), app.Idempotency{Key: "k-2", RequestDigest: "d"})
			if err != nil {
				t.Error(err)
			}
			found[i] = prior.EndpointID
			if found[i] == "" {
				found[i] = id
			}
		}()
	}
	wg.Wait()
	for _, id := range found[1:] {
		if id != found[0] {
			t.Fatalf("concurrent retries found %v, want one endpoint", found)
		}
	}

	other := registeredEndpoint("we_d", "erp")
	if prior, err := w.CreateEndpoint(ctx, other, secretOf("d"), once); err != nil || prior.EndpointID != "" {
		t.Fatalf("another principal's k-1: %+v %v, want a creation", prior, err)
	}
	for _, id := range []string{"we_e", "we_f"} {
		if err := createEndpoint(ctx, w, registeredEndpoint(id, "crm"), secretOf(id[3:])); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d endpoints (%v), want 5: we_a, one of we_c*, we_d, we_e, we_f", n, err)
	}
	if err := p.QueryRow(ctx, `SELECT count(*) FROM webhook_secrets`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d secrets (%v), want one per endpoint", n, err)
	}

	// A deleted endpoint frees its key.
	if err := w.DeleteEndpoint(ctx, "we_a"); err != nil {
		t.Fatal(err)
	}
	if prior, err := w.CreateEndpoint(ctx, registeredEndpoint("we_g", "crm"), secretOf("g"), once); err != nil || prior.EndpointID != "" {
		t.Fatalf("after deletion: %+v %v, want a creation", prior, err)
	}
}
