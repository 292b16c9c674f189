package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

// TestPublishedPayloadsMatchSchemas maps every delivery event and validates
// the payloads against schemas/.
func TestPublishedPayloadsMatchSchemas(t *testing.T) {
	h := domain.Header{ChallengeID: "0195f3a2-7c1e-7b3a-9d4e-1f2a3b4c5d6e", EnrollmentID: "PG-7K2M9Q-RES", PartnerID: "PG-7K2M9Q",
		Program: "indirect_reseller", TemplateID: "email_ownership.verify.v1", OccurredAt: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	drafts, err := events.Drafts([]domain.Event{
		domain.MailDelivered{Header: h, Attempts: 2},
		domain.MailDeliveryFailed{Header: h, Attempts: 3, Reason: domain.ReasonPermanent, LastError: "550 5.1.1 no such user"},
		domain.MailDeliveryFailed{Header: h, Attempts: 0, Reason: domain.ReasonExpired, LastError: strings.Repeat("x", 900)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{notifierv1.TypeMailDelivered, notifierv1.TypeMailFailed, notifierv1.TypeMailFailed}
	for i, d := range drafts {
		if d.Type != want[i] || d.Subject != h.PartnerID {
			t.Fatalf("draft %d: %s %s", i, d.Type, d.Subject)
		}
		contract.MustValidate(t, d.Type, d.Data)
	}
	if f := drafts[2].Data.(notifierv1.MailFailed); len(f.LastError) > 500 {
		t.Fatal("last error not bounded")
	}
}
