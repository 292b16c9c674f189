package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// TestNewsIsToldAgainstWhatWasSent: the provider was told its reseller's
// access is on hold (seq 1). Then the access came back (2), went (3) and
// came back (4) — recorded 4, 3, 2, as two durables may deliver them: one
// mail, "access works again" (4), goes when 4's state has settled; 3 and
// 2 are superseded. News older than what was told (an event of seq 3
// arriving after 4 was sent) is superseded at once.
func TestNewsIsToldAgainstWhatWasSent(t *testing.T) {
	const settle = time.Minute
	w := newWorld(t, func(d *app.Deps) { d.Settle = settle })
	ctx := context.Background()
	if err := w.app.RecordContact(ctx, contact("PG-SAKURA")); err != nil {
		t.Fatal(err)
	}
	news := func(id, template string, seq uint64) {
		t.Helper()
		r := domain.MailRequest{ID: id, Category: domain.CategoryTransactional, PartnerID: "PG-SAKURA", TemplateID: template,
			Thread: "access:gr-1:reseller", ThreadSeq: seq, Data: []byte(`{"relationship":{"grant_id":"gr-1","reseller_id":"PG-RES"}}`)}
		if _, err := w.app.Accept(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	status := func(id string) string {
		t.Helper()
		d, err := w.repo.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return string(d.Status()) + " " + string(d.FailReason())
	}

	news("held-1", mails.AccessSuspended, 1)
	if got := status("held-1"); got != "pending " {
		t.Fatalf("held-1 is %s, want pending while it settles", got)
	}
	w.clock.Set(t0.Add(settle))
	w.deliver(t)
	if got := status("held-1"); got != "delivered " {
		t.Fatalf("held-1 is %s once settled, want delivered", got)
	}

	w.clock.Set(t0.Add(2 * settle))
	news("back-4", mails.AccessReinstated, 4)
	news("held-3", mails.AccessSuspended, 3)
	news("back-2", mails.AccessReinstated, 2)
	w.clock.Set(t0.Add(3*settle - time.Second))
	w.deliver(t)
	if got := status("back-4"); got != "pending " {
		t.Fatalf("back-4 is %s before its state settled, want pending", got)
	}
	w.clock.Set(t0.Add(3 * settle))
	w.deliver(t)
	for id, want := range map[string]string{"held-1": "delivered ", "back-4": "delivered ", "held-3": "suppressed superseded",
		"back-2": "suppressed superseded"} {
		if got := status(id); got != want {
			t.Errorf("%s is %s, want %s", id, got, want)
		}
	}
	news("held-3-again", mails.AccessSuspended, 3)
	if got := status("held-3-again"); got != "suppressed superseded" {
		t.Errorf("news older than what was told is %s, want suppressed superseded", got)
	}
	if n := len(w.sender.sent); n != 2 {
		t.Errorf("%d mails sent, want 2", n)
	}
}
