// Package events connects the agreements service to the bus: inbound
// handlers turn registration and verification events into use-case calls
// (idempotently, through the inbox), and the outbound mapping turns domain
// events into the published language (pkg/events/agreements/v1).
package events

import (
	"fmt"
	"time"

	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Draft maps a domain event to its outbox draft. Subject and partition key
// are the global partner id; version events, which concern no partner, use
// the version id.
func Draft(e domain.Event) (outbox.Draft, error) {
	switch e := e.(type) {
	case domain.AgreementVersionPublished:
		markets := make([]string, len(e.Markets))
		for i, m := range e.Markets {
			markets[i] = string(m)
		}
		return outbox.Draft{Type: agreementsv1.TypeVersionPublished, Subject: e.VersionID, Data: agreementsv1.VersionPublished{
			VersionID: e.VersionID, Program: string(e.Program), Name: e.Name, Languages: e.Languages, Markets: markets,
			EffectiveFrom: e.EffectiveFrom, TextURL: e.TextURL, TextSHA256: string(e.TextSHA256), Policy: string(e.Policy),
			ReacceptanceWindowSeconds: int64(e.ReacceptanceWindow / time.Second), PublishedAt: e.PublishedAt, PublishedBy: e.PublishedBy,
		}}, nil
	case domain.AgreementVersionRetired:
		return outbox.Draft{Type: agreementsv1.TypeVersionRetired, Subject: e.VersionID, Data: agreementsv1.VersionRetired{
			VersionID: e.VersionID, Program: string(e.Program), RetiredAt: e.RetiredAt, RetiredBy: e.RetiredBy,
		}}, nil
	case domain.AcceptanceRecorded:
		return outbox.Draft{Type: agreementsv1.TypeAcceptanceRecorded, Subject: e.PartnerID, Data: agreementsv1.AcceptanceRecorded{
			AcceptanceID: e.AcceptanceID, PartnerID: e.PartnerID, LocationID: e.LocationID, EnrollmentID: e.EnrollmentID,
			Program: string(e.Program), Market: string(e.Market), VersionID: e.VersionID, TextSHA256: string(e.TextSHA256),
			AcceptorUserID: e.AcceptorUserID, AcceptorRole: e.AcceptorRole, AcceptedAt: e.AcceptedAt, EffectiveAt: e.EffectiveAt,
			VerificationDecisionID: e.VerificationDecisionID, SupersedesID: e.SupersedesID,
		}}, nil
	case domain.ReacceptanceRequired:
		return outbox.Draft{Type: agreementsv1.TypeReacceptanceRequired, Subject: e.PartnerID, Data: agreementsv1.ReacceptanceRequired{
			RequirementID: e.RequirementID, PartnerID: e.PartnerID, LocationID: e.LocationID, Program: string(e.Program),
			Market: string(e.Market), VersionID: e.VersionID, CurrentAcceptanceID: e.CurrentAcceptanceID, DueBy: e.DueBy,
		}}, nil
	case domain.ReacceptanceOverdue:
		return outbox.Draft{Type: agreementsv1.TypeReacceptanceOverdue, Subject: e.PartnerID, Data: agreementsv1.ReacceptanceOverdue{
			RequirementID: e.RequirementID, PartnerID: e.PartnerID, LocationID: e.LocationID, Program: string(e.Program),
			Market: string(e.Market), VersionID: e.VersionID, DueBy: e.DueBy, OverdueAt: e.OverdueAt,
		}}, nil
	case domain.ReacceptanceCancelled:
		return outbox.Draft{Type: agreementsv1.TypeReacceptanceCancelled, Subject: e.PartnerID, Data: agreementsv1.ReacceptanceCancelled{
			RequirementID: e.RequirementID, PartnerID: e.PartnerID, LocationID: e.LocationID, Program: string(e.Program),
			Market: string(e.Market), VersionID: e.VersionID, CurrentAcceptanceID: e.CurrentAcceptanceID, DueBy: e.DueBy,
			OverdueAt: e.OverdueAt, Reason: e.Reason, CancelledAt: e.CancelledAt,
		}}, nil
	case domain.AcceptanceSuspended:
		return outbox.Draft{Type: agreementsv1.TypeAcceptanceSuspended, Subject: e.PartnerID, Data: agreementsv1.AcceptanceSuspended{
			AcceptanceID: e.AcceptanceID, PartnerID: e.PartnerID, LocationID: e.LocationID, Program: string(e.Program),
			Market: string(e.Market), DecisionID: e.DecisionID, Outcome: e.Outcome, Reasons: e.Reasons, At: e.At,
		}}, nil
	case domain.AcceptanceReinstated:
		return outbox.Draft{Type: agreementsv1.TypeAcceptanceReinstated, Subject: e.PartnerID, Data: agreementsv1.AcceptanceReinstated{
			AcceptanceID: e.AcceptanceID, PartnerID: e.PartnerID, LocationID: e.LocationID, Program: string(e.Program),
			Market: string(e.Market), DecisionID: e.DecisionID, At: e.At,
		}}, nil
	case domain.AcceptanceRefused:
		return outbox.Draft{Type: agreementsv1.TypeAcceptanceRefused, Subject: e.PartnerID, Data: agreementsv1.AcceptanceRefused{
			PendingAcceptanceID: e.PendingID, PartnerID: e.PartnerID, Program: string(e.Program), Market: string(e.Market),
			VersionID: e.VersionID, Code: e.Code, RequestedAt: e.RequestedAt, RefusedAt: e.RefusedAt,
		}}, nil
	}
	return outbox.Draft{}, fmt.Errorf("no published form for domain event %T", e)
}
