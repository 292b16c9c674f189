// Package mails is every mail the notifier sends: the catalog (which event
// sends which mail, to whom, transactional or reminder), the template files a
// person edits (templates/<id>/{ja,en}.{subject.txt,txt,html} and a
// sample.yaml to preview them with), the wording shared by all mails
// (templates/terms/<lang>.yaml: document, reason, role and program names,
// footers) and the layout that puts both languages into both parts
// (templates/layout). It renders a mail and composes the MIME message, for
// the notifier's sender and for `partnerctl mail render`.
//
// Every mail carries both languages in both parts, the recipient's language
// first: Japanese and English, plain text and HTML.
package mails

import (
	"strings"
	"time"

	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
)

// Language of a mail section.
type Language string

// Languages. Every mail has both; the first is the recipient's.
const (
	Japanese Language = "ja"
	English  Language = "en"
)

// Languages lists the supported languages.
var Languages = []Language{Japanese, English}

// Other is the second language of a mail whose first is l.
func (l Language) Other() Language {
	if l == Japanese {
		return English
	}
	return Japanese
}

// ChooseLanguage picks the first language: the requested one when
// supported, otherwise by market (Japan → Japanese), otherwise English.
func ChooseLanguage(lang, market string) Language {
	switch strings.ToLower(strings.TrimSpace(lang)) {
	case "ja":
		return Japanese
	case "en":
		return English
	}
	if strings.EqualFold(market, "JP") {
		return Japanese
	}
	return English
}

// Category tells whether a partner may unsubscribe from a mail.
type Category string

// Categories.
const (
	// Transactional mails tell the partner what it must do or what changed
	// for it (a confirmation link, a rejection and its cure, an approval,
	// an invitation, access that ends); they cannot be unsubscribed.
	Transactional Category = "transactional"
	// Reminder mails repeat something the partner was already told; a
	// partner can stop them (an unsubscribe link in every one, RFC 8058
	// one-click included).
	Reminder Category = "reminder"
)

// Kind is one mail of the catalog.
type Kind struct {
	ID       string   `json:"id"`       // template directory under templates/
	Trigger  string   `json:"trigger"`  // CloudEvents type whose consumption sends it
	Category Category `json:"category"` //
	To       string   `json:"to"`       // who receives it
	Carries  string   `json:"carries"`  // what it tells, for the README and reviewers
}

// Template ids.
const (
	VerifyEmail          = "email_ownership.verify.v1"
	DocumentsRequested   = "verification.documents_requested"
	DocumentsReminder    = "verification.documents_reminder"
	VerificationRejected = "verification.rejected"
	VerificationApproved = "verification.approved"
	ReacceptanceRequired = "agreements.reacceptance_required"
	ReacceptanceOverdue  = "agreements.reacceptance_overdue"
	Invitation           = "relationships.invitation"
	InvitationReminder   = "relationships.invitation_reminder"
	AccessExpiring       = "relationships.access_expiring"
	AccessExpired        = "relationships.access_expired"
	AccessTerminated     = "relationships.access_terminated"
	StandingChanged      = "registration.standing_changed"
	DuplicateClaimUpheld = "verification.duplicate_claim_upheld"
	// DisputeDismissed: a verifier kept the address a "this wasn't me"
	// report named (one mail per review, however many of the partner's
	// mails to it were reported).
	DisputeDismissed = "email_ownership.dispute_dismissed"
	// DisputeUpheld: a verifier removed the address a "this wasn't me"
	// report named; its reporter is told so, the one mail the removed
	// address still gets.
	DisputeUpheld = "email_ownership.dispute_upheld"
	// ProfileChangeRejected: a re-opened check of a profile change failed.
	ProfileChangeRejected = "registration.profile_change_rejected"
	// ProfileChangeApplied: a profile change is the verified profile now
	// (to the contact; a moved contact address is told at the old one too).
	ProfileChangeApplied = "registration.profile_change_applied"
	// AcceptanceRefused: an acceptance kept pending (202) could not be
	// recorded when the verification decision arrived.
	AcceptanceRefused = "agreements.acceptance_refused"
	// ReacceptanceWithdrawn: the version a partner was asked to accept
	// again was retired before it did; its earlier acceptance stands.
	ReacceptanceWithdrawn = "agreements.reacceptance_withdrawn"
	// ReviewReopened: the review of a partner whose approval was revoked
	// was re-opened (not sent for a reactivation's review).
	ReviewReopened = "verification.review_reopened"
	// The provider's side of a relationship: how the reseller answered
	// its request, and the relationship ended by the reseller.
	RequestAccepted = "relationships.request_accepted"
	RequestDeclined = "relationships.request_declined"
	RequestDeferred = "relationships.request_deferred"
	RequestExpired  = "relationships.request_expired"
	// RequestUndelivered: the request's mail to the reseller did not
	// arrive (the invitation or its reminder).
	RequestUndelivered = "relationships.request_undelivered"
	RelationshipEnded  = "relationships.relationship_ended"
	// A grant held, and given back, because one party's standing changed:
	// the other party is told (the one whose standing changed has its
	// standing mail).
	AccessSuspended  = "relationships.access_suspended"
	AccessReinstated = "relationships.access_reinstated"
	// AccessNarrowed: one side took roles off the live grant; the other
	// side is told which roles are gone and which remain.
	AccessNarrowed = "relationships.access_narrowed"
)

// Kinds is the catalog, in the order a partner meets them. The notifier
// subscribes to each Trigger (services/notifier/internal/adapters/events);
// a new mail is a directory under templates/ and a line here and there.
var Kinds = []Kind{
	{VerifyEmail, emailv1.TypeVerificationMailRequested, Transactional, "the enrollment's contact (address in the request)",
		"the confirmation link (a page with a button) and the 6-digit code, valid until, the dispute link"},
	{DocumentsRequested, verificationv1.TypeDocumentsRequested, Transactional, "the partner's contact",
		"the check and what is wrong (reason, the reviewer's message), the exact documents that cure it, for the employment check the domain proof (DNS TXT record or URL) that cures it instead, the deadline (date and business days), appeals left, the documents page"},
	{DocumentsReminder, verificationv1.TypeReminderDue, Reminder, "the partner's contact",
		"the documents still due, the deadline (date and business days left), the documents page"},
	{VerificationRejected, verificationv1.TypeVerificationRejected, Transactional, "the partner's contact",
		"which check failed and why; FINAL: the decision is final, what the partner can still do (ask support with the case id); RETRY without appeals left: the same"},
	{VerificationApproved, verificationv1.TypeVerificationApproved, Transactional, "the partner's contact",
		"the partner ID is valid; for a reseller, the link to accept the reseller agreement (which makes the enrollment active)"},
	{ReviewReopened, verificationv1.TypeCaseReopened, Transactional, "the partner's contact",
		"the review of the partner's registration, whose approval was revoked, was re-opened (when) and a reviewer checks the company's details again: nothing is needed now, and if documents are needed a separate mail says which ones and by when; the partner account stays suspended, so the partner cannot transact, until the review approves it, and a mail says when it is active again; the case number for partner support, the documents page. Never the note or who re-opened the review. Not sent for a reactivation's review (the standing mail tells it)"},
	{ReacceptanceRequired, agreementsv1.TypeReacceptanceRequired, Transactional, "the partner's contact",
		"the program, the new version, the date by which to accept it, the agreements link"},
	{ReacceptanceOverdue, agreementsv1.TypeReacceptanceOverdue, Transactional, "the partner's contact",
		"the deadline passed: the old acceptance no longer counts; for the provider and reseller programs, the delegated access on its side is on hold meanwhile (the other party is told) and no request or authorisation can be made; accept the new version (link)"},
	{ReacceptanceWithdrawn, agreementsv1.TypeReacceptanceCancelled, Transactional, "the partner's contact",
		"the version of the program agreement the partner was asked to accept (by the date) was withdrawn, so it cannot and need not be accepted; the earlier acceptance stays in force and nothing is needed (the agreements link); when the deadline had passed: the partner can transact in the program again and, for the provider and reseller programs, the delegated access on its side works again once the other party can do business too (the other party is told), and requests or authorisations can be made again. Not sent when the partner's account was closed"},
	{AcceptanceRefused, agreementsv1.TypeAcceptanceRefused, Transactional, "the partner's contact",
		"an acceptance made before agreements knew of the partner or of its approval (answered 202) was not recorded: the program and version, when it was made, why (the refusal in words, and its code), that the administrator may accept again (link). Not sent when the rejection or standing mail already says why (the verification was not approved or was revoked, the partner is not in good standing)"},
	{Invitation, relv1.TypeRequestCreated, Transactional, "the reseller's contact (its administrator)",
		"the provider's legal name, the roles and their meaning, the duration and auto-extension, the invitation link (sealed to the notifier by relationships) and its expiry"},
	{InvitationReminder, relv1.TypeRequestReminderDue, Reminder, "the reseller's contact",
		"an invitation still unanswered, its expiry, the same invitation link"},
	{AccessExpiring, relv1.TypeAccessExpiring, Transactional, "the reseller's contact",
		"the provider's delegated access ends at (or renews at) the expiry; how to renew"},
	{AccessExpired, relv1.TypeAccessExpired, Transactional, "the reseller's contact",
		"the provider's delegated access ended; the provider must ask again"},
	{AccessTerminated, relv1.TypeAccessTerminated, Transactional, "the reseller's contact",
		"the provider's delegated access was removed because the relationship ended (not sent when a widening supersedes a grant)"},
	{RequestAccepted, relv1.TypeRequestAccepted, Transactional, "the provider's contact",
		"the reseller's legal name and partner ID authorised the provider's request (to be its indirect provider, or wider access) and when; the delegated administrator roles authorised; the link to the provider's resellers (where the access's end shows)"},
	{RequestDeclined, relv1.TypeRequestDeclined, Transactional, "the provider's contact",
		"the reseller declined the request and when; no access was granted; the reseller's message as written, when it gave one; to ask again, talk to the reseller and send a new request"},
	{RequestDeferred, relv1.TypeRequestDeferred, Transactional, "the provider's contact",
		"the reseller will answer later; the request stays open until its expiry (date), then expires; nothing needed from the provider"},
	{RequestExpired, relv1.TypeRequestExpired, Transactional, "the provider's contact",
		"the request expired unanswered, no access was granted; check with the reseller's administrator and send a new request"},
	{RequestUndelivered, relv1.TypeRequestUndelivered, Transactional, "the provider's contact",
		"the request's mail (the invitation, or its reminder) could not be delivered to the reseller's contact, when, and why (the address refused, the server unreachable until the retries ran out, the invitation expired first); the reseller may not know of the request, which stays open until it expires; to have it answered, send the reseller's administrator the invitation link given when the request was made, or ask the reseller to correct its contact address and send a new request; the provider's resellers page, where the request shows why"},
	{RelationshipEnded, relv1.TypeRelationshipEnded, Transactional, "the other side's contact: the provider's when the reseller ended it or its account was closed; the reseller's when the provider ended it or its account was closed while no access was live (otherwise the access removed mail tells it)",
		"to the provider: the reseller ended the relationship (with its message as written), or the relationship ended because the reseller's partner account was closed (never the closure's record); the provider's delegated access was removed at once. To the reseller: the provider ended it (with its message as written) or its account was closed, no access was live, so nothing was removed; or the provider's pending invitation was withdrawn because its account was closed (its link no longer works); to work together again the provider sends a new request"},
	{AccessSuspended, relv1.TypeAccessSuspended, Transactional, "the other side's contact: the reseller's when the provider left good standing or its provider agreement lapsed, the provider's when the reseller did",
		"the other party cannot do business with us at the moment (never why: a standing hold, or its program agreement no longer in force), so the delegated administrator access is on hold since then: to the reseller, the provider cannot manage its directory or sell to its customers; to the provider, it cannot act for the reseller. The authorisation stays and its term runs on; it works again by itself once that party can do business again, and a mail says so; nothing is needed (the reseller may end the relationship)"},
	{AccessReinstated, relv1.TypeAccessReinstated, Transactional, "the contact told of the suspension: the other side of the party whose standing had held it (not sent for a grant held before round 22, whose event does not name that party)",
		"the other party can do business with us again, so the delegated administrator access works again since then, until its expiry (date)"},
	{AccessNarrowed, relv1.TypeAccessNarrowed, Transactional, "the other side's contact: the provider's when the reseller narrowed the grant, the reseller's when the provider gave roles up",
		"which delegated administrator roles were taken off the grant and by whom, when, and the roles that remain (the grant's term is unchanged); to the provider: to get a role back it asks the reseller with a request for wider access; to the reseller: nothing is needed"},
	{StandingChanged, regv1.TypePartnerStandingChanged, Transactional, "the partner's contact",
		"the new standing (suspended, inactive, active again, closed); for each reason placed what happened and what cures it (enforce MFA, a new review and the documents page, partner support, reactivation in the portal), the reasons lifted, those still in force; active again: what was restored; closed: that it is final and what remains possible. Never the operator's note"},
	{DuplicateClaimUpheld, verificationv1.TypeDuplicateClaimUpheld, Transactional, "the existing partner's contact (its administrator)",
		"a company refused as a duplicate of this partner was found by a reviewer to be this company: the claimant's contact (name, address, the company name it registered with) and the request to add that contact as a user in the partner portal; what to do if the contact is unknown (ask support with the claim id)"},
	{DisputeDismissed, verificationv1.TypeEmailDisputeDismissed, Transactional, "the partner's contact (the address the report named)",
		"the report was reviewed and the address stays the partner's contact: the reviewer's reason and message, the program whose mail was reported; confirm with the earlier mail if it is yours (until when its link confirms), else ask partner support with the partner ID"},
	{DisputeUpheld, verificationv1.TypeEmailDisputeUpheld, Transactional, "the address the reported mail went to (removed from the partner by this decision)",
		"the report was upheld: the address was removed from the partner registration, the earlier links no longer work, no more mail about the registration goes to it; the reviewer's message; nothing to do"},
	{ProfileChangeRejected, regv1.TypeProfileChangeRejected, Transactional, "the partner's contact (the verified one)",
		"which re-opened check of the profile change failed and the verifier's reason, the change number; the verified profile stays as it was"},
	{ProfileChangeApplied, regv1.TypeProfileChangeApplied, Transactional, "the partner's contact (the new one when the change moved it), and the previous contact address when the change moved it",
		"the change number, each changed field from and to, the checks it passed when it was reviewed, when it was applied; who to tell when nobody at the company asked for it (partner support, with the partner ID). To the previous address: only that the contact address moved away from it, when, and the same advice"},
}

// KindOf returns the catalog entry of a template id.
func KindOf(id string) (Kind, bool) {
	for _, k := range Kinds {
		if k.ID == id {
			return k, true
		}
	}
	return Kind{}, false
}

// Data is what a template sees. It is language-neutral: codes and instants,
// which the templates turn into words and dates of their language with the
// functions of terms/<lang>.yaml. Links and Code are filled when the mail
// is sent (they may come from a sealed secret) and never stored.
type Data struct {
	Partner Party  `json:"partner"`
	Links   Links  `json:"-"`
	Code    string `json:"-"`
	// Program is the enrollment a confirmation mail is for: a registration
	// mails one per enrollment, each with its own code, and the portal asks
	// for each enrollment's code apart.
	Program string `json:"program,omitempty"`
	// ContactChange: a confirmation mail of the new contact address a
	// partner named (a profile change or a correction of its contact), not
	// of a registration: it says which company named the address.
	ContactChange bool          `json:"contact_change,omitempty"`
	ExpiresAt     time.Time     `json:"expires_at,omitzero"`
	Verification  *Verification `json:"verification,omitempty"`
	Agreement     *Agreement    `json:"agreement,omitempty"`
	Relationship  *Relationship `json:"relationship,omitempty"`
	Standing      *Standing     `json:"standing,omitempty"`
	Claim         *Claim        `json:"claim,omitempty"`
	Dispute       *Dispute      `json:"dispute,omitempty"`
	// ProfileChange facts of the profile change mails.
	ProfileChange *ProfileChange `json:"profile_change,omitempty"`
}

// Claim is an upheld duplicate claim: who asks to be added to the partner.
type Claim struct {
	ClaimID         string `json:"claim_id,omitempty"`
	ClaimantFirst   string `json:"claimant_first_name,omitempty"`
	ClaimantLast    string `json:"claimant_last_name,omitempty"`
	ClaimantEmail   string `json:"claimant_email,omitempty"`
	ClaimantCompany string `json:"claimant_company,omitempty"`
}

// Dispute is a decided "this wasn't me" report: the program whose mail
// was reported, the reviewer's reason code and message (free text, shown
// as written), and until when the reported mail's link confirms (zero:
// not known).
type Dispute struct {
	Program       string    `json:"program,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	Message       string    `json:"message,omitempty"`
	LinkExpiresAt time.Time `json:"link_expires_at,omitzero"`
}

// ProfileChange is a rejected profile change: its number, the failed check
// and the verifier's reason (free text, shown as written).
type ProfileChange struct {
	Number int    `json:"number"`
	Check  string `json:"check"`
	Reason string `json:"reason"`
	// Of an applied change: what changed, the checks it passed (none:
	// applied without a review), when; ToPrevious marks the mail to the
	// contact address the change replaced, which is told no more than that.
	// Each change is registration's (its field path, e.g.
	// company.address.line1, with the values before and after).
	Changes    []regv1.FieldChange `json:"changes,omitempty"`
	Passed     []string            `json:"passed,omitempty"`
	AppliedAt  time.Time           `json:"applied_at,omitzero"`
	ToPrevious bool                `json:"to_previous,omitempty"`
}

// Party is the recipient's company and contact.
type Party struct {
	ID          string `json:"id,omitempty"`
	CompanyName string `json:"company_name,omitempty"`
	// ContactName is used as given when set; otherwise the name is written
	// from the first and last name in the order of the language.
	ContactName      string `json:"contact_name,omitempty"`
	ContactFirstName string `json:"contact_first_name,omitempty"`
	ContactLastName  string `json:"contact_last_name,omitempty"`
	Market           string `json:"market,omitempty"`
}

// Name is the contact's name as a mail in l writes it (its greeting, its
// To header): ContactName as given, else family name first in Japanese —
// and in English for a name written in Japanese, as Japanese names are
// written in English today — and given name first otherwise.
func (p Party) Name(l Language) string {
	if p.ContactName != "" {
		return p.ContactName
	}
	if l == Japanese || hasJapanese(p.ContactLastName+p.ContactFirstName) {
		return strings.TrimSpace(p.ContactLastName + " " + p.ContactFirstName)
	}
	return strings.TrimSpace(p.ContactFirstName + " " + p.ContactLastName)
}

// Links are the URLs a mail may carry.
type Links struct {
	Confirm, Dispute string // e-mail ownership
	Invitation       string // the relationship request, opened by the reseller's administrator
	Portal           string // the partner portal's home
	Documents        string // where the partner uploads documents and sees what is due
	Agreements       string // where the partner's administrator accepts agreements
	Relationships    string // the reseller's providers
	Account          string // the partner's page: its standing and what cures it
	Reactivation     string // where the partner's administrator reactivates an inactive partner
	Unsubscribe      string // reminders only
}

// Verification facts of the verification mails.
type Verification struct {
	CaseID           string    `json:"case_id,omitempty"`
	Check            string    `json:"check,omitempty"`
	Reason           string    `json:"reason,omitempty"`
	Mode             string    `json:"mode,omitempty"` // RETRY or FINAL
	ApplicantMessage string    `json:"applicant_message,omitempty"`
	Documents        []string  `json:"documents,omitempty"`
	DueAt            time.Time `json:"due_at,omitzero"`
	BusinessDaysLeft int       `json:"business_days_left,omitempty"`
	AppealsRemaining int       `json:"appeals_remaining,omitempty"`
	Programs         []string  `json:"programs,omitempty"`
	// ReopenedAt is when the review of a revoked approval was re-opened.
	ReopenedAt time.Time `json:"reopened_at,omitzero"`
	// DomainProof is the other cure of an employment request: prove the
	// contact e-mail's domain by a DNS TXT record or a file at a URL.
	DomainProof *DomainProof `json:"domain_proof,omitempty"`
}

// DomainProof is what the applicant publishes to prove its domain (either
// way), then asks for the check in the portal.
type DomainProof struct {
	Domain      string `json:"domain"`
	DNSTXTName  string `json:"dns_txt_name"`
	DNSTXTValue string `json:"dns_txt_value"`
	HTTPURL     string `json:"http_url"`
	HTTPBody    string `json:"http_body"`
}

// Agreement facts of the agreement mails. Refusal is the error code of an
// acceptance that could not be recorded, RequestedAt when it was made.
// OverdueAt is when a withdrawn re-acceptance had been found overdue (zero:
// withdrawn before its deadline): the partner was told it could no longer
// transact, and is now told it can again.
type Agreement struct {
	Program     string    `json:"program,omitempty"`
	VersionID   string    `json:"version_id,omitempty"`
	DueBy       time.Time `json:"due_by,omitzero"`
	OverdueAt   time.Time `json:"overdue_at,omitzero"`
	Refusal     string    `json:"refusal,omitempty"`
	RequestedAt time.Time `json:"requested_at,omitzero"`
}

// Relationship facts of the relationship mails. The reseller's mails name
// the provider, the provider's mails the reseller; each name is filled in
// when the mail is sent. Message is the other party's own words to the
// recipient (a decline's reason, the reason a reseller gave when it ended
// the relationship), shown as written; Cause is a relationship's end cause
// (relationships.relationship.ended.v1).
type Relationship struct {
	// RelationshipID is set on the invitation and its reminder (their
	// failure's event names it).
	RelationshipID string    `json:"relationship_id,omitempty"`
	RequestID      string    `json:"request_id,omitempty"`
	Kind           string    `json:"kind,omitempty"` // initial or widen
	ProviderID     string    `json:"provider_id,omitempty"`
	ProviderName   string    `json:"provider_name,omitempty"`
	ResellerID     string    `json:"reseller_id,omitempty"`
	ResellerName   string    `json:"reseller_name,omitempty"`
	Message        string    `json:"message,omitempty"`
	Cause          string    `json:"cause,omitempty"`
	OccurredAt     time.Time `json:"occurred_at,omitzero"`
	Roles          []string  `json:"roles,omitempty"`
	DurationDays   int       `json:"duration_days,omitempty"`
	AutoExtend     bool      `json:"auto_extend,omitempty"`
	ExpiresAt      time.Time `json:"expires_at,omitzero"`
	GrantID        string    `json:"grant_id,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	// UndeliveredMail is the template of the request's mail that did not
	// arrive (request_undelivered: the invitation or its reminder).
	UndeliveredMail string `json:"undelivered_mail,omitempty"`
	// EndedBy is the side that ended the relationship (relationship_ended:
	// the mail goes to the other side). InvitationWithdrawn: it was still
	// proposed, and the provider's invitation is withdrawn.
	EndedBy             string `json:"ended_by,omitempty"`
	InvitationWithdrawn bool   `json:"invitation_withdrawn,omitempty"`
	// StandingOf is the side whose standing held the access
	// (access_suspended, and access_reinstated when it gives it back): the
	// mail goes to the other side.
	StandingOf string `json:"standing_of,omitempty"`
	// NarrowedBy is the side that took roles off the grant, Removed those
	// roles (access_narrowed: the mail goes to the other side; Roles are
	// what remains).
	NarrowedBy string   `json:"narrowed_by,omitempty"`
	Removed    []string `json:"removed,omitempty"`
}

// Standing facts of the standing mail: the partner's status before and
// after, the reasons in force afterwards, and those this change placed
// (Added) and lifted. The operator's free-text note is not here: nothing
// says it is written for the partner.
type Standing struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Reasons   []string  `json:"reasons,omitempty"`
	Added     []string  `json:"added,omitempty"`
	Lifted    []string  `json:"lifted,omitempty"`
	ChangedAt time.Time `json:"changed_at,omitzero"`
}
