package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestOneStatementWritesGoWithTheCommit: the repository's single-statement
// writes (the documents due an approval clears, activity, contact
// reports) go out with the transaction's COMMIT, in a handler's
// transaction as in one of their own, instead of a round trip each before it.
func TestOneStatementWritesGoWithTheCommit(t *testing.T) {
	ctx := context.Background()
	pool, statements := testkit.TracedServicePool(t, "registration", postgres.Migrations, 4)
	repo := postgres.NewRepository(pool, outbox.NewWriter("registration"), nil)
	withCommit := func(what string) {
		t.Helper()
		for _, b := range statements.Batches() {
			if len(b) > 0 && b[len(b)-1] == "commit" && slices.ContainsFunc(b, func(sql string) bool { return strings.HasPrefix(sql, what) }) {
				return
			}
		}
		t.Fatalf("%q did not go with the COMMIT: alone %q, batches %q", what, statements.Alone(), statements.Batches())
	}

	// In a transaction of their own.
	if err := repo.ClearDocumentsDue(ctx, domain.PartnerID("PG-NONE"), ""); err != nil {
		t.Fatal(err)
	}
	withCommit("DELETE FROM documents_due")

	// In a caller's transaction, after its other statements.
	statements.Reset()
	err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
			return err
		}
		return repo.ClearDocumentsDue(ctx, domain.PartnerID("PG-NONE"), "company")
	})
	if err != nil {
		t.Fatal(err)
	}
	withCommit("DELETE FROM documents_due")
}

// TestPartnerSnapshotsCompressWithLZ4: a partner's snapshot (about 3 KB)
// is compressed at each of an onboarding's four updates of its row.
func TestPartnerSnapshotsCompressWithLZ4(t *testing.T) {
	testkit.CompressesWithLZ4(t, testkit.ServicePool(t, "registration", postgres.Migrations, 2, nil), "partners", "snapshot")
}

// TestAContactReportKeepsTheLatestState: the report's states come on four
// durables, so in any order; the one e-mail ownership recorded latest
// stays, and a state without an address (a withdrawal) keeps the reported
// one.
func TestAContactReportKeepsTheLatestState(t *testing.T) {
	ctx := context.Background()
	repo := postgres.NewRepository(testkit.ServicePool(t, "registration", postgres.Migrations, 2, nil), outbox.NewWriter("registration"), nil)
	const enrollment = domain.EnrollmentID("EN-REPORT-1")
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	save := func(state app.ContactReportState, address string, at time.Time) {
		t.Helper()
		if err := repo.SaveContactReport(ctx, app.ContactReport{PartnerID: "PG-REPORT", EnrollmentID: enrollment, ChallengeID: "ch-1",
			Address: address, State: state, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	want := func(state app.ContactReportState, address string) {
		t.Helper()
		got, err := repo.ContactReport(ctx, enrollment)
		if err != nil || got == nil || got.State != state || got.Address != address {
			t.Fatalf("report %+v (%v), want %s of %s", got, err, state, address)
		}
	}
	if got, err := repo.ContactReport(ctx, enrollment); got != nil || err != nil {
		t.Fatalf("before any report: %+v %v", got, err)
	}
	save(app.ContactReportEnded, "", t0.Add(2*time.Minute)) // the withdrawal handled first
	save(app.ContactReported, "taro@test-shoji.co.jp", t0)  // the report, late
	want(app.ContactReportEnded, "")
	save(app.ContactReported, "taro@test-shoji.co.jp", t0.Add(3*time.Minute)) // reported again
	want(app.ContactReported, "taro@test-shoji.co.jp")
	save(app.ContactReportEnded, "", t0.Add(4*time.Minute))
	want(app.ContactReportEnded, "taro@test-shoji.co.jp")
	removed := func(partner domain.PartnerID, address string) bool {
		t.Helper()
		ok, err := repo.ContactAddressRemoved(ctx, partner, address)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if removed("PG-REPORT", "taro@test-shoji.co.jp") {
		t.Fatal("an address only reported counts as removed")
	}
	save(app.ContactRemoved, "taro@test-shoji.co.jp", t0.Add(5*time.Minute))
	want(app.ContactRemoved, "taro@test-shoji.co.jp")
	// A removal stays the partner's for good, whatever the enrollment's
	// later reports (of a later address) are; a late removal counts too.
	save(app.ContactReported, "hanako@test-shoji.co.jp", t0.Add(6*time.Minute))
	save(app.ContactRemoved, "Jiro@test-shoji.co.jp", t0.Add(time.Minute))
	want(app.ContactReported, "hanako@test-shoji.co.jp")
	if !removed("PG-REPORT", "Taro@Test-Shoji.co.jp") || !removed("PG-REPORT", "jiro@test-shoji.co.jp") ||
		removed("PG-REPORT", "hanako@test-shoji.co.jp") || removed("PG-OTHER", "taro@test-shoji.co.jp") {
		t.Fatal("removed addresses")
	}
}
