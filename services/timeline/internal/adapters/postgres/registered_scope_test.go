package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

func registeredEndpoint(id, consumer string) domain.Endpoint {
	return domain.Endpoint{ID: id, Consumer: consumer, Scope: domain.ScopeRegistered, URL: "https://hooks.example/" + id,
		Status: domain.EndpointEnabled, CreatedBy: consumer, CreatedAt: t0, UpdatedAt: t0}
}

func secretOf(id string) app.SealedSecret {
	return app.SealedSecret{ID: "ws_" + id, Sealed: []byte("sealed"), CreatedAt: t0}
}

// confirmedOf is another service's event about partner, which the
// partner's registrant's endpoints are sent.
func confirmedOf(partner string) domain.Event {
	return domain.Event{ID: "c-" + partner, Source: "/services/email-ownership", Type: "com.partnerhub.email.ownership.confirmed.v1",
		Subject: partner, PartitionKey: partner, Sequence: 1, Time: t0, Data: json.RawMessage(`{"partner_id":"` + partner + `"}`)}
}

// submittedOf is partner's registration by the upstream system by.
func submittedOf(partner, by string) domain.Event {
	return domain.Event{ID: "s-" + partner, Source: "/services/registration", Type: domain.TypeApplicationSubmitted,
		Subject: partner, PartitionKey: partner, Sequence: 1, Time: t0, AuthType: "service_account", AuthID: by,
		Data: json.RawMessage(`{"partner_id":"` + partner + `","submitted_by":"` + by + `"}`)}
}

// recordOpen records e in a transaction it leaves open (a bus batch still
// running).
func recordOpen(t *testing.T, p *pgxpool.Pool, s *postgres.Store, e domain.Event) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	if _, _, err := s.Record(pg.WithTx(ctx, tx), e, []string{e.Subject}, domain.RegistrantOf(e), t0); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitsFor runs fn and checks that it is still running after a while (it
// waits for what release ends), and that it ends once release ran.
func waitsFor(t *testing.T, what string, fn func() error, release func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		t.Fatalf("%s did not wait for the recording transaction (err %v)", what, err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still waits after the recording transaction ended", what)
	}
}

// Whether a partition's events must be recorded one transaction at a time
// (enabled endpoints of scope registered exist) is never stale: creating or
// enabling such an endpoint waits for the recording transactions running
// (which did not serialize), so every later one sees it, on any replica.
func TestRegisteredScopeEndpointCommitsBetweenRecordingTransactions(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	s, w := postgres.New(p), postgres.NewWebhooks(p, nil, nil)

	running := recordOpen(t, p, s, confirmedOf("PG-R1"))
	waitsFor(t, "creating an endpoint of scope registered", func() error {
		return createEndpoint(ctx, w, registeredEndpoint("we_r1", "crm"), secretOf("r1"))
	}, func() {
		if err := running.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})

	if _, err := w.UpdateEndpoint(ctx, "we_r1", func(e *domain.Endpoint) error {
		e.Status, e.DisabledReason, e.DisabledAt = domain.EndpointDisabled, domain.DisabledByCaller, t0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	running = recordOpen(t, p, s, confirmedOf("PG-R2"))
	waitsFor(t, "enabling an endpoint of scope registered", func() error {
		_, err := w.UpdateEndpoint(ctx, "we_r1", func(e *domain.Endpoint) error {
			e.Status, e.DisabledReason, e.DisabledAt = domain.EndpointEnabled, "", time.Time{}
			return nil
		})
		return err
	}, func() {
		if err := running.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})

	// An endpoint of scope all changes nothing for the recording path.
	running = recordOpen(t, p, s, confirmedOf("PG-R3"))
	all := registeredEndpoint("we_all", "ops")
	all.Scope = domain.ScopeAll
	if err := createEndpoint(ctx, w, all, secretOf("all")); err != nil {
		t.Fatal(err)
	}
	if err := running.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// A partner's registration and another service's event about it, recorded
// at once by two transactions (two streams, or two replicas): the
// registration waits for the other, sees it, and creates its delivery to
// the registrant's endpoint; none is lost.
func TestRegistrationAndAConcurrentEventOfItsPartnerBothReachTheRegistrant(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	s, w := postgres.New(p), postgres.NewWebhooks(p, nil, nil)
	if err := createEndpoint(ctx, w, registeredEndpoint("we_crm", "crm"), secretOf("crm")); err != nil {
		t.Fatal(err)
	}
	confirmed, submitted := confirmedOf("PG-R9"), submittedOf("PG-R9", "crm")
	running := recordOpen(t, p, s, confirmed)
	var deliveries []app.NewDelivery
	waitsFor(t, "recording the registration of the same partner", func() error {
		var err error
		_, deliveries, err = s.Record(ctx, submitted, []string{"PG-R9"}, domain.RegistrantOf(submitted), t0)
		return err
	}, func() {
		if err := running.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if len(deliveries) != 2 {
		t.Errorf("the registration created deliveries %+v, want its own and the backfill of the confirmation", deliveries)
	}
	rows, err := p.Query(ctx, `SELECT event_id FROM webhook_deliveries WHERE endpoint_id = 'we_crm' ORDER BY event_id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{confirmed.ID, submitted.ID}; !slices.Equal(got, want) {
		t.Fatalf("deliveries to the registrant's endpoint: %v, want %v", got, want)
	}
}

// With no pending delivery, ClaimDue says nothing is due (zero), so the
// dispatcher waits for its safety sweep instead of sweeping every second;
// with one pending later, it says when.
func TestClaimDueWithNothingPendingNamesNoNextRun(t *testing.T) {
	ctx := context.Background()
	p := pool(t)
	w := postgres.NewWebhooks(p, nil, nil)
	if _, err := p.Exec(ctx, `DELETE FROM webhook_deliveries`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ids, next, err := w.ClaimDue(ctx, now, now.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 || !next.IsZero() {
		t.Fatalf("nothing pending: claimed %v, next run %v; want none and zero", ids, next)
	}
}
