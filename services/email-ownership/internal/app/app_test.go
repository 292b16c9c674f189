package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

type world struct {
	app       *app.App
	deps      app.Deps
	repo      *memRepo
	clock     *fakeClock
	pub, priv *[32]byte
	clearText bool // the sealer is an identity function (harness check only)
}

// identitySealer "seals" nothing: a world with it must be attackable, which
// proves the stream-reader test can detect a leak.
type identitySealer struct{}

func (identitySealer) Seal(p []byte) ([]byte, error) { return append([]byte(nil), p...), nil }

func newWorld(t *testing.T) *world {
	t.Helper()
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := sealedbox.NewSealer(base64.StdEncoding.EncodeToString(pub[:]))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := domain.NewHasher(bytes.Repeat([]byte{9}, 32))
	w := &world{repo: newMemRepo(), clock: &fakeClock{now: t0}, pub: pub, priv: priv}
	w.deps = app.Deps{Repo: w.repo, Throttles: &memThrottles{rows: map[string]domain.ResendThrottle{}},
		Clock: w.clock, Random: rand.Reader, Sealer: sealer, Hasher: h, Policy: domain.DefaultPolicy()}
	w.app, err = app.New(w.deps)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// fork returns a world over a copy of w's storage (same keys and clock).
func (w *world) fork(t *testing.T) *world {
	t.Helper()
	f := *w
	f.repo = newMemRepo()
	w.repo.mu.Lock()
	maps.Copy(f.repo.rows, w.repo.rows)
	f.repo.events = append(f.repo.events, w.repo.events...)
	w.repo.mu.Unlock()
	f.deps.Repo = f.repo
	var err error
	if f.app, err = app.New(f.deps); err != nil {
		t.Fatal(err)
	}
	return &f
}

func openCmd() app.OpenChallengesCommand {
	return app.OpenChallengesCommand{
		Addressee: app.Addressee{PartnerID: "p-1", Email: "taro@example.co.jp", ContactName: "山田 太郎", Language: "ja", Market: "JP",
			CausationID: "evt-1"},
		Enrollments: []app.Enrollment{{EnrollmentID: "enr-net", Program: "partner_network"}, {EnrollmentID: "enr-res", Program: "reseller_indirect"}},
	}
}

func (w *world) open(t *testing.T) {
	t.Helper()
	res, err := w.app.OpenChallenges(context.Background(), openCmd())
	if err != nil || len(res.Opened) != 2 {
		t.Fatalf("open: %+v %v", res, err)
	}
}

// secret opens the latest sealed secret mailed for an enrollment, as the notifier would.
func (w *world) secret(t *testing.T, enrollmentID string) sealedbox.Payload {
	t.Helper()
	var last *domain.VerificationMailRequested
	for _, e := range w.repo.published() {
		if m, ok := e.(domain.VerificationMailRequested); ok && m.EnrollmentID == enrollmentID {
			last = &m
		}
	}
	if last == nil {
		t.Fatalf("no mail for %s", enrollmentID)
	}
	plain, ok := box.OpenAnonymous(nil, last.SealedSecret, w.pub, w.priv)
	if w.clearText {
		plain, ok = last.SealedSecret, true
	}
	if !ok {
		t.Fatal("cannot open sealed secret")
	}
	var p sealedbox.Payload
	if err := json.Unmarshal(plain, &p); err != nil {
		t.Fatal(err)
	}
	if p.ChallengeID != last.ChallengeID {
		t.Fatalf("sealed challenge id %s != event's %s", p.ChallengeID, last.ChallengeID)
	}
	return p
}

func countEvents(evs []domain.Event, name string) int {
	n := 0
	for _, e := range evs {
		if e.EventName() == name {
			n++
		}
	}
	return n
}

func code(err error) string {
	if ae, ok := apperr.As(err); ok {
		return ae.Code
	}
	if err != nil {
		return "raw:" + err.Error()
	}
	return ""
}

var partnerUser = auth.Principal{Kind: auth.KindUser, Subject: "u-1", PartnerID: "p-1", Roles: []auth.Role{auth.RolePartnerUser}}

func TestOpenChallengesIsIdempotent(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	if n := countEvents(w.repo.published(), "verification_mail.requested"); n != 2 {
		t.Fatalf("%d mails, want one per enrollment", n)
	}
	for _, tc := range []struct {
		name string
		mod  func(*app.OpenChallengesCommand)
	}{
		{"replayed event", func(*app.OpenChallengesCommand) {}},
		{"duplicate with a new event id", func(c *app.OpenChallengesCommand) { c.CausationID = "evt-2"; c.Email = "TARO@example.co.jp" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(w.repo.published())
			cmd := openCmd()
			tc.mod(&cmd)
			res, err := w.app.OpenChallenges(context.Background(), cmd)
			if err != nil || len(res.Opened) != 0 || len(w.repo.published()) != before {
				t.Fatalf("opened %+v, err %v, events %d→%d", res, err, before, len(w.repo.published()))
			}
		})
	}
}

func TestOpenChallengesRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*app.OpenChallengesCommand)
	}{
		{"bad e-mail", func(c *app.OpenChallengesCommand) { c.Email = "taro" }},
		{"display name", func(c *app.OpenChallengesCommand) { c.Email = "Taro <taro@example.co.jp>" }},
		{"bad language", func(c *app.OpenChallengesCommand) { c.Language = "fr" }},
		{"no enrollments", func(c *app.OpenChallengesCommand) { c.Enrollments = nil }},
		{"no partner", func(c *app.OpenChallengesCommand) { c.PartnerID = "" }},
		{"no program", func(c *app.OpenChallengesCommand) { c.Enrollments[0].Program = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			cmd := openCmd()
			tc.mod(&cmd)
			_, err := w.app.OpenChallenges(context.Background(), cmd)
			if apperr.KindOf(err) != apperr.KindInvalid {
				t.Fatalf("err %v, want invalid", err)
			}
			if len(w.repo.published()) != 0 {
				t.Fatal("events despite invalid input")
			}
		})
	}
}

func TestConfirmByLink(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token func(t *testing.T, w *world) string
		want  string
	}{
		{"valid", func(t *testing.T, w *world) string { return w.secret(t, "enr-res").Token }, ""},
		{"malformed", func(*testing.T, *world) string { return "not-a-token" }, app.CodeTokenMalformed},
		{"empty", func(*testing.T, *world) string { return "" }, app.CodeTokenMalformed},
		{"unknown", func(t *testing.T, _ *world) string {
			s, _ := domain.NewSecret(rand.Reader)
			return s.Token
		}, app.CodeChallengeUnknown},
		{"confirmed already: the page says so, the button confirms nothing more", func(t *testing.T, w *world) string {
			tok := w.secret(t, "enr-res").Token
			if _, err := w.app.ConfirmByLink(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			return tok
		}, ""},
		{"expired", func(t *testing.T, w *world) string {
			w.clock.Advance(72 * time.Hour)
			return w.secret(t, "enr-res").Token
		}, app.CodeChallengeExpired},
		{"superseded", func(t *testing.T, w *world) string {
			tok := w.secret(t, "enr-res").Token
			if _, err := w.app.Resend(context.Background(), partnerUser, app.ResendCommand{EnrollmentID: "enr-res"}); err != nil {
				t.Fatal(err)
			}
			return tok
		}, app.CodeChallengeSuperseded},
		{"other enrollment's token confirms only that one", func(t *testing.T, w *world) string {
			return w.secret(t, "enr-net").Token
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.open(t)
			tok := tc.token(t, w)
			// The link's page tells the same outcome and changes nothing.
			before := len(w.repo.published())
			prev, err := w.app.PreviewLink(context.Background(), tok)
			if got := code(err); got != tc.want || (tc.want == "" && prev.Address == "") {
				t.Fatalf("preview: code %q, want %q (%v), %+v", got, tc.want, err, prev)
			}
			if confirmed := countEvents(w.repo.published(), "ownership.confirmed") > 0; prev.Confirmed != confirmed {
				t.Fatalf("preview: confirmed %v, want %v", prev.Confirmed, confirmed)
			}
			if n := len(w.repo.published()); n != before {
				t.Fatalf("the preview published %d events", n-before)
			}
			_, err = w.app.ConfirmByLink(context.Background(), tok)
			if got := code(err); got != tc.want {
				t.Fatalf("code %q, want %q (%v)", got, tc.want, err)
			}
			if n := countEvents(w.repo.published(), "ownership.confirmed"); tc.want == "" && n != 1 {
				t.Fatalf("%d confirmed events", n)
			}
		})
	}
}

// Twenty confirmations at once, by link and by code, as double clicks and
// clients retrying lost answers send them: every one answers the same
// confirmation, and it is recorded once.
func TestConcurrentConfirmationsConfirmOnce(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	s := w.secret(t, "enr-res")
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	res := make([]app.ConfirmResult, n)
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				res[i], errs[i] = w.app.ConfirmByLink(context.Background(), s.Token)
			} else {
				res[i], errs[i] = w.app.ConfirmByCode(context.Background(), partnerUser, app.ConfirmByCodeCommand{EnrollmentID: "enr-res", Code: s.Code})
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || res[i].ConfirmedAt.IsZero() || !res[i].ConfirmedAt.Equal(res[0].ConfirmedAt) {
			t.Errorf("confirmation %d: %+v, %v (the first: %v)", i, res[i], err, res[0].ConfirmedAt)
		}
	}
	if n := countEvents(w.repo.published(), "ownership.confirmed"); n != 1 {
		t.Fatalf("%d confirmed events", n)
	}
}

func TestConfirmByCodeLocksOut(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	s := w.secret(t, "enr-res")
	bad := "000000"
	if s.Code == bad {
		bad = "000001"
	}
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		_, err := w.app.ConfirmByCode(ctx, partnerUser, app.ConfirmByCodeCommand{EnrollmentID: "enr-res", Code: bad})
		ae, _ := apperr.As(err)
		if ae == nil || ae.Code != app.CodeCodeWrong || ae.Details["attempts_left"] != 5-i {
			t.Fatalf("attempt %d: %+v", i, err)
		}
	}
	if _, err := w.app.ConfirmByCode(ctx, partnerUser, app.ConfirmByCodeCommand{EnrollmentID: "enr-res", Code: bad}); code(err) != app.CodeChallengeLocked {
		t.Fatalf("5th wrong: %v", err)
	}
	if _, err := w.app.ConfirmByCode(ctx, partnerUser, app.ConfirmByCodeCommand{EnrollmentID: "enr-res", Code: s.Code}); code(err) != app.CodeChallengeLocked {
		t.Fatalf("right code after lock: %v", err)
	}
	if _, err := w.app.ConfirmByLink(ctx, s.Token); code(err) != app.CodeChallengeLocked {
		t.Fatalf("link after lock: %v", err)
	}
	if countEvents(w.repo.published(), "challenge.locked") != 1 {
		t.Fatal("no locked event")
	}
	// a resend opens a fresh challenge with a fresh budget
	w.clock.Advance(time.Minute)
	if _, err := w.app.Resend(ctx, partnerUser, app.ResendCommand{EnrollmentID: "enr-res"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.app.ConfirmByCode(ctx, partnerUser, app.ConfirmByCodeCommand{EnrollmentID: "enr-res", Code: w.secret(t, "enr-res").Code}); err != nil {
		t.Fatalf("fresh challenge: %v", err)
	}
}

func TestConfirmByCodeAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    auth.Principal
		kind apperr.Kind
	}{
		{"anonymous", auth.Principal{}, apperr.KindUnauthenticated},
		{"wrong role", auth.Principal{Subject: "v", Roles: []auth.Role{auth.RoleProviderAdmin}}, apperr.KindForbidden},
		{"other partner", auth.Principal{Subject: "u-2", PartnerID: "p-2", Roles: []auth.Role{auth.RolePartnerAdmin}}, apperr.KindNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.open(t)
			_, err := w.app.ConfirmByCode(context.Background(), tc.p, app.ConfirmByCodeCommand{EnrollmentID: "enr-res", Code: w.secret(t, "enr-res").Code})
			if apperr.KindOf(err) != tc.kind {
				t.Fatalf("err %v, want kind %v", err, tc.kind)
			}
		})
	}
	w := newWorld(t)
	if _, err := w.app.ConfirmByCode(context.Background(), partnerUser, app.ConfirmByCodeCommand{EnrollmentID: "nope", Code: "123456"}); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("unknown enrollment: %v", err)
	}
}

func TestResendStormHoldsCooldownAndQuota(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	ctx := context.Background()
	mailsBefore := countEvents(w.repo.published(), "verification_mail.requested")
	for round := range 6 {
		const n = 50
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted, throttled := 0, 0
		for range n {
			wg.Go(func() {
				_, err := w.app.Resend(ctx, partnerUser, app.ResendCommand{EnrollmentID: "enr-res"})
				mu.Lock()
				defer mu.Unlock()
				switch code(err) {
				case "":
					accepted++
				case app.CodeResendThrottled:
					throttled++
				default:
					t.Errorf("unexpected %v", err)
				}
			})
		}
		wg.Wait()
		want := 1
		if round == 5 { // the quota of 5 is spent
			want = 0
		}
		if accepted != want || throttled != n-want {
			t.Fatalf("round %d: %d accepted, %d throttled", round, accepted, throttled)
		}
		w.clock.Advance(time.Minute)
	}
	if got := countEvents(w.repo.published(), "verification_mail.requested") - mailsBefore; got != 5 {
		t.Fatalf("%d resent mails, want 5", got)
	}
	_, err := w.app.Resend(ctx, partnerUser, app.ResendCommand{EnrollmentID: "enr-res"})
	ae, _ := apperr.As(err)
	if ae == nil || ae.Kind != apperr.KindRateLimited || ae.RetryAfterSeconds <= 0 {
		t.Fatalf("quota answer %+v", err)
	}
	st, err := w.app.Status(ctx, partnerUser, "enr-res")
	if err != nil || !st.NextResendAt.Equal(t0.Add(domain.QuotaWindow)) {
		t.Fatalf("status next resend %v %v", st.NextResendAt, err)
	}
}

func TestResendDoesNotEnumerate(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	ctx := context.Background()
	type answer struct {
		res  app.ResendResult
		code string
	}
	seq := func(cmd app.ResendCommand) []answer {
		var out []answer
		for _, step := range []time.Duration{0, 10 * time.Second, 50 * time.Second} {
			w.clock.Advance(step)
			r, err := w.app.Resend(ctx, partnerUser, cmd)
			out = append(out, answer{r, code(err)})
		}
		w.clock.Advance(-time.Minute)
		return out
	}
	for _, pair := range [][2]app.ResendCommand{
		{{Email: "taro@example.co.jp"}, {Email: "nobody@example.co.jp"}},
		{{EnrollmentID: "enr-res"}, {EnrollmentID: "enr-unknown"}},
		{{EnrollmentID: "enr-net"}, {EnrollmentID: "enr-of-p2"}},
	} {
		known, unknown := seq(pair[0]), seq(pair[1])
		if fmt.Sprint(known) != fmt.Sprint(unknown) {
			t.Errorf("answers differ:\nknown   %v\nunknown %v", known, unknown)
		}
		if known[1].code != app.CodeResendThrottled {
			t.Errorf("cooldown not applied: %v", known)
		}
	}
	// the known address did get its mails (both enrollments, twice each) and the old link died
	if n := countEvents(w.repo.published(), "verification_mail.requested"); n != 2+2*2+2+2 {
		t.Errorf("%d mails", n)
	}
}

func TestResendByAddressSupersedesBothEnrollments(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	ctx := context.Background()
	old := w.secret(t, "enr-net").Token
	if _, err := w.app.Resend(ctx, auth.Principal{}, app.ResendCommand{Email: "Taro@Example.co.jp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.app.ConfirmByLink(ctx, old); code(err) != app.CodeChallengeSuperseded {
		t.Fatalf("old link: %v", err)
	}
	if _, err := w.app.ConfirmByLink(ctx, w.secret(t, "enr-net").Token); err != nil {
		t.Fatalf("new link: %v", err)
	}
	// confirmed: a resend answers the same but sends nothing for that enrollment
	w.clock.Advance(time.Minute)
	before := countEvents(w.repo.published(), "verification_mail.requested")
	if _, err := w.app.Resend(ctx, auth.Principal{}, app.ResendCommand{Email: "taro@example.co.jp"}); err != nil {
		t.Fatal(err)
	}
	if got := countEvents(w.repo.published(), "verification_mail.requested") - before; got != 1 {
		t.Fatalf("%d mails, want 1 (only the unconfirmed enrollment)", got)
	}
	if _, err := w.app.Resend(ctx, auth.Principal{}, app.ResendCommand{}); apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("empty command: %v", err)
	}
	if _, err := w.app.Resend(ctx, auth.Principal{}, app.ResendCommand{EnrollmentID: "enr-net"}); apperr.KindOf(err) != apperr.KindUnauthenticated {
		t.Fatalf("anonymous by enrollment: %v", err)
	}
}

func TestDisputeThenConfirmWithdraws(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	ctx := context.Background()
	s := w.secret(t, "enr-res")
	if err := w.app.Dispute(ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	st, _ := w.app.Status(ctx, partnerUser, "enr-res")
	if st.State != domain.StateDisputed || !st.DisputeOpen || !st.DisputedAt.Equal(t0) {
		t.Fatalf("status %+v", st)
	}
	if err := w.app.Dispute(ctx, "garbage"); code(err) != app.CodeTokenMalformed {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := w.app.ConfirmByLink(ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	evs := w.repo.published()
	if countEvents(evs, "challenge.disputed") != 1 || countEvents(evs, "dispute.withdrawn") != 1 {
		t.Fatalf("events %v", evs)
	}
	st, _ = w.app.Status(ctx, partnerUser, "enr-res")
	if st.State != domain.StateConfirmed || st.DisputeOpen {
		t.Fatalf("status %+v", st)
	}
}

func TestStatus(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	ctx := context.Background()
	st, err := w.app.Status(ctx, partnerUser, "enr-res")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != domain.StatePending || !st.ExpiresAt.Equal(t0.Add(72*time.Hour)) || st.WrongCodesLeft != 5 ||
		!st.NextResendAt.Equal(t0) || st.Address != "taro@example.co.jp" || st.Program != "reseller_indirect" {
		t.Fatalf("status %+v", st)
	}
	if _, err := w.app.Resend(ctx, partnerUser, app.ResendCommand{EnrollmentID: "enr-res"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := w.app.Status(ctx, partnerUser, "enr-res"); !st.NextResendAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("next resend %v", st.NextResendAt)
	}
	other := auth.Principal{Subject: "x", PartnerID: "p-2", Roles: []auth.Role{auth.RolePartnerAdmin}}
	for _, id := range []string{"enr-res", "missing"} {
		if _, err := w.app.Status(ctx, other, id); code(err) != app.CodeNotFound {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if _, err := w.app.Status(ctx, auth.Principal{Subject: "op", Roles: []auth.Role{auth.RoleOperator}}, "enr-res"); err != nil {
		t.Fatalf("operator: %v", err)
	}
}

func TestExpireDue(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	ctx := context.Background()
	if n, err := w.app.ExpireDue(ctx, t0.Add(72*time.Hour-time.Second)); n != 0 || err != nil {
		t.Fatalf("early: %d %v", n, err)
	}
	if n, err := w.app.ExpireDue(ctx, t0.Add(72*time.Hour)); n != 2 || err != nil {
		t.Fatalf("due: %d %v", n, err)
	}
	if n, _ := w.app.ExpireDue(ctx, t0.Add(80*time.Hour)); n != 0 {
		t.Fatalf("expired twice: %d", n)
	}
	if got := countEvents(w.repo.published(), "challenge.expired"); got != 2 {
		t.Fatalf("%d expired events", got)
	}
	if st, _ := w.app.Status(ctx, partnerUser, "enr-net"); st.State != domain.StateExpired {
		t.Fatalf("state %s", st.State)
	}
}

// TestStreamReaderCannotConfirm plays someone who reads every event on the
// stream but lacks the notifier's private key: every string in every event
// payload (and its base64 decodings, and every 6-digit run in it) is tried as
// a link token and as a code; none confirms. The key holder can. The same
// attack against an unsealed secret must succeed, or the harness is blind.
func TestStreamReaderCannotConfirm(t *testing.T) {
	w := newWorld(t)
	w.open(t)
	// Positive control on a copy, before the attack's wrong codes can lock anything.
	keyHolder := w.fork(t)
	if _, err := keyHolder.app.ConfirmByLink(context.Background(), keyHolder.secret(t, "enr-res").Token); err != nil {
		t.Fatalf("the key holder cannot confirm: %v", err)
	}
	if s, tried := attackFromStream(t, w); s != "" {
		t.Fatalf("confirmed with %q taken from the stream", s)
	} else {
		t.Logf("tried %d strings", tried)
	}
	if countEvents(w.repo.published(), "ownership.confirmed") != 0 {
		t.Fatal("confirmed")
	}

	leaky := newWorld(t)
	leaky.deps.Sealer = identitySealer{}
	leaky.clearText = true
	var err error
	if leaky.app, err = app.New(leaky.deps); err != nil {
		t.Fatal(err)
	}
	leaky.open(t)
	if s, _ := attackFromStream(t, leaky); s == "" {
		t.Fatal("harness check: the attack did not find a clear-text secret")
	}
}

// attackFromStream returns the first event string that confirmed, and the
// number of attempts.
func attackFromStream(t *testing.T, w *world) (string, int) {
	t.Helper()
	ctx := context.Background()
	var candidates []string
	for _, e := range w.repo.published() {
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		candidates = append(candidates, strings_(v)...)
	}
	if !containsSealedBlob(candidates) {
		t.Fatal("the secret blob is not among the candidates: the test would prove nothing")
	}
	// Links first, then codes: wrong codes lock a challenge, and an attack
	// that locks itself out before trying the tokens proves nothing.
	tried := 0
	for _, c := range candidates {
		for _, s := range expand(c) {
			if _, err := w.app.ConfirmByLink(ctx, s); err == nil {
				return s, tried
			}
			tried++
		}
	}
	for _, c := range candidates {
		for _, s := range expand(c) {
			for _, enr := range []string{"enr-net", "enr-res"} {
				if _, err := w.app.ConfirmByCode(ctx, partnerUser, app.ConfirmByCodeCommand{EnrollmentID: enr, Code: s}); err == nil {
					return s, tried
				}
			}
			tried++
		}
	}
	return "", tried
}

func strings_(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, k)
			out = append(out, strings_(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, strings_(e)...)
		}
		return out
	}
	return nil
}

// expand yields the string, its base64 decodings re-encoded as base64url,
// and every 6-digit window of digits in it.
func expand(s string) []string {
	out := []string{s}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		out = append(out, base64.RawURLEncoding.EncodeToString(b))
		var inner any
		if json.Unmarshal(b, &inner) == nil {
			for _, x := range strings_(inner) {
				out = append(out, expand(x)...)
			}
		}
		for i := 0; i+32 <= len(b); i++ {
			out = append(out, base64.RawURLEncoding.EncodeToString(b[i:i+32]))
		}
	}
	for i := 0; i+6 <= len(s); i++ {
		if _, err := domain.ParseCode(s[i : i+6]); err == nil {
			out = append(out, s[i:i+6])
		}
	}
	return out
}

func containsSealedBlob(cands []string) bool {
	for _, c := range cands {
		if b, err := base64.StdEncoding.DecodeString(c); err == nil && len(b) > 32 {
			return true
		}
	}
	return false
}

// TestStatusForUpstreamSystems: an upstream system reads the proofs of the
// partners it registered only — an enrollment added later takes the
// registrant of the partner's first one — and every upstream system those
// stored before the registrant was recorded.
func TestStatusForUpstreamSystems(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cmd := openCmd()
	cmd.RegisteredBy = "up-a"
	if _, err := w.app.OpenChallenges(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	added := app.OpenChallengesCommand{Enrollments: []app.Enrollment{{EnrollmentID: "enr-prov", Program: "indirect_provider"}},
		Addressee: app.Addressee{PartnerID: "p-1", Email: "taro@example.co.jp", Language: "ja", Market: "JP", CausationID: "evt-2"}}
	if _, err := w.app.OpenChallenges(ctx, added); err != nil {
		t.Fatal(err)
	}
	legacy := app.OpenChallengesCommand{Enrollments: []app.Enrollment{{EnrollmentID: "enr-old", Program: "partner_network"}},
		Addressee: app.Addressee{PartnerID: "p-9", Email: "old@example.co.jp", Language: "ja", Market: "JP", CausationID: "evt-3"}}
	if _, err := w.app.OpenChallenges(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	upstream := func(sub string) auth.Principal {
		return auth.Principal{Kind: auth.KindService, Subject: sub, Roles: []auth.Role{auth.RoleUpstreamSystem}}
	}
	for _, id := range []string{"enr-net", "enr-prov"} {
		if _, err := w.app.Status(ctx, upstream("up-a"), id); err != nil {
			t.Errorf("the registrant, %s: %v", id, err)
		}
		if _, err := w.app.Status(ctx, upstream("up-b"), id); code(err) != app.CodeNotFound {
			t.Errorf("another upstream system, %s: %v", id, err)
		}
	}
	if _, err := w.app.Status(ctx, upstream("up-b"), "enr-old"); err != nil {
		t.Errorf("a proof without a registrant: %v", err)
	}
}
