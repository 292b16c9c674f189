package events_test

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/contract"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	"github.com/partnerhub/onboarding/services/emailownership/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/emailownership/internal/domain"
)

// TestEveryPublishedPayloadMatchesItsSchema maps a realistic instance of
// every domain event and validates the payload against schemas/.
func TestEveryPublishedPayloadMatchesItsSchema(t *testing.T) {
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	h := domain.EventHeader{EnrollmentID: "PG-7K2M9Q-RES", PartnerID: "PG-7K2M9Q", Program: "indirect_reseller",
		ChallengeID: "0195f3a2-7c1e-7b3a-9d4e-1f2a3b4c5d6e", OccurredAt: at}
	sealed := make([]byte, 140)
	for i := range sealed {
		sealed[i] = byte(i * 7)
	}
	cases := []struct {
		ev    domain.Event
		typ   string
		class string
	}{
		{domain.ChallengeOpened{EventHeader: h, Reason: domain.ReasonRegistration, ExpiresAt: at.Add(72 * time.Hour)}, emailv1.TypeChallengeOpened, ""},
		{domain.ChallengeOpened{EventHeader: h, Reason: domain.ReasonResend, ExpiresAt: at.Add(72 * time.Hour), Supersedes: []string{"c-0"}}, emailv1.TypeChallengeOpened, ""},
		{domain.VerificationMailRequested{EventHeader: h, Recipient: "taro@yamada.example.co.jp", ContactName: "山田 太郎",
			Language: domain.LanguageJA, Market: "JP", TemplateID: domain.TemplateVerifyEmail, ExpiresAt: at.Add(72 * time.Hour), SealedSecret: sealed},
			emailv1.TypeVerificationMailRequested, emailv1.DataClassificationRestricted},
		{domain.OwnershipConfirmed{EventHeader: h, Address: "taro@yamada.example.co.jp", Method: domain.MethodLink}, emailv1.TypeOwnershipConfirmed, ""},
		{domain.ChallengeExpired{EventHeader: h, ExpiredAt: at}, emailv1.TypeChallengeExpired, ""},
		{domain.ChallengeDisputed{EventHeader: h, Address: "taro@yamada.example.co.jp"}, emailv1.TypeChallengeDisputed, ""},
		{domain.ChallengeLocked{EventHeader: h, WrongCodes: 5}, emailv1.TypeChallengeLocked, ""},
		{domain.DisputeWithdrawn{EventHeader: h, DisputedChallengeID: "c-0"}, emailv1.TypeDisputeWithdrawn, ""},
		{domain.ChallengeWithdrawn{EventHeader: h, ProfileChange: 3, Cause: domain.WithdrawnSuperseded}, emailv1.TypeChallengeWithdrawn, ""},
		{domain.DisputeUpheld{EventHeader: h, ReviewID: "vr-1", Address: "taro@yamada.example.co.jp"}, emailv1.TypeDisputeUpheld, ""},
		{domain.DisputeDismissed{EventHeader: h, ReviewID: "vr-1", Address: "taro@yamada.example.co.jp", Reason: "insufficient_evidence"}, emailv1.TypeDisputeDismissed, ""},
	}
	for _, c := range cases {
		t.Run(c.ev.EventName(), func(t *testing.T) {
			d, err := events.Draft(c.ev)
			if err != nil {
				t.Fatal(err)
			}
			if d.Type != c.typ || d.Subject != h.PartnerID || d.DataClassification != c.class {
				t.Fatalf("draft %s subject %s class %q", d.Type, d.Subject, d.DataClassification)
			}
			contract.MustValidate(t, d.Type, d.Data)
		})
	}
}
