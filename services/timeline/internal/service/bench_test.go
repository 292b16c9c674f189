package service_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/ce"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// BenchmarkIngestAndRead measures how fast the timeline absorbs a backlog
// (what a first start or a catch-up after an outage replays): 3000 events
// of three sources about 300 partners, published first, then consumed
// through the real router into Postgres. Beside it, a same-run raw baseline:
// the same rows inserted by one connection in one transaction each, without
// the bus. Then the p50 of reading a 10-event timeline page over HTTP.
func BenchmarkIngestAndRead(b *testing.B) {
	if testing.Short() {
		b.Skip("needs Postgres and JetStream")
	}
	const partners, perPartner = 300, 10
	for range b.N {
		e := start(b)
		sources := []string{srcRegistration, srcEmail, srcRelationships}
		var evs []ce.Event
		for p := range partners {
			id := fmt.Sprintf("PG-BNCH-%04d", p)
			for i := range perPartner {
				src := sources[i%3]
				evs = append(evs, event(src, registrationv1.TypeEnrollmentStatusChanged, id, uint64(i/3+1), t0.Add(time.Duration(i)*time.Second),
					registrationv1.EnrollmentStatusChanged{PartnerID: id, EnrollmentID: "EN-1", Program: registrationv1.ProgramIndirectReseller, At: t0}))
			}
		}
		// All on REGISTRATION's subjects so that one durable orders them.
		b.ResetTimer()
		start := time.Now()
		for _, ev := range evs {
			e.publish(ev)
		}
		e.settled()
		ingest := time.Since(start)
		b.StopTimer()
		rate := float64(len(evs)) / ingest.Seconds()
		baseline := rawInsertBaseline(b, e, len(evs))
		op := user("op-1", "", "operator")
		lat := make([]time.Duration, 0, 200)
		for i := range 200 {
			s := time.Now()
			a := e.get(fmt.Sprintf("/v1/partners/PG-BNCH-%04d/timeline?limit=10", i%partners), op)
			lat = append(lat, time.Since(s))
			if a.status != http.StatusOK || len(a.events()) != perPartner {
				b.Fatalf("read: %d %s", a.status, a.raw)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(rate, "events/s")
		b.ReportMetric(baseline, "baseline_tx/s")
		b.ReportMetric(rate/baseline, "ratio")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "read_p50_ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "read_p99_ms")
	}
}

// rawInsertBaseline inserts n event-shaped rows (the one row the timeline
// stores per event of one partner), one transaction per event, on one connection (the router handles one durable's
// messages one at a time), into scratch copies of the service's tables.
func rawInsertBaseline(b *testing.B, e *env, n int) float64 {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testkit.AdminURL())
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.Database, cfg.MaxConns = e.db, 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA bench; CREATE TABLE bench.bench_events (LIKE timeline.events INCLUDING ALL);
		SET search_path = bench`); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range n {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			id := fmt.Sprint(i)
			_, err := tx.Exec(ctx, `INSERT INTO bench_events (source, id, type, subject, time, partition_key, sequence, data, partners)
				VALUES ('/s', $1, 't', 'PG-X', now(), 'PG-X', $2, '{"partner_id":"PG-X"}', '{PG-X}') ON CONFLICT DO NOTHING`, id, i+1)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}
