package events

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	registrationv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/verification/internal/app"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// PrincipalDirectory resolves the principal an event from outside declares.
type PrincipalDirectory interface {
	PrincipalForEvent(authtype, authid, publisher string) (auth.Principal, error)
}

// Handlers are the inbound CloudEvent handlers of the verification service.
type Handlers struct {
	App       *app.App
	Pool      *pgxpool.Pool
	Outbox    *outbox.Writer // answers refused decision intakes
	Directory PrincipalDirectory
	// ConfirmationGrace is how long an ownership confirmation for a partner
	// without a case is retried before it is dead-lettered: the
	// confirmation and the registration reach us on different streams.
	ConfirmationGrace time.Duration
	Now               func() time.Time
}

// Subscriptions are the events verification consumes, each handled once
// (inbox) in the transaction of its effects. On a nil *Handlers they are
// the declaration the deployment reads.
func (h *Handlers) Subscriptions() []bus.Subscription {
	return []bus.Subscription{
		{Type: registrationv1.TypeApplicationSubmitted, Inbox: "on_application_submitted", Handle: h.OnApplicationSubmitted},
		{Type: emailv1.TypeOwnershipConfirmed, Inbox: "on_ownership_confirmed", Handle: h.OnOwnershipConfirmed},
		// Every verifier's subject: the shared one and the bound users'
		// (until round 26 the durable read the type's subject only; it
		// starts where that one stood).
		{Type: intakev1.TypeVerificationDecisionSubmitted, Filter: "intake.verification.>", Replaces: "intake.verification.decision_submitted.v1",
			Inbox: "on_decision_submitted", Handle: h.OnDecisionSubmitted, Reused: h.OnDecisionReused},
		// Rare (never on an onboarding): a reactivation after a long
		// inactivity re-opens the review.
		{Type: registrationv1.TypePartnerStandingChanged, Inbox: "on_standing_changed", Handle: h.OnStandingChanged},
		// Rare: a rejected registration lets go of the company's identity;
		// the duplicate claims about it have nothing left to decide.
		{Type: registrationv1.TypePartnerRejected, Inbox: "on_partner_rejected", Handle: h.OnPartnerRejected},
		// Reviews without a case: duplicate claims and e-mail disputes.
		// A claim filed before round 47 is v1 (the same handler reads both).
		{Type: registrationv2.TypeDuplicateClaimFiled, Inbox: "on_duplicate_claim_filed", Handle: h.OnDuplicateClaimFiled},
		{Type: registrationv1.TypeDuplicateClaimFiled, Inbox: "on_duplicate_claim_filed", Handle: h.OnDuplicateClaimFiled},
		{Type: emailv1.TypeChallengeDisputed, Inbox: "on_challenge_disputed", Handle: h.OnChallengeDisputed},
		{Type: emailv1.TypeDisputeWithdrawn, Inbox: "on_dispute_withdrawn", Handle: h.OnDisputeWithdrawn},
		// Rare: one report's decision ends the disputes of the partner's
		// other enrollments on the same address (their reviews close).
		{Type: emailv1.TypeDisputeUpheld, Inbox: "on_dispute_upheld", Handle: h.OnDisputeEnded},
		{Type: emailv1.TypeDisputeDismissed, Inbox: "on_dispute_dismissed", Handle: h.OnDisputeEnded},
		{Type: registrationv1.TypeEnrollmentAdded, Inbox: "on_enrollment_added", Handle: h.OnEnrollmentAdded},
		// Rare: a partner's profile change puts its re-opened checks in the
		// queue, and once applied keeps the case's facts current.
		{Type: registrationv1.TypeProfileChangeRequested, Inbox: HandlerProfileChangeRequested, Handle: h.OnProfileChangeRequested},
		{Type: registrationv1.TypeProfileChangeApplied, Inbox: HandlerProfileChangeApplied, Handle: h.OnProfileChangeApplied},
	}
}

// OnStandingChanged re-opens the review when registration reactivates the
// partner after a long inactivity (reverification_required added).
func (h *Handlers) OnStandingChanged(ctx context.Context, ev ce.Event) error {
	var p registrationv1.PartnerStandingChanged
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	return h.App.ApplyStandingChanged(ctx, app.StandingChanged{PartnerID: p.PartnerID,
		Closed: p.To == registrationv1.StandingClosed, Added: p.Added, Note: p.Note})
}

// OnPartnerRejected refuses the duplicate claims about a rejected partner.
func (h *Handlers) OnPartnerRejected(ctx context.Context, ev ce.Event) error {
	var p registrationv1.PartnerRejected
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	return h.App.ApplyPartnerRejected(ctx, p.PartnerID)
}

// OnApplicationSubmitted opens the verification case of a submitted registration.
func (h *Handlers) OnApplicationSubmitted(ctx context.Context, ev ce.Event) error {
	var p registrationv1.ApplicationSubmitted
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "registration"})
	_, err := h.App.OpenCase(ctx, app.OpenCaseCommand{OpenInput: OpenInput(p)})
	return err
}

// OpenInput maps the registration's published facts to the case input: the
// facts as submitted, for the verifier, and (Facts.Registered) as
// registration normalized them, which the register is compared with (one
// normalization, not two).
func OpenInput(p registrationv1.ApplicationSubmitted) domain.OpenInput {
	in := domain.OpenInput{
		PartnerID: p.PartnerID, LocationID: p.LocationID, Market: p.Market, RegisteredBy: p.SubmittedBy,
		Facts:   companyFacts(p.Market, p.LegalName, p.Address, p.CompanyPhoneE164, p.RegistrationNumber),
		Contact: domain.Contact{FirstName: p.Contact.FirstName, LastName: p.Contact.LastName, Email: p.Contact.Email},
		Website: p.Website,
	}
	if in.Website == "" {
		in.Website = p.WebsiteDomain
	}
	for _, e := range p.Enrollments {
		in.Enrollments = append(in.Enrollments, domain.Enrollment{ID: e.EnrollmentID, Program: domain.Program(e.Program)})
	}
	for _, a := range p.EarlierAccounts {
		in.EarlierAccounts = append(in.EarlierAccounts, domain.EarlierAccount(a))
	}
	return in
}

// companyFacts maps registration's published company facts (of an
// application, or of an applied profile change) to the case's facts.
func companyFacts(market string, name registrationv1.LegalName, addr registrationv1.Address, phone string, rn *registrationv1.RegistrationNumber) domain.CompanyFacts {
	f := domain.CompanyFacts{LegalName: name.Raw, Phone: phone, Address: domain.Address{
		Line1: addr.Raw.Line1, Line2: addr.Raw.Line2, City: addr.Raw.City,
		Prefecture: addr.Raw.Region, PostalCode: addr.Raw.PostalCode}}
	// Only a corporate number is checked against the register (and its
	// check digit); a D-U-N-S number is not a register key here.
	if rn != nil && (rn.Scheme == "jp_corporate_number" || market != "JP") {
		f.RegistrationNumber = rn.Value
	}
	// The pre-check compares the facts as registration normalized them (one
	// normalization for both services); the raw ones only for an event
	// without them.
	if n := addr.Normalized; name.Normalized != "" && n.Line1 != "" {
		f.Registered = &domain.CompanyFacts{LegalName: name.Normalized, Address: domain.Address{
			Line1: n.Line1, Line2: n.Line2, City: n.City, Prefecture: n.Region, PostalCode: n.PostalCode}}
	}
	return f
}

// OnOwnershipConfirmed passes the e-mail ownership check. A confirmation
// for a partner without a case is retried for ConfirmationGrace (the case
// may not be open yet) and dead-lettered with its reason after that.
func (h *Handlers) OnOwnershipConfirmed(ctx context.Context, ev ce.Event) error {
	var p emailv1.OwnershipConfirmed
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: "email-ownership"})
	_, err := h.App.MarkEmailOwnershipConfirmed(ctx, app.MarkEmailOwnershipConfirmedCommand{
		PartnerID: p.PartnerID, EnrollmentID: p.EnrollmentID, Email: p.Address, ConfirmedAt: p.ConfirmedAt})
	// An added enrollment, or a pending partner's corrected contact
	// address, may reach the case after its confirmation.
	return h.awaitCase(ev, p.PartnerID, err, domain.ErrCaseNotFound, domain.ErrEnrollmentNotFound, domain.ErrEmailMismatch)
}

// awaitCase turns err, when it is one of the codes of what registration's
// events on another durable have not brought to the case yet (the case
// itself, an enrollment, a contact address), into a wait for them while ev
// is younger than ConfirmationGrace: the event is redelivered with backoff
// (bus.Awaiting) and dead-lettered with the code once the deliveries run
// out. Any other error, and an old event's, is returned as it is.
func (h *Handlers) awaitCase(ev ce.Event, partnerID string, err error, yet ...*domain.Error) error {
	ae, ok := apperr.As(err)
	if !ok || !h.young(ev) || !slices.ContainsFunc(yet, func(e *domain.Error) bool { return e.Code == ae.Code }) {
		return err
	}
	return bus.AwaitingPartner(ae, partnerID)
}

func (h *Handlers) young(ev ce.Event) bool {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	return !ev.Time.IsZero() && now().Sub(ev.Time) < h.ConfirmationGrace
}

// OnDecisionSubmitted records a verifier service's decision. The principal
// comes from the directory entry of the event's authid, and the app checks
// its role exactly as for the HTTP API. A decision that cannot be recorded
// — its data read as strictly as the HTTP API's body, with the same codes
// (an unknown member, a wrong type, a member given twice) — is answered
// with verificationv1.TypeDecisionRefused, as registration answers an
// intake registration: the verifier service reads those, not the dead
// letters. An intake without a known principal answers to no one: it is
// dead-lettered.
func (h *Handlers) OnDecisionSubmitted(ctx context.Context, ev ce.Event) error {
	principal, err := h.Directory.PrincipalForEvent(ev.AuthType, ev.AuthID, ev.Publisher)
	if err != nil {
		return err
	}
	var p intakev1.VerificationDecisionSubmitted
	if err := httpx.DecodeStrict(ev.Data, &p); err != nil {
		return h.refuse(ctx, ev, "", p, err) // what did decode (the ids) goes with it
	}
	var res app.DecideResult
	if p.DecisionID == "" || p.TaskID == "" {
		err = apperr.Invalid("verification.invalid_decision", "decision_id and task_id are required")
	} else {
		ctx = auth.WithPrincipal(ctx, principal)
		res, err = h.App.Decide(ctx, principal, DecideCommand(p))
	}
	if err == nil || !apperr.Permanent(err) {
		return err
	}
	return h.refuse(ctx, ev, res.PartnerID, p, err)
}

// OnDecisionReused answers a decision intake whose id an earlier intake
// with other data used: it is refused (409 cloudevent.id_reused) and
// nothing is recorded, since the verifier service matches its answers by
// that id. An unknown principal dead-letters, as for any decision intake.
func (h *Handlers) OnDecisionReused(ctx context.Context, ev ce.Event) error {
	if _, err := h.Directory.PrincipalForEvent(ev.AuthType, ev.AuthID, ev.Publisher); err != nil {
		return err
	}
	var p intakev1.VerificationDecisionSubmitted
	_ = httpx.DecodeStrict(ev.Data, &p) // the refusal names the ids it can
	return h.refuse(ctx, ev, "", p, bus.ErrIDReused(ev))
}

// refuse answers the decision intake ev with the refused event of err.
func (h *Handlers) refuse(ctx context.Context, ev ce.Event, partnerID string, p intakev1.VerificationDecisionSubmitted, err error) error {
	return pg.InTx(ctx, h.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, werr := h.Outbox.Append(ctx, tx, outbox.Draft{
			Type: verificationv1.TypeDecisionRefused, Subject: ev.ID, Data: Refusal(ev.ID, partnerID, p, err),
		})
		return werr
	})
}

// Refusal is the refused-event payload of a decision that could not be
// recorded; partnerID is the task's partner when the task was found (the
// refusal is then on that partner's timeline), else empty.
func Refusal(intakeID, partnerID string, p intakev1.VerificationDecisionSubmitted, err error) verificationv1.DecisionRefused {
	return verificationv1.DecisionRefused{IntakeEventID: intakeID, PartnerID: partnerID, DecisionID: p.DecisionID, TaskID: p.TaskID,
		Refusal: httpx.ProblemFrom(err).Refusal()}
}

// DecideCommand maps a decision event to the use case's command.
func DecideCommand(p intakev1.VerificationDecisionSubmitted) app.DecideCommand {
	cmd := app.DecideCommand{DecisionID: p.DecisionID, TaskID: p.TaskID, Outcome: domain.Outcome(strings.TrimSpace(p.Outcome)),
		Reason: domain.ReasonCode(p.ReasonCode), Mode: domain.RejectionMode(p.Mode),
		ApplicantMessage: p.ApplicantMessage, InternalNote: p.InternalNote}
	for _, d := range p.Documents {
		cmd.Documents = append(cmd.Documents, domain.DocumentType(d))
	}
	return cmd
}
