package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/memory"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

const token = "dG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9rZW4tdG9r"

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// fakeSender records messages and fails with the queued errors first.
type fakeSender struct {
	mu   sync.Mutex
	errs []error
	sent []app.Message
}

func (s *fakeSender) Send(_ context.Context, m app.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return err
	}
	s.sent = append(s.sent, m)
	return nil
}

func (s *fakeSender) messages() []app.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]app.Message(nil), s.sent...)
}

type world struct {
	app    *app.App
	repo   *memory.Repository
	sender *fakeSender
	clock  *fakeClock
	pub    *[32]byte
}

func newWorld(t *testing.T) *world {
	t.Helper()
	pubB64, privB64, err := sealedbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	op, err := sealedbox.NewOpener(privB64)
	if err != nil || op.PublicKey() != pubB64 {
		t.Fatalf("opener: %v", err)
	}
	w := &world{repo: memory.New(), sender: &fakeSender{}, clock: &fakeClock{now: t0}}
	w.pub = new([32]byte)
	copy(w.pub[:], mustB64(t, pubB64))
	w.app, err = app.New(app.Deps{Repo: w.repo, Opener: op, Sender: w.sender, Clock: w.clock,
		Jitter: func() float64 { return 0.5 }, Policy: domain.DefaultPolicy(),
		Links: app.Links{ConfirmURL: "https://onboarding.example.com/email-ownership/confirm", DisputeURL: "https://onboarding.example.com/email-ownership/dispute?src=mail"}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) seal(t *testing.T, p sealedbox.Payload) []byte {
	t.Helper()
	plain, _ := json.Marshal(p)
	out, err := box.SealAnonymous(nil, plain, w.pub, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *world) request(t *testing.T, lang domain.Language) domain.MailRequest {
	return domain.MailRequest{ChallengeID: "ch-1", EnrollmentID: "enr-1", PartnerID: "p-1", Program: "reseller_indirect",
		Recipient: "taro@example.co.jp", ContactName: "山田 <b>太郎</b>", Language: lang, Market: "JP",
		TemplateID: "email_ownership.verify.v1", ExpiresAt: t0.Add(72 * time.Hour),
		SealedSecret: w.seal(t, sealedbox.Payload{V: 1, ChallengeID: "ch-1", Token: token, Code: "042917"})}
}

func (w *world) deliver(t *testing.T) app.DeliverReport {
	t.Helper()
	rep, err := w.app.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func eventNames(evs []domain.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.EventName())
	}
	return strings.Join(s, ",")
}

func TestDeliverRendersBothLanguages(t *testing.T) {
	for _, tc := range []struct {
		lang                   domain.Language
		market                 string
		subject, text, expires string
	}{
		{domain.LanguageJA, "JP", "メールアドレスの確認", "確認コード: 042917", "2026年4月4日 18:00（日本時間）"},
		{domain.LanguageEN, "JP", "Please confirm your e-mail address", "Confirmation code: 042917", "4 April 2026, 09:00 UTC"},
		{"", "US", "Please confirm your e-mail address", "Confirmation code: 042917", "4 April 2026, 09:00 UTC"},
	} {
		t.Run(string(tc.lang)+"/"+tc.market, func(t *testing.T) {
			w := newWorld(t)
			req := w.request(t, tc.lang)
			req.Market = tc.market
			// The mail leaves as the request is accepted: no tick between.
			if _, err := w.app.Accept(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			msgs := w.sender.messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages", len(msgs))
			}
			m := msgs[0]
			link := "https://onboarding.example.com/email-ownership/confirm?token=" + token
			if m.To != "taro@example.co.jp" || m.ID != "ch-1" || !strings.Contains(m.Subject, tc.subject) {
				t.Fatalf("message %+v", m)
			}
			for _, want := range []string{link, tc.text, tc.expires, "email-ownership/dispute?src=mail&token=" + token} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, m.Text)
				}
			}
			for _, want := range []string{`href="` + link + `"`, "042917", tc.expires, "&lt;b&gt;"} {
				if !strings.Contains(m.HTML, want) {
					t.Errorf("html lacks %q:\n%s", want, m.HTML)
				}
			}
			if strings.Contains(m.HTML, "<b>太郎") {
				t.Error("contact name not escaped in HTML")
			}
			if got := eventNames(w.repo.Events()); got != "mail.delivered" {
				t.Fatalf("events %s", got)
			}
			if rep := w.deliver(t); rep != (app.DeliverReport{}) {
				t.Fatalf("a delivered mail was attempted again: %+v", rep)
			}
		})
	}
}

func TestAcceptIsIdempotentAndValidates(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	req := w.request(t, domain.LanguageJA)
	if r, err := w.app.Accept(ctx, req); err != nil || r.Duplicate {
		t.Fatalf("first: %+v %v", r, err)
	}
	if r, err := w.app.Accept(ctx, req); err != nil || !r.Duplicate {
		t.Fatalf("duplicate: %+v %v", r, err)
	}
	w.deliver(t)
	w.deliver(t)
	if n := len(w.sender.messages()); n != 1 {
		t.Fatalf("%d messages for one challenge", n)
	}
	bad := req
	bad.ChallengeID, bad.Recipient = "ch-2", "nope"
	if _, err := w.app.Accept(ctx, bad); apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("bad recipient: %v", err)
	}
	bad = req
	bad.ChallengeID, bad.TemplateID = "ch-3", "nope.v1"
	if _, err := w.app.Accept(ctx, bad); apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("unknown template: %v", err)
	}
}

func TestRetryWithBackoffThenDeliverOnce(t *testing.T) {
	w := newWorld(t)
	w.sender.errs = []error{errors.New("dial tcp: connection refused"), errors.New("421 try later")}
	// The first attempt, in Accept, fails and schedules the retry.
	if _, err := w.app.Accept(context.Background(), w.request(t, domain.LanguageJA)); err != nil {
		t.Fatal(err)
	}
	d, _ := w.repo.Get("ch-1")
	if d.Status() != domain.StatusPending {
		t.Fatalf("after a failed first attempt: %s", d.Status())
	}
	if want := t0.Add(30 * time.Second); !d.NextAttemptAt().Equal(want) {
		t.Fatalf("next %v, want %v", d.NextAttemptAt(), want)
	}
	w.clock.Set(t0.Add(29 * time.Second))
	if rep := w.deliver(t); rep != (app.DeliverReport{}) {
		t.Fatalf("retried before backoff: %+v", rep)
	}
	w.clock.Set(t0.Add(30 * time.Second))
	if rep := w.deliver(t); rep.Retrying != 1 {
		t.Fatalf("second pass %+v", rep)
	}
	w.clock.Set(t0.Add(30*time.Second + 60*time.Second))
	if rep := w.deliver(t); rep.Delivered != 1 {
		t.Fatalf("third pass %+v", rep)
	}
	d, _ = w.repo.Get("ch-1")
	if a := d.Attempts(); len(a) != 3 || a[0].Outcome != domain.OutcomeTemporary || a[2].Outcome != domain.OutcomeDelivered {
		t.Fatalf("attempts %+v", a)
	}
	if len(w.sender.messages()) != 1 {
		t.Fatal("not exactly one message")
	}
}

func TestPermanentFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mod     func(t *testing.T, w *world, r *domain.MailRequest)
		sendErr error
	}{
		{"smtp 550", nil, errors.New("550 5.1.1 no such user")},
		{"blob sealed to another key", func(t *testing.T, w *world, r *domain.MailRequest) {
			other, _, _ := box.GenerateKey(rand.Reader)
			plain, _ := json.Marshal(sealedbox.Payload{V: 1, ChallengeID: "ch-1", Token: token, Code: "1"})
			r.SealedSecret, _ = box.SealAnonymous(nil, plain, other, rand.Reader)
		}, nil},
		{"tampered blob", func(t *testing.T, w *world, r *domain.MailRequest) { r.SealedSecret[len(r.SealedSecret)-1] ^= 1 }, nil},
		{"blob of another challenge", func(t *testing.T, w *world, r *domain.MailRequest) {
			r.SealedSecret = w.seal(t, sealedbox.Payload{V: 1, ChallengeID: "ch-other", Token: token, Code: "000000"})
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			req := w.request(t, domain.LanguageEN)
			if tc.mod != nil {
				tc.mod(t, w, &req)
			}
			if tc.sendErr != nil {
				w.sender.errs = []error{errors.Join(app.ErrPermanent, tc.sendErr)}
			}
			if _, err := w.app.Accept(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if d, _ := w.repo.Get("ch-1"); d.Status() != domain.StatusFailed {
				t.Fatalf("status %s", d.Status())
			}
			if rep := w.deliver(t); rep != (app.DeliverReport{}) {
				t.Fatalf("a failed mail was attempted again: %+v", rep)
			}
			if len(w.sender.messages()) != 0 {
				t.Fatal("sent")
			}
			evs := w.repo.Events()
			if f, ok := evs[len(evs)-1].(domain.MailDeliveryFailed); !ok || f.Reason != domain.ReasonPermanent {
				t.Fatalf("events %+v", evs)
			}
		})
	}
}

func TestExpiredChallengeIsNeverSent(t *testing.T) {
	w := newWorld(t)
	w.sender.errs = []error{errors.New("connection refused")}
	req := w.request(t, domain.LanguageJA)
	req.ExpiresAt = t0.Add(time.Minute)
	if _, err := w.app.Accept(context.Background(), req); err != nil { // fails; the next try (t0+30s) is before expiry
		t.Fatal(err)
	}
	w.clock.Set(t0.Add(time.Minute))
	if rep := w.deliver(t); rep.Failed != 1 {
		t.Fatalf("report %+v", rep)
	}
	if len(w.sender.messages()) != 0 {
		t.Fatal("an expired challenge was sent")
	}
	// a request arriving late is recorded failed and never attempted
	late := w.request(t, domain.LanguageJA)
	late.ChallengeID = "ch-late"
	late.ExpiresAt = t0
	late.SealedSecret = w.seal(t, sealedbox.Payload{V: 1, ChallengeID: "ch-late", Token: token, Code: "1"})
	if _, err := w.app.Accept(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	if d, _ := w.repo.Get("ch-late"); d.Status() != domain.StatusFailed || d.FailReason() != domain.ReasonExpired {
		t.Fatalf("late: %s", d.Status())
	}
	w.deliver(t)
	if len(w.sender.messages()) != 0 {
		t.Fatal("sent")
	}
}

func TestConcurrentWorkersSendOnce(t *testing.T) {
	w := newWorld(t)
	w.sender.errs = []error{errors.New("421 try later")}
	if _, err := w.app.Accept(context.Background(), w.request(t, domain.LanguageJA)); err != nil {
		t.Fatal(err)
	}
	w.clock.Set(t0.Add(time.Minute))
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { _, _ = w.app.DeliverDue(context.Background()) })
	}
	wg.Wait()
	if n := len(w.sender.messages()); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestCrashAfterSendBeforeRecordSendsAtMostOneDuplicate(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.sender.errs = []error{errors.New("421 try later")}
	if _, err := w.app.Accept(ctx, w.request(t, domain.LanguageJA)); err != nil {
		t.Fatal(err)
	}
	// A retry is due; simulate the crash: claim the attempt and "send", but never record.
	retry := t0.Add(time.Minute)
	w.clock.Set(retry)
	if err := w.repo.Update(ctx, "ch-1", func(d *domain.Delivery) error {
		_, err := d.Begin(retry, domain.DefaultPolicy())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_ = w.sender.Send(ctx, app.Message{ID: "ch-1"})
	if rep := w.deliver(t); rep != (app.DeliverReport{}) {
		t.Fatalf("resent inside the lease: %+v", rep)
	}
	w.clock.Set(retry.Add(domain.DefaultPolicy().Lease))
	if rep := w.deliver(t); rep.Delivered != 1 {
		t.Fatalf("after lease %+v", rep)
	}
	w.clock.Set(t0.Add(time.Hour))
	w.deliver(t)
	msgs := w.sender.messages()
	if len(msgs) != 2 || msgs[0].ID != msgs[1].ID {
		t.Fatalf("want the original and exactly one duplicate with the same id, got %d", len(msgs))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := app.New(app.Deps{Links: app.Links{ConfirmURL: "/relative"}})
	if err == nil || !strings.Contains(err.Error(), "confirm URL") || !strings.Contains(err.Error(), "required") {
		t.Fatalf("err %v", err)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
