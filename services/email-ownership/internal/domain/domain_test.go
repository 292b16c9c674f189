package domain_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func hasher(t *testing.T) domain.Hasher {
	t.Helper()
	h, err := domain.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// issue makes a challenge the way the app does, returning the clear secret.
func issue(t *testing.T, h domain.Hasher, id string) (domain.Issued, domain.Secret) {
	t.Helper()
	s, err := domain.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return domain.Issued{ChallengeID: id, TokenHash: domain.HashToken(s.Token), CodeMAC: h.CodeMAC(id, s.Code), SealedSecret: []byte("sealed")}, s
}

func newOwnership(t *testing.T) *domain.Ownership {
	t.Helper()
	o, err := domain.NewOwnership(domain.EnrollmentRef{EnrollmentID: "enr-1", PartnerID: "p-1", Program: "reseller"})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var rcpt = domain.Recipient{Address: "Taro@Example.co.jp", ContactName: "Taro", Language: domain.LanguageJA, Market: "JP"}

// opened returns an ownership with one pending challenge and its secret.
func opened(t *testing.T) (*domain.Ownership, domain.Secret, domain.Hasher) {
	t.Helper()
	h := hasher(t)
	o := newOwnership(t)
	is, s := issue(t, h, "ch-1")
	ok, err := o.Open(rcpt, "evt-1", is, domain.DefaultPolicy(), t0)
	if err != nil || !ok {
		t.Fatalf("open: %v %v", ok, err)
	}
	return o, s, h
}

func names(evs []domain.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.EventName())
	}
	return out
}

func TestNewSecret(t *testing.T) {
	s, err := domain.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := domain.ParseToken(s.Token); err != nil {
		t.Errorf("token %q does not parse: %v", s.Token, err)
	}
	if len(s.Token) < 22 { // 128 bits in base64url
		t.Errorf("token too short: %d", len(s.Token))
	}
	if _, err := domain.ParseCode(s.Code); err != nil {
		t.Errorf("code %q: %v", s.Code, err)
	}
}

func TestNewSecretRejectsBiasedCodeDraws(t *testing.T) {
	// token bytes, then a draw above the unbiased limit (rejected), then 0x00000007.
	src := append(bytes.Repeat([]byte{1}, domain.TokenBytes), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7)
	s, err := domain.NewSecret(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Code != "000007" {
		t.Fatalf("code = %q, want 000007 (the 0xffffffff draw must be rejected)", s.Code)
	}
}

func TestParseTokenAndCode(t *testing.T) {
	good, _ := domain.NewSecret(rand.Reader)
	for _, tc := range []struct {
		in   string
		want error
	}{
		{good.Token, nil},
		{"", domain.ErrMalformedToken},
		{"short", domain.ErrMalformedToken},
		{strings.Repeat("!", len(good.Token)), domain.ErrMalformedToken},
		{good.Token + "A", domain.ErrMalformedToken},
	} {
		if _, err := domain.ParseToken(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("ParseToken(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want error
	}{{"012345", nil}, {"12345", domain.ErrMalformedCode}, {"1234567", domain.ErrMalformedCode}, {"12a456", domain.ErrMalformedCode},
		{"12\u202e3456", domain.ErrMalformedCode}, {"", domain.ErrMalformedCode}, {"１２３ ４５", domain.ErrMalformedCode},
		// As a person types it, with a Japanese input method or in groups.
		{"１２３４５６", nil}, {"123 456", nil}, {"123-456", nil}, {" ０４２９１７ ", nil}} {
		code, err := domain.ParseCode(tc.in)
		if !errors.Is(err, tc.want) {
			t.Errorf("ParseCode(%q) = %v, want %v", tc.in, err, tc.want)
		}
		if err == nil && (len(code) != 6 || strings.Trim(code, "0123456789") != "") {
			t.Errorf("ParseCode(%q) = %q, not six ASCII digits", tc.in, code)
		}
	}
}

func TestHasher(t *testing.T) {
	if _, err := domain.NewHasher([]byte("short")); !errors.Is(err, domain.ErrWeakPepper) {
		t.Fatalf("weak pepper accepted: %v", err)
	}
	h := hasher(t)
	other, _ := domain.NewHasher(bytes.Repeat([]byte{8}, 32))
	if bytes.Equal(h.CodeMAC("c", "123456"), other.CodeMAC("c", "123456")) {
		t.Error("code MAC does not depend on the pepper")
	}
	if bytes.Equal(h.CodeMAC("c1", "123456"), h.CodeMAC("c2", "123456")) {
		t.Error("code MAC does not depend on the challenge id")
	}
	if h.AddressKey("A@x.jp") != h.AddressKey(" a@x.jp") {
		t.Error("address key is case or space sensitive")
	}
}

func TestOpenIsIdempotentPerAddressAndCause(t *testing.T) {
	o, _, h := opened(t)
	o.PullEvents()
	p := domain.DefaultPolicy()
	for _, tc := range []struct {
		name, addr, cause string
	}{
		{"same event replayed", rcpt.Address, "evt-1"},
		{"same address, other event", "taro@example.co.jp", "evt-2"},
		{"other address, replayed event", "hanako@example.co.jp", "evt-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is, _ := issue(t, h, "ch-x")
			r := rcpt
			r.Address = tc.addr
			ok, err := o.Open(r, tc.cause, is, p, t0.Add(time.Minute))
			if err != nil || ok {
				t.Fatalf("open = %v, %v; want nothing opened", ok, err)
			}
			if ev := o.PullEvents(); len(ev) != 0 {
				t.Fatalf("events %v", names(ev))
			}
			if n := len(o.Challenges()); n != 1 {
				t.Fatalf("%d challenges", n)
			}
		})
	}
}

func TestOpenRecordsEventsWithoutSecrets(t *testing.T) {
	o, s, _ := opened(t)
	evs := o.PullEvents()
	if got := strings.Join(names(evs), ","); got != "challenge.opened,verification_mail.requested" {
		t.Fatalf("events %s", got)
	}
	if dump := fmt.Sprintf("%+v", evs); strings.Contains(dump, s.Token) || strings.Contains(dump, s.Code) {
		t.Fatalf("an event carries a clear secret: %s", dump)
	}
	mail := evs[1].(domain.VerificationMailRequested)
	if mail.Recipient != "taro@example.co.jp" || mail.TemplateID != domain.TemplateVerifyEmail || !mail.ExpiresAt.Equal(t0.Add(72*time.Hour)) {
		t.Fatalf("mail request %+v", mail)
	}
	if len(o.PullEvents()) != 0 {
		t.Fatal("PullEvents does not clear")
	}
}

func TestOpenNewAddressSupersedes(t *testing.T) {
	o, s, h := opened(t)
	is, _ := issue(t, h, "ch-2")
	r := rcpt
	r.Address = "hanako@example.co.jp"
	if ok, err := o.Open(r, "evt-2", is, domain.DefaultPolicy(), t0.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("open: %v %v", ok, err)
	}
	if err := o.ConfirmByToken(domain.HashToken(s.Token), t0.Add(2*time.Hour)); !errors.Is(err, domain.ErrSuperseded) {
		t.Fatalf("old token: %v", err)
	}
}

func TestConfirmByToken(t *testing.T) {
	p := domain.DefaultPolicy()
	type setup func(t *testing.T, o *domain.Ownership, s domain.Secret, h domain.Hasher)
	for _, tc := range []struct {
		name   string
		setup  setup
		token  func(s domain.Secret) string
		at     time.Duration
		want   error
		events string
		state  domain.State
	}{
		{name: "pending", at: time.Hour, events: "ownership.confirmed", state: domain.StateConfirmed},
		{name: "just before deadline", at: 72*time.Hour - time.Nanosecond, events: "ownership.confirmed", state: domain.StateConfirmed},
		{name: "at deadline", at: 72 * time.Hour, want: domain.ErrExpired, events: "challenge.expired", state: domain.StateExpired},
		{name: "unknown token", token: func(domain.Secret) string { return "x" }, at: time.Hour, want: domain.ErrNoChallenge, state: domain.StatePending},
		{name: "confirmed already: the same answer, no event", at: time.Hour, state: domain.StateConfirmed,
			setup: func(t *testing.T, o *domain.Ownership, s domain.Secret, _ domain.Hasher) {
				if err := o.ConfirmByToken(domain.HashToken(s.Token), t0); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "used, a newer challenge asks again", at: 2 * time.Hour, want: domain.ErrAlreadyUsed, state: domain.StatePending,
			setup: func(t *testing.T, o *domain.Ownership, s domain.Secret, h domain.Hasher) {
				if err := o.ConfirmByToken(domain.HashToken(s.Token), t0); err != nil {
					t.Fatal(err)
				}
				is, _ := issue(t, h, "ch-2")
				r := rcpt
				r.Address = "hanako@example.co.jp"
				if ok, err := o.Open(r, "evt-2", is, p, t0.Add(time.Hour)); !ok || err != nil {
					t.Fatalf("open: %v %v", ok, err)
				}
			}},
		{name: "superseded by resend", at: time.Hour, want: domain.ErrSuperseded, state: domain.StatePending,
			setup: func(t *testing.T, o *domain.Ownership, _ domain.Secret, h domain.Hasher) {
				is, _ := issue(t, h, "ch-2")
				if err := o.Resend(is, p, t0); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "locked", at: time.Hour, want: domain.ErrLocked, state: domain.StateLocked,
			setup: func(t *testing.T, o *domain.Ownership, s domain.Secret, h domain.Hasher) {
				for range p.MaxWrongCodes {
					_ = o.ConfirmByCode(wrong(s.Code), h, p, t0)
				}
			}},
		{name: "disputed withdraws", at: time.Hour, events: "ownership.confirmed,dispute.withdrawn", state: domain.StateConfirmed,
			setup: func(t *testing.T, o *domain.Ownership, s domain.Secret, _ domain.Hasher) {
				if err := o.Dispute(domain.HashToken(s.Token), t0); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, s, h := opened(t)
			if tc.setup != nil {
				tc.setup(t, o, s, h)
			}
			o.PullEvents()
			tok := s.Token
			if tc.token != nil {
				tok = tc.token(s)
			}
			err := o.ConfirmByToken(domain.HashToken(tok), t0.Add(tc.at))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got := strings.Join(names(o.PullEvents()), ","); got != tc.events {
				t.Errorf("events %q, want %q", got, tc.events)
			}
			if c, _ := o.Current(); c.State != tc.state {
				t.Errorf("state %s, want %s", c.State, tc.state)
			}
		})
	}
}

func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestConfirmByCodeLocksAfterMaxWrong(t *testing.T) {
	o, s, h := opened(t)
	o.PullEvents()
	p := domain.DefaultPolicy()
	for i := 1; i < p.MaxWrongCodes; i++ {
		if err := o.ConfirmByCode(wrong(s.Code), h, p, t0); !errors.Is(err, domain.ErrWrongCode) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if left := o.WrongCodesLeft(p); left != p.MaxWrongCodes-i {
			t.Fatalf("left %d after %d", left, i)
		}
	}
	// malformed codes do not count
	if err := o.ConfirmByCode("12345", h, p, t0); !errors.Is(err, domain.ErrMalformedCode) {
		t.Fatalf("malformed: %v", err)
	}
	if err := o.ConfirmByCode(wrong(s.Code), h, p, t0); !errors.Is(err, domain.ErrLocked) {
		t.Fatalf("last attempt: %v", err)
	}
	if got := strings.Join(names(o.PullEvents()), ","); got != "challenge.locked" {
		t.Fatalf("events %q", got)
	}
	if err := o.ConfirmByCode(s.Code, h, p, t0); !errors.Is(err, domain.ErrLocked) {
		t.Fatalf("right code after lock: %v", err)
	}
}

func TestConfirmByCode(t *testing.T) {
	o, s, h := opened(t)
	o.PullEvents()
	p := domain.DefaultPolicy()
	if err := o.ConfirmByCode(s.Code, h, p, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	evs := o.PullEvents()
	c := evs[0].(domain.OwnershipConfirmed)
	if c.Method != domain.MethodCode || c.Address != "taro@example.co.jp" || c.EnrollmentID != "enr-1" {
		t.Fatalf("event %+v", c)
	}
	// Sent again (an answer lost): the same outcome, nothing recorded twice.
	if err := o.ConfirmByCode(s.Code, h, p, t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("second use: %v", err)
	}
	if err := o.ConfirmByToken(domain.HashToken(s.Token), t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("link after code: %v", err)
	}
	// Another code is no confirmation, and no wrong code either.
	for range p.MaxWrongCodes + 1 {
		if err := o.ConfirmByCode(wrong(s.Code), h, p, t0.Add(2*time.Hour)); !errors.Is(err, domain.ErrAlreadyUsed) {
			t.Fatalf("another code: %v", err)
		}
	}
	if evs := o.PullEvents(); len(evs) != 0 {
		t.Fatalf("events after the first confirmation: %v", names(evs))
	}
	if c, _ := o.Current(); c.State != domain.StateConfirmed || c.WrongCodes != 0 || !c.ConfirmedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("current %+v", c)
	}
}

func TestDispute(t *testing.T) {
	o, s, h := opened(t)
	o.PullEvents()
	tok := domain.HashToken(s.Token)
	if err := o.Dispute(tok, t0); err != nil {
		t.Fatal(err)
	}
	if err := o.Dispute(tok, t0); err != nil {
		t.Fatalf("second dispute: %v", err)
	}
	if got := strings.Join(names(o.PullEvents()), ","); got != "challenge.disputed" {
		t.Fatalf("events %q", got)
	}
	if _, open := o.DisputeOpen(); !open {
		t.Fatal("dispute not open")
	}
	// No resend mails the reporter before the decision (since round 42);
	// confirming the disputed challenge withdraws the report.
	is, _ := issue(t, h, "ch-2")
	if err := o.Resend(is, domain.DefaultPolicy(), t0.Add(time.Minute)); !errors.Is(err, domain.ErrDisputeOpen) {
		t.Fatalf("resend while the report is open: %v", err)
	}
	if evs := o.PullEvents(); len(evs) != 0 {
		t.Fatalf("a refused resend recorded %v", names(evs))
	}
	if err := o.ConfirmByCode(s.Code, h, domain.DefaultPolicy(), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	evs := o.PullEvents()
	if got := strings.Join(names(evs), ","); got != "ownership.confirmed,dispute.withdrawn" {
		t.Fatalf("events %q", got)
	}
	if w := evs[1].(domain.DisputeWithdrawn); w.DisputedChallengeID != "ch-1" || w.ChallengeID != "ch-1" {
		t.Fatalf("withdrawn %+v", w)
	}
	if err := o.Dispute(tok, t0.Add(3*time.Minute)); !errors.Is(err, domain.ErrAlreadyUsed) {
		t.Fatalf("dispute after confirm: %v", err)
	}
}

func TestResend(t *testing.T) {
	o, _, h := opened(t)
	o.PullEvents()
	is, _ := issue(t, h, "ch-2")
	if err := o.Resend(is, domain.DefaultPolicy(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	evs := o.PullEvents()
	op := evs[0].(domain.ChallengeOpened)
	if op.Reason != domain.ReasonResend || len(op.Supersedes) != 1 || op.Supersedes[0] != "ch-1" {
		t.Fatalf("opened %+v", op)
	}
	if m := evs[1].(domain.VerificationMailRequested); m.Recipient != "taro@example.co.jp" || m.Language != domain.LanguageJA {
		t.Fatalf("mail %+v", m)
	}
	if chs := o.Challenges(); chs[0].State != domain.StateSuperseded || chs[1].State != domain.StatePending {
		t.Fatalf("states %s %s", chs[0].State, chs[1].State)
	}
	empty := newOwnership(t)
	if err := empty.Resend(is, domain.DefaultPolicy(), t0); !errors.Is(err, domain.ErrNoChallenge) {
		t.Fatalf("resend without challenge: %v", err)
	}
}

func TestResendAfterConfirmRefused(t *testing.T) {
	o, s, h := opened(t)
	if err := o.ConfirmByToken(domain.HashToken(s.Token), t0); err != nil {
		t.Fatal(err)
	}
	is, _ := issue(t, h, "ch-2")
	if err := o.Resend(is, domain.DefaultPolicy(), t0); !errors.Is(err, domain.ErrAlreadyConfirmed) {
		t.Fatalf("err %v", err)
	}
}

func TestExpireDue(t *testing.T) {
	o, _, _ := opened(t)
	o.PullEvents()
	d, ok := o.NextDeadline()
	if !ok || !d.Equal(t0.Add(72*time.Hour)) {
		t.Fatalf("deadline %v %v", d, ok)
	}
	if o.ExpireDue(d.Add(-time.Second)) {
		t.Fatal("expired early")
	}
	if !o.ExpireDue(d) {
		t.Fatal("not expired at deadline")
	}
	if o.ExpireDue(d.Add(time.Hour)) {
		t.Fatal("expired twice")
	}
	evs := o.PullEvents()
	if len(evs) != 1 || !evs[0].(domain.ChallengeExpired).ExpiredAt.Equal(d) {
		t.Fatalf("events %+v", evs)
	}
	if _, ok := o.NextDeadline(); ok {
		t.Fatal("deadline after expiry")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	o, s, h := opened(t)
	_ = o.ConfirmByCode(wrong(s.Code), h, domain.DefaultPolicy(), t0)
	r := domain.RestoreOwnership(o.Snapshot())
	if len(r.PullEvents()) != 0 {
		t.Fatal("restore recorded events")
	}
	if err := r.ConfirmByToken(domain.HashToken(s.Token), t0); err != nil {
		t.Fatal(err)
	}
	if c := r.Challenges()[0]; c.WrongCodes != 1 {
		t.Fatalf("wrong codes lost: %d", c.WrongCodes)
	}
	if ok, _ := r.Open(rcpt, "evt-1", domain.Issued{ChallengeID: "z", TokenHash: make([]byte, 32), CodeMAC: make([]byte, 32), SealedSecret: []byte{1}}, domain.DefaultPolicy(), t0); ok {
		t.Fatal("restored aggregate forgot its causations/addresses")
	}
}

func TestThrottle(t *testing.T) {
	p := domain.DefaultPolicy()
	var th domain.ResendThrottle
	d := th.Allow(p, t0)
	if !d.Allowed || !d.NextAllowedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("first %+v", d)
	}
	d = th.Allow(p, t0.Add(10*time.Second))
	if d.Allowed || d.RetryAfter != 50*time.Second {
		t.Fatalf("cooldown %+v", d)
	}
	now := t0
	for i := 2; i <= p.DailyQuota; i++ {
		now = now.Add(time.Minute)
		if d := th.Allow(p, now); !d.Allowed {
			t.Fatalf("send %d refused %+v", i, d)
		}
	}
	now = now.Add(time.Hour)
	d = th.Allow(p, now)
	if d.Allowed || !d.NextAllowedAt.Equal(t0.Add(domain.QuotaWindow)) {
		t.Fatalf("quota %+v", d)
	}
	if d := th.Allow(p, t0.Add(domain.QuotaWindow)); !d.Allowed {
		t.Fatalf("slot not freed %+v", d)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := domain.DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
	err := domain.Policy{}.Validate()
	if !errors.Is(err, domain.ErrInvalidPolicy) || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("want three joined errors, got %v", err)
	}
}

func TestNormalizeAddressAndLanguage(t *testing.T) {
	for _, in := range []string{"", "no-at", "Taro <t@x.jp>", "a@b@c"} {
		if _, err := domain.NormalizeAddress(in); !errors.Is(err, domain.ErrInvalidAddress) {
			t.Errorf("%q accepted", in)
		}
	}
	for _, tc := range []struct {
		lang, market string
		want         domain.Language
	}{{"ja", "US", "ja"}, {"EN", "JP", "en"}, {"", "JP", "ja"}, {"", "US", "en"}} {
		if got, err := domain.ParseLanguage(tc.lang, tc.market); err != nil || got != tc.want {
			t.Errorf("%v %v: %v %v", tc.lang, tc.market, got, err)
		}
	}
	if _, err := domain.ParseLanguage("fr", "FR"); !errors.Is(err, domain.ErrInvalidLanguage) {
		t.Error("fr accepted")
	}
}
