package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/emailownership/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/emailownership/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

func newRepo(t *testing.T) (*postgres.Repository, *pgxpool.Pool) {
	t.Helper()
	pool := testkit.ServicePool(t, "email-ownership", postgres.Migrations, 20, nil)
	return postgres.New(pool, outbox.NewWriter("email-ownership"), events.Drafts), pool
}

func issued(t *testing.T, id string) domain.Issued {
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	return domain.Issued{ChallengeID: id, TokenHash: domain.HashToken(string(tok)), CodeMAC: bytes.Repeat([]byte{1}, 32), SealedSecret: []byte("sealed")}
}

var ref = domain.EnrollmentRef{EnrollmentID: "PG-1-RES", PartnerID: "PG-1", Program: "indirect_reseller"}
var rcpt = domain.Recipient{Address: "taro@example.co.jp", Language: domain.LanguageJA, Market: "JP"}

func count(t *testing.T, pool *pgxpool.Pool, sql string) int {
	var n int
	if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUpsertRaceOpensOnce: concurrent first opens of one enrollment (each
// with its own causation) create one row, one challenge and one set of
// outbox rows; the losers retry under the lock and see the address.
func TestUpsertRaceOpensOnce(t *testing.T) {
	repo, pool := newRepo(t)
	ctx := context.Background()
	now := time.Now().UTC()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			is := issued(t, "ch-"+string(rune('a'+i)))
			errs <- repo.Upsert(ctx, ref.EnrollmentID, func(o *domain.Ownership) (*domain.Ownership, error) {
				if o == nil {
					o, _ = domain.NewOwnership(ref)
				}
				ok, err := o.Open(rcpt, "evt-"+string(rune('a'+i)), is, domain.DefaultPolicy(), now)
				if err != nil || !ok {
					return nil, err
				}
				return o, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM challenge_tokens`); n != 1 {
		t.Fatalf("%d challenges, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox`); n != 2 {
		t.Fatalf("%d outbox rows, want opened + mail requested", n)
	}
	o, err := repo.Get(ctx, ref.EnrollmentID)
	if err != nil || len(o.Challenges()) != 1 {
		t.Fatalf("get: %v", err)
	}
	c := o.Challenges()[0]
	if o, err := repo.GetByTokenHash(ctx, c.TokenHash); err != nil || o.Ref().EnrollmentID != ref.EnrollmentID {
		t.Fatalf("by token: %v", err)
	}
	if _, err := repo.GetByTokenHash(ctx, make([]byte, 32)); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	// Found and locked by one statement: the update does not read the
	// ownership while another transaction holds its lock.
	testkit.WaitsForLock(t, func(locked func(), release <-chan struct{}) error {
		return repo.Update(ctx, ref.EnrollmentID, func(*domain.Ownership) error { locked(); <-release; return nil })
	}, func(entered func()) error {
		return repo.UpdateByTokenHash(ctx, c.TokenHash, func(o *domain.Ownership) error {
			entered()
			if o.Ref().EnrollmentID != ref.EnrollmentID {
				return fmt.Errorf("updating %s", o.Ref().EnrollmentID)
			}
			return nil
		})
	})
	if err := repo.UpdateByTokenHash(ctx, make([]byte, 32), func(*domain.Ownership) error { return nil }); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("update by an unknown hash: %v", err)
	}
	if ids, _ := repo.EnrollmentsByAddress(ctx, rcpt.Address); len(ids) != 1 {
		t.Fatalf("by address: %v", ids)
	}
	if ids, _ := repo.DueForExpiry(ctx, now.Add(71*time.Hour), 10); len(ids) != 0 {
		t.Fatalf("due too early: %v", ids)
	}
	if ids, _ := repo.DueForExpiry(ctx, now.Add(73*time.Hour), 10); len(ids) != 1 {
		t.Fatalf("not due after the deadline: %v", ids)
	}
	// A failing callback saves nothing.
	err = repo.Update(ctx, ref.EnrollmentID, func(o *domain.Ownership) error {
		o.ExpireDue(now.Add(73 * time.Hour))
		return errors.New("boom")
	})
	if err == nil || count(t, pool, `SELECT count(*) FROM outbox`) != 2 {
		t.Fatal("a failed update wrote events")
	}
	if err := repo.Update(ctx, "nope", func(*domain.Ownership) error { return nil }); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("update of a missing enrollment: %v", err)
	}
}

// TestThrottleRowLock: 30 concurrent decisions on one key record exactly
// one send inside the cooldown.
func TestThrottleRowLock(t *testing.T) {
	repo, _ := newRepo(t)
	ctx := context.Background()
	now := time.Now().UTC()
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := repo.UpdateThrottle(ctx, "address:k", func(th *domain.ResendThrottle) error {
				if th.Allow(domain.DefaultPolicy(), now).Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	th, err := repo.GetThrottle(ctx, "address:k")
	if allowed != 1 || err != nil || len(th.Sends) != 1 {
		t.Fatalf("allowed %d, sends %v, err %v", allowed, th.Sends, err)
	}
	if fresh, err := repo.GetThrottle(ctx, "never"); err != nil || len(fresh.Sends) != 0 {
		t.Fatalf("absent throttle: %+v %v", fresh, err)
	}
}

// TestAContactOfAnEarlierSequenceIsNotKept: a contact kept for a later
// sequence is not replaced by one of an earlier sequence (a replay, or an
// event heard late), and is by one of a later sequence.
func TestAContactOfAnEarlierSequenceIsNotKept(t *testing.T) {
	repo, _ := newRepo(t)
	ctx := context.Background()
	if _, _, ok, err := repo.LatestContact(ctx, "PG-1"); ok || err != nil {
		t.Fatalf("before any: %v %v", ok, err)
	}
	keep := func(seq uint64, addr string) {
		t.Helper()
		if err := repo.RecordContact(ctx, "PG-1", seq, domain.Recipient{Address: addr, ContactName: "山田 花子", Language: "ja", Market: "JP", NamedBy: int(seq)}); err != nil {
			t.Fatal(err)
		}
	}
	want := func(seq uint64, addr string) {
		t.Helper()
		r, at, ok, err := repo.LatestContact(ctx, "PG-1")
		if err != nil || !ok || at != seq || r.Address != addr || r.NamedBy != int(seq) || r.Language != "ja" || r.Market != "JP" {
			t.Fatalf("latest %+v at %d (%v %v), want %s at %d", r, at, ok, err, addr, seq)
		}
	}
	keep(3, "hanako@example.co.jp")
	keep(2, "taro@example.co.jp")
	want(3, "hanako@example.co.jp")
	keep(4, "jiro@example.co.jp")
	want(4, "jiro@example.co.jp")
}
