package events

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	registrationv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	relationshipsv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
)

// Redacted is what a staff-only text member reads where the partner's side
// reads the event (and a sealed secret where anyone but its recipient does).
const Redacted = "[redacted]"

// staffOnly lists, per event type, the top-level data members only the
// vendor's staff (operators, verifiers) read: words staff wrote for staff,
// words another party wrote to staff or staff wrote to another party, and a
// party's standing reasons in an event its counterparty reads. The
// services consume the events whole; readers of the event feed and webhooks
// on the partner's side — its users, its provider or resellers, the upstream
// system that registered it — read them redacted (ForPartnerSide), as the
// services' own APIs and mails show them. Each such member's schema in
// schemas/ carries "x-audience": "staff" (a test keeps the two the same).
var staffOnly = map[string][]string{
	// An operator's note on a compliance hold, its lifting or a closure; the
	// revoking verifier's reason. (The notifier never mails it.)
	registrationv1.TypePartnerStandingChanged: {"note"},
	// The revoking verifier's reason (the revocation API: for staff).
	verificationv1.TypeVerificationRevoked: {"reason"},
	// Why a decided case is reviewed again, in a verifier's or operator's words.
	verificationv1.TypeCaseReopened: {"note"},
	// The standing reasons of the side whose standing suspended the access: the
	// other side's business (its counterpart is told it "cannot do business with us"),
	// since round 44 also a lapsed program agreement's reason.
	relationshipsv1.TypeAccessSuspended: {"reasons"},
	// A duplicate claim is about the existing partner, but the claimant's
	// statement is written to the verifiers, and the decision's message to
	// the claimant (it reads it on GET /v1/duplicate-claims/{id}).
	// Since round 47 (v2) the claimant's contact too: the existing partner's
	// contact is given it only once a verifier upheld the claim (the mail),
	// and a refusal no longer names the claimant. The v1 entries mirror
	// their schemas; the partner's side reads a v1 event as its v2
	// (AsPublishedNow) before these are applied.
	registrationv1.TypeDuplicateClaimFiled:   {"statement"},
	registrationv2.TypeDuplicateClaimFiled:   {"statement", "contact"},
	verificationv1.TypeDuplicateClaimRefused: {"message"},
	verificationv2.TypeDuplicateClaimRefused: {"message"},
	verificationv1.TypeDuplicateClaimUpheld:  {"message"},
	// The company's earlier accounts (rejected, closed) named for the
	// reviewers of its new registration: another account's history.
	registrationv1.TypeApplicationSubmitted: {"earlier_accounts"},
	verificationv1.TypeReviewTaskCreated:    {"earlier_accounts"},
}

// principals lists, per event type, the data members that name a
// principal — the subject of a person or system that acted — as paths: a
// top-level member, or "list[].member" for that member of each object of a
// list. Staff's subjects (operators, verifiers) are kept from the partner's
// side: it reads such a member only when it names one of our services or
// the event's own actor acting in a partner-side role (the event's
// authclaims); any other subject — staff's, or one an event relays from an
// earlier one, whose actor's roles it does not carry — reads Redacted.
// Each such member's schema carries "x-audience": "principal" (a test keeps
// the two the same).
var principals = map[string][]string{
	agreementsv1.TypeVersionPublished:              {"published_by"},
	agreementsv1.TypeVersionRetired:                {"retired_by"},
	agreementsv1.TypeAcceptanceRecorded:            {"acceptor_user_id"},
	registrationv1.TypeApplicationSubmitted:        {"submitted_by"},
	registrationv1.TypeDuplicateClaimFiled:         {"filed_by"},
	registrationv2.TypeDuplicateClaimFiled:         {"filed_by"},
	registrationv1.TypeEnrollmentAdded:             {"added_by"},
	registrationv1.TypeLocationAdded:               {"added_by"},
	registrationv1.TypeSecurityStatusChanged:       {"reported_by"},
	registrationv1.TypePartnerStandingChanged:      {"changed_by"},
	registrationv1.TypeProfileChangeRequested:      {"requested_by"},
	registrationv1.TypeProfileChangeApplied:        {"checks[].decided_by"},
	registrationv1.TypeProfileChangeRejected:       {"rejected_by", "checks[].decided_by"},
	relationshipsv1.TypeAccessNarrowed:             {"narrowed_by_subject"},
	relationshipsv1.TypeRelationshipEnded:          {"ended_by_subject"},
	relationshipsv1.TypeRequestAccepted:            {"accepted_by"},
	relationshipsv1.TypeRequestCreated:             {"created_by"},
	relationshipsv1.TypeRequestDeclined:            {"declined_by"},
	relationshipsv1.TypeRequestDeferred:            {"deferred_by"},
	verificationv1.TypeCaseReopened:                {"reopened_by"},
	verificationv1.TypeDecisionRecorded:            {"verifier"},
	verificationv1.TypeDuplicateClaimRefused:       {"decided_by"},
	verificationv2.TypeDuplicateClaimRefused:       {"decided_by"},
	verificationv1.TypeDuplicateClaimReviewStarted: {"verifier"},
	verificationv1.TypeDuplicateClaimUpheld:        {"decided_by"},
	verificationv1.TypeEmailDisputeDismissed:       {"decided_by"},
	verificationv1.TypeEmailDisputeUpheld:          {"decided_by"},
	verificationv1.TypeProfileCheckDecided:         {"verifier"},
	verificationv1.TypeReviewTaskClaimed:           {"verifier"},
	verificationv1.TypeReviewTaskOverdue:           {"claimed_by"},
	verificationv1.TypeReviewTaskReleased:          {"verifier"},
}

// StaffOnly returns the data members of eventType only staff read (none
// for most types).
func StaffOnly(eventType string) []string { return staffOnly[eventType] }

// StaffOnlyTypes returns every event type with staff-only members.
func StaffOnlyTypes() []string { return keys(staffOnly) }

// Principals returns the paths of the data members of eventType that name
// a principal (none for most types).
func Principals(eventType string) []string { return principals[eventType] }

// PrincipalTypes returns every event type with members naming a principal.
func PrincipalTypes() []string { return keys(principals) }

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	return out
}

// ForPartnerSide returns data as the partner's side reads it: each
// staff-only member of eventType present is replaced — a string by
// Redacted, an array by an empty one, anything else by null — and each
// member naming a principal the partner's side may not read (shown answers
// false for the subject) by Redacted. Data of other types, without such
// members, or not a JSON object is returned unchanged (the same slice).
func ForPartnerSide(eventType string, data []byte, shown func(subject string) bool) []byte {
	if names := staffOnly[eventType]; len(names) > 0 {
		data = ReplaceMembers(data, func(name string, value json.RawMessage) (json.RawMessage, bool) {
			if !slices.Contains(names, name) {
				return nil, false
			}
			switch firstByte(value) {
			case '"':
				return json.RawMessage(`"` + Redacted + `"`), true
			case '[':
				return json.RawMessage(`[]`), true
			default:
				return json.RawMessage(`null`), true
			}
		})
	}
	for _, path := range principals[eventType] {
		data = hidePrincipal(data, path, shown)
	}
	return data
}

// hidePrincipal returns the JSON object data with the subject at path
// replaced by Redacted where shown answers false for it (data itself when
// nothing is replaced).
func hidePrincipal(data []byte, path string, shown func(string) bool) []byte {
	name, rest, inList := strings.Cut(path, "[].")
	return ReplaceMembers(data, func(n string, value json.RawMessage) (json.RawMessage, bool) {
		if n != name {
			return nil, false
		}
		if !inList {
			var subject string
			if json.Unmarshal(value, &subject) != nil || subject == "" || shown(subject) {
				return nil, false
			}
			return json.RawMessage(`"` + Redacted + `"`), true
		}
		var list []json.RawMessage
		if json.Unmarshal(value, &list) != nil {
			return nil, false
		}
		changed := false
		for i, item := range list {
			if out := hidePrincipal(item, rest, shown); !same(out, item) {
				list[i], changed = out, true
			}
		}
		if !changed {
			return nil, false
		}
		out, err := json.Marshal(list)
		return out, err == nil
	})
}

// same reports whether a and b are the same slice.
func same(a, b []byte) bool { return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0]) }

// ReplaceMembers returns data, a JSON object, with each top-level member
// for which replace answers true replaced by the value it returns (removed
// when that is nil). Data that is empty or not an object, or in which
// nothing is replaced, is returned unchanged (the same slice).
func ReplaceMembers(data []byte, replace func(name string, value json.RawMessage) (json.RawMessage, bool)) []byte {
	if len(data) == 0 {
		return data
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return data
	}
	changed := false
	for name, value := range members {
		if v, ok := replace(name, value); ok {
			if v == nil {
				delete(members, name)
			} else {
				members[name] = v
			}
			changed = true
		}
	}
	if !changed {
		return data
	}
	out, err := json.Marshal(members)
	if err != nil {
		return data
	}
	return out
}

// firstByte is the first byte of a JSON value past white space.
func firstByte(raw json.RawMessage) byte {
	for _, b := range raw {
		switch b {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return b
	}
	return 0
}

// AsPublishedNow returns an event published before round 47 as the
// partner's side reads it since: what that round kept from the partner's
// side is kept from it in the events published before too. A duplicate
// claim's filing and refusal, whose v1 carried the claimant (replaced by
// v2), read as their v2 — the filing's data is v2's as it stands (its
// contact then redacted as v2's is), the refusal's without the claimant —
// and a relationship a closure ended reads without the closure's record
// appended to its reason (relationships' migration 00002 does the same to
// what that service stores). Any other event is returned unchanged (the
// same slice). Staff read events as published.
func AsPublishedNow(eventType string, data []byte) (string, []byte) {
	switch eventType {
	case registrationv1.TypeDuplicateClaimFiled:
		return replacedBy[eventType], data
	case verificationv1.TypeDuplicateClaimRefused:
		return replacedBy[eventType], ReplaceMembers(data, func(name string, _ json.RawMessage) (json.RawMessage, bool) {
			return nil, name == "claimant" // removed
		})
	case relationshipsv1.TypeRelationshipEnded:
		return eventType, closureReasonCut(data)
	}
	return eventType, data
}

// replacedBy maps each type the partner's side reads as another
// (AsPublishedNow) to that other type.
var replacedBy = map[string]string{
	registrationv1.TypeDuplicateClaimFiled:   registrationv2.TypeDuplicateClaimFiled,
	verificationv1.TypeDuplicateClaimRefused: verificationv2.TypeDuplicateClaimRefused,
}

// AsReadNow returns type filters (full types or type prefixes) as the
// partner's side means them: a filter naming a type exactly selects too
// the types it reads as that one (a v1 published before its v2 replaced
// it, which AsPublishedNow hands it as the v2). filters is not changed.
func AsReadNow(filters []string) []string {
	out := filters
	for before, now := range replacedBy {
		if slices.Contains(filters, now) && !slices.Contains(out, before) {
			if len(out) == len(filters) {
				out = slices.Clone(filters)
			}
			out = append(out, before)
		}
	}
	return out
}

// closureReasonCut cuts "(<reason code>): <note>" from the reason of a
// relationship a closure ended ("the reseller's partner account was
// closed (closed_by_operator): …" → "the reseller's partner account was
// closed").
func closureReasonCut(data []byte) []byte {
	var e struct {
		Cause   string `json:"cause"`
		EndedBy string `json:"ended_by"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal(data, &e) != nil || e.Cause != relationshipsv1.EndCauseAccountClosed {
		return data
	}
	sentence := "the " + e.EndedBy + "'s partner account was closed"
	rest, ok := strings.CutPrefix(e.Reason, sentence)
	if !ok || rest == "" || (!strings.HasPrefix(rest, " (") && !strings.HasPrefix(rest, ": ")) {
		return data
	}
	return ReplaceMembers(data, func(name string, _ json.RawMessage) (json.RawMessage, bool) {
		if name != "reason" {
			return nil, false
		}
		v, _ := json.Marshal(sentence)
		return v, true
	})
}

// ourServices are the subjects our services act under.
var ourServices = bus.Services()

// IsOurService reports whether subject is one our services act under: the
// partner's side reads those wherever they name who acted.
func IsOurService(subject string) bool { return slices.Contains(ourServices, subject) }

// SubjectsShownTo returns which subjects of those who acted on a partner
// the services' answers show p: every one to staff (operators, verifiers);
// to the partner's side — its users, its provider, the upstream system
// that registered it — only our services', the registrant's (that upstream
// system's) and p's own. A service's records keep who acted, not the roles
// it acted in, so an operator's or a verifier's subject, which the
// partner's side never reads, cannot be told there from another user's of
// the partner: only those three are shown. (Events declare their actor's
// roles: the timeline shows a partner-side actor to the partner's side.)
func SubjectsShownTo(p auth.Principal, registrant string) func(subject string) bool {
	if p.IsStaff() {
		return func(string) bool { return true }
	}
	return func(subject string) bool {
		return IsOurService(subject) || (subject != "" && (subject == registrant || subject == p.Subject))
	}
}

// HideSubject replaces *subject by Redacted unless it is empty or shown
// answers true for it.
func HideSubject(subject *string, shown func(string) bool) {
	if *subject != "" && !shown(*subject) {
		*subject = Redacted
	}
}
