// Package events connects the verification app to the bus: outbound, it maps
// domain events to the published language (pkg/events/verification/v1);
// inbound, it turns consumed CloudEvents into use-case calls.
package events

import (
	"fmt"
	"slices"
	"time"

	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// ClaimPathPrefix is where a verifier claims a task over HTTP; the task
// created event tells verifier services the full path.
const ClaimPathPrefix = "/v1/verification/tasks/"

// ToDrafts maps the domain events of one change to outbox drafts. Subject
// (and partition key) is the global partner id.
func ToDrafts(evs []domain.Event) ([]outbox.Draft, error) {
	out := make([]outbox.Draft, 0, len(evs))
	for _, e := range evs {
		typ, data, err := Payload(e)
		if err != nil {
			return nil, err
		}
		out = append(out, outbox.Draft{Type: typ, Subject: partnerOf(e), Data: data})
	}
	return out, nil
}

func partnerOf(e domain.Event) string {
	if m, ok := e.(interface{ Meta() domain.EventMeta }); ok {
		return m.Meta().PartnerID
	}
	return ""
}

// Payload returns the CloudEvent type and payload of a domain event.
func Payload(e domain.Event) (string, any, error) {
	utc := func(t time.Time) time.Time { return t.UTC() }
	switch e := e.(type) {
	case domain.CaseOpened:
		checks := make([]string, len(e.Checks))
		for i, k := range e.Checks {
			checks[i] = string(k)
		}
		return verificationv1.TypeCaseOpened, verificationv1.CaseOpened{CaseID: e.CaseID, PartnerID: e.PartnerID,
			LocationID: e.LocationID, Market: e.Market, Enrollments: enrollments(e.Enrollments), Checks: checks, OpenedAt: utc(e.At)}, nil
	case domain.CheckStateChanged:
		out := verificationv1.CheckStateChanged{CaseID: e.CaseID, PartnerID: e.PartnerID,
			Check: string(e.Check), From: string(e.From), To: string(e.To), Reason: string(e.Reason), Mode: string(e.Mode), At: utc(e.At)}
		if ev := e.Evidence; ev != nil {
			out.Evidence = &verificationv1.Evidence{Kind: string(ev.Kind), Detail: ev.Detail}
		}
		return verificationv1.TypeCheckStateChanged, out, nil
	case domain.DocumentsSatisfied:
		return verificationv1.TypeDocumentsSatisfied, verificationv1.DocumentsSatisfied{CaseID: e.CaseID, PartnerID: e.PartnerID,
			Check: string(e.Check), By: e.By, At: utc(e.At)}, nil
	case domain.CaseReopened:
		return verificationv1.TypeCaseReopened, verificationv1.CaseReopened{CaseID: e.CaseID, PartnerID: e.PartnerID,
			From: string(e.From), Reason: e.Reason, Note: e.Note, TaskID: e.TaskID, ReopenedBy: e.By, ReopenedAt: utc(e.At)}, nil
	case domain.CaseWithdrawal:
		return verificationv1.TypeCaseWithdrawn, verificationv1.CaseWithdrawn{CaseID: e.CaseID, PartnerID: e.PartnerID,
			From: string(e.From), To: string(e.To), Reason: e.Reason, TasksCancelled: e.TasksCancelled, WithdrawnAt: utc(e.At)}, nil
	case domain.ReviewTaskCreated:
		return verificationv1.TypeReviewTaskCreated, taskCreated(e), nil
	case domain.ReviewTaskClaimed:
		return verificationv1.TypeReviewTaskClaimed, verificationv1.ReviewTaskClaimed{CaseID: e.CaseID, PartnerID: e.PartnerID,
			TaskID: e.TaskID, Check: string(e.Check), Verifier: e.Verifier, LeaseUntil: utc(e.LeaseUntil), Renewed: e.Renewed, At: utc(e.At)}, nil
	case domain.ReviewTaskReleased:
		return verificationv1.TypeReviewTaskReleased, verificationv1.ReviewTaskReleased{CaseID: e.CaseID, PartnerID: e.PartnerID,
			TaskID: e.TaskID, Check: string(e.Check), Verifier: e.Verifier, Reason: e.Reason, At: utc(e.At)}, nil
	case domain.ReviewTaskOverdue:
		return verificationv1.TypeReviewTaskOverdue, verificationv1.ReviewTaskOverdue{CaseID: e.CaseID, PartnerID: e.PartnerID,
			TaskID: e.TaskID, Check: string(e.Check), DueAt: utc(e.DueAt), ClaimedBy: e.ClaimedBy, At: utc(e.At)}, nil
	case domain.DecisionRecorded:
		return verificationv1.TypeDecisionRecorded, verificationv1.DecisionRecorded{CaseID: e.CaseID, PartnerID: e.PartnerID,
			DecisionID: e.DecisionID, TaskID: e.TaskID, Check: string(e.Check), Verifier: e.Verifier, Outcome: string(e.Outcome),
			Reason: string(e.Reason), Mode: string(e.Mode), ApplicantMessage: e.ApplicantMessage, Status: string(e.Status),
			Confirms: e.Confirms, At: utc(e.At)}, nil
	case domain.DocumentsRequested:
		out := verificationv1.DocumentsRequested{CaseID: e.CaseID, PartnerID: e.PartnerID,
			Check: string(e.Check), Reason: string(e.Reason), ApplicantMessage: e.ApplicantMessage,
			AcceptedDocuments: docTypes(e.AcceptedDocuments), DueAt: utc(e.DueAt), BusinessDaysLeft: e.BusinessDaysLeft,
			AppealsRemaining: e.AppealsRemaining, ContactEmail: e.ContactEmail, At: utc(e.At)}
		if dp := e.DomainProof; dp != nil {
			out.DomainProof = &verificationv1.DomainProof{Domain: dp.Domain, DNSTXTName: dp.TXTName(), DNSTXTValue: dp.Value(),
				HTTPURL: dp.URL(), HTTPBody: dp.Value()}
		}
		return verificationv1.TypeDocumentsRequested, out, nil
	case domain.DocumentAccepted:
		return verificationv1.TypeDocumentAccepted, verificationv1.DocumentAccepted{CaseID: e.CaseID, PartnerID: e.PartnerID,
			DocumentID: e.DocumentID, Check: string(e.Check), Type: string(e.Type), SHA256: e.SHA256,
			AppealsRemaining: e.AppealsRemaining, At: utc(e.At)}, nil
	case domain.ReminderDue:
		return verificationv1.TypeReminderDue, verificationv1.ReminderDue{CaseID: e.CaseID, PartnerID: e.PartnerID,
			Check: string(e.Check), Reason: string(e.Reason), DueAt: utc(e.DueAt), BusinessDaysLeft: e.BusinessDaysLeft,
			LeadSeconds:       int64(e.Lead / time.Second),
			AcceptedDocuments: docTypes(e.AcceptedDocuments), ContactEmail: e.ContactEmail, At: utc(e.At)}, nil
	case domain.VerificationApproved:
		return verificationv1.TypeVerificationApproved, verificationv1.VerificationApproved{CaseID: e.CaseID, PartnerID: e.PartnerID,
			LocationID: e.LocationID, Market: e.Market, DecisionID: e.DecisionID, Enrollments: enrollments(e.Enrollments), ApprovedAt: utc(e.At)}, nil
	case domain.VerificationRejected:
		return verificationv1.TypeVerificationRejected, verificationv1.VerificationRejected{CaseID: e.CaseID, PartnerID: e.PartnerID,
			LocationID: e.LocationID, Market: e.Market, DecisionID: e.DecisionID, Enrollments: enrollments(e.Enrollments),
			FailingCheck: string(e.FailingCheck), SubStatus: e.SubStatus, Reason: string(e.Reason), Mode: string(e.Mode),
			ApplicantMessage: e.ApplicantMessage, RejectedAt: utc(e.At)}, nil
	case domain.ProfileCheckDecided:
		outcome := "failed"
		if e.Passed {
			outcome = "passed"
		}
		return verificationv1.TypeProfileCheckDecided, verificationv1.ProfileCheckDecided{CaseID: e.CaseID, PartnerID: e.PartnerID,
			ChangeNumber: e.ChangeNumber, TaskID: e.TaskID, Check: string(e.Check), Outcome: outcome, Reason: string(e.Reason),
			ApplicantMessage: e.ApplicantMessage, DecisionID: e.DecisionID, Verifier: e.Verifier, DecidedAt: utc(e.At)}, nil
	case domain.VerificationRevoked:
		return verificationv1.TypeVerificationRevoked, verificationv1.VerificationRevoked{CaseID: e.CaseID, PartnerID: e.PartnerID,
			LocationID: e.LocationID, Market: e.Market, DecisionID: e.DecisionID, RevokedApprovalID: e.RevokedApprovalID,
			Reason: e.Reason, RevokedAt: utc(e.At)}, nil
	case domain.ReviewOpened, domain.DuplicateClaimReviewStarted, domain.DuplicateClaimDecided, domain.EmailDisputeDecided:
		return reviewPayload(e)
	}
	// A new domain event without a mapping is a programming error; failing
	// the transaction beats silently dropping the fact.
	return "", nil, fmt.Errorf("events: no published type for domain event %T", e)
}

func taskCreated(e domain.ReviewTaskCreated) verificationv1.ReviewTaskCreated {
	c := e.Content
	out := verificationv1.ReviewTaskCreated{
		CaseID: e.CaseID, PartnerID: e.PartnerID, TaskID: e.TaskID, Check: string(e.Check), Round: e.Round,
		LocationID: c.LocationID, Market: c.Market,
		Submitted: verificationv1.CompanyFacts{LegalName: c.Submitted.LegalName, Phone: c.Submitted.Phone,
			RegistrationNumber: c.Submitted.RegistrationNumber, Address: verificationv1.Address{
				Line1: c.Submitted.Address.Line1, Line2: c.Submitted.Address.Line2, City: c.Submitted.Address.City,
				Prefecture: c.Submitted.Address.Prefecture, PostalCode: c.Submitted.Address.PostalCode}},
		Normalized:   verificationv1.NormalizedFacts(c.Normalized),
		ContactEmail: c.ContactEmail, ContactDomain: c.ContactDomain, WebsiteDomain: c.WebsiteDomain,
		RespondsTo: string(c.RespondsTo), ProfileChange: c.ProfileChange, Documents: []verificationv1.DocumentMeta{}, ReasonCodes: ReasonCodesFor(e.Check),
		EarlierAccounts: earlierAccounts(c.EarlierAccounts),
		CreatedAt:       e.At.UTC(), DueAt: e.DueAt.UTC(),
		Decide: verificationv1.DecisionGuidance{EventType: intakev1.TypeVerificationDecisionSubmitted,
			ClaimPath: ClaimPathPrefix + e.TaskID + "/claim"},
	}
	if pc := c.PreCheck; pc != nil {
		p := &verificationv1.PreCheck{Result: string(pc.Result), Source: pc.Source, SuggestedReason: string(pc.SuggestedReason),
			Error: pc.Error, CheckedAt: pc.CheckedAt.UTC()}
		if pc.Record != nil {
			rec := verificationv1.RegisterRecord(*pc.Record)
			p.Record = &rec
		}
		for _, d := range pc.Differences {
			p.Differences = append(p.Differences, verificationv1.Difference(d))
		}
		out.PreCheck = p
	}
	for _, d := range c.Documents {
		out.Documents = append(out.Documents, verificationv1.DocumentMeta{DocumentID: d.ID, Check: string(d.Check),
			Type: string(d.Type), IssuedOn: d.IssuedOn, SHA256: d.SHA256, SizeBytes: d.SizeBytes, MediaType: d.MediaType,
			StorageURI: d.StorageURI, SubmittedAt: d.SubmittedAt.UTC(), Status: string(d.Status)})
	}
	return out
}

// ReasonCodesFor lists the catalog reasons a verifier may use on check k, sorted.
func ReasonCodesFor(k domain.CheckKind) []string {
	out := []string{}
	for code, r := range domain.Reasons {
		if r.AppliesTo(k) {
			out = append(out, string(code))
		}
	}
	slices.Sort(out)
	return out
}

func enrollments(es []domain.Enrollment) []verificationv1.Enrollment {
	out := make([]verificationv1.Enrollment, len(es))
	for i, e := range es {
		out[i] = verificationv1.Enrollment{EnrollmentID: e.ID, Program: string(e.Program)}
	}
	return out
}

func docTypes(ds []domain.DocumentType) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d)
	}
	return out
}

// earlierAccounts maps the case's earlier accounts to the contract's.
func earlierAccounts(as []domain.EarlierAccount) []registrationv1.EarlierAccount {
	var out []registrationv1.EarlierAccount
	for _, a := range as {
		out = append(out, registrationv1.EarlierAccount(a))
	}
	return out
}
