package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

const benchWorkers = 4

// BenchmarkThroughput measures, against real Postgres and JetStream:
// challenges opened per second from registration events (2 enrollments per
// event, through router, inbox, repository and outbox) and confirmations per
// second (HTTP POST /confirm, the button of the mailed link's page), beside the same-run raw
// baseline of one row insert + one outbox-shaped insert per transaction at
// the same concurrency on the same database.
func BenchmarkThroughput(b *testing.B) {
	if testing.Short() {
		b.Skip("benchmark against real infrastructure")
	}
	const registrations = 250 // 500 challenges
	h := start(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		prefix := "PG-B" + strings.ToUpper(testkit.RandomID(3))
		events := make([]registrationv1.ApplicationSubmitted, registrations)
		for j := range events {
			events[j] = submitted(fmt.Sprintf("%s-%04d", prefix, j), fmt.Sprintf("c%d@bench.example.co.jp", j))
		}
		begin := time.Now()
		for _, e := range events {
			publish(b, h.js, registrationv1.TypeApplicationSubmitted, "", e.PartnerID, e)
		}
		want := 2 * registrations
		testkit.Eventually(b, 120*time.Second, func() error {
			var n int
			if err := h.svc.Base.Pool.QueryRow(ctx, `SELECT count(*) FROM ownerships WHERE partner_id LIKE $1`, prefix+"%").Scan(&n); err != nil {
				return err
			}
			if n < want {
				return fmt.Errorf("%d of %d challenges opened", n, want)
			}
			return nil
		})
		opened := float64(want) / time.Since(begin).Seconds()

		// Links as the notifier would render them, from the relayed events.
		var tokens []string
		testkit.Eventually(b, 60*time.Second, func() error {
			tokens = tokens[:0]
			for _, m := range streamMsgs(b, h.js, "EMAIL", emailv1.TypeVerificationMailRequested) {
				var mr emailv1.VerificationMailRequested
				if err := json.Unmarshal(m.Data, &mr); err == nil && strings.HasPrefix(mr.PartnerID, prefix) {
					tokens = append(tokens, h.secret(mr).Token)
				}
			}
			if len(tokens) < want {
				return fmt.Errorf("%d of %d mail requests relayed", len(tokens), want)
			}
			return nil
		})
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchWorkers}}
		var next, failed atomic.Int64
		begin = time.Now()
		parallel(benchWorkers, func() {
			for k := next.Add(1) - 1; k < int64(len(tokens)); k = next.Add(1) - 1 {
				resp, err := client.PostForm(h.url+"/confirm", url.Values{"token": {tokens[k]}})
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		})
		confirmed := float64(len(tokens)) / time.Since(begin).Seconds()
		if failed.Load() > 0 {
			b.Fatalf("%d confirmations failed", failed.Load())
		}

		baseline := rawBaseline(b, h, 2*want)
		b.ReportMetric(opened, "ops/s")
		b.ReportMetric(confirmed, "confirm_ops/s")
		b.ReportMetric(baseline, "baseline_tx/s")
		b.ReportMetric(opened/baseline, "ratio")
		b.ReportMetric(confirmed/baseline, "confirm_ratio")
	}
}

// rawBaseline runs n transactions of one business insert + one outbox-shaped
// insert with benchWorkers workers in a scratch schema of the same database.
func rawBaseline(b testing.TB, h *harness, n int) float64 {
	ctx := context.Background()
	cfg := h.svc.Base.Config.Postgres
	dsn := strings.Replace(cfg.AdminURL, "/postgres?", "/"+cfg.Database+"?", 1)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS bench;
		CREATE TABLE IF NOT EXISTS bench.raw (id TEXT PRIMARY KEY, doc JSONB NOT NULL);
		CREATE TABLE IF NOT EXISTS bench.outbox ("offset" BIGSERIAL PRIMARY KEY, uuid VARCHAR(36) NOT NULL,
			payload JSON, metadata JSON, acked BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		b.Fatal(err)
	}
	doc := `{"state":"pending","challenges":[{"id":"x","token_hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","expires_at":"2026-04-04T09:00:00Z"}]}`
	var next atomic.Int64
	begin := time.Now()
	parallel(benchWorkers, func() {
		for k := next.Add(1); k <= int64(n); k = next.Add(1) {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				id := testkit.RandomID(8)
				if _, err := tx.Exec(ctx, `INSERT INTO bench.raw (id, doc) VALUES ($1, $2)`, id, doc); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO bench.outbox (uuid, payload, metadata) VALUES ($1, $2, $3)`,
					"0195f3a2-7c1e-7b3a-9d4e-"+id[:12], doc, `{"ce-type":"com.partnerhub.email.challenge.opened.v1"}`)
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	return float64(n) / time.Since(begin).Seconds()
}

func parallel(n int, fn func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	wg.Wait()
}
