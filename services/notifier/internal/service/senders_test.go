package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp/smtptest"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// slowServer is an SMTP test server that holds every message at the end
// of its DATA until released, counting the messages it holds at once.
type slowServer struct {
	mu       sync.Mutex
	held     int
	peak     int
	released chan struct{}
	once     sync.Once
}

func newSlowServer() *slowServer { return &slowServer{released: make(chan struct{})} }

func (s *slowServer) options() smtptest.Options {
	return smtptest.Options{BeforeAccept: func(smtptest.Received) {
		s.mu.Lock()
		s.held++
		s.peak = max(s.peak, s.held)
		s.mu.Unlock()
		select {
		case <-s.released:
		case <-time.After(10 * time.Second):
		}
		s.mu.Lock()
		s.held--
		s.mu.Unlock()
	}}
}

func (s *slowServer) release() { s.once.Do(func() { close(s.released) }) }

func (s *slowServer) waitHeld(t *testing.T, n int) {
	t.Helper()
	testkit.Eventually(t, 8*time.Second, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.held != n {
			return fmt.Errorf("the server holds %d mails at once, want %d", s.held, n)
		}
		return nil
	})
}

func (h *harness) requestFor(challengeID, enrollmentID string) emailv1.VerificationMailRequested {
	r := h.request(challengeID, time.Now().Add(72*time.Hour))
	r.EnrollmentID = enrollmentID
	return r
}

// TestMailsAreSentConcurrently: the mails of one partner (one per
// enrollment, as a registration asks) to a slow SMTP server are in flight
// at once — neither waits for the server's answer to the other — and no
// more at once than MAIL_SENDERS.
func TestMailsAreSentConcurrently(t *testing.T) {
	slow := newSlowServer()
	t.Cleanup(slow.release)
	h := start(t, opts{senders: 2, smtp: slow.options()})
	for i, enr := range []string{"PG-7K2M-9QRE-S02", "PG-7K2M-9QSP-009", "PG-7K2M-9QD1-STJ"} {
		req := h.requestFor(fmt.Sprintf("ch-c%d", i), enr)
		publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	}
	slow.waitHeld(t, 2)
	time.Sleep(200 * time.Millisecond)
	slow.mu.Lock()
	peak := slow.peak
	slow.mu.Unlock()
	if peak != 2 {
		t.Fatalf("%d mails at the server at once with MAIL_SENDERS=2", peak)
	}
	slow.release()
	for i := range 3 {
		d := h.waitDelivered(fmt.Sprintf("ch-c%d", i))
		if a := d.Attempts(); len(a) != 1 || a[0].Outcome != domain.OutcomeDelivered {
			t.Fatalf("attempts %+v", a)
		}
	}
	if n := len(h.smtp.Messages()); n != 3 {
		t.Fatalf("%d mails, want 3", n)
	}
}

// TestShutdownFinishesTheMailInFlight: when the service stops, the mail the
// SMTP server holds is finished and recorded delivered before the service
// exits, and a mail claimed but not sent yet is given back — due at once,
// without an attempt — for another replica or the next start.
func TestShutdownFinishesTheMailInFlight(t *testing.T) {
	slow := newSlowServer()
	t.Cleanup(slow.release)
	h := start(t, opts{senders: 1, smtp: slow.options()})
	a := h.requestFor("ch-flight", "PG-7K2M-9QRE-S02")
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", a.PartnerID, a)
	slow.waitHeld(t, 1)
	b := h.requestFor("ch-queued", "PG-7K2M-9QSP-009")
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", b.PartnerID, b)
	testkit.Eventually(t, 8*time.Second, func() error {
		if _, err := h.svc.Repo.Get(context.Background(), "ch-queued"); err != nil {
			return err
		}
		return nil
	})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		h.run.Stop()
	}()
	// The senders are told to stop after the HTTP server and the event
	// router (their in-flight handlers may still hand them mails); the
	// server is released only then. Released after a fixed 300 ms, under CI
	// load the shutdown had not reached the senders yet: the one sender
	// finished the first mail and sent the queued one too.
	testkit.Eventually(t, 15*time.Second, func() error {
		if !h.svc.App.SendersStopping() {
			return errors.New("the senders are not stopping yet")
		}
		return nil
	})
	time.Sleep(100 * time.Millisecond)
	select {
	case <-stopped:
		t.Fatal("the service stopped with a mail in flight")
	default:
	}
	slow.release()
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("the service did not stop")
	}
	if n := len(h.smtp.Messages()); n != 1 {
		t.Fatalf("%d mails sent, want the one in flight", n)
	}
	ctx := context.Background()
	db, err := pgx.Connect(ctx, strings.Replace(testkit.AdminURL(), "/postgres?", "/"+h.db+"?", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for id, want := range map[string]string{"ch-flight": "delivered 1", "ch-queued": "pending 0"} {
		var status string
		var attempts int
		var due bool
		if err := db.QueryRow(ctx, `SELECT status, (SELECT count(*) FROM notifier.delivery_attempts WHERE delivery_id = d.id),
			next_attempt_at <= now() FROM notifier.deliveries d WHERE id = $1`, id).Scan(&status, &attempts, &due); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%s %d", status, attempts); got != want || (status == "pending" && !due) {
			t.Errorf("%s: %s (due %v), want %s and due", id, got, due, want)
		}
	}
}

// TestAnOutcomeWaitsOutADatabaseOutage: the SMTP server takes a mail while
// the database cannot be reached (a restart, a failover): the sender keeps
// trying to save the outcome until it answers, and the mail is recorded
// delivered after one attempt. Before, it gave up after four tries within
// two seconds, and the mail went out a second time when its lease ran out.
func TestAnOutcomeWaitsOutADatabaseOutage(t *testing.T) {
	slow := newSlowServer()
	h := start(t, opts{lease: 5 * time.Second, smtp: slow.options()})
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testkit.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	req := h.request("ch-outage", time.Now().Add(72*time.Hour))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	slow.waitHeld(t, 1)
	for _, sql := range []string{`ALTER DATABASE ` + h.db + ` CONNECTION LIMIT 0`,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + h.db + `' AND pid <> pg_backend_pid()`} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	defer admin.Exec(context.Background(), `ALTER DATABASE `+h.db+` CONNECTION LIMIT -1`) //nolint:errcheck
	slow.release()
	time.Sleep(2500 * time.Millisecond)
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+h.db+` CONNECTION LIMIT -1`); err != nil {
		t.Fatal(err)
	}
	d := h.waitDelivered("ch-outage")
	time.Sleep(6 * time.Second) // past the lease: a lost outcome would be sent again by now
	if n, a := len(h.smtp.Messages()), d.Attempts(); n != 1 || len(a) != 1 || a[0].Outcome != domain.OutcomeDelivered {
		t.Fatalf("%d mails, attempts %+v; want one mail, delivered at its first attempt", n, a)
	}
}
