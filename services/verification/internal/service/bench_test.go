package service_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/auth"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
)

// BenchmarkThroughput measures, through the real path (JetStream → router
// → inbox + use case + outbox in one transaction, relay running), how many
// cases open per second and how many decision events are recorded per
// second, beside a same-run raw baseline: one business INSERT plus one
// outbox-shaped INSERT per transaction, at the router's concurrency (one
// handler per subscription), on the same database.
func BenchmarkThroughput(b *testing.B) {
	if testing.Short() {
		b.Skip("benchmark needs Postgres and JetStream")
	}
	const n = 500
	e := newEnv(b)
	svc := e.start(e.config())
	ctx := context.Background()
	pool := svc.svc.Base.Pool
	inboxCount := func(handler string) int {
		var c int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM inbox WHERE handler = $1`, handler).Scan(&c); err != nil {
			b.Fatal(err)
		}
		return c
	}
	waitInbox := func(handler string, want int) {
		testkit.Eventually(b, 5*time.Minute, func() error {
			if got := inboxCount(handler); got < want {
				return fmt.Errorf("%s: %d of %d", handler, got, want)
			}
			return nil
		})
	}
	bot := auth.Principal{Kind: auth.KindService, Subject: "verifier-bot", Roles: []auth.Role{auth.RoleVerifier}}
	asBot := map[string]string{"ce-authtype": "service_account", "ce-authid": "verifier-bot"}
	var casesPerSec, decisionsPerSec float64
	for i := 0; i < b.N; i++ {
		base := inboxCount("on_application_submitted")
		start := time.Now()
		for j := range n {
			partner := fmt.Sprintf("PG-B%02dX%05d", i, j)
			e.publish(registrationv1.TypeApplicationSubmitted, partner, submitted(partner, ""), nil)
		}
		waitInbox("on_application_submitted", base+n)
		casesPerSec = n / time.Since(start).Seconds()

		tasks, _, err := svc.svc.App.ListTasks(ctx, bot, app.TaskFilter{Unclaimed: true, Limit: 500})
		if err != nil || len(tasks) < n {
			b.Fatalf("tasks: %d %v", len(tasks), err)
		}
		for _, t := range tasks[:n] {
			if _, err := svc.svc.App.ClaimTask(ctx, bot, app.ClaimTaskCommand{TaskID: t.Task.ID}); err != nil {
				b.Fatal(err)
			}
		}
		base = inboxCount("on_decision_submitted")
		start = time.Now()
		for j, t := range tasks[:n] {
			e.publish(intakev1.TypeVerificationDecisionSubmitted, t.PartnerID, intakev1.VerificationDecisionSubmitted{
				DecisionID: fmt.Sprintf("bench-%d-%d", i, j), TaskID: t.Task.ID, Outcome: intakev1.OutcomeApprove}, asBot)
		}
		waitInbox("on_decision_submitted", base+n)
		decisionsPerSec = n / time.Since(start).Seconds()
	}
	svc.stop()
	baseline := rawBaseline(b, e.db, n)
	b.ReportMetric(casesPerSec, "cases/s")
	b.ReportMetric(decisionsPerSec, "decisions/s")
	b.ReportMetric(baseline, "baseline_tx/s")
	b.ReportMetric(casesPerSec/baseline, "ratio_cases")
	b.ReportMetric(decisionsPerSec/baseline, "ratio_decisions")
}

// rawBaseline runs n transactions of one business INSERT and one
// outbox-shaped INSERT, sequentially, on database db.
func rawBaseline(b *testing.B, db string, n int) float64 {
	b.Helper()
	ctx := context.Background()
	u, err := url.Parse(testkit.AdminURL())
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + db
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS bench;
		CREATE TABLE IF NOT EXISTS bench.cases (id TEXT PRIMARY KEY, doc JSONB NOT NULL);
		CREATE TABLE IF NOT EXISTS bench.outbox ("offset" BIGSERIAL PRIMARY KEY, uuid VARCHAR(36) NOT NULL, payload JSON, metadata JSON,
			acked BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		b.Fatal(err)
	}
	doc := `{"id":"x","partner_id":"PG-X","status":"pending","checks":[{"kind":"company","state":"in_review"}]}`
	start := time.Now()
	for i := range n {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO bench.cases (id, doc) VALUES ($1, $2)`, fmt.Sprintf("c-%d", i), doc); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO bench.outbox (uuid, payload, metadata) VALUES ($1, $2, '{}')`, fmt.Sprintf("%036d", i), doc)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}
