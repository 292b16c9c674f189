// Package events is the notifier's bus edge: the contact projection (from
// registration.application.submitted), one subscription per mail of the
// catalog (package mails) turning its event into a mail request, and the
// mapping of delivery events to pkg/events/notifier/v1.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
	"github.com/partnerhub/onboarding/services/notifier/mails"
)

// Inbox names.
const (
	// HandlerAccept is the inbox name of the verification mail's handler
	// (kept from before the other mails: replays stay no-ops).
	HandlerAccept = "accept_verification_mail_requested"
	// HandlerContacts keeps the contact projection.
	HandlerContacts = "record_contact"
)

// Handlers are the notifier's inbound CloudEvent handlers.
type Handlers struct {
	App *app.App
}

// mail is how one event of the catalog becomes a mail. A new mail (the
// standing-change mails of registration, say) is one entry here and one
// template directory (package mails).
type mail struct {
	template string // the mails.Kinds id; its Trigger is the event type
	inbox    string
	build    builder
}

// ender names the threads an event ends.
type ender func(ev ce.Event) ([]app.ThreadRef, error)

// endsThreads are the mails (by template) whose event ends threads: the
// relationship's access is over, so news still waiting about either side
// holding it is given up, whether the event itself is mailed or not.
var endsThreads = map[string]ender{
	mails.AccessExpired: endsAccess(func(p relv1.AccessExpired) (relv1.Parties, bool) { return p.Parties, true }),
	mails.AccessTerminated: endsAccess(func(p relv1.AccessTerminated) (relv1.Parties, bool) {
		return p.Parties, p.Reason == relv1.TerminatedRelationshipEnded // a widening replaces the grant
	}),
	mails.RelationshipEnded: endsAccess(func(p relv1.RelationshipEnded) (relv1.Parties, bool) { return p.Parties, true }),
}

// endsAccess: the relationship's access is over (ended, its grant
// expired), so news of either side's access held or given back is moot.
func endsAccess[T any](parties func(T) (relv1.Parties, bool)) ender {
	return func(ev ce.Event) ([]app.ThreadRef, error) {
		var p T
		if err := ev.DecodeData(&p, false); err != nil {
			return nil, err
		}
		ps, ok := parties(p)
		if !ok {
			return nil, nil
		}
		return []app.ThreadRef{{PartnerID: ps.ResellerID, Thread: accessThread(ps, relv1.SideProvider)},
			{PartnerID: ps.ProviderID, Thread: accessThread(ps, relv1.SideReseller)}}, nil
	}
}

// accessThread is the thread of the news about side's standing holding a
// relationship's access, mailed to the other side.
func accessThread(p relv1.Parties, side string) string {
	return "access:" + p.RelationshipID + ":" + side
}

// builder fills the request's partner, data and secret from the event;
// skip reports an event that needs no mail.
type builder func(ctx context.Context, h *Handlers, ev ce.Event, req *domain.MailRequest) (skip bool, err error)

// from is the builder of a mail from its event's data, decoded as T (a
// malformed payload is the decode error, dead-lettered with its code).
func from[T any](build func(ctx context.Context, h *Handlers, p T, req *domain.MailRequest) (bool, error)) builder {
	return func(ctx context.Context, h *Handlers, ev ce.Event, req *domain.MailRequest) (bool, error) {
		var p T
		if err := ev.DecodeData(&p, false); err != nil {
			return false, err
		}
		return build(ctx, h, p, req)
	}
}

var catalog = []mail{
	{mails.VerifyEmail, HandlerAccept, from(verifyEmail)},
	{mails.DocumentsRequested, "mail_documents_requested", from(documentsRequested)},
	{mails.DocumentsReminder, "mail_documents_reminder", from(documentsReminder)},
	{mails.VerificationRejected, "mail_verification_rejected", from(verificationRejected)},
	{mails.VerificationApproved, "mail_verification_approved", from(verificationApproved)},
	{mails.ReviewReopened, "mail_review_reopened", from(reviewReopened)},
	{mails.ReacceptanceRequired, "mail_reacceptance_required", from(reacceptanceRequired)},
	{mails.ReacceptanceOverdue, "mail_reacceptance_overdue", from(reacceptanceOverdue)},
	{mails.ReacceptanceWithdrawn, "mail_reacceptance_withdrawn", from(reacceptanceWithdrawn)},
	{mails.AcceptanceRefused, "mail_acceptance_refused", from(acceptanceRefused)},
	{mails.Invitation, "mail_invitation", from(invitation)},
	{mails.InvitationReminder, "mail_invitation_reminder", from(invitationReminder)},
	{mails.AccessExpiring, "mail_access_expiring", from(accessExpiring)},
	{mails.AccessExpired, "mail_access_expired", from(accessExpired)},
	{mails.AccessTerminated, "mail_access_terminated", from(accessTerminated)},
	{mails.RequestAccepted, "mail_request_accepted", from(requestAccepted)},
	{mails.RequestDeclined, "mail_request_declined", from(requestDeclined)},
	{mails.RequestDeferred, "mail_request_deferred", from(requestDeferred)},
	{mails.RequestExpired, "mail_request_expired", from(requestExpired)},
	{mails.RequestUndelivered, "mail_request_undelivered", from(requestUndelivered)},
	{mails.RelationshipEnded, "mail_relationship_ended", from(relationshipEnded)},
	{mails.AccessSuspended, "mail_access_suspended", from(accessSuspended)},
	{mails.AccessReinstated, "mail_access_reinstated", from(accessReinstated)},
	{mails.AccessNarrowed, "mail_access_narrowed", from(accessNarrowed)},
	{mails.StandingChanged, "mail_standing_changed", from(standingChanged)},
	{mails.DuplicateClaimUpheld, "mail_duplicate_claim_upheld", from(duplicateClaimUpheld)},
	{mails.DisputeDismissed, "mail_dispute_dismissed", from(disputeDismissed)},
	{mails.DisputeUpheld, "mail_dispute_upheld", from(disputeUpheld)},
	{mails.ProfileChangeRejected, "mail_profile_change_rejected", from(profileChangeRejected)},
}

// Subscriptions are the events the notifier consumes, each handled once
// (inbox) in the transaction that records its effect. A mail's event
// records the mail with its first attempt claimed, and the senders get it
// only once that transaction commits: nothing leaves before its record
// exists, so a worker's events are taken in batches (BUS_BATCH) like any
// consumer's — a partner's two confirmation mails are usually recorded in
// one transaction. On a nil *Handlers they are the declaration the
// deployment reads.
func (h *Handlers) Subscriptions() []bus.Subscription {
	// The contact rides in the transaction of the mails that follow it (a
	// mail trigger ends the linger, and is handled after it).
	subs := []bus.Subscription{{Type: regv1.TypeApplicationSubmitted, Inbox: HandlerContacts, Handle: h.OnApplicationSubmitted,
		Linger: bus.ProjectionLinger},
		{Type: regv1.TypeProfileChangeApplied, Inbox: HandlerContactChanged, Handle: h.OnProfileChangeApplied},
		// Rare: an address a verifier removed from the partner is mailed
		// nothing more (one event per enrollment on it; kept once).
		{Type: emailv1.TypeDisputeUpheld, Inbox: "record_removed_address", Handle: h.OnDisputeUpheld},
		// A challenge that ended takes its confirmation mail with it, if
		// that mail is still waiting to go out (a retry after an outage).
		{Type: emailv1.TypeChallengeWithdrawn, Inbox: "end_link_challenge_withdrawn", Handle: endLink(h,
			func(p emailv1.ChallengeWithdrawn) (string, string) {
				return p.ChallengeID, "the challenge was withdrawn (" + p.Cause + ") before the mail went out"
			})},
		{Type: emailv1.TypeChallengeCancelled, Inbox: "end_link_challenge_cancelled", Handle: endLink(h,
			func(p emailv1.ChallengeCancelled) (string, string) {
				return p.ChallengeID, "the challenge was cancelled (the partner is " + p.Standing + ") before the mail went out"
			})},
		{Type: emailv1.TypeChallengeLocked, Inbox: "end_link_challenge_locked", Handle: endLink(h,
			func(p emailv1.ChallengeLocked) (string, string) {
				return p.ChallengeID, "the challenge was locked by wrong codes before the mail went out"
			})}}
	for _, m := range catalog {
		k, _ := mails.KindOf(m.template)
		subs = append(subs, bus.Subscription{Type: k.Trigger, Inbox: m.inbox, Handle: h.handle(m)})
	}
	return subs
}

// endLink ends the confirmation mail of the challenge an event names.
func endLink[T any](h *Handlers, challenge func(T) (id, why string)) bus.HandlerFunc {
	return func(ctx context.Context, ev ce.Event) error {
		var p T
		if err := ev.DecodeData(&p, false); err != nil {
			return err
		}
		id, why := challenge(p)
		return h.App.EndLink(ctx, id, why)
	}
}

// OnApplicationSubmitted keeps the partner's contact: the address every
// mail about the partner goes to, and how to address it.
func (h *Handlers) OnApplicationSubmitted(ctx context.Context, ev ce.Event) error {
	var p regv1.ApplicationSubmitted
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	return h.App.RecordContact(ctx, app.Contact{PartnerID: p.PartnerID, Email: p.Contact.Email, FirstName: p.Contact.FirstName,
		LastName: p.Contact.LastName, Language: p.Language, Market: p.Market, CompanyName: companyName(p.LegalName),
		Sequence: ev.Sequence})
}

func companyName(n regv1.LegalName) string {
	if n.Normalized != "" {
		return n.Normalized
	}
	return n.Raw
}

func (h *Handlers) handle(m mail) bus.HandlerFunc {
	return func(ctx context.Context, ev ce.Event) error {
		k, _ := mails.KindOf(m.template)
		cause := ce.CauseOf(ev)
		req := domain.MailRequest{ID: ev.ID, TemplateID: k.ID, Category: domain.Category(k.Category), PartnerID: ev.Subject,
			TriggerType: ev.Type, CausationID: ev.ID, CorrelationID: cause.CorrelationID, TraceParent: cause.TraceParent}
		skip, err := m.build(ctx, h, ev, &req)
		if err != nil {
			return err
		}
		if ends := endsThreads[m.template]; ends != nil {
			threads, err := ends(ev)
			if err != nil {
				return err
			}
			if err := h.App.EndThreads(ctx, threads, ev.ID); err != nil {
				return err
			}
		}
		if skip {
			return nil
		}
		if req.Thread != "" {
			req.ThreadSeq = ev.Sequence // the order of the partner's events, whichever durable came first
		}
		ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindService, Subject: strings.TrimPrefix(ev.Source, "/services/")})
		_, err = h.App.Accept(ctx, req)
		return err
	}
}

func setData(req *domain.MailRequest, d mails.Data) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("mail data: %w", err)
	}
	req.Data = b
	return nil
}

func programs(es []verificationv1.Enrollment) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Program
	}
	return out
}

// verifyEmail: the address confirmation, with the link token and code
// sealed by e-mail ownership. Its id is the challenge's: one mail per
// challenge whatever the event id.
func verifyEmail(_ context.Context, _ *Handlers, p emailv1.VerificationMailRequested, req *domain.MailRequest) (bool, error) {
	req.ID, req.ChallengeID, req.SecretRef = p.ChallengeID, p.ChallengeID, p.ChallengeID
	req.TemplateID = p.TemplateID // the producer names the template (a new version rolls out without the notifier)
	req.PartnerID, req.EnrollmentID, req.Program = p.PartnerID, p.EnrollmentID, p.Program
	req.Recipient, req.ContactName, req.Language, req.Market = p.Recipient, p.ContactName, domain.Language(p.Language), p.Market
	req.ExpiresAt, req.SealedSecret = p.ExpiresAt, p.SealedSecret
	if p.Reason == emailv1.ReasonProfileChange || p.ProfileChange > 0 || p.ContactChange > 0 {
		// The new contact did not register: the mail says who named it.
		if err := setData(req, mails.Data{ContactChange: true}); err != nil {
			return false, err
		}
	}
	// A challenge restored because the partner is active again waits for
	// its standing to settle: a hold placed again meanwhile cancels the
	// challenge (end_link_challenge_cancelled) and its mail with it, so a
	// flapping hold does not mail a new link per lift.
	req.Settle = p.Reason == emailv1.ReasonReinstated
	return false, nil
}

func documentsRequested(_ context.Context, _ *Handlers, p verificationv1.DocumentsRequested, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Recipient = p.PartnerID, p.ContactEmail
	v := &mails.Verification{CaseID: p.CaseID, Check: p.Check, Reason: p.Reason,
		ApplicantMessage: p.ApplicantMessage, Documents: p.AcceptedDocuments, DueAt: p.DueAt, BusinessDaysLeft: p.BusinessDaysLeft,
		AppealsRemaining: p.AppealsRemaining}
	if dp := p.DomainProof; dp != nil {
		v.DomainProof = &mails.DomainProof{Domain: dp.Domain, DNSTXTName: dp.DNSTXTName, DNSTXTValue: dp.DNSTXTValue,
			HTTPURL: dp.HTTPURL, HTTPBody: dp.HTTPBody}
	}
	return false, setData(req, mails.Data{Verification: v})
}

// documentsReminder expires with the deadline: a reminder after it would
// mislead.
func documentsReminder(_ context.Context, _ *Handlers, p verificationv1.ReminderDue, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Recipient, req.ExpiresAt = p.PartnerID, p.ContactEmail, p.DueAt
	return false, setData(req, mails.Data{Verification: &mails.Verification{CaseID: p.CaseID, Check: p.Check, Reason: p.Reason,
		Documents: p.AcceptedDocuments, DueAt: p.DueAt, BusinessDaysLeft: p.BusinessDaysLeft}})
}

func verificationRejected(_ context.Context, _ *Handlers, p verificationv1.VerificationRejected, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market = p.PartnerID, p.Market
	return false, setData(req, mails.Data{Verification: &mails.Verification{CaseID: p.CaseID, Check: p.FailingCheck, Reason: p.Reason,
		Mode: p.Mode, ApplicantMessage: p.ApplicantMessage, Programs: programs(p.Enrollments)}})
}

func verificationApproved(_ context.Context, _ *Handlers, p verificationv1.VerificationApproved, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market = p.PartnerID, p.Market
	return false, setData(req, mails.Data{Verification: &mails.Verification{CaseID: p.CaseID, Programs: programs(p.Enrollments)}})
}

// reviewReopened tells the partner whose approval was revoked that its
// review was re-opened: nothing is needed unless documents are asked for,
// and it stays suspended until the review approves it. A review re-opened
// for a reactivation (or for a reason newer than this code) mails nothing:
// the standing mail of the reactivation already says the company is
// reviewed again. The note (staff's words) and who re-opened the review
// are not for the partner and stay out of the mail's data.
func reviewReopened(_ context.Context, _ *Handlers, p verificationv1.CaseReopened, req *domain.MailRequest) (bool, error) {
	if p.Reason != verificationv1.ReopenedForRevocation {
		return true, nil
	}
	req.PartnerID = p.PartnerID
	// It follows the revocation's standing mail, which waits for the
	// standing to settle: waiting as long keeps the two in that order when
	// a reviewer re-opens the review at once (seen on make run: "your
	// review was re-opened" before "your account is suspended").
	req.Settle = true
	return false, setData(req, mails.Data{Verification: &mails.Verification{CaseID: p.CaseID, ReopenedAt: p.ReopenedAt}})
}

func reacceptanceRequired(_ context.Context, _ *Handlers, p agreementsv1.ReacceptanceRequired, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market = p.PartnerID, p.Market
	return false, setData(req, mails.Data{Agreement: &mails.Agreement{Program: p.Program, VersionID: p.VersionID, DueBy: p.DueBy}})
}

func reacceptanceOverdue(_ context.Context, _ *Handlers, p agreementsv1.ReacceptanceOverdue, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market = p.PartnerID, p.Market
	return false, setData(req, mails.Data{Agreement: &mails.Agreement{Program: p.Program, VersionID: p.VersionID, DueBy: p.DueBy}})
}

// reacceptanceWithdrawn tells the partner that the version it was asked to
// accept was retired: its earlier acceptance stands, and when the deadline
// had passed it can transact again. A requirement cancelled because the
// partner's account was closed mails nothing: the closure is final, and the
// standing mail has told the partner what remains.
func reacceptanceWithdrawn(_ context.Context, _ *Handlers, p agreementsv1.ReacceptanceCancelled, req *domain.MailRequest) (bool, error) {
	if p.Reason != agreementsv1.CancelledVersionRetired {
		return true, nil
	}
	req.PartnerID, req.Market = p.PartnerID, p.Market
	a := &mails.Agreement{Program: p.Program, VersionID: p.VersionID, DueBy: p.DueBy}
	if p.OverdueAt != nil {
		a.OverdueAt = *p.OverdueAt
	}
	return false, setData(req, mails.Data{Agreement: a})
}

// toldElsewhere are the refusals of a pending acceptance whose cause
// another mail of the same moment already tells the partner: its
// registration's rejection (verification.rejected), or its standing
// (registration.standing_changed: a revoked verification suspends the
// partner).
var toldElsewhere = map[string]bool{
	"agreements.verification_not_approved":    true,
	"agreements.verification_revoked":         true,
	"agreements.partner_not_in_good_standing": true,
}

// acceptanceRefused tells the partner that the acceptance its administrator
// made before agreements knew of the partner or of its approval (answered
// 202) was not recorded, and why, unless another mail already says why.
func acceptanceRefused(_ context.Context, _ *Handlers, p agreementsv1.AcceptanceRefused, req *domain.MailRequest) (bool, error) {
	if toldElsewhere[p.Code] {
		return true, nil
	}
	req.PartnerID, req.Market = p.PartnerID, p.Market
	return false, setData(req, mails.Data{Agreement: &mails.Agreement{Program: p.Program, VersionID: p.VersionID,
		Refusal: p.Code, RequestedAt: p.RequestedAt}})
}

// invitation goes to the reseller (the subject): its administrator opens
// the link relationships sealed to the notifier. The sealed link is kept
// until the invitation expires, for the reminder. The provider's name is
// filled in when the mail is sent.
func invitation(ctx context.Context, h *Handlers, p relv1.RequestCreated, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Market, req.ExpiresAt = p.ResellerID, p.Market, p.ExpiresAt
	req.SealedSecret, req.SecretRef = p.SealedInvitation, p.RequestID
	if err := h.App.KeepInvitation(ctx, p.RequestID, p.SealedInvitation, p.ExpiresAt); err != nil {
		return false, err
	}
	return false, setData(req, mails.Data{Relationship: &mails.Relationship{RelationshipID: p.RelationshipID, RequestID: p.RequestID, Kind: p.Kind,
		ProviderID: p.ProviderID, Roles: p.Roles, DurationDays: p.DurationDays, AutoExtend: p.AutoExtend,
		ExpiresAt: p.ExpiresAt}})
}

// invitationReminder carries the invitation's link, kept since the
// invitation was mailed (looked up when the reminder is sent).
func invitationReminder(_ context.Context, _ *Handlers, p relv1.RequestReminderDue, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.ExpiresAt = p.ResellerID, p.ExpiresAt
	return false, setData(req, mails.Data{Relationship: &mails.Relationship{RelationshipID: p.RelationshipID, RequestID: p.RequestID,
		ProviderID: p.ProviderID, ExpiresAt: p.ExpiresAt}})
}

// accessMail: the provider's name is filled in when the mail is sent.
func accessMail(req *domain.MailRequest, parties relv1.Parties, r mails.Relationship) error {
	req.PartnerID = parties.ResellerID
	r.ProviderID = parties.ProviderID
	return setData(req, mails.Data{Relationship: &r})
}

func accessExpiring(_ context.Context, _ *Handlers, p relv1.AccessExpiring, req *domain.MailRequest) (bool, error) {
	return false, accessMail(req, p.Parties, mails.Relationship{GrantID: p.GrantID, ExpiresAt: p.ExpiresAt, AutoExtend: p.AutoExtend})
}

func accessExpired(_ context.Context, _ *Handlers, p relv1.AccessExpired, req *domain.MailRequest) (bool, error) {
	return false, accessMail(req, p.Parties, mails.Relationship{GrantID: p.GrantID, ExpiresAt: p.ExpiresAt})
}

// accessTerminated mails only when the relationship ended: a grant
// superseded by a widening is replaced, not lost.
func accessTerminated(_ context.Context, _ *Handlers, p relv1.AccessTerminated, req *domain.MailRequest) (bool, error) {
	if p.Reason != relv1.TerminatedRelationshipEnded {
		return true, nil
	}
	return false, accessMail(req, p.Parties, mails.Relationship{GrantID: p.GrantID, Reason: p.Reason})
}

// newsLifetime bounds how late the provider's relationship mails go out:
// each tells of a moment (an answer, an end) that is stale news days
// later. A mail whose event is older is recorded failed as expired and not
// sent; a notifier catching up after an outage of less than that still
// sends it, and a new durable, which reads its stream's whole retention,
// does not mail the past.
const newsLifetime = 72 * time.Hour

// providerMail addresses a mail to the provider of a relationship; the
// reseller's name is filled in when the mail is sent.
func providerMail(req *domain.MailRequest, parties relv1.Parties, r mails.Relationship) error {
	req.PartnerID, req.ExpiresAt = parties.ProviderID, parties.OccurredAt.Add(newsLifetime)
	r.ResellerID, r.OccurredAt = parties.ResellerID, parties.OccurredAt
	return setData(req, mails.Data{Relationship: &r})
}

func requestAccepted(_ context.Context, _ *Handlers, p relv1.RequestAccepted, req *domain.MailRequest) (bool, error) {
	return false, providerMail(req, p.Parties, mails.Relationship{RequestID: p.RequestID, Kind: p.Kind, Roles: p.Roles})
}

// requestDeclined carries the reseller's reason: its answer to the
// provider's request.
func requestDeclined(_ context.Context, _ *Handlers, p relv1.RequestDeclined, req *domain.MailRequest) (bool, error) {
	return false, providerMail(req, p.Parties, mails.Relationship{RequestID: p.RequestID, Kind: p.Kind, Message: p.Reason})
}

// requestDeferred is stale once the request expired.
func requestDeferred(_ context.Context, _ *Handlers, p relv1.RequestDeferred, req *domain.MailRequest) (bool, error) {
	if err := providerMail(req, p.Parties, mails.Relationship{RequestID: p.RequestID, ExpiresAt: p.ExpiresAt}); err != nil {
		return false, err
	}
	if p.ExpiresAt.Before(req.ExpiresAt) {
		req.ExpiresAt = p.ExpiresAt
	}
	return false, nil
}

func requestExpired(_ context.Context, _ *Handlers, p relv1.RequestExpired, req *domain.MailRequest) (bool, error) {
	return false, providerMail(req, p.Parties, mails.Relationship{RequestID: p.RequestID, Kind: p.Kind})
}

// requestUndelivered tells the provider that its request's mail did not
// reach the reseller.
func requestUndelivered(_ context.Context, _ *Handlers, p relv1.RequestUndelivered, req *domain.MailRequest) (bool, error) {
	return false, providerMail(req, p.Parties, mails.Relationship{RequestID: p.RequestID, Kind: p.Kind, Reason: p.Reason,
		UndeliveredMail: p.TemplateID})
}

// relationshipEnded tells the other side: the provider that the reseller
// ended the relationship (with the reason it gave) or that the reseller's
// account was closed (the closure's record is not for the provider); the
// reseller that the provider ended it, or that the provider's account was
// closed, when no access ended with it (a live grant's end is the access
// terminated mail's news) — a pending invitation withdrawn included. An
// event from before access_terminated existed mails the reseller nothing,
// as then.
func relationshipEnded(_ context.Context, _ *Handlers, p relv1.RelationshipEnded, req *domain.MailRequest) (bool, error) {
	r := mails.Relationship{Cause: p.Cause, EndedBy: p.EndedBy, InvitationWithdrawn: p.InvitationWithdrawn}
	if p.Cause == relv1.EndCauseChosen { // events from before the cause existed may carry a closure's record
		r.Message = p.Reason
	}
	switch {
	case p.EndedBy == relv1.SideReseller:
		return false, providerMail(req, p.Parties, r)
	case p.EndedBy == relv1.SideProvider && p.AccessTerminated != nil && !*p.AccessTerminated:
		req.ExpiresAt = p.OccurredAt.Add(newsLifetime)
		r.OccurredAt = p.OccurredAt
		return false, accessMail(req, p.Parties, r)
	}
	return true, nil
}

// accessNarrowed tells the other side that one side took roles off the
// live grant (since round 44; before, a provider learned that a reseller
// removed its roles when an action failed): the provider when the reseller
// narrowed it, the reseller when its provider gave roles up.
func accessNarrowed(_ context.Context, _ *Handlers, p relv1.AccessNarrowed, req *domain.MailRequest) (bool, error) {
	r := mails.Relationship{GrantID: p.GrantID, Roles: p.Roles, Removed: p.Removed, NarrowedBy: p.NarrowedBy}
	switch p.NarrowedBy {
	case relv1.SideReseller:
		return false, providerMail(req, p.Parties, r)
	case relv1.SideProvider:
		req.ExpiresAt = p.OccurredAt.Add(newsLifetime)
		r.OccurredAt = p.OccurredAt
		return false, accessMail(req, p.Parties, r)
	}
	return true, nil
}

// counterpartMail addresses a mail about a party's standing to the other
// side of the relationship: the reseller when the provider's standing
// changed, the provider when the reseller's did. Any other side (a
// reinstatement of a grant held before its side was recorded) mails nobody.
func counterpartMail(req *domain.MailRequest, parties relv1.Parties, side string, r mails.Relationship) (bool, error) {
	r.StandingOf = side
	// News about one side of the grant, which may come back soon: a
	// suspension and its reinstatement while the mail waits cancel out.
	req.Thread = accessThread(parties, side)
	switch side {
	case relv1.SideProvider:
		req.ExpiresAt = parties.OccurredAt.Add(newsLifetime)
		r.OccurredAt = parties.OccurredAt
		return false, accessMail(req, parties, r)
	case relv1.SideReseller:
		return false, providerMail(req, parties, r)
	}
	return true, nil
}

// accessSuspended never tells the counterpart why: the reasons are the
// suspended party's own business (its standing mail carries them).
func accessSuspended(_ context.Context, _ *Handlers, p relv1.AccessSuspended, req *domain.MailRequest) (bool, error) {
	return counterpartMail(req, p.Parties, p.Side, mails.Relationship{GrantID: p.GrantID})
}

func accessReinstated(_ context.Context, _ *Handlers, p relv1.AccessReinstated, req *domain.MailRequest) (bool, error) {
	return counterpartMail(req, p.Parties, p.Side, mails.Relationship{GrantID: p.GrantID, ExpiresAt: p.ExpiresAt})
}

// standingChanged: every change of the partner's standing after its
// approval (suspended, a hold placed or lifted, inactive, active again,
// closed) goes to the partner's contact (the directory's), once its
// standing has settled (a hold placed and lifted at once mails nothing:
// app.Deps.Settle). The note is
// left out: it is the operator's or verifier's free text, written for the
// record, not for the partner.
func standingChanged(_ context.Context, _ *Handlers, p regv1.PartnerStandingChanged, req *domain.MailRequest) (bool, error) {
	req.PartnerID, req.Thread = p.PartnerID, "standing"
	return false, setData(req, mails.Data{Standing: &mails.Standing{From: p.From, To: p.To, Reasons: p.Reasons, Added: p.Added,
		Lifted: p.Lifted, ChangedAt: p.ChangedAt}})
}

// Drafts maps delivery events to outbox drafts; subject = global partner
// id. The verification mail has published delivery events
// (notifier.mail.delivered/failed.v1 name its challenge), and the mails of a
// provider's request to a reseller a failure event
// (notifier.invitation_mail.failed.v1, for relationships to tell the
// provider); the status of every mail is on GET /v1/mails.
func Drafts(events []domain.Event) ([]outbox.Draft, error) {
	out := make([]outbox.Draft, 0, len(events))
	for _, e := range events {
		if f, ok := e.(domain.MailDeliveryFailed); ok && invitationMail[f.TemplateID] {
			d, err := invitationMailFailed(f)
			if err != nil {
				return nil, err
			}
			if d != nil {
				out = append(out, *d)
			}
			continue
		}
		switch e := e.(type) {
		case domain.MailDelivered:
			if e.ChallengeID == "" {
				continue
			}
			out = append(out, outbox.Draft{Type: notifierv1.TypeMailDelivered, Subject: e.PartnerID, Data: notifierv1.MailDelivered{
				PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program, ChallengeID: e.ChallengeID,
				TemplateID: e.TemplateID, Attempts: e.Attempts, DeliveredAt: e.OccurredAt}})
		case domain.MailDeliveryFailed:
			if e.ChallengeID == "" {
				continue
			}
			reason := string(e.Reason)
			if e.Reason == domain.ReasonExpired {
				reason = notifierv1.ReasonChallengeExpired
			}
			out = append(out, outbox.Draft{Type: notifierv1.TypeMailFailed, Subject: e.PartnerID, Data: notifierv1.MailFailed{
				PartnerID: e.PartnerID, EnrollmentID: e.EnrollmentID, Program: e.Program, ChallengeID: e.ChallengeID,
				TemplateID: e.TemplateID, Attempts: e.Attempts, Reason: reason, LastError: normalize.Clip(e.LastError, 500),
				FailedAt: e.OccurredAt}})
		default:
			return nil, fmt.Errorf("events: no mapping for %T", e)
		}
	}
	return out, nil
}

// invitationMail are the templates of a provider's request mailed to the
// reseller: their failure is published (invitationMailFailed).
var invitationMail = map[string]bool{mails.Invitation: true, mails.InvitationReminder: true}

// invitationMailFailed is the failure event of an invitation mail, from the
// request its data names; nil for a mail recorded before its data named the
// relationship (nothing to tell it to).
func invitationMailFailed(f domain.MailDeliveryFailed) (*outbox.Draft, error) {
	var d mails.Data
	if err := json.Unmarshal(f.Data, &d); err != nil {
		return nil, fmt.Errorf("events: the data of invitation mail %s: %w", f.MailID, err)
	}
	r := d.Relationship
	if r == nil || r.RelationshipID == "" || r.RequestID == "" || r.ProviderID == "" {
		return nil, nil
	}
	reason := string(f.Reason)
	if f.Reason == domain.ReasonExpired {
		reason = notifierv1.ReasonInvitationExpired
	}
	return &outbox.Draft{Type: notifierv1.TypeInvitationMailFailed, Subject: f.PartnerID, Data: notifierv1.InvitationMailFailed{
		PartnerID: f.PartnerID, RelationshipID: r.RelationshipID, RequestID: r.RequestID, ProviderID: r.ProviderID,
		TemplateID: f.TemplateID, Attempts: f.Attempts, Reason: reason, LastError: normalize.Clip(f.LastError, 500),
		FailedAt: f.OccurredAt}}, nil
}
