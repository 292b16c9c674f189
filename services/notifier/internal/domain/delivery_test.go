package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func req() domain.MailRequest {
	return domain.MailRequest{ID: "ch-1", Category: domain.CategoryTransactional, ChallengeID: "ch-1", EnrollmentID: "enr-1", PartnerID: "p-1", Program: "reseller",
		Recipient: "taro@example.co.jp", Language: domain.LanguageJA, TemplateID: "email_ownership.verify.v1",
		ExpiresAt: t0.Add(time.Hour), SealedSecret: []byte("sealed")}
}

func newDelivery(t *testing.T) *domain.Delivery {
	t.Helper()
	d, err := domain.NewDelivery(req(), t0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func names(evs []domain.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.EventName())
	}
	return strings.Join(s, ",")
}

func TestBackoff(t *testing.T) {
	p := domain.DefaultPolicy()
	for _, tc := range []struct {
		n        int
		r        float64
		min, max time.Duration
	}{
		{1, 0, 24 * time.Second, 24 * time.Second},
		{1, 0.5, 30 * time.Second, 30 * time.Second},
		{1, 0.999999, 35 * time.Second, 36 * time.Second},
		{2, 0.5, 60 * time.Second, 60 * time.Second},
		{3, 0.5, 120 * time.Second, 120 * time.Second},
		{20, 0.5, 30 * time.Minute, 30 * time.Minute},
		{20, 0.999999, 35 * time.Minute, 36 * time.Minute},
	} {
		if got := p.Backoff(tc.n, tc.r); got < tc.min || got > tc.max {
			t.Errorf("Backoff(%d, %v) = %v, want [%v, %v]", tc.n, tc.r, got, tc.min, tc.max)
		}
	}
}

func TestPolicyAndRequestValidate(t *testing.T) {
	if err := domain.DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (domain.Policy{Jitter: 1}).Validate(); !errors.Is(err, domain.ErrInvalidPolicy) || strings.Count(err.Error(), "\n") != 3 {
		t.Fatalf("want four errors: %v", err)
	}
	for name, mod := range map[string]func(*domain.MailRequest){
		"no id":          func(r *domain.MailRequest) { r.ID = "" },
		"no partner":     func(r *domain.MailRequest) { r.PartnerID = "" },
		"no category":    func(r *domain.MailRequest) { r.Category = "" },
		"bad recipient":  func(r *domain.MailRequest) { r.Recipient = "Taro <taro@example.co.jp>" },
		"no template":    func(r *domain.MailRequest) { r.TemplateID = "" },
		"no expiry":      func(r *domain.MailRequest) { r.ExpiresAt = time.Time{} },
		"no secret blob": func(r *domain.MailRequest) { r.SealedSecret = nil },
	} {
		r := req()
		mod(&r)
		if _, err := domain.NewDelivery(r, t0); !errors.Is(err, domain.ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestChooseLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang, market string
		want         domain.Language
	}{{"ja", "US", "ja"}, {"en", "JP", "en"}, {"", "JP", "ja"}, {"fr", "jp", "ja"}, {"", "DE", "en"}} {
		if got := domain.ChooseLanguage(tc.lang, tc.market); got != tc.want {
			t.Errorf("%q/%q → %s", tc.lang, tc.market, got)
		}
	}
}

func TestDeliverySucceedsOnce(t *testing.T) {
	d := newDelivery(t)
	p := domain.DefaultPolicy()
	n, err := d.Begin(t0, p)
	if err != nil || n != 1 {
		t.Fatalf("begin %d %v", n, err)
	}
	if _, err := d.Begin(t0, p); !errors.Is(err, domain.ErrNotDue) {
		t.Fatalf("second worker claimed the same attempt: %v", err)
	}
	if err := d.Succeed(t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := names(d.PullEvents()); got != "mail.delivered" {
		t.Fatalf("events %s", got)
	}
	if _, err := d.Begin(t0.Add(time.Hour), p); !errors.Is(err, domain.ErrFinished) {
		t.Fatalf("begin after delivery: %v", err)
	}
	if err := d.Succeed(t0); !errors.Is(err, domain.ErrNotSending) {
		t.Fatalf("succeed twice: %v", err)
	}
}

func TestDeliveryRetries(t *testing.T) {
	p := domain.DefaultPolicy()
	for _, tc := range []struct {
		name      string
		permanent bool
		failAt    time.Duration
		status    domain.Status
		reason    domain.FailReason
		events    string
	}{
		{"temporary: retry scheduled", false, 0, domain.StatusPending, "", ""},
		{"permanent: give up", true, 0, domain.StatusFailed, domain.ReasonPermanent, "mail.failed"},
		{"next try would be after expiry", false, time.Hour - 10*time.Second, domain.StatusFailed, domain.ReasonExpired, "mail.failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDelivery(t)
			at := t0.Add(tc.failAt)
			if tc.failAt > 0 {
				d = domain.RestoreDelivery(func() domain.DeliverySnapshot { s := d.Snapshot(); s.NextAttemptAt = at; return s }())
			}
			if _, err := d.Begin(at, p); err != nil {
				t.Fatal(err)
			}
			if err := d.Fail(at, domain.Failure{Cause: "421 busy", SMTPCode: 421, Permanent: tc.permanent}, p, 0.5); err != nil {
				t.Fatal(err)
			}
			if d.Status() != tc.status || d.FailReason() != tc.reason || names(d.PullEvents()) != tc.events {
				t.Fatalf("status %s reason %s", d.Status(), d.FailReason())
			}
			if tc.status == domain.StatusPending {
				if want := at.Add(30 * time.Second); !d.NextAttemptAt().Equal(want) {
					t.Fatalf("next %v, want %v", d.NextAttemptAt(), want)
				}
				if d.Due(at.Add(29 * time.Second)) {
					t.Fatal("due before backoff")
				}
			}
			if a := d.Attempts()[0]; a.Error != "421 busy" || a.SMTPCode != 421 || a.FinishedAt.IsZero() {
				t.Fatalf("attempt %+v", a)
			}
		})
	}
}

func TestExpiredChallengeIsNeverSent(t *testing.T) {
	p := domain.DefaultPolicy()
	d := newDelivery(t)
	if _, err := d.Begin(t0.Add(time.Hour), p); !errors.Is(err, domain.ErrExpired) {
		t.Fatalf("begin after expiry: %v", err)
	}
	if d.Status() != domain.StatusFailed || d.FailReason() != domain.ReasonExpired || len(d.Attempts()) != 0 {
		t.Fatalf("status %s %s %d", d.Status(), d.FailReason(), len(d.Attempts()))
	}
	r := req()
	r.ExpiresAt = t0
	late, err := domain.NewDelivery(r, t0)
	if err != nil {
		t.Fatal(err)
	}
	if late.Status() != domain.StatusFailed || names(late.PullEvents()) != "mail.failed" {
		t.Fatalf("late request: %s", late.Status())
	}
}

// TestAnEndedLinkIsNotSentAgain: a waiting mail whose challenge ended is
// failed as expired at once; one with an attempt in flight records that
// attempt as it ends and is not retried; a delivered one stays delivered.
func TestAnEndedLinkIsNotSentAgain(t *testing.T) {
	p := domain.DefaultPolicy()
	waiting := newDelivery(t)
	if !waiting.LinkEnded(t0, "withdrawn") || waiting.Status() != domain.StatusFailed || waiting.FailReason() != domain.ReasonExpired {
		t.Fatalf("waiting: %s %s", waiting.Status(), waiting.FailReason())
	}
	if evs := waiting.PullEvents(); names(evs) != "mail.failed" || evs[0].(domain.MailDeliveryFailed).LastError != "withdrawn" {
		t.Fatalf("events %+v", evs)
	}
	inFlight := newDelivery(t)
	if _, err := inFlight.Begin(t0, p); err != nil {
		t.Fatal(err)
	}
	if !inFlight.LinkEnded(t0.Add(time.Second), "cancelled") || inFlight.Status() != domain.StatusSending {
		t.Fatalf("in flight: %s", inFlight.Status())
	}
	if err := inFlight.Fail(t0.Add(2*time.Second), domain.Failure{Cause: "connection refused"}, p, 0); err != nil {
		t.Fatal(err)
	}
	if inFlight.Status() != domain.StatusFailed || inFlight.FailReason() != domain.ReasonExpired {
		t.Fatalf("in flight, then a temporary failure: %s %s (a retry would send the dead link)", inFlight.Status(), inFlight.FailReason())
	}
	if evs := inFlight.PullEvents(); names(evs) != "mail.failed" || evs[0].(domain.MailDeliveryFailed).LastError != "cancelled" {
		t.Fatalf("in flight: events %+v, want the failure to say why the link ended", evs)
	}
	// The sender records its attempt from the copy it held before the end
	// (a retry scheduled); the stored delivery, ended, expires at its next
	// attempt and still says why.
	stored := newDelivery(t)
	if _, err := stored.Begin(t0, p); err != nil {
		t.Fatal(err)
	}
	stored.LinkEnded(t0.Add(time.Second), "locked by wrong codes")
	again := domain.RestoreDelivery(stored.Snapshot())
	if _, err := again.Begin(t0.Add(time.Minute), p); !errors.Is(err, domain.ErrExpired) {
		t.Fatalf("begin after the end: %v", err)
	}
	if evs := again.PullEvents(); names(evs) != "mail.failed" || evs[0].(domain.MailDeliveryFailed).LastError != "locked by wrong codes" {
		t.Fatalf("restored: events %+v, want the failure to say why the link ended", evs)
	}
	sent := newDelivery(t)
	if _, err := sent.Begin(t0, p); err != nil {
		t.Fatal(err)
	}
	if err := sent.Succeed(t0); err != nil {
		t.Fatal(err)
	}
	if sent.LinkEnded(t0, "locked") || sent.Status() != domain.StatusDelivered {
		t.Fatalf("delivered: %s", sent.Status())
	}
}

func TestCrashBetweenSendAndRecord(t *testing.T) {
	p := domain.DefaultPolicy()
	d := newDelivery(t)
	if _, err := d.Begin(t0, p); err != nil {
		t.Fatal(err)
	}
	// the worker dies here; nobody records the outcome
	if d.Due(t0.Add(p.Lease - time.Second)) {
		t.Fatal("due inside the lease")
	}
	n, err := d.Begin(t0.Add(p.Lease), p)
	if err != nil || n != 2 {
		t.Fatalf("retry after lease: %d %v", n, err)
	}
	if a := d.Attempts()[0]; a.Outcome != domain.OutcomeUnknown {
		t.Fatalf("first attempt %+v", a)
	}
}

func TestAttemptsExhausted(t *testing.T) {
	p := domain.DefaultPolicy()
	p.MaxAttempts = 2
	r := req()
	r.ExpiresAt = t0.Add(24 * time.Hour)
	d, _ := domain.NewDelivery(r, t0)
	now := t0
	for i := range 2 {
		if _, err := d.Begin(now, p); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		_ = d.Fail(now, domain.Failure{Cause: "down"}, p, 0)
		now = d.NextAttemptAt()
	}
	if d.Status() != domain.StatusFailed || d.FailReason() != domain.ReasonExhausted {
		t.Fatalf("status %s %s", d.Status(), d.FailReason())
	}
	ev := d.PullEvents()
	if f := ev[0].(domain.MailDeliveryFailed); f.Attempts != 2 || f.LastError != "down" || f.ChallengeID != "ch-1" {
		t.Fatalf("event %+v", f)
	}
}

// TestHeartbeatKeepsTheLease: while the sender is alive it renews the
// lease, so no other worker takes the attempt over; once it stops (a crash),
// the attempt is due one lease after the last renewal. A renewal after the
// attempt was recorded or taken over is refused.
func TestHeartbeatKeepsTheLease(t *testing.T) {
	p := domain.DefaultPolicy()
	d := newDelivery(t)
	n, err := d.Begin(t0, p)
	if err != nil {
		t.Fatal(err)
	}
	beat := t0.Add(p.Lease / 3)
	for range 5 {
		if err := d.Extend(beat, n, p); err != nil {
			t.Fatal(err)
		}
		beat = beat.Add(p.Lease / 3)
	}
	last := beat.Add(-p.Lease / 3)
	if d.Due(last.Add(p.Lease - time.Millisecond)) {
		t.Fatal("due while the heartbeat holds the lease")
	}
	if !d.Due(last.Add(p.Lease)) {
		t.Fatal("not due one lease after the last heartbeat")
	}
	if n2, err := d.Begin(last.Add(p.Lease), p); err != nil || n2 != 2 {
		t.Fatalf("take over: %d %v", n2, err)
	}
	if err := d.Extend(last.Add(p.Lease), n, p); !errors.Is(err, domain.ErrNotSending) {
		t.Fatalf("the first sender renewed an attempt taken over: %v", err)
	}
}

// TestResolvedContactAndSuppression: a mail without a recipient gets the
// partner's contact once; a reminder can be suppressed (never sent, no
// event), a transactional mail cannot.
func TestResolvedContactAndSuppression(t *testing.T) {
	r := domain.MailRequest{ID: "ev-1", Category: domain.CategoryReminder, PartnerID: "p-1", TemplateID: "verification.documents_reminder"}
	d, err := domain.NewDelivery(r, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Complete("Taro <taro@example.co.jp>", "", "", ""); !errors.Is(err, domain.ErrInvalidRequest) {
		t.Fatalf("a display name in the address: %v", err)
	}
	if err := d.Complete("taro@example.co.jp", "山田 太郎", domain.LanguageJA, "JP"); err != nil {
		t.Fatal(err)
	}
	_ = d.Complete("other@example.co.jp", "", domain.LanguageEN, "US")
	if q := d.Request(); q.Recipient != "taro@example.co.jp" || q.Language != domain.LanguageJA || q.ContactName != "山田 太郎" || q.Market != "JP" {
		t.Fatalf("request %+v", q)
	}
	if err := d.Suppress(t0); err != nil || d.Status() != domain.StatusSuppressed || !d.Finished() || len(d.PullEvents()) != 0 {
		t.Fatalf("suppress: %v %s", err, d.Status())
	}
	if _, err := d.Begin(t0, domain.DefaultPolicy()); !errors.Is(err, domain.ErrFinished) {
		t.Fatalf("begin a suppressed mail: %v", err)
	}
	if err := newDelivery(t).Suppress(t0); err == nil {
		t.Fatal("a transactional mail was suppressed")
	}
}

// TestNewsHeldThenSuperseded: a mail of a thread is held until its state
// settles (not due before), and superseded while it waits — never sent,
// no event; one on its way or of no thread is not.
func TestNewsHeldThenSuperseded(t *testing.T) {
	r := domain.MailRequest{ID: "ev-1", Category: domain.CategoryTransactional, PartnerID: "p-1", Recipient: "taro@example.co.jp",
		TemplateID: "registration.standing_changed", Thread: "standing"}
	d, err := domain.NewDelivery(r, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Hold(t0.Add(time.Minute)) || d.Due(t0.Add(59*time.Second)) || !d.Due(t0.Add(time.Minute)) {
		t.Fatalf("held until %v: due early or never", d.NextAttemptAt())
	}
	if _, err := d.Begin(t0, domain.DefaultPolicy()); !errors.Is(err, domain.ErrNotDue) {
		t.Fatalf("begin a held mail: %v", err)
	}
	if !d.Supersede(t0, domain.ReasonSuperseded) || d.Status() != domain.StatusSuppressed || d.FailReason() != domain.ReasonSuperseded ||
		!d.Finished() || len(d.PullEvents()) != 0 {
		t.Fatalf("superseded: %s %s", d.Status(), d.FailReason())
	}
	if d.Supersede(t0, domain.ReasonNoNetChange) || d.FailReason() != domain.ReasonSuperseded {
		t.Fatal("a suppressed mail was superseded again")
	}
	sending, _ := domain.NewDelivery(r, t0)
	if _, err := sending.Begin(t0, domain.DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	if sending.Hold(t0.Add(time.Minute)) || sending.Supersede(t0, domain.ReasonSuperseded) || sending.Status() != domain.StatusSending {
		t.Fatalf("a mail on its way was held or superseded: %s", sending.Status())
	}
	if newDelivery(t).Supersede(t0, domain.ReasonSuperseded) {
		t.Fatal("a mail of no thread was superseded")
	}
}
