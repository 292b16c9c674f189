package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/agreements/internal/app"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

const (
	benchN           = 500
	benchConcurrency = 8
)

// BenchmarkAcceptances measures reseller acceptances per second through the
// real path (HTTP with a bearer token → use case → Postgres with the outbox
// and audit rows; the relay publishing to JetStream meanwhile) for benchN
// approved partners at benchConcurrency, and in the same run a raw
// baseline: one business INSERT plus one outbox-shaped INSERT per
// transaction at the same concurrency on the same database.
func BenchmarkAcceptances(b *testing.B) {
	if testing.Short() {
		b.Skip("needs Postgres and JetStream")
	}
	h := start(b)
	ctx := context.Background()
	tokens := make([]string, benchN)
	ids := make([]string, benchN)
	sys := auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "bench"})
	for i := range benchN {
		pid := fmt.Sprintf("PG-B%05d%s", i, strings.ToUpper(testkit.RandomID(2)))
		ids[i] = pid
		_, err := h.svc.App.ApplyPartnerRegistered.Handle(sys, app.ApplyPartnerRegisteredCommand{Registration: domain.Registration{
			PartnerID: pid, LocationID: locationOf(pid), Market: "JP", Programs: []string{"indirect_reseller"},
			Enrollments: map[string]string{"indirect_reseller": "EN-" + pid}, RegisteredAt: time.Now().UTC(),
		}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.svc.App.ApplyVerificationDecision.Handle(sys, app.ApplyVerificationDecisionCommand{
			PartnerID: pid, DecisionID: "DEC-" + pid, Outcome: "approved", DecidedAt: time.Now().UTC()}); err != nil {
			b.Fatal(err)
		}
		tokens[i] = h.token(adminOf(pid))
	}
	body := map[string]any{"version_id": reseller, "market": "JP"}

	var accepted atomic.Int64
	var failed atomic.Int64
	measured := run(benchN, benchConcurrency, func(i int) {
		r := h.call("POST", acceptPath(ids[i]), tokens[i], body)
		if r.Status == 201 {
			accepted.Add(1)
		} else {
			failed.Add(1)
		}
	})
	if failed.Load() > 0 || accepted.Load() != benchN {
		b.Fatalf("accepted %d, failed %d", accepted.Load(), failed.Load())
	}
	if n := h.count(`SELECT count(*) FROM acceptances WHERE program = 'indirect_reseller'`); n != benchN {
		b.Fatalf("records = %d", n)
	}

	baseline := rawBaseline(b, h.svc.Base.Config.Postgres.Database)
	ops := float64(benchN) / measured.Seconds()
	base := float64(benchN) / baseline.Seconds()
	b.ReportMetric(ops, "ops/s")
	b.ReportMetric(base, "baseline_tx/s")
	b.ReportMetric(ops/base, "ratio")
	b.ReportMetric(0, "ns/op") // the wall time of one b.N iteration means nothing here
}

// run calls fn(i) for i in [0,n) on c workers and returns the wall time.
func run(n, c int, fn func(i int)) time.Duration {
	next := atomic.Int64{}
	var wg sync.WaitGroup
	began := time.Now()
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
	return time.Since(began)
}

func rawBaseline(b *testing.B, database string) time.Duration {
	b.Helper()
	ctx := context.Background()
	dsn := strings.Replace(testkit.AdminURL(), "/postgres?", "/"+database+"?", 1)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = benchConcurrency
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	for _, stmt := range []string{
		`CREATE SCHEMA bench`,
		`CREATE TABLE bench.business (id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, data JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
		`CREATE TABLE bench.outbox ("offset" BIGSERIAL PRIMARY KEY, "uuid" VARCHAR(36) NOT NULL, payload JSON, metadata JSON,
			acked BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	payload := `{"acceptance_id":"x","partner_id":"PG-1","program":"indirect_reseller","market":"JP","version_id":"v"}`
	var failed atomic.Int64
	d := run(benchN, benchConcurrency, func(i int) {
		id := fmt.Sprintf("raw-%d", i)
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO bench.business (id, partner_id, data) VALUES ($1, $2, $3)`, id, "PG-1", payload); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO bench.outbox (uuid, payload, metadata) VALUES ($1, $2, '{}')`, ce.NewID(), payload)
			return err
		})
		if err != nil {
			failed.Add(1)
		}
	})
	if failed.Load() > 0 {
		b.Fatalf("%d baseline transactions failed", failed.Load())
	}
	return d
}
