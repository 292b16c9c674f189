package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
)

// TestPrefetchedContactGoesWithTheNextStatement: a prefetched contact read
// goes out in the round trip of the transaction's next statement and hands
// over what Contact returns; outside a transaction nothing is prefetched.
func TestPrefetchedContactGoesWithTheNextStatement(t *testing.T) {
	ctx := context.Background()
	pool, statements := testkit.TracedServicePool(t, "notifier", postgres.Migrations, 4)
	dir := postgres.NewDirectory(pool)
	want := app.Contact{PartnerID: "PG-P1", Email: "taro@example.co.jp", FirstName: "太郎", LastName: "山田", Language: "ja",
		Market: "JP", CompanyName: "株式会社サンプル"}
	if err := dir.SaveContact(ctx, want, time.Now()); err != nil {
		t.Fatal(err)
	}
	if dir.PrefetchContact(ctx, "PG-P1", func(app.Contact, error) { t.Error("prefetched outside a transaction") }) {
		t.Fatal("PrefetchContact outside a transaction reported true")
	}

	statements.Reset()
	var got []app.Contact
	var errs []error
	err := pg.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		for _, id := range []string{"PG-P1", "PG-NONE"} {
			if !dir.PrefetchContact(ctx, id, func(c app.Contact, err error) { got, errs = append(got, c), append(errs, err) }) {
				t.Error("PrefetchContact in a transaction reported false")
			}
		}
		if len(got) != 0 {
			t.Error("the prefetched reads went out before the next statement")
		}
		_, err := tx.Exec(ctx, `SELECT $1::int`, 1)
		if len(got) != 2 {
			t.Errorf("after the next statement: %d contacts handed over, want 2", len(got))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], want) || errs[0] != nil || errs[1] != app.ErrNotFound {
		t.Fatalf("handed over %+v, %v; want %+v and app.ErrNotFound", got, errs, want)
	}
	b := statements.Batches()
	if len(b) < 1 || !slices.ContainsFunc(b[0], func(sql string) bool { return strings.HasPrefix(sql, "SELECT email") }) ||
		b[0][len(b[0])-1] != "SELECT $1::int" {
		t.Fatalf("batches %q: want the contact reads in the first, before the next statement", b)
	}
}
