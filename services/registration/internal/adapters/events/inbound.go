package events

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Handlers consume what registration reacts to.
type Handlers struct {
	App       *app.App
	Repo      *postgres.Repository
	Pool      *pgxpool.Pool
	Outbox    *outbox.Writer
	Directory *auth.Directory
}

// Subscriptions are the events registration consumes, each handled once
// (inbox) in the transaction of its effects. On a nil *Handlers they are
// the declaration the deployment reads.
func (h *Handlers) Subscriptions() []bus.Subscription {
	return []bus.Subscription{
		// One durable over every intake registration subject: an unknown
		// type there is dead-lettered with cloudevent.unknown_type.
		// An upstream system that reuses an intake id for other data is
		// answered (OnRegistrationReused), not dropped as a redelivery.
		{Type: intakev1.TypeRegistrationRequested, Filter: "intake.registration.>", Inbox: "on_registration_requested", Handle: h.OnRegistrationRequested, Reused: h.OnRegistrationReused},
		{Type: verificationv1.TypeVerificationApproved, Inbox: "on_verification_approved", Handle: h.OnVerificationApproved},
		{Type: verificationv1.TypeVerificationRejected, Inbox: "on_verification_rejected", Handle: h.OnVerificationRejected},
		{Type: agreementsv1.TypeAcceptanceRecorded, Inbox: "on_acceptance_recorded", Handle: h.OnAcceptanceRecorded},
		// A new agreement version to accept by a deadline, and one not
		// accepted by it: the program's enrollments show it, then have no
		// agreement in force (since round 44). Only when an operator
		// publishes a version that requires it: nothing on an onboarding.
		{Type: agreementsv1.TypeReacceptanceRequired, Inbox: "on_reacceptance_required", Handle: h.OnReacceptanceRequired},
		{Type: agreementsv1.TypeReacceptanceOverdue, Inbox: "on_reacceptance_overdue", Handle: h.OnReacceptanceOverdue},
		{Type: agreementsv1.TypeReacceptanceCancelled, Inbox: "on_reacceptance_cancelled", Handle: h.OnReacceptanceCancelled},
		// A confirmed address is mostly bookkeeping here (verification's own
		// consumer drives the review; only an enrollment approved before its
		// address was confirmed moves on it, with a person to act next): the
		// partner's confirmations ride in the transaction of what comes next
		// on their worker, at most bus.ProjectionLinger later.
		{Type: emailv1.TypeOwnershipConfirmed, Inbox: "on_ownership_confirmed", Handle: h.OnOwnershipConfirmed, Linger: bus.ProjectionLinger},
		{Type: verificationv1.TypeVerificationRevoked, Inbox: "on_verification_revoked", Handle: h.OnVerificationRevoked},
		// The requirements view's documents: published only when verification
		// asks the applicant for something, so an onboarding without
		// documents costs nothing here.
		{Type: verificationv1.TypeDocumentsRequested, Inbox: "on_documents_requested", Handle: h.OnDocumentsRequested},
		{Type: verificationv1.TypeDocumentsSatisfied, Inbox: "on_documents_satisfied", Handle: h.OnDocumentsSatisfied},
		// Duplicate claims: verification's review of them.
		{Type: verificationv1.TypeDuplicateClaimReviewStarted, Inbox: "on_duplicate_claim_review_started", Handle: h.OnDuplicateClaimReviewStarted},
		{Type: verificationv1.TypeDuplicateClaimUpheld, Inbox: "on_duplicate_claim_upheld", Handle: h.OnDuplicateClaimDecided},
		// Refusals are v2 since round 47, v1 before (the same handler reads both).
		{Type: verificationv2.TypeDuplicateClaimRefused, Inbox: "on_duplicate_claim_refused", Handle: h.OnDuplicateClaimDecided},
		{Type: verificationv1.TypeDuplicateClaimRefused, Inbox: "on_duplicate_claim_refused", Handle: h.OnDuplicateClaimDecided},
		// A "this wasn't me" report of an enrollment's mail and what became of it
		// (the requirements view says it is under review, or the address removed).
		{Type: emailv1.TypeChallengeDisputed, Inbox: "on_challenge_disputed", Handle: h.OnChallengeDisputed},
		{Type: emailv1.TypeDisputeWithdrawn, Inbox: "on_dispute_withdrawn", Handle: h.OnDisputeWithdrawn},
		{Type: emailv1.TypeDisputeDismissed, Inbox: "on_dispute_dismissed", Handle: h.OnDisputeDismissed},
		{Type: emailv1.TypeDisputeUpheld, Inbox: "on_dispute_upheld", Handle: h.OnDisputeUpheld},
		// A profile change's re-opened company or employment check, decided.
		{Type: verificationv1.TypeProfileCheckDecided, Inbox: "on_profile_check_decided", Handle: h.OnProfileCheckDecided},
	}
}

// internal is the principal of an event from one of our own services: NATS
// permissions guarantee who may publish on its subjects. It is named by the
// service ("verification"), as the other services name their callers.
func internal(ev ce.Event) auth.Principal {
	return auth.Principal{Kind: auth.KindService, Subject: strings.TrimPrefix(ev.Source, "/services/"), Roles: []auth.Role{auth.RoleOperator}}
}

// OnRegistrationRequested runs the same use case as POST /v1/registrations
// for an upstream system's intake event, and answers with the submitted
// event (causationid = the intake id) or a rejected event with the same
// codes as HTTP. Envelope problems and unknown principals dead-letter.
func (h *Handlers) OnRegistrationRequested(ctx context.Context, ev ce.Event) error {
	p, err := h.Directory.PrincipalForEvent(ev.AuthType, ev.AuthID, ev.Publisher)
	if err != nil {
		return err
	}
	p.RequestID = ev.ID
	ctx = auth.WithPrincipal(ctx, p)
	var in domain.RegistrationInput
	err = httpx.DecodeStrict(ev.Data, &in)
	if err == nil {
		_, err = h.App.SubmitRegistration(ctx, p, in)
	}
	if err == nil || !apperr.Permanent(err) {
		return err
	}
	return h.reject(ctx, ev, err)
}

// OnRegistrationReused answers an intake event whose id an earlier intake
// with other data used: it is rejected (409 cloudevent.id_reused), since
// the upstream system matches its answers by that id. An unknown principal
// dead-letters, as for any intake.
func (h *Handlers) OnRegistrationReused(ctx context.Context, ev ce.Event) error {
	if _, err := h.Directory.PrincipalForEvent(ev.AuthType, ev.AuthID, ev.Publisher); err != nil {
		return err
	}
	return h.reject(ctx, ev, bus.ErrIDReused(ev))
}

// reject answers the intake ev with the rejected event of err.
func (h *Handlers) reject(ctx context.Context, ev ce.Event, err error) error {
	return pg.InTx(ctx, h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, werr := h.Outbox.Append(ctx, tx, outbox.Draft{
			Type: regv1.TypeApplicationRejected, Subject: ev.ID, Data: Rejection(ev.ID, err),
		})
		return werr
	})
}

// Rejection is the rejected-event payload of a refused registration.
func Rejection(intakeID string, err error) regv1.ApplicationRejected {
	prob := httpx.ProblemFrom(err)
	out := regv1.ApplicationRejected{IntakeEventID: intakeID, Refusal: prob.Refusal()}
	if m, ok := prob.Extra["matched_on"].([]string); ok {
		out.MatchedOn = m
	}
	if id, ok := prob.Extra["duplicate_attempt_id"].(string); ok {
		out.DuplicateAttemptID = id
	}
	return out
}

// OnVerificationApproved activates the partner's IDs and moves enrollments.
func (h *Handlers) OnVerificationApproved(ctx context.Context, ev ce.Event) error {
	var v verificationv1.VerificationApproved
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	_, err := h.App.ApplyVerificationApproved(ctx, p, app.VerificationApproved{PartnerID: v.PartnerID, DecidedAt: v.ApprovedAt})
	return err
}

// OnVerificationRevoked suspends the partner until it is approved again.
func (h *Handlers) OnVerificationRevoked(ctx context.Context, ev ce.Event) error {
	var v verificationv1.VerificationRevoked
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	_, err := h.App.ApplyVerificationRevoked(ctx, p, app.VerificationRevoked{PartnerID: v.PartnerID, CaseID: v.CaseID, DecisionID: v.DecisionID,
		Reason: v.Reason, RevokedAt: v.RevokedAt})
	return err
}

// OnDocumentsRequested records what verification asks the applicant for.
func (h *Handlers) OnDocumentsRequested(ctx context.Context, ev ce.Event) error {
	var v verificationv1.DocumentsRequested
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	d := app.DocumentsDue{PartnerID: domain.PartnerID(v.PartnerID), Check: v.Check, Reason: v.Reason, ApplicantMessage: v.ApplicantMessage,
		AcceptedDocuments: v.AcceptedDocuments, AppealsRemaining: v.AppealsRemaining, DueAt: v.DueAt, RequestedAt: v.At}
	if pr := v.DomainProof; pr != nil {
		d.DomainProof = &app.DomainProof{Domain: pr.Domain, DNSTXTName: pr.DNSTXTName, DNSTXTValue: pr.DNSTXTValue,
			HTTPURL: pr.HTTPURL, HTTPBody: pr.HTTPBody}
	}
	p := internal(ev)
	return h.App.ApplyDocumentsRequested(auth.WithPrincipal(ctx, p), p, d)
}

// OnDocumentsSatisfied forgets a documents request the applicant met.
func (h *Handlers) OnDocumentsSatisfied(ctx context.Context, ev ce.Event) error {
	var v verificationv1.DocumentsSatisfied
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	p := internal(ev)
	return h.App.ApplyDocumentsSatisfied(auth.WithPrincipal(ctx, p), p, v.PartnerID, v.Check)
}

// OnVerificationRejected closes the registration's enrollments.
func (h *Handlers) OnVerificationRejected(ctx context.Context, ev ce.Event) error {
	var v verificationv1.VerificationRejected
	if err := ev.DecodeData(&v, false); err != nil {
		return err
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	_, err := h.App.ApplyVerificationRejected(ctx, p, app.VerificationRejected{PartnerID: v.PartnerID, Reason: v.Reason})
	return err
}

// OnAcceptanceRecorded moves the program's enrollment qualified → active.
func (h *Handlers) OnAcceptanceRecorded(ctx context.Context, ev ce.Event) error {
	var a agreementsv1.AcceptanceRecorded
	if err := ev.DecodeData(&a, false); err != nil {
		return err
	}
	if a.PartnerID == "" || a.Program == "" {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation, Detail: "acceptance without partner_id or program"}
	}
	if a.Program == regv1.ProgramPartnerNetwork {
		return nil // affirmed at registration; nothing moves
	}
	// Only the reseller enrollment transacts on a location ID; an acceptance
	// for another program names the location as evidence only.
	location := a.LocationID
	if a.Program != regv1.ProgramIndirectReseller {
		location = ""
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	_, err := h.App.ApplyAgreementAccepted(ctx, p, app.AgreementAccepted{PartnerID: a.PartnerID,
		Program: a.Program, LocationID: location, AgreementID: a.AcceptanceID, VersionID: a.VersionID})
	if ae, ok := apperr.As(err); ok && ae.Code == app.CodeNotYetApproved {
		// Agreements accepts only after the approval, but the approval comes
		// to us on another durable and may not be applied yet (a backlog
		// after a restart delivers both at once, and under load the
		// acceptance overtakes it): awaiting — redelivered within 50 ms,
		// then with backoff, dead-lettered with this code if it never comes.
		return bus.AwaitingPartner(ae, a.PartnerID)
	}
	return err
}

// OnReacceptanceRequired shows a new version of the program agreement to
// accept by its deadline on the program's enrollments and in their
// requirements view, beside agreements' own status (before round 44 the
// view said nothing until the enrollment could no longer transact).
func (h *Handlers) OnReacceptanceRequired(ctx context.Context, ev ce.Event) error {
	var r agreementsv1.ReacceptanceRequired
	if err := ev.DecodeData(&r, false); err != nil {
		return err
	}
	if r.PartnerID == "" || r.Program == "" || r.VersionID == "" || r.DueBy.IsZero() {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation, Detail: "re-acceptance required without partner_id, program, version_id or due_by"}
	}
	if r.Program == regv1.ProgramPartnerNetwork {
		return nil // accepted at registration; the membership has no requirements view of it
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	_, err := h.App.ApplyAgreementRevised(ctx, p, app.AgreementRevision{PartnerID: r.PartnerID, Program: r.Program,
		VersionID: r.VersionID, DueBy: r.DueBy, At: ev.Time})
	return err
}

// OnReacceptanceOverdue takes the agreement from the program's enrollments
// when the partner did not accept its new version by the deadline: an
// active enrollment is qualified again (before round 44 it stayed active
// while agreements answered agreements.reacceptance_overdue), and the
// acceptance of the version makes it active again (OnAcceptanceRecorded).
func (h *Handlers) OnReacceptanceOverdue(ctx context.Context, ev ce.Event) error {
	var o agreementsv1.ReacceptanceOverdue
	if err := ev.DecodeData(&o, false); err != nil {
		return err
	}
	if o.PartnerID == "" || o.Program == "" || o.VersionID == "" {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation, Detail: "re-acceptance overdue without partner_id, program or version_id"}
	}
	if o.Program == regv1.ProgramPartnerNetwork {
		return nil // accepted at registration; nothing moves
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	_, err := h.App.ApplyAgreementLapsed(ctx, p, app.AgreementRevision{PartnerID: o.PartnerID, Program: o.Program,
		VersionID: o.VersionID, DueBy: o.DueBy, At: o.OverdueAt})
	return err
}

// OnReacceptanceCancelled undoes the news of a re-acceptance agreements no
// longer requires (since round 45): the version no longer shows due, and
// when it was retired an enrollment that lapsed for it has its earlier
// acceptance back — active again. Before, such an enrollment stayed
// qualified for good, its requirements view asking for a version nobody
// could accept (409 agreements.version_retired).
func (h *Handlers) OnReacceptanceCancelled(ctx context.Context, ev ce.Event) error {
	var c agreementsv1.ReacceptanceCancelled
	if err := ev.DecodeData(&c, false); err != nil {
		return err
	}
	if c.PartnerID == "" || c.Program == "" || c.VersionID == "" || c.CurrentAcceptanceID == "" || c.Reason == "" {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation,
			Detail: "re-acceptance cancelled without partner_id, program, version_id, current_acceptance_id or reason"}
	}
	if c.Program == regv1.ProgramPartnerNetwork {
		return nil // accepted at registration; nothing was due
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	_, err := h.App.ApplyReacceptanceCancelled(ctx, p, app.AgreementWithdrawal{PartnerID: c.PartnerID, Program: c.Program,
		VersionID: c.VersionID, AcceptanceID: c.CurrentAcceptanceID, Restore: c.Reason == agreementsv1.CancelledVersionRetired})
	return err
}

// OnOwnershipConfirmed records an enrollment's confirmed address: it
// gates the enrollment (seed 002 step 17) and shows in the registration.
func (h *Handlers) OnOwnershipConfirmed(ctx context.Context, ev ce.Event) error {
	var c emailv1.OwnershipConfirmed
	if err := ev.DecodeData(&c, false); err != nil {
		return err
	}
	if c.PartnerID == "" || c.EnrollmentID == "" {
		return &ce.DecodeError{Code: ce.CodeSchemaViolation, Detail: "confirmation without partner_id or enrollment_id"}
	}
	p := internal(ev)
	ctx = auth.WithPrincipal(ctx, p)
	_, err := h.App.ApplyEmailConfirmed(ctx, p, app.EmailConfirmed{PartnerID: c.PartnerID, EnrollmentID: c.EnrollmentID,
		Address: c.Address, ConfirmedAt: c.ConfirmedAt})
	return err
}
