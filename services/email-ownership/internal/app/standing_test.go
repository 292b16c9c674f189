package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/emailownership/internal/app"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// TestSuspensionCancelsAndReinstatementRestores: a partner suspended while
// its reseller enrollment's challenge is open has it cancelled (the link
// shows it, resend is refused silently); the confirmed network enrollment
// is left alone. Active again, only the cancelled challenge is restored: a
// fresh challenge and mail.
func TestSuspensionCancelsAndReinstatementRestores(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.open(t)
	if _, err := w.app.ConfirmByLink(ctx, w.secret(t, "enr-net").Token); err != nil {
		t.Fatal(err)
	}
	old := w.secret(t, "enr-res").Token
	at := t0.Add(time.Hour)
	if err := w.app.ApplyStandingChanged(ctx, app.StandingChangedCommand{PartnerID: "p-1", Status: "suspended", ChangedAt: at}); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(w.repo.published(), "challenge.cancelled"); n != 1 {
		t.Fatalf("%d cancelled events, want 1 (the confirmed enrollment is left alone)", n)
	}
	if _, err := w.app.ConfirmByLink(ctx, old); code(err) != app.CodeNotInGoodStanding {
		t.Fatalf("confirm while suspended: %v", err)
	}
	before := countEvents(w.repo.published(), "challenge.opened")
	w.clock.Advance(2 * time.Minute)
	if _, err := w.app.Resend(ctx, partnerUser, app.ResendCommand{EnrollmentID: "enr-res"}); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(w.repo.published(), "challenge.opened"); n != before {
		t.Fatal("a resend while suspended opened a challenge")
	}
	// A replayed, older change does nothing; then active again.
	if err := w.app.ApplyStandingChanged(ctx, app.StandingChangedCommand{PartnerID: "p-1", Status: "active", ChangedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := w.app.ApplyStandingChanged(ctx, app.StandingChangedCommand{PartnerID: "p-1", Status: "active", ChangedAt: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var reinstated []domain.ChallengeOpened
	for _, e := range w.repo.published() {
		if o, ok := e.(domain.ChallengeOpened); ok && o.Reason == domain.ReasonReinstated {
			reinstated = append(reinstated, o)
		}
	}
	if len(reinstated) != 1 || reinstated[0].EnrollmentID != "enr-res" {
		t.Fatalf("reinstated challenges %+v", reinstated)
	}
	if _, err := w.app.ConfirmByLink(ctx, w.secret(t, "enr-res").Token); err != nil {
		t.Fatalf("the restored challenge confirms: %v", err)
	}
}

// TestClosureIsFinal: a closed partner's challenges are cancelled and never
// restored.
func TestClosureIsFinal(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.open(t)
	w.app.ApplyStandingChanged(ctx, app.StandingChangedCommand{PartnerID: "p-1", Status: "closed", ChangedAt: t0.Add(time.Hour)})
	w.app.ApplyStandingChanged(ctx, app.StandingChangedCommand{PartnerID: "p-1", Status: "active", ChangedAt: t0.Add(2 * time.Hour)})
	if n := countEvents(w.repo.published(), "challenge.cancelled"); n != 2 {
		t.Fatalf("%d cancelled", n)
	}
	for _, e := range w.repo.published() {
		if o, ok := e.(domain.ChallengeOpened); ok && o.Reason == domain.ReasonReinstated {
			t.Fatalf("a closed partner's challenge was restored: %+v", o)
		}
	}
}
