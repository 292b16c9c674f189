package service_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/auth"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

const (
	benchN           = 500
	benchConcurrency = 4
)

// BenchmarkThroughput measures relationship requests and acceptances per
// second through the real path (HTTP with bearer tokens → app → Postgres
// with outbox) beside a same-run raw baseline: one business INSERT plus one
// outbox-shaped INSERT per transaction at the same concurrency on the same
// database.
func BenchmarkThroughput(b *testing.B) {
	if testing.Short() {
		b.Skip("needs Postgres and JetStream")
	}
	for range b.N {
		e := newEnv(b)
		inst := e.start()
		ctx := context.Background()
		svc := inst.svc
		bus := auth.Principal{Kind: auth.KindService, Subject: "registration"}
		at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
		seed := func(id, loc, program string) {
			if _, err := svc.App.ApplyPartnerRegistered(ctx, bus, app.PartnerRegistered{PartnerID: id, LocationIDs: []string{loc}, Market: "JP",
				LegalName: id + " K.K.", Address: domain.Address{Line1: "1-2-3", City: "Chiyoda-ku", Region: "Tokyo", PostalCode: "100-0005"}, OccurredAt: at}); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.App.ApplyEnrollmentStatusChanged(ctx, bus, app.EnrollmentStatusChanged{PartnerID: id, Program: program,
				Status: registrationv1.StatusActive, OccurredAt: at}); err != nil {
				b.Fatal(err)
			}
		}
		seed(provider.id, provider.location, registrationv1.ProgramIndirectProvider)
		admins := make([]*auth.Principal, benchN)
		parallel(benchN, benchConcurrency, func(i int) {
			seed(fmt.Sprintf("PG-B%04d", i), fmt.Sprintf("PL-B%04d", i), registrationv1.ProgramIndirectReseller)
			admins[i] = user(fmt.Sprintf("admin-%d", i), fmt.Sprintf("PG-B%04d", i), auth.RolePartnerAdmin)
		})

		var failed atomic.Int32
		tokens := make([]string, benchN)
		b.ResetTimer()
		start := time.Now()
		parallel(benchN, benchConcurrency, func(i int) {
			r := e.call(inst, "POST", "/v1/relationship-requests", providerAdmin, map[string]any{"reseller_location_id": fmt.Sprintf("PL-B%04d", i)})
			if r.status != http.StatusCreated {
				failed.Add(1)
				return
			}
			tokens[i] = tokenOf(b, r.str("invitation_url"))
		})
		requests := time.Since(start)
		start = time.Now()
		parallel(benchN, benchConcurrency, func(i int) {
			r := e.call(inst, "POST", "/v1/invitation/authorise", admins[i], map[string]any{"token": tokens[i], "consent": true})
			if r.status != http.StatusOK {
				failed.Add(1)
			}
		})
		acceptances := time.Since(start)
		b.StopTimer()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d operations failed", n)
		}
		baseline := rawBaseline(b, e.db, 2*benchN, benchConcurrency)
		reqRate := benchN / requests.Seconds()
		accRate := benchN / acceptances.Seconds()
		ops := 2 * benchN / (requests + acceptances).Seconds()
		b.ReportMetric(reqRate, "requests/s")
		b.ReportMetric(accRate, "acceptances/s")
		b.ReportMetric(ops, "ops/s")
		b.ReportMetric(baseline, "baseline_tx/s")
		b.ReportMetric(ops/baseline, "ratio")
		inst.stop()
	}
}

// rawBaseline runs n transactions of one INSERT plus one outbox-shaped
// INSERT at concurrency c in a scratch schema of db and returns tx/s.
func rawBaseline(b *testing.B, db string, n, c int) float64 {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testkit.AdminURL())
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.Database = db
	cfg.MaxConns = int32(c)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA bench;
		CREATE TABLE bench.rows (id TEXT PRIMARY KEY, doc JSONB NOT NULL);
		CREATE TABLE bench.outbox ("offset" BIGSERIAL PRIMARY KEY, uuid VARCHAR(36) NOT NULL, payload JSON, metadata JSON,
			acked BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		b.Fatal(err)
	}
	doc := `{"id":"x","state":"proposed","requests":[{"id":"r","roles":["support_agent"],"status":"open"}]}`
	payload := `{"relationship_id":"x","provider_id":"PG-1","reseller_id":"PG-2","roles":["support_agent"]}`
	var failed atomic.Int32
	start := time.Now()
	parallel(n, c, func(i int) {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO bench.rows (id, doc) VALUES ($1, $2)`, fmt.Sprint(i), doc); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO bench.outbox (uuid, payload, metadata) VALUES ($1, $2, '{}')`, fmt.Sprintf("%036d", i), payload)
			return err
		})
		if err != nil {
			failed.Add(1)
		}
	})
	if failed.Load() > 0 {
		b.Fatalf("%d baseline transactions failed", failed.Load())
	}
	return float64(n) / time.Since(start).Seconds()
}

// parallel runs fn(0..n-1) on c workers.
func parallel(n, c int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
