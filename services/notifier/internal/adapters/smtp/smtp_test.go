package smtp_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/memory"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp/smtptest"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

func sender(t *testing.T, srv *smtptest.Server, mode smtp.TLSMode, user, pass string) *smtp.Sender {
	t.Helper()
	s, err := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLSMode: mode, Username: user, Password: pass,
		From: "no-reply@partners.example.com", FromName: "Partner Onboarding", Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: srv.Roots, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var msg = app.Message{ID: "ch-42", To: "taro@example.co.jp", ToName: "山田 太郎", Rendered: mails.Rendered{
	Subject: "【要確認】メールアドレスの確認",
	Text:    "確認コード: 042917\nhttps://onboarding.example.com/confirm?token=abc_DEF-123\n",
	HTML:    `<p><a href="https://onboarding.example.com/confirm?token=abc_DEF-123">確認</a> <strong>042917</strong></p>`}}

func TestSendOverEveryTransport(t *testing.T) {
	for _, tc := range []struct {
		name       string
		srvMode    string
		mode       smtp.TLSMode
		user, pass string
		wantTLS    bool
	}{
		{"plain, no auth (local)", smtptest.ModePlain, smtp.TLSNone, "", "", false},
		{"plain with AUTH PLAIN (local)", smtptest.ModePlain, smtp.TLSNone, "mailer", "s3cret", false},
		{"STARTTLS with AUTH", smtptest.ModeStartTLS, smtp.TLSStartTLS, "mailer", "s3cret", true},
		{"implicit TLS with AUTH", smtptest.ModeImplicit, smtp.TLSImplicit, "mailer", "s3cret", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{Mode: tc.srvMode, Username: tc.user, Password: tc.pass})
			if err := sender(t, srv, tc.mode, tc.user, tc.pass).Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("%d messages", len(got))
			}
			r := got[0]
			if len(r.To) != 1 || r.To[0] != "taro@example.co.jp" || r.From != "no-reply@partners.example.com" ||
				r.TLS != tc.wantTLS || r.AuthUser != tc.user {
				t.Fatalf("envelope %+v", r)
			}
			p, err := smtptest.Parse(r.Data)
			if err != nil {
				t.Fatal(err)
			}
			if p.Subject != msg.Subject || !strings.Contains(p.To, "taro@example.co.jp") || !strings.Contains(p.To, "山田 太郎") {
				t.Fatalf("headers: subject %q to %q", p.Subject, p.To)
			}
			if p.Text != msg.Text || !strings.Contains(p.HTML, msg.HTML) {
				t.Fatalf("parts:\ntext %q\nhtml %q", p.Text, p.HTML)
			}
			if id := p.Header.Get("Message-Id"); id != "<ch-42@partners.example.com>" {
				t.Fatalf("message id %q", id)
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("recipient refused is permanent, with the reply code", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{RejectRcpt: true})
		err := sender(t, srv, smtp.TLSNone, "", "").Send(ctx, msg)
		var se *app.SendError
		if !errors.Is(err, app.ErrPermanent) || !errors.As(err, &se) || se.Code != 550 {
			t.Fatalf("err %v", err)
		}
		// The server's own words, where they were given: what partners and
		// providers read as the mail's failure.
		if got := err.Error(); !strings.HasPrefix(got, "the server answered RCPT TO with 550 ") || strings.Contains(got, "affected") || strings.Contains(got, `"`) {
			t.Fatalf("err %q", got)
		}
	})
	t.Run("server down is temporary, without a reply code", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		srv.Stop()
		err := sender(t, srv, smtp.TLSNone, "", "").Send(ctx, msg)
		var se *app.SendError
		if err == nil || errors.Is(err, app.ErrPermanent) || !errors.As(err, &se) || se.Code != 0 {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.ModeStartTLS, Username: "mailer", Password: "s3cret"})
		if err := sender(t, srv, smtp.TLSStartTLS, "mailer", "wrong").Send(ctx, msg); err == nil {
			t.Fatal("sent with a wrong password")
		}
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("%d messages", n)
		}
	})
	t.Run("STARTTLS required but not offered", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.ModePlain})
		if err := sender(t, srv, smtp.TLSStartTLS, "", "").Send(ctx, msg); err == nil {
			t.Fatal("sent in clear text despite mandatory STARTTLS")
		}
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("%d messages", n)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.ModeImplicit})
		s, _ := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLSMode: smtp.TLSImplicit, From: "a@b.example", Timeout: 5 * time.Second})
		if err := s.Send(ctx, msg); err == nil {
			t.Fatal("sent to a server with an untrusted certificate")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  smtp.Config
		want string
	}{
		{"no host", smtp.Config{From: "a@b.example"}, "host"},
		{"bad from", smtp.Config{Host: "h", From: "A <a@b.example>"}, "from"},
		{"bad mode", smtp.Config{Host: "h", From: "a@b.example", TLSMode: "ssl3"}, "TLS mode"},
		{"bad auth", smtp.Config{Host: "h", From: "a@b.example", Username: "u", AuthMechanism: "NTLM"}, "auth mechanism"},
	} {
		if _, err := smtp.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestServerDownThenBackDeliversOnce runs the notifier's use cases against
// the real SMTP sender and server: the first attempt fails while the server
// is down and is scheduled; after the restart the retry delivers; later
// passes send nothing more.
func TestServerDownThenBackDeliversOnce(t *testing.T) {
	ctx := context.Background()
	srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.ModeStartTLS, Username: "mailer", Password: "s3cret"})
	pubB64, privB64, err := sealedbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	opener, _ := sealedbox.NewOpener(privB64)
	repo := memory.New()
	t0 := time.Now().UTC().Truncate(time.Second)
	clk := &clock{now: t0}
	set, err := mails.Default()
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Deps{Repo: repo, Directory: memory.NewDirectory(repo), Opener: opener,
		Sender: sender(t, srv, smtp.TLSStartTLS, "mailer", "s3cret"), Mails: set, LinkKey: []byte("0123456789abcdef0123"),
		Clock: clk, Jitter: func() float64 { return 0.5 }, Policy: domain.DefaultPolicy(),
		Links: app.Links{ConfirmURL: "https://onboarding.example.com/email-ownership/confirm", DisputeURL: "https://onboarding.example.com/email-ownership/dispute",
			PortalURL: "https://partners.example.com", PublicURL: "https://notify.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	var pub [32]byte
	raw, _ := base64.StdEncoding.DecodeString(pubB64)
	copy(pub[:], raw)
	const token = "q8v3b7p1YkzWm2Lr0sXcT9uHn4JdEaFgKiOlMpQwRtS"
	plain, _ := json.Marshal(sealedbox.Payload{V: 1, ChallengeID: "ch-7", Token: token, Code: "730519"})
	sealed, _ := box.SealAnonymous(nil, plain, &pub, rand.Reader)

	srv.Stop()
	if _, err := a.Accept(ctx, domain.MailRequest{ID: "ch-7", Category: domain.CategoryTransactional, SecretRef: "ch-7",
		ChallengeID: "ch-7", EnrollmentID: "enr-7", PartnerID: "p-7",
		Program: "partner_network", Recipient: "hanako@example.co.jp", ContactName: "Hanako Sato", Language: domain.LanguageEN,
		TemplateID: "email_ownership.verify.v1", ExpiresAt: t0.Add(72 * time.Hour), SealedSecret: sealed}); err != nil {
		t.Fatal(err)
	}
	// The first attempt, as the request is accepted, fails and schedules a retry.
	d, _ := repo.Get(ctx, "ch-7")
	if d.Status() != domain.StatusPending || d.Attempts()[0].Outcome != domain.OutcomeTemporary || !d.NextAttemptAt().After(t0) {
		t.Fatalf("not scheduled for retry: %s %+v", d.Status(), d.Attempts())
	}

	smtptest.Restart(t, srv)
	clk.Set(d.NextAttemptAt())
	if rep, err := a.DeliverDue(ctx); err != nil || rep.Delivered != 1 {
		t.Fatalf("after restart: %+v %v", rep, err)
	}
	clk.Set(t0.Add(time.Hour))
	if rep, _ := a.DeliverDue(ctx); rep != (app.DeliverReport{}) {
		t.Fatalf("later pass did something: %+v", rep)
	}

	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages, want exactly 1", len(got))
	}
	p, err := smtptest.Parse(got[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	link := "https://onboarding.example.com/email-ownership/confirm?token=" + token
	if got[0].To[0] != "hanako@example.co.jp" || p.Subject != "Please confirm your e-mail address for your partner network enrollment / 【要確認】メールアドレスの確認（パートナー ネットワーク）" ||
		!strings.Contains(p.Text, link) || !strings.Contains(p.Text, "730519") ||
		!strings.Contains(p.HTML, `href="`+link+`"`) || !strings.Contains(p.HTML, "730519") {
		t.Fatalf("received:\nsubject %q\ntext %s\nhtml %s", p.Subject, p.Text, p.HTML)
	}
	if evs := repo.Events(); len(evs) != 1 || evs[0].(domain.MailDelivered).Attempts != 2 {
		t.Fatalf("events %+v", evs)
	}
}

// TestConnectionsAreKept: mails in a row share one connection, parallel
// mails use at most Connections of them, and a kept connection the server
// dropped meanwhile is replaced without failing the next mail.
func TestConnectionsAreKept(t *testing.T) {
	ctx := context.Background()
	srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.ModeStartTLS, Username: "mailer", Password: "s3cret", CountCommands: true})
	s := sender(t, srv, smtp.TLSStartTLS, "mailer", "s3cret")
	t.Cleanup(s.Close)
	for range 5 {
		if err := s.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Fatalf("5 mails in a row opened %d connections, want 1", n)
	}
	// A kept connection is not checked with NOOP before each mail, nor
	// reset with RSET after it (a mail transaction ends with the server's
	// answer to the data, RFC 5321 4.1.1.4): go-mail would send them, round
	// trips of their own.
	if n, r, m := srv.Commands("NOOP"), srv.Commands("RSET"), srv.Commands("MAIL"); n != 0 || r != 0 || m != 5 {
		t.Fatalf("5 mails on a kept connection: %d NOOP, %d RSET and %d MAIL commands, want 0, 0 and 5", n, r, m)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				errs <- s.Send(ctx, msg)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.Messages()); got != 45 {
		t.Fatalf("%d messages, want 45", got)
	}

	// The server drops every connection (a restart); the next mail notices
	// the dead kept connection and goes out on a new one.
	before := srv.Connections()
	smtptest.Restart(t, srv)
	if err := s.Send(ctx, msg); err != nil {
		t.Fatalf("mail after the server dropped the kept connection: %v", err)
	}
	if got := len(srv.Messages()); got != 46 {
		t.Fatalf("%d messages, want 46", got)
	}
	if srv.Connections() == before {
		t.Fatal("no new connection after the server dropped the old ones")
	}
}

// TestCheckReportsAnUnusableServer: the readiness check is degraded while
// the latest connection could not be opened — the server down, STARTTLS
// required but not offered, a wrong password — saying since when and why,
// and clear once a connection opens; a recipient the server refuses says
// nothing about the server.
func TestCheckReportsAnUnusableServer(t *testing.T) {
	ctx := context.Background()
	srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.ModeStartTLS, Username: "mailer", Password: "s3cret"})
	degraded := func(s *smtp.Sender, want string) {
		t.Helper()
		err := s.Check(ctx)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("%s:%d", srv.Host, srv.Port)) {
			t.Fatalf("check %v, want degraded naming the server and %q", err, want)
		}
		if strings.Contains(err.Error(), "wrong") && !strings.Contains(want, "wrong") {
			t.Fatalf("the password in the check: %v", err)
		}
	}
	s := sender(t, srv, smtp.TLSStartTLS, "mailer", "s3cret")
	if err := s.Check(ctx); err != nil {
		t.Fatalf("check before any mail: %v", err)
	}
	srv.Stop()
	_ = s.Send(ctx, msg)
	degraded(s, "no connection to")
	smtptest.Restart(t, srv)
	if err := s.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("check after a mail went out: %v", err)
	}

	badAuth := sender(t, srv, smtp.TLSStartTLS, "mailer", "wrong")
	_ = badAuth.Send(ctx, msg)
	degraded(badAuth, "no connection to")

	plain := smtptest.Start(t, smtptest.Options{Mode: smtptest.ModePlain, RejectRcpt: true})
	noTLS := sender(t, plain, smtp.TLSStartTLS, "", "")
	_ = noTLS.Send(ctx, msg)
	if err := noTLS.Check(ctx); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("check with STARTTLS not offered: %v", err)
	}
	refusing := sender(t, plain, smtp.TLSNone, "", "")
	if err := refusing.Send(ctx, msg); !errors.Is(err, app.ErrPermanent) {
		t.Fatalf("refused recipient: %v", err)
	}
	if err := refusing.Check(ctx); err != nil {
		t.Fatalf("a refused recipient made the check fail: %v", err)
	}
}
