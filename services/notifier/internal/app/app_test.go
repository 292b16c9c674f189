package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/memory"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
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

// fakeSender records messages and fails with the queued errors first;
// with entered and release set it holds each send until released.
type fakeSender struct {
	mu               sync.Mutex
	errs             []error
	sent             []app.Message
	entered, release chan struct{}
}

func (s *fakeSender) Send(_ context.Context, m app.Message) error {
	s.mu.Lock()
	entered, release := s.entered, s.release
	s.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
		<-release
	}
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

// fakeMetrics records every count as one line.
type fakeMetrics struct {
	mu    sync.Mutex
	lines []string
}

func (m *fakeMetrics) add(s string) { m.mu.Lock(); m.lines = append(m.lines, s); m.mu.Unlock() }
func (m *fakeMetrics) Attempt(tpl string, o domain.Outcome, code int) {
	m.add(fmt.Sprintf("attempt %s %s %d", tpl, o, code))
}
func (m *fakeMetrics) Retry(tpl string)                     { m.add("retry " + tpl) }
func (m *fakeMetrics) Dead(tpl string, r domain.FailReason) { m.add(fmt.Sprintf("dead %s %s", tpl, r)) }
func (m *fakeMetrics) Suppressed(tpl string)                { m.add("suppressed " + tpl) }
func (m *fakeMetrics) Sent(string, time.Duration)           {}
func (m *fakeMetrics) all() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.lines, "\n")
}

type world struct {
	app     *app.App
	repo    *memory.Repository
	dir     *memory.Directory
	sender  *fakeSender
	clock   *fakeClock
	metrics *fakeMetrics
	logs    *testkit.SyncBuffer
	ticks   chan time.Time
	pub     *[32]byte
}

func newWorld(t *testing.T, mods ...func(*app.Deps)) *world {
	t.Helper()
	pubB64, privB64, err := sealedbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	op, err := sealedbox.NewOpener(privB64)
	if err != nil || op.PublicKey() != pubB64 {
		t.Fatalf("opener: %v", err)
	}
	w := &world{repo: memory.New(), sender: &fakeSender{}, clock: &fakeClock{now: t0}, metrics: &fakeMetrics{},
		logs: &testkit.SyncBuffer{}, ticks: make(chan time.Time)}
	w.dir = memory.NewDirectory(w.repo)
	w.pub = new([32]byte)
	copy(w.pub[:], mustB64(t, pubB64))
	set, err := mails.Default()
	if err != nil {
		t.Fatal(err)
	}
	deps := app.Deps{Repo: w.repo, Directory: w.dir, Opener: op, Sender: w.sender, Clock: w.clock,
		Jitter: func() float64 { return 0.5 }, Policy: domain.DefaultPolicy(), Mails: set, LinkKey: []byte("0123456789abcdef-test-key"),
		Links: app.Links{ConfirmURL: "https://onboarding.example.com/email-ownership/confirm", DisputeURL: "https://onboarding.example.com/email-ownership/dispute?src=mail",
			PortalURL: "https://portal.example.com", PublicURL: "https://notify.example.com"},
		Metrics: w.metrics, Log: slog.New(slog.NewJSONHandler(w.logs, nil)),
		Ticker: func(time.Duration) (<-chan time.Time, func()) { return w.ticks, func() {} }}
	for _, m := range mods {
		m(&deps)
	}
	w.app, err = app.New(deps)
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
	return domain.MailRequest{ID: "ch-1", Category: domain.CategoryTransactional, SecretRef: "ch-1",
		ChallengeID: "ch-1", EnrollmentID: "enr-1", PartnerID: "PG-P1", Program: "indirect_reseller",
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

// waitEvents waits up to 5 s for the recorded events to be want.
func (w *world) waitEvents(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for eventNames(w.repo.Events()) != want {
		if time.Now().After(deadline) {
			t.Fatalf("events %s, want %s", eventNames(w.repo.Events()), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
		{domain.LanguageJA, "JP", "【要確認】メールアドレスの確認（クラウド リセラー（間接販売）） / Please confirm your e-mail address for your cloud reseller (indirect) enrollment",
			"確認コード（クラウド リセラー（間接販売）のお申し込み）: 042917", "2026年4月4日（土） 18:00（日本時間）"},
		{domain.LanguageEN, "JP", "Please confirm your e-mail address for your cloud reseller (indirect) enrollment / 【要確認】メールアドレスの確認（クラウド",
			"Confirmation code (your cloud reseller (indirect) enrollment): 042917", "Saturday, 4 April 2026, 18:00 Japan time, JST"},
		{"", "US", "Please confirm your e-mail address for your cloud reseller (indirect) enrollment / 【要確認】", "Confirmation code (your cloud reseller (indirect) enrollment): 042917",
			"Saturday, 4 April 2026, 09:00 UTC"},
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
			if m.To != "taro@example.co.jp" || m.ID != "ch-1" || !strings.HasPrefix(m.Subject, tc.subject) {
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
	bad.ID, bad.Recipient = "ch-2", "nope"
	if _, err := w.app.Accept(ctx, bad); apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("bad recipient: %v", err)
	}
	bad = req
	bad.ID, bad.TemplateID = "ch-3", "nope.v1"
	if _, err := w.app.Accept(ctx, bad); apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("unknown template: %v", err)
	}
}

func TestRetryWithBackoffThenDeliverOnce(t *testing.T) {
	w := newWorld(t)
	w.sender.errs = []error{errors.New("dial tcp: connection refused"), &app.SendError{Code: 421, Err: errors.New("421 try later")}}
	// The first attempt, in Accept, fails and schedules the retry.
	if _, err := w.app.Accept(context.Background(), w.request(t, domain.LanguageJA)); err != nil {
		t.Fatal(err)
	}
	d, _ := w.repo.Get(context.Background(), "ch-1")
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
	d, _ = w.repo.Get(context.Background(), "ch-1")
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
		{"smtp 550", nil, &app.SendError{Code: 550, Permanent: true, Err: errors.New("550 5.1.1 no such user")}},
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
				w.sender.errs = []error{tc.sendErr}
			}
			if _, err := w.app.Accept(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if d, _ := w.repo.Get(context.Background(), "ch-1"); d.Status() != domain.StatusFailed {
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
	late.ID, late.ChallengeID, late.SecretRef = "ch-late", "ch-late", "ch-late"
	late.ExpiresAt = t0
	late.SealedSecret = w.seal(t, sealedbox.Payload{V: 1, ChallengeID: "ch-late", Token: token, Code: "1"})
	if _, err := w.app.Accept(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	if d, _ := w.repo.Get(context.Background(), "ch-late"); d.Status() != domain.StatusFailed || d.FailReason() != domain.ReasonExpired {
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
	if err := w.repo.Update(ctx, "ch-1", func(_ context.Context, d *domain.Delivery) error {
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
	if err == nil || !strings.Contains(err.Error(), "confirm URL") || !strings.Contains(err.Error(), "portal URL") ||
		!strings.Contains(err.Error(), "required") || !strings.Contains(err.Error(), "link key") {
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

func contact(partnerID string) app.Contact {
	return app.Contact{PartnerID: partnerID, Email: "hanako@sakura.example.co.jp", FirstName: "花子", LastName: "佐藤",
		Language: "ja", Market: "JP", CompanyName: "株式会社さくらテック"}
}

func documentsRequested(t *testing.T, id string) domain.MailRequest {
	t.Helper()
	data, _ := json.Marshal(mails.Data{Verification: &mails.Verification{Check: "company", Reason: "address_mismatch",
		Documents: []string{"company_register_certificate"}, DueAt: t0.Add(14 * 24 * time.Hour), BusinessDaysLeft: 10, AppealsRemaining: 3}})
	return domain.MailRequest{ID: id, TemplateID: mails.DocumentsRequested, Category: domain.CategoryTransactional,
		PartnerID: "PG-SAKURA", Data: data}
}

// TestMailWaitsForTheContact: a mail whose partner's contact is not known
// yet (its registration event is consumed by another durable) fails its
// first attempt without a message; the contact's arrival makes it due at
// once, and it goes to the contact, addressed with the company's name.
func TestMailWaitsForTheContact(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if _, err := w.app.Accept(ctx, documentsRequested(t, "ev-1")); err != nil {
		t.Fatal(err)
	}
	if len(w.sender.messages()) != 0 {
		t.Fatal("sent without an address")
	}
	d, _ := w.repo.Get(ctx, "ev-1")
	if d.Status() != domain.StatusPending || d.Attempts()[0].Outcome != domain.OutcomeTemporary || !d.NextAttemptAt().After(t0) {
		t.Fatalf("before the contact: %s %+v", d.Status(), d.Attempts())
	}
	if err := w.app.RecordContact(ctx, contact("PG-SAKURA")); err != nil {
		t.Fatal(err)
	}
	if rep := w.deliver(t); rep.Delivered != 1 {
		t.Fatalf("after the contact: %+v", rep)
	}
	m := w.sender.messages()[0]
	for _, want := range []string{"株式会社さくらテック", "佐藤 花子 様", "登記事項証明書", "https://portal.example.com/partners/PG-SAKURA/verification", "あと 10 営業日"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if m.To != "hanako@sakura.example.co.jp" || m.Unsubscribe != "" {
		t.Fatalf("message to %s, unsubscribe %q", m.To, m.Unsubscribe)
	}
	if err := w.app.RecordContact(ctx, app.Contact{PartnerID: "PG-X", Email: "Hanako <h@x.example>"}); apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("a display name as the contact address: %v", err)
	}
}

func reminder(id, partnerID string) domain.MailRequest {
	data, _ := json.Marshal(mails.Data{Verification: &mails.Verification{Check: "company", Reason: "address_mismatch",
		Documents: []string{"company_register_certificate"}, DueAt: t0.Add(3 * 24 * time.Hour), BusinessDaysLeft: 2}})
	return domain.MailRequest{ID: id, TemplateID: mails.DocumentsReminder, Category: domain.CategoryReminder, PartnerID: partnerID,
		ExpiresAt: t0.Add(3 * 24 * time.Hour), Data: data}
}

// TestRemindersCanBeStoppedTransactionalMailsCannot: every reminder
// carries the partner's signed unsubscribe link (also as List-Unsubscribe);
// once the partner stops reminders with it, the next reminder is recorded
// as suppressed and not sent, while a transactional mail still is. A
// forged or foreign link changes nothing.
func TestRemindersCanBeStoppedTransactionalMailsCannot(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_ = w.app.RecordContact(ctx, contact("PG-SAKURA"))
	_ = w.app.RecordContact(ctx, contact("PG-OTHER"))
	if _, err := w.app.Accept(ctx, reminder("ev-r1", "PG-SAKURA")); err != nil {
		t.Fatal(err)
	}
	m := w.sender.messages()[0]
	link := w.app.UnsubscribeURL("PG-SAKURA")
	if !strings.HasPrefix(link, "https://notify.example.com/unsubscribe?partner=PG-SAKURA&sig=") || m.Unsubscribe != link ||
		!strings.Contains(m.Text, link) {
		t.Fatalf("reminder without its unsubscribe link %q:\n%s", link, m.Text)
	}
	sig := strings.SplitN(link, "sig=", 2)[1]
	if _, err := w.app.SetReminders(ctx, "PG-OTHER", sig, true); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("another partner's signature: %v", err)
	}
	forged := "A" + sig[1:]
	if sig[0] == 'A' {
		forged = "B" + sig[1:]
	}
	if _, err := w.app.SetReminders(ctx, "PG-SAKURA", forged, true); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("a forged signature: %v", err)
	}
	ch, err := w.app.SetReminders(ctx, "PG-SAKURA", sig, true)
	if err != nil || !ch.RemindersOff || ch.CompanyName != "株式会社さくらテック" {
		t.Fatalf("unsubscribe: %+v %v", ch, err)
	}
	if _, err := w.app.Accept(ctx, reminder("ev-r2", "PG-SAKURA")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.app.Accept(ctx, documentsRequested(t, "ev-t1")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.app.Accept(ctx, reminder("ev-r3", "PG-OTHER")); err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range w.sender.messages() {
		to = append(to, m.ID)
	}
	if strings.Join(to, ",") != "ev-r1,ev-t1,ev-r3" {
		t.Fatalf("sent %v, want the suppressed reminder left out", to)
	}
	if d, _ := w.repo.Get(ctx, "ev-r2"); d.Status() != domain.StatusSuppressed || len(d.Attempts()) != 0 {
		t.Fatalf("suppressed reminder: %s", d.Status())
	}
	if !strings.Contains(w.metrics.all(), "suppressed verification.documents_reminder") {
		t.Fatalf("metrics %s", w.metrics.all())
	}
	if ch, err := w.app.SetReminders(ctx, "PG-SAKURA", sig, false); err != nil || ch.RemindersOff {
		t.Fatalf("resubscribe: %+v %v", ch, err)
	}
}

func invitation(t *testing.T, w *world, requestID string, sealedFor string) domain.MailRequest {
	t.Helper()
	data, _ := json.Marshal(mails.Data{Relationship: &mails.Relationship{RequestID: requestID, Kind: "initial", ProviderID: "PG-MEIJO",
		ProviderName: "株式会社名城インフォテック", Roles: []string{"billing_reader", "support_agent"}, DurationDays: 7,
		ExpiresAt: t0.Add(90 * 24 * time.Hour)}})
	return domain.MailRequest{ID: "ev-" + requestID, TemplateID: mails.Invitation, Category: domain.CategoryTransactional,
		PartnerID: "PG-SAKURA", ExpiresAt: t0.Add(90 * 24 * time.Hour), Data: data, SecretRef: requestID,
		SealedSecret: w.seal(t, sealedbox.Payload{V: 1, ChallengeID: sealedFor, Link: "https://portal.example.com/invitations#token=SECRET-" + sealedFor})}
}

// TestInvitationCarriesTheSealedLink: the invitation link sealed to the
// notifier by relationships is opened only to render the mail; a blob
// sealed for another request is refused for good.
func TestInvitationCarriesTheSealedLink(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_ = w.app.RecordContact(ctx, contact("PG-SAKURA"))
	if _, err := w.app.Accept(ctx, invitation(t, w, "rq-1", "rq-1")); err != nil {
		t.Fatal(err)
	}
	m := w.sender.messages()[0]
	for _, want := range []string{"https://portal.example.com/invitations#token=SECRET-rq-1", "株式会社名城インフォテック", "7 日間", "7 days",
		"請求情報の閲覧", "support agent", "2026年6月30日"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("invitation lacks %q:\n%s", want, m.Text)
		}
	}
	if _, err := w.app.Accept(ctx, invitation(t, w, "rq-2", "rq-1")); err != nil {
		t.Fatal(err)
	}
	if d, _ := w.repo.Get(ctx, "ev-rq-2"); d.Status() != domain.StatusFailed || d.FailReason() != domain.ReasonPermanent ||
		len(w.sender.messages()) != 1 {
		t.Fatalf("a link sealed for another request: %s", d.Status())
	}
}

// retryHeldBySender makes the first attempt of mail ch-1 fail, then has
// Deliver make the retry (at the returned time), whose send the SMTP
// server holds until w.sender.release closes; done gets its status.
func (w *world) retryHeldBySender(t *testing.T) (retry time.Time, done <-chan domain.Status) {
	t.Helper()
	ctx := context.Background()
	w.sender.errs = []error{errors.New("421 try later")}
	if _, err := w.app.Accept(ctx, w.request(t, domain.LanguageJA)); err != nil {
		t.Fatal(err)
	}
	w.sender.mu.Lock()
	w.sender.entered, w.sender.release = make(chan struct{}), make(chan struct{})
	w.sender.mu.Unlock()
	retry = t0.Add(time.Minute)
	w.clock.Set(retry)
	status := make(chan domain.Status, 1)
	go func() {
		st, err := w.app.Deliver(ctx, "ch-1")
		if err != nil {
			t.Error(err)
		}
		status <- st
	}()
	<-w.sender.entered
	return retry, status
}

// TestHeartbeatHoldsTheLeaseWhileSending: a retry that takes longer than
// the lease to send keeps its lease through the heartbeat, so a second
// worker does not send the mail again; when the send ends the heartbeat
// stops and the outcome is recorded.
func TestHeartbeatHoldsTheLeaseWhileSending(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	p := domain.DefaultPolicy()
	retry, done := w.retryHeldBySender(t)
	// Heartbeats while the server takes its time; the last send returns
	// once the one before it was handled.
	for i := 1; i <= 3; i++ {
		w.clock.Set(retry.Add(time.Duration(i) * p.Lease / 3))
		w.ticks <- w.clock.Now()
	}
	w.ticks <- w.clock.Now()
	if next, _ := w.repo.NextAttemptAt(ctx); !next.Equal(retry.Add(2 * p.Lease)) {
		t.Fatalf("lease until %v, want one lease after the last heartbeat (%v)", next, retry.Add(2*p.Lease))
	}
	// One lease after the claim, another worker finds nothing due.
	w.clock.Set(retry.Add(p.Lease + time.Second))
	if rep := w.deliver(t); rep != (app.DeliverReport{}) {
		t.Fatalf("a second worker took the attempt over while the heartbeat held it: %+v", rep)
	}
	close(w.sender.release)
	if st := <-done; st != domain.StatusDelivered {
		t.Fatalf("status %s", st)
	}
	if n := len(w.sender.messages()); n != 1 {
		t.Fatalf("%d messages", n)
	}
	if !strings.Contains(w.metrics.all(), "retry email_ownership.verify.v1") {
		t.Fatalf("retry not counted: %s", w.metrics.all())
	}
}

// TestFailuresAreLoggedAndCountedWithoutTheAddress: each failed attempt is
// one JSON log line and one count with the SMTP reply code, a retry says
// when it comes, a mail given up is logged and counted with its reason —
// and the recipient's address appears only masked, in logs and in the
// stored attempt.
func TestFailuresAreLoggedAndCountedWithoutTheAddress(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.sender.errs = []error{
		&app.SendError{Code: 421, Err: errors.New("421 4.7.0 <taro@example.co.jp>: try again later, affected recipient(s): taro@example.co.jp")},
		&app.SendError{Code: 550, Permanent: true, Err: errors.New("550 5.1.1 <taro@example.co.jp>: no such user")},
	}
	if _, err := w.app.Accept(ctx, w.request(t, domain.LanguageJA)); err != nil {
		t.Fatal(err)
	}
	w.clock.Set(t0.Add(time.Minute))
	if rep := w.deliver(t); rep.Failed != 1 {
		t.Fatalf("report %+v", rep)
	}
	logs := w.logs.String()
	if strings.Contains(logs, "taro@example.co.jp") || strings.Contains(w.metrics.all(), "taro@") {
		t.Fatalf("the address in clear:\n%s", logs)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %s", l)
		}
		lines = append(lines, m)
	}
	want := []struct {
		msg  string
		code float64
	}{{"mail attempt failed", 421}, {"mail retry", 0}, {"mail attempt failed", 550}, {"mail given up", 550}}
	if len(lines) != len(want) {
		t.Fatalf("log lines:\n%s", logs)
	}
	for i, l := range lines {
		if l["msg"] != want[i].msg || (want[i].code != 0 && l["smtp_code"] != want[i].code) || l["mail_id"] != "ch-1" ||
			l["recipient"] != "t***@example.co.jp" || l["template"] != mails.VerifyEmail {
			t.Errorf("line %d: %v", i, l)
		}
	}
	if lines[0]["retry_at"] == nil || lines[3]["reason"] != "permanent_error" || !strings.Contains(lines[2]["err"].(string), "t***@example.co.jp") {
		t.Errorf("lines %v", lines)
	}
	if got := w.metrics.all(); got != "attempt email_ownership.verify.v1 temporary_failure 421\nretry email_ownership.verify.v1\n"+
		"attempt email_ownership.verify.v1 permanent_failure 550\ndead email_ownership.verify.v1 permanent_error" {
		t.Fatalf("metrics:\n%s", got)
	}
	d, _ := w.repo.Get(ctx, "ch-1")
	for _, a := range d.Attempts() {
		if strings.Contains(a.Error, "taro@example") {
			t.Fatalf("stored attempt %+v", a)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"550 <taro.yamada+x@example.co.jp>: no such user": "550 <t***@example.co.jp>: no such user",
		"dial tcp 10.0.0.1:25: refused":                   "dial tcp 10.0.0.1:25: refused",
		"a@b.c and z@y.example":                           "a***@b.c and z***@y.example",
	} {
		if got := app.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTheContactsLanguageComesFirst: an event that names the address but
// not the language (verification's) is written in the language the partner
// registered with first.
func TestTheContactsLanguageComesFirst(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := contact("PG-SAKURA")
	c.Language = "en"
	_ = w.app.RecordContact(ctx, c)
	req := documentsRequested(t, "ev-en")
	req.Recipient = "someone.else@sakura.example.co.jp"
	if _, err := w.app.Accept(ctx, req); err != nil {
		t.Fatal(err)
	}
	m := w.sender.messages()[0]
	if m.To != req.Recipient || !strings.HasPrefix(m.Subject, "Action required") || m.Languages[0] != mails.English {
		t.Fatalf("to %s, subject %q", m.To, m.Subject)
	}
}

// TestSendersSendAtOnceAndRecordEachOutcome: with two senders, two accepted
// mails are at the SMTP server at the same time (Accept returns once the
// mail is recorded with its attempt claimed), and each outcome is recorded
// with its event, once.
func TestSendersSendAtOnceAndRecordEachOutcome(t *testing.T) {
	w := newWorld(t, func(d *app.Deps) { d.Senders = 2 })
	w.sender.entered, w.sender.release = make(chan struct{}), make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.app.RunSenders(ctx) }()
	for _, id := range []string{"ch-1", "ch-2"} {
		req := w.request(t, domain.LanguageJA)
		req.ID, req.ChallengeID, req.SecretRef = id, id, id
		req.SealedSecret = w.seal(t, sealedbox.Payload{V: 1, ChallengeID: id, Token: token, Code: "042917"})
		if _, err := w.app.Accept(ctx, req); err != nil {
			t.Fatal(err)
		}
		if d, _ := w.repo.Get(ctx, id); d.Status() != domain.StatusSending {
			t.Fatalf("%s recorded %s, want sending (claimed)", id, d.Status())
		}
	}
	for range 2 {
		select {
		case <-w.sender.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the second mail waited for the first")
		}
	}
	close(w.sender.release)
	w.waitEvents(t, "mail.delivered,mail.delivered")
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ch-1", "ch-2"} {
		d, _ := w.repo.Get(context.Background(), id)
		if a := d.Attempts(); d.Status() != domain.StatusDelivered || len(a) != 1 || a[0].Outcome != domain.OutcomeDelivered {
			t.Fatalf("%s: %s %+v", id, d.Status(), a)
		}
	}
	if n := len(w.sender.messages()); n != 2 {
		t.Fatalf("%d messages", n)
	}
	if got := w.metrics.all(); strings.Count(got, "attempt email_ownership.verify.v1 delivered 0") != 2 {
		t.Fatalf("metrics:\n%s", got)
	}
}

// countingDirectory counts the contact reads.
type countingDirectory struct {
	app.Directory
	mu       sync.Mutex
	contacts int
}

func (d *countingDirectory) Contact(ctx context.Context, partnerID string) (app.Contact, error) {
	d.mu.Lock()
	d.contacts++
	d.mu.Unlock()
	return d.Directory.Contact(ctx, partnerID)
}

// TestAcceptReadsTheContactOnce: a mail whose request leaves its language
// to the contact, accepted with its attempt claimed, reads the contact once
// for both what the request left open and the data its template sees.
func TestAcceptReadsTheContactOnce(t *testing.T) {
	counting := &countingDirectory{}
	w := newWorld(t, func(d *app.Deps) { d.Senders = 1; counting.Directory = d.Directory; d.Directory = counting })
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.app.RunSenders(ctx) }()
	c := contact("PG-P1")
	c.Language = "en"
	if err := w.app.RecordContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	req := w.request(t, "")
	// To the contact's address (its name goes with that address only).
	req.ContactName, req.Recipient = "", c.Email
	if _, err := w.app.Accept(ctx, req); err != nil {
		t.Fatal(err)
	}
	w.waitEvents(t, "mail.delivered")
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m := w.sender.messages()[0]
	if m.Languages[0] != mails.English || !strings.Contains(m.Text, "花子") {
		t.Fatalf("the contact was not used: languages %v, text %q", m.Languages, m.Text)
	}
	if counting.contacts != 1 {
		t.Fatalf("%d contact reads, want 1", counting.contacts)
	}
}

// TestAnAttemptInFlightHereIsNotTakenAgainHere: while the sender still
// holds an attempt whose lease ran out unrenewed (the database could not
// be reached for longer than a lease), this process's own delivery run does
// not take it again and send it a second time; the sender saves its outcome
// once it can. (Another replica would: that is the lease's purpose.)
func TestAnAttemptInFlightHereIsNotTakenAgainHere(t *testing.T) {
	w := newWorld(t)
	retry, done := w.retryHeldBySender(t)
	// No heartbeat got through: the lease ran out while the mail is sent.
	w.clock.Set(retry.Add(domain.DefaultPolicy().Lease + time.Second))
	again := make(chan app.DeliverReport, 1)
	go func() { again <- w.deliver(t) }()
	select {
	case <-w.sender.entered:
		close(w.sender.release)
		t.Fatal("this process sent the mail again while its sender held it")
	case rep := <-again:
		if rep.Delivered+rep.Retrying+rep.Failed+rep.Dispatched != 0 {
			t.Fatalf("the run took the attempt in flight: %+v", rep)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the delivery run did not return")
	}
	close(w.sender.release)
	if st := <-done; st != domain.StatusDelivered {
		t.Fatalf("status %s", st)
	}
	if n := len(w.sender.messages()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}
