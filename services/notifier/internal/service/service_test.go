package service_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/pkg/testkit"
	apihttp "github.com/partnerhub/onboarding/services/notifier/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp/smtptest"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/internal/service"
)

type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type harness struct {
	t       *testing.T
	svc     *service.Service
	run     *testkit.Service[*service.Service]
	js      jetstream.JetStream
	natsURL string
	db      string
	jwks    string
	smtp    *smtptest.Server
	sealer  *sealedbox.Sealer
	pub     string
	clock   *clock
	logs    *testkit.SyncBuffer
	client  *http.Client
	signer  *auth.Signer
}

type opts struct {
	linkBase    string
	natsURL, db string
	jwks        string
	pub, priv   string
	smtp        smtptest.Options
	lease       time.Duration // SEND_LEASE; default 15s
	senders     int           // MAIL_SENDERS; default as many as SMTP_CONNECTIONS
	timer       time.Duration // TIMER_INTERVAL; default the tests' 50ms
	settle      time.Duration // MAIL_SETTLE; default 0: news mailed at once
}

func start(t *testing.T, o opts) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{}, natsURL: o.natsURL, db: o.db, jwks: o.jwks}
	if h.natsURL == "" {
		h.natsURL = testkit.NATS(t)
	}
	if h.db == "" {
		h.db = testkit.Database(t)
	}
	if h.jwks == "" {
		h.signer, h.jwks = testkit.DevKeys(t)
	}
	if o.priv == "" {
		o.pub, o.priv, _ = sealedbox.GenerateKey()
	}
	h.pub = o.pub
	h.sealer, _ = sealedbox.NewSealer(o.pub)
	if o.linkBase == "" {
		o.linkBase = "https://onboarding.example.com/email"
	}
	h.smtp = smtptest.Start(t, o.smtp)
	cfg := service.Config{
		Config:     testkit.PlatformConfig(h.db, h.natsURL, h.jwks),
		PrivateKey: o.priv, SMTPHost: h.smtp.Host, SMTPPort: h.smtp.Port, SMTPTLS: "none",
		SMTPFrom: "no-reply@partners.example.com", SMTPFromName: "Partner Onboarding", LinkBaseURL: o.linkBase,
		PortalURL: "https://partners.example.com", PublicURL: "https://notify.example.com",
		RetryInitial: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		MaxAttempts: 50, SendLease: cmp.Or(o.lease, 15*time.Second), MailSenders: o.senders, Clock: h.clock,
		MailSettle: o.settle,
	}
	if o.timer > 0 {
		cfg.TimerInterval = o.timer
	}
	h.logs = &testkit.SyncBuffer{}
	h.run = testkit.StartService(t, service.Name, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, slog.New(slog.NewJSONHandler(h.logs, nil)))
	}, func(s *service.Service) *platform.Base { return s.Base })
	h.svc = h.run.Svc
	h.client = contract.ValidatingClient(t, apihttp.OpenAPI)
	_, h.js = testkit.JetStream(t, h.natsURL)
	return h
}

func publish(t testing.TB, js jetstream.JetStream, typ, id, subject string, data any) string {
	t.Helper()
	body, _ := json.Marshal(data)
	if id == "" {
		id = ce.NewID()
	}
	m := nats.NewMsg(testkit.Subject(typ, subject))
	for k, v := range map[string]string{ce.HSpecVersion: "1.0", ce.HID: id, ce.HSource: bus.OwnerSource(ce.Topic(typ)),
		ce.HType: typ, ce.HSubject: subject, ce.HDataContentType: "application/json"} {
		m.Header[k] = []string{v}
	}
	m.Header[nats.MsgIdHdr] = []string{ce.NewID()}
	m.Data = body
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return id
}

const token = "dGVzdC10b2tlbi10ZXN0LXRva2VuLXRlc3QtdG9rZW4xMjM"

func (h *harness) request(challengeID string, expires time.Time) emailv1.VerificationMailRequested {
	sealed, err := h.sealer.SealPayload(sealedbox.Payload{ChallengeID: challengeID, Token: token, Code: "042917"})
	if err != nil {
		h.t.Fatal(err)
	}
	return emailv1.VerificationMailRequested{PartnerID: "PG-7K2M-9Q00-00F", EnrollmentID: "PG-7K2M-9QRE-S02", Program: "indirect_reseller",
		ChallengeID: challengeID, Recipient: "taro@yamada.example.co.jp", ContactName: "山田 太郎", Language: "ja", Market: "JP",
		TemplateID: "email_ownership.verify.v1", ExpiresAt: expires, SealedSecret: sealed, RequestedAt: time.Now().UTC()}
}

func streamMsgs(t testing.TB, js jetstream.JetStream, stream, typ string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(ctx)
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		if m, err := s.GetMsg(ctx, seq); err == nil && (typ == "" || m.Header.Get(ce.HType) == typ) {
			out = append(out, m)
		}
	}
	return out
}

func (h *harness) waitStream(stream, typ string, n int) []*jetstream.RawStreamMsg {
	h.t.Helper()
	var got []*jetstream.RawStreamMsg
	testkit.Eventually(h.t, 10*time.Second, func() error {
		if got = streamMsgs(h.t, h.js, stream, typ); len(got) != n {
			return fmt.Errorf("%d %s on %s, want %d", len(got), typ, stream, n)
		}
		return nil
	})
	return got
}

func (h *harness) delivery(id string) *domain.Delivery {
	h.t.Helper()
	d, err := h.svc.Repo.Get(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// TestDeliversOnceDespiteDuplicates: a request, its replay and a duplicate
// with a new event id produce one mail in the SMTP server, rendered in
// Japanese with the link and code, one delivered event, and no secret left
// at rest.
func TestDeliversOnceDespiteDuplicates(t *testing.T) {
	h := start(t, opts{})
	req := h.request("ch-1", time.Now().Add(72*time.Hour))
	id := publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, id, req.PartnerID, req)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	ev := h.waitStream("NOTIFIER", notifierv1.TypeMailDelivered, 1)[0]
	if ev.Header.Get(ce.HSubject) != req.PartnerID {
		t.Errorf("subject %q", ev.Header.Get(ce.HSubject))
	}
	// Written later by the delivery loop, the event is still caused by the
	// request and continues its conversation.
	if got := ev.Header.Get(ce.HCausationID); got != id {
		t.Errorf("causationid %q, want the request %q", got, id)
	}
	if got := ev.Header.Get(ce.HCorrelationID); got != id {
		t.Errorf("correlationid %q, want the request's conversation %q", got, id)
	}
	marker := h.request("ch-marker", time.Now().Add(time.Hour))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", marker.PartnerID, marker)
	h.waitStream("NOTIFIER", notifierv1.TypeMailDelivered, 2)
	msgs := h.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d mails, want one per challenge", len(msgs))
	}
	p, err := smtptest.Parse(msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	// A registration mails one code per enrollment: each mail names its
	// program, in the subject and beside the code.
	if !strings.Contains(p.Subject, "メールアドレス") || !strings.Contains(p.Subject, "クラウド リセラー") ||
		!strings.Contains(p.Subject, "for your cloud reseller (indirect) enrollment") ||
		!strings.Contains(p.Text, "確認コード（クラウド リセラー（間接販売）のお申し込み）: 042917") ||
		!strings.Contains(p.Text, "https://onboarding.example.com/email/confirm?token="+token) ||
		!strings.Contains(p.HTML, "/email/dispute?token="+token) || msgs[0].To[0] != req.Recipient {
		t.Fatalf("mail: %+v", p)
	}
	var secret []byte
	if err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT sealed_secret FROM deliveries WHERE id = 'ch-1'`).Scan(&secret); err != nil || secret != nil {
		t.Fatalf("sealed secret kept after delivery: %v", err)
	}
}

// TestAnEndedChallengeTakesItsWaitingMail: a confirmation mail retrying
// through an SMTP outage is given up when its challenge ends — withdrawn,
// cancelled or locked — failed as expired (its link would confirm nothing)
// with why, and the server, back, never gets it. Without it the dead link
// went out once the server returned.
func TestAnEndedChallengeTakesItsWaitingMail(t *testing.T) {
	for _, c := range []struct {
		name, typ string
		data      func(challenge string) any
		why       string
	}{
		{"withdrawn", emailv1.TypeChallengeWithdrawn, func(ch string) any {
			return emailv1.ChallengeWithdrawn{PartnerID: "PG-7K2M-9Q00-00F", EnrollmentID: "PG-7K2M-9QRE-S02", Program: "indirect_reseller", ChallengeID: ch,
				ProfileChange: 2, Cause: emailv1.WithdrawnSuperseded, WithdrawnAt: time.Now().UTC()}
		}, "withdrawn (superseded)"},
		{"cancelled", emailv1.TypeChallengeCancelled, func(ch string) any {
			return emailv1.ChallengeCancelled{PartnerID: "PG-7K2M-9Q00-00F", EnrollmentID: "PG-7K2M-9QRE-S02", Program: "indirect_reseller", ChallengeID: ch,
				Standing: "suspended", CancelledAt: time.Now().UTC()}
		}, "cancelled (the partner is suspended)"},
		{"locked", emailv1.TypeChallengeLocked, func(ch string) any {
			return emailv1.ChallengeLocked{PartnerID: "PG-7K2M-9Q00-00F", EnrollmentID: "PG-7K2M-9QRE-S02", Program: "indirect_reseller", ChallengeID: ch,
				WrongCodes: 5, LockedAt: time.Now().UTC()}
		}, "locked by wrong codes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, opts{})
			h.smtp.Stop()
			ch := "ch-ended-" + c.name
			req := h.request(ch, time.Now().Add(72*time.Hour))
			publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
			testkit.Eventually(t, 10*time.Second, func() error {
				d, err := h.svc.Repo.Get(context.Background(), ch)
				if err != nil {
					return err
				}
				if d.Status() != domain.StatusPending || len(d.Attempts()) == 0 {
					return fmt.Errorf("status %s after %d attempts", d.Status(), len(d.Attempts()))
				}
				return nil
			})
			publish(t, h.js, c.typ, "", req.PartnerID, c.data(ch))
			testkit.Eventually(t, 10*time.Second, func() error {
				if d := h.delivery(ch); d.Status() != domain.StatusFailed || d.FailReason() != domain.ReasonExpired {
					return fmt.Errorf("status %s (%s)", d.Status(), d.FailReason())
				}
				return nil
			})
			failed := h.waitStream("NOTIFIER", notifierv1.TypeMailFailed, 1)[0]
			var p notifierv1.MailFailed
			if err := json.Unmarshal(failed.Data, &p); err != nil || p.ChallengeID != ch || p.Reason != "challenge_expired" || !strings.Contains(p.LastError, c.why) {
				t.Fatalf("mail.failed %+v (%v)", p, err)
			}
			smtptest.Restart(t, h.smtp)
			time.Sleep(time.Second) // the retries ran every few hundred milliseconds while it was down
			if n := len(h.smtp.Messages()); n != 0 {
				t.Fatalf("%d mails with the ended challenge's link went out", n)
			}
		})
	}
}

// TestAChallengeEndedBeforeItsMailWasAsked: the end of a challenge and the
// request for its mail travel on different durables; when the end comes
// first (the request's consumer behind, or its message redelivered), the
// request that follows is recorded as failed, expired, with why, and the
// SMTP server never gets its link. A second end and a replayed request
// change nothing. Without it the mail went out.
func TestAChallengeEndedBeforeItsMailWasAsked(t *testing.T) {
	h := start(t, opts{})
	ch := "ch-ended-ahead"
	req := h.request(ch, time.Now().Add(72*time.Hour))
	locked := emailv1.ChallengeLocked{PartnerID: req.PartnerID, EnrollmentID: req.EnrollmentID, Program: req.Program, ChallengeID: ch,
		WrongCodes: 5, LockedAt: time.Now().UTC()}
	publish(t, h.js, emailv1.TypeChallengeLocked, "", req.PartnerID, locked)
	testkit.Eventually(t, 10*time.Second, func() error {
		var n int
		if err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT count(*) FROM ended_links WHERE challenge_id = $1`, ch).Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("%d ends kept (%v)", n, err)
		}
		return nil
	})
	publish(t, h.js, emailv1.TypeChallengeLocked, "", req.PartnerID, locked)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	failed := h.waitStream("NOTIFIER", notifierv1.TypeMailFailed, 1)[0]
	var p notifierv1.MailFailed
	if err := json.Unmarshal(failed.Data, &p); err != nil || p.ChallengeID != ch || p.Reason != "challenge_expired" ||
		!strings.Contains(p.LastError, "locked by wrong codes") || p.Attempts != 0 {
		t.Fatalf("mail.failed %+v (%v)", p, err)
	}
	d := h.delivery(ch)
	if d.Status() != domain.StatusFailed || d.FailReason() != domain.ReasonExpired || len(d.Attempts()) != 0 {
		t.Fatalf("mail %s (%s) after %d attempts", d.Status(), d.FailReason(), len(d.Attempts()))
	}
	var secret []byte
	if err := h.svc.Base.Pool.QueryRow(context.Background(), `SELECT sealed_secret FROM deliveries WHERE id = $1`, ch).Scan(&secret); err != nil || secret != nil {
		t.Fatalf("sealed secret kept for a mail never sent: %v", err)
	}
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	// Another challenge's mail, asked for after, goes out: the replay
	// before it has been handled by then (one consumer, in order).
	other := h.request("ch-not-ended", time.Now().Add(72*time.Hour))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, other)
	h.waitStream("NOTIFIER", notifierv1.TypeMailDelivered, 1)
	time.Sleep(300 * time.Millisecond)
	if n := len(h.smtp.Messages()); n != 1 {
		t.Fatalf("%d mails went out, want only the other challenge's", n)
	}
	if n := len(h.waitStream("NOTIFIER", notifierv1.TypeMailFailed, 1)); n != 1 {
		t.Fatalf("%d mail.failed events, want 1", n)
	}
}

// TestASupersededMailIsNotSentAfterTheNewerOne: a confirmation mail
// retrying through an SMTP outage is given up when a newer challenge of
// its enrollment (a resend) asks for its own mail — its link would only
// say that a newer mail replaced it — while another enrollment's waiting
// mail still goes out.
func TestASupersededMailIsNotSentAfterTheNewerOne(t *testing.T) {
	h := start(t, opts{})
	h.smtp.Stop()
	old, other := h.request("ch-superseded", time.Now().Add(72*time.Hour)), h.requestFor("ch-other-enrollment", "PG-7K2M-9QSP-009")
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", old.PartnerID, old)
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", other.PartnerID, other)
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, id := range []string{"ch-superseded", "ch-other-enrollment"} {
			d, err := h.svc.Repo.Get(context.Background(), id)
			if err != nil {
				return err
			}
			if d.Status() != domain.StatusPending || len(d.Attempts()) == 0 {
				return fmt.Errorf("%s %s after %d attempts", id, d.Status(), len(d.Attempts()))
			}
		}
		return nil
	})
	newer := h.request("ch-newer", time.Now().Add(72*time.Hour))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", newer.PartnerID, newer)
	failed := h.waitStream("NOTIFIER", notifierv1.TypeMailFailed, 1)[0]
	var p notifierv1.MailFailed
	if err := json.Unmarshal(failed.Data, &p); err != nil || p.ChallengeID != "ch-superseded" || p.Reason != "challenge_expired" ||
		!strings.Contains(p.LastError, "superseded by a newer one (ch-newer)") {
		t.Fatalf("mail.failed %+v (%v)", p, err)
	}
	smtptest.Restart(t, h.smtp)
	h.waitStream("NOTIFIER", notifierv1.TypeMailDelivered, 2)
	time.Sleep(300 * time.Millisecond)
	if d := h.delivery("ch-superseded"); d.Status() != domain.StatusFailed || d.FailReason() != domain.ReasonExpired || len(h.smtp.Messages()) != 2 {
		t.Fatalf("superseded mail %s (%s); %d mails sent, want the newer and the other enrollment's", d.Status(), d.FailReason(), len(h.smtp.Messages()))
	}
	for _, id := range []string{"ch-newer", "ch-other-enrollment"} {
		if d := h.delivery(id); d.Status() != domain.StatusDelivered {
			t.Errorf("%s %s", id, d.Status())
		}
	}
}

// TestSMTPDownThenBack: while the server is down attempts fail and are
// retried with backoff; once it is back the mail is delivered exactly once.
func TestSMTPDownThenBack(t *testing.T) {
	h := start(t, opts{})
	h.smtp.Stop()
	req := h.request("ch-down", time.Now().Add(72*time.Hour))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	testkit.Eventually(t, 10*time.Second, func() error {
		d, err := h.svc.Repo.Get(context.Background(), "ch-down")
		if err != nil {
			return err
		}
		failed := 0
		for _, a := range d.Attempts() {
			if a.Outcome == domain.OutcomeTemporary {
				failed++
			}
		}
		if failed < 2 {
			return fmt.Errorf("%d attempts failed while down", failed)
		}
		return nil
	})
	if len(h.smtp.Messages()) != 0 || h.delivery("ch-down").Status() == domain.StatusDelivered {
		t.Fatal("delivered while the server was down")
	}
	// Readiness says so, and stays ready: every instance shares the outage.
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	h.get("/readyz", "", http.StatusOK, &ready)
	if !ready.Ready || !strings.HasPrefix(ready.Checks["smtp"], "degraded: no connection to") {
		t.Fatalf("readiness while the SMTP server is down: %+v", ready)
	}
	smtptest.Restart(t, h.smtp)
	ev := h.waitStream("NOTIFIER", notifierv1.TypeMailDelivered, 1)[0]
	h.get("/readyz", "", http.StatusOK, &ready)
	if ready.Checks["smtp"] != "ok" {
		t.Errorf("readiness once a mail went out: %+v", ready)
	}
	var p notifierv1.MailDelivered
	_ = json.Unmarshal(ev.Data, &p)
	if p.Attempts < 3 {
		t.Errorf("delivered after %d attempts, want the failures counted", p.Attempts)
	}
	for _, a := range h.delivery("ch-down").Attempts()[:p.Attempts-1] {
		if a.Outcome != domain.OutcomeTemporary {
			t.Errorf("attempt %d: %s", a.Number, a.Outcome)
		}
	}
	// The outage is in the logs and the metrics: each failed attempt (no
	// SMTP reply: connection refused) with its retry time, each retry.
	failed := strings.Count(h.logs.String(), `"msg":"mail attempt failed"`)
	retries := strings.Count(h.logs.String(), `"msg":"mail retry"`)
	if failed != p.Attempts-1 || retries != p.Attempts-1 || !strings.Contains(h.logs.String(), `"retry_at"`) ||
		strings.Contains(h.logs.String(), req.Recipient) {
		t.Errorf("%d attempts: %d failure lines, %d retry lines:\n%s", p.Attempts, failed, retries, h.logs.String())
	}
	res, err := http.Get("http://" + h.svc.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		fmt.Sprintf(`partnerhub_mail_attempts_total{outcome="temporary_failure",smtp_code="0",template="email_ownership.verify.v1"} %d`, p.Attempts-1),
		fmt.Sprintf(`partnerhub_mail_retries_total{template="email_ownership.verify.v1"} %d`, p.Attempts-1),
		`partnerhub_mail_attempts_total{outcome="delivered",smtp_code="0",template="email_ownership.verify.v1"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Later polls send nothing more.
	other := h.request("ch-after", time.Now().Add(time.Hour))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", other.PartnerID, other)
	h.waitStream("NOTIFIER", notifierv1.TypeMailDelivered, 2)
	if n := len(h.smtp.Messages()); n != 2 {
		t.Fatalf("%d mails, want 2 (each once)", n)
	}
}

// TestLateAndBadRequests: a request that arrives after its challenge
// expired (late, out of order) is never sent and reported failed; an
// invalid one is dead-lettered with its code.
func TestLateAndBadRequests(t *testing.T) {
	h := start(t, opts{})
	late := h.request("ch-late", time.Now().Add(-time.Minute))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", late.PartnerID, late)
	bad := h.request("ch-bad", time.Now().Add(time.Hour))
	bad.Recipient = "Taro <taro@example.co.jp>"
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", bad.PartnerID, bad)
	ev := h.waitStream("NOTIFIER", notifierv1.TypeMailFailed, 1)[0]
	var p notifierv1.MailFailed
	_ = json.Unmarshal(ev.Data, &p)
	if p.Reason != notifierv1.ReasonChallengeExpired || p.Attempts != 0 {
		t.Fatalf("failed event %+v", p)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, m := range streamMsgs(t, h.js, bus.DeadLetterStream, "") {
			if m.Header.Get(bus.DLQCode) == "notifier.invalid_request" {
				return nil
			}
		}
		return fmt.Errorf("invalid request not dead-lettered")
	})
	if n := len(h.smtp.Messages()); n != 0 {
		t.Fatalf("%d mails sent for late or bad requests", n)
	}
}

// TestCrashBetweenSendAndRecord documents the delivery promise. A mail is
// recorded with its attempt claimed before it is sent: while the record
// cannot be written, nothing is sent (the request is redelivered until it
// can). An attempt whose outcome is not recorded (a crash after the SMTP
// server took the mail, or here a refused write) is sent again once its
// send lease runs out, with the same Message-ID, and then recorded once.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	h := start(t, opts{lease: 3 * time.Second})
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, strings.Replace(testkit.AdminURL(), "/postgres?", "/"+h.db+"?", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	exec(`REVOKE INSERT ON notifier.deliveries FROM notifier_app`)
	req := h.request("ch-unrecorded", time.Now().Add(72*time.Hour))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	testkit.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(h.logs.String(), "permission denied for table deliveries") {
			return errors.New("the refused record was not tried")
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond)
	if n := len(h.smtp.Messages()); n != 0 {
		t.Fatalf("%d mails sent while the mail could not be recorded", n)
	}
	exec(`GRANT INSERT ON notifier.deliveries TO notifier_app`)
	h.waitDelivered("ch-unrecorded")
	if n := len(h.smtp.Messages()); n != 1 {
		t.Fatalf("%d mails, want 1", n)
	}

	// The outcome of the next mail's attempt cannot be recorded.
	exec(`REVOKE UPDATE ON notifier.deliveries FROM notifier_app`)
	req = h.request("ch-crash", time.Now().Add(72*time.Hour))
	publish(t, h.js, emailv1.TypeVerificationMailRequested, "", req.PartnerID, req)
	testkit.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(h.logs.String(), "mail attempt outcome not saved") {
			return errors.New("the outcome was not refused yet")
		}
		return nil
	})
	if n := len(h.smtp.Messages()); n != 2 {
		t.Fatalf("%d mails, want 2", n)
	}
	if d := h.delivery("ch-crash"); d.Status() != domain.StatusSending {
		t.Fatalf("status %s, want sending (the lease holds it)", d.Status())
	}
	exec(`GRANT UPDATE ON notifier.deliveries TO notifier_app`)
	d := h.waitDelivered("ch-crash")
	if a := d.Attempts(); len(a) != 2 || a[0].Outcome != domain.OutcomeUnknown || a[1].Outcome != domain.OutcomeDelivered {
		t.Fatalf("attempts %+v", a)
	}
	h.waitStream("NOTIFIER", notifierv1.TypeMailDelivered, 2)
	msgs := h.smtp.Messages()
	second, _ := smtptest.Parse(msgs[1].Data)
	for _, m := range msgs[2:] {
		p, _ := smtptest.Parse(m.Data)
		if second.Header.Get("Message-Id") == "" || p.Header.Get("Message-Id") != second.Header.Get("Message-Id") {
			t.Errorf("Message-IDs differ: %q %q", second.Header.Get("Message-Id"), p.Header.Get("Message-Id"))
		}
	}
	sent := len(msgs)
	if sent != 3 {
		t.Fatalf("%d mails, want 3 (the lost outcome's mail sent once more)", sent)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(h.smtp.Messages()); n != sent {
		t.Fatalf("%d more mails after the delivery was recorded", n-sent)
	}
}

func (h *harness) waitDelivered(id string) *domain.Delivery {
	h.t.Helper()
	var d *domain.Delivery
	testkit.Eventually(h.t, 15*time.Second, func() error {
		var err error
		if d, err = h.svc.Repo.Get(context.Background(), id); err != nil {
			return err
		}
		if d.Status() != domain.StatusDelivered {
			return fmt.Errorf("status %s", d.Status())
		}
		return nil
	})
	return d
}

// TestEndToEndRegistrationToConfirmation is the done criterion in
// one test: a registration submitted event → the e-mail ownership service
// (its real binary) opens challenges → this notifier delivers real mail to
// the in-test SMTP server → the link from the mail, opened with HTTP GET,
// shows a button whose POST confirms → the ownership confirmed event is on JetStream.
func TestEndToEndRegistrationToConfirmation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the e-mail ownership binary")
	}
	natsURL, db := testkit.NATS(t), testkit.Database(t)
	_, jwks := testkit.DevKeys(t)
	pub, priv, _ := sealedbox.GenerateKey()
	port := freePort(t)
	eoURL := "http://127.0.0.1:" + strconv.Itoa(port)
	startEmailOwnership(t, map[string]string{
		"HTTP_ADDR": "127.0.0.1:" + strconv.Itoa(port), "NATS_URL": natsURL, "POSTGRES_ADMIN_URL": testkit.AdminURL(),
		"POSTGRES_DB": db, "AUTH_JWKS_FILE": jwks, "AUTH_ISSUER": auth.DevIssuer, "AUTH_AUDIENCE": auth.DevAudience,
		"CODE_PEPPER": "e2e-pepper-e2e-pepper-e2e-pepper-0123456789", "NOTIFIER_PUBLIC_KEY": pub,
		"LOG_LEVEL": "warn", "TIMER_INTERVAL": "100ms", "OUTBOX_POLL_INTERVAL": "10ms", "BUS_NAK_BASE": "20ms", "BUS_NAK_MAX": "200ms",
	}, eoURL)
	h := start(t, opts{natsURL: natsURL, db: db, jwks: jwks, pub: pub, priv: priv, linkBase: eoURL})

	partner := "PG-E2E0-0000-000" + strings.ToUpper(testkit.RandomID(3))
	at := time.Now().UTC().Truncate(time.Second)
	reg := registrationv1.ApplicationSubmitted{PartnerID: partner, LocationID: partner + "-L1", Market: "JP", Language: "ja",
		Contact: registrationv1.Contact{FirstName: "太郎", LastName: "山田", Email: "taro@yamada.example.co.jp", EmailDomain: "yamada.example.co.jp"},
		Enrollments: []registrationv1.Enrollment{
			{EnrollmentID: partner + "-NET", Program: registrationv1.ProgramPartnerNetwork, Status: registrationv1.StatusPendingVerification},
			{EnrollmentID: partner + "-RES", Program: registrationv1.ProgramIndirectReseller, Status: registrationv1.StatusPendingVerification}},
		SubmittedBy: "e2e", SubmittedAt: at}
	publish(t, h.js, registrationv1.TypeApplicationSubmitted, "", partner, reg)

	var mails []smtptest.Received
	testkit.Eventually(t, 15*time.Second, func() error {
		if mails = h.smtp.Messages(); len(mails) != 2 {
			return fmt.Errorf("%d mails, want one per enrollment", len(mails))
		}
		return nil
	})
	p, err := smtptest.Parse(mails[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(eoURL) + `/confirm\?token=[A-Za-z0-9_-]+`).FindString(p.Text)
	if link == "" {
		t.Fatalf("no confirmation link in the mail:\n%s", p.Text)
	}
	// The link shows the address and a button; the button confirms.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "taro@yamada.example.co.jp") {
		t.Fatalf("opening the link: %d %s", resp.StatusCode, body)
	}
	resp, err = http.PostForm(eoURL+"/confirm", url.Values{"token": {strings.SplitN(link, "token=", 2)[1]}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "確認しました") {
		t.Fatalf("pressing the button: %d %s", resp.StatusCode, body)
	}
	ev := h.waitStream("EMAIL", emailv1.TypeOwnershipConfirmed, 1)[0]
	var c emailv1.OwnershipConfirmed
	_ = json.Unmarshal(ev.Data, &c)
	if c.PartnerID != partner || c.Method != "link" || ev.Header.Get(ce.HSubject) != partner {
		t.Fatalf("confirmed event %+v", c)
	}
	h.waitStream("NOTIFIER", notifierv1.TypeMailDelivered, 2)
}

func freePort(t *testing.T) int {
	port, err := testkit.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// startEmailOwnership builds and runs the e-mail ownership service (a
// service never imports another: the test runs its binary).
func startEmailOwnership(t *testing.T, env map[string]string, url string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "email-ownership")
	build := exec.Command("go", "build", "-o", bin, "./cmd/email-ownership")
	build.Dir = filepath.Join("..", "..", "..", "email-ownership")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build email-ownership: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("email-ownership output:\n%s", logs.String())
		}
	})
	testkit.Eventually(t, 30*time.Second, func() error {
		select {
		case err := <-exited:
			t.Fatalf("email-ownership exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
}
