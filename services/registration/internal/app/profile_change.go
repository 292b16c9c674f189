package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/partnerhub/onboarding/pkg/ids"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Error codes of profile changes.
const (
	CodeProfileChangeNotFound = "registration.profile_change_not_found"
	CodeProfileChangeDecided  = "registration.profile_change_decided"
	CodeCheckNotReopened      = "registration.check_not_reopened"
	CodeCheckDecidedByEvent   = "registration.check_decided_by_email_ownership"
)

// IdentityChecker finds the partners of a market, other than one, that hold
// any of some identity keys (the duplicate check of a profile change).
type IdentityChecker interface {
	IdentityConflicts(ctx context.Context, market domain.Country, keys []domain.IdentityKey, except domain.PartnerID) (*domain.DuplicateError, error)
	// EarlierAccounts finds the partners of market that let go of any of
	// keys (a rejected registration, a closed account).
	EarlierAccounts(ctx context.Context, market domain.Country, keys []domain.IdentityKey) ([]domain.EarlierAccount, error)
}

// RequestProfileChangeCmd asks to change a partner's profile.
type RequestProfileChangeCmd struct {
	PartnerID string
	Change    domain.ProfileChangeInput
}

// ProfileView is a partner's profile: the last verified one (what the
// partner transacts on) and its latest change request, if any.
type ProfileView struct {
	PartnerID  domain.PartnerID              `json:"partner_id"`
	Market     domain.Country                `json:"market"`
	Verified   domain.NormalizedRegistration `json:"verified"`
	VerifiedAt time.Time                     `json:"verified_at,omitzero"` // absent while the registration is not approved yet
	Change     *domain.ProfileChange         `json:"change"`
}

func profileView(s domain.PartnerSnapshot) ProfileView {
	at := s.Profile.VerifiedAt
	if at.IsZero() {
		at = s.Standing.VerifiedAt
	}
	return ProfileView{PartnerID: s.ID, Market: s.Market, Verified: s.Registration.Normalized, VerifiedAt: at, Change: s.Profile.Latest}
}

// RequestProfileChange validates, normalizes and duplicate-checks a change
// of the partner's profile and records it with the checks it re-opens; a
// change that re-opens none is applied at once. Callers: the partner's
// partner_admin, operators and upstream systems. Errors: invalid_input (the
// registration's field codes), duplicate_entity (409, matched_on) when the
// changed identity is another partner's, market_immutable (409),
// email.removed_after_report (422, contact.email) for a contact address a
// verifier removed from the partner after an upheld "this wasn't me" report,
// not_yet_approved / partner_closed / partner_rejected (409).
func (a *App) RequestProfileChange(ctx context.Context, p auth.Principal, cmd RequestProfileChangeCmd) (ProfileView, error) {
	if err := p.Require(auth.RolePartnerAdmin, auth.RoleOperator, auth.RoleUpstreamSystem); err != nil {
		return ProfileView{}, err
	}
	var view ProfileView
	_, err := a.change(ctx, p, cmd.PartnerID, "request profile change", func(ctx context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		before := partner.IdentityKeys()
		change, err := partner.RequestProfileChange(cmd.Change, a.Policies().For(partner.Market()), p.Subject, now)
		if err != nil {
			return false, err
		}
		if to, ok := change.ChangedContactEmail(); ok {
			removed, err := a.repo.ContactAddressRemoved(ctx, partner.ID(), to)
			if err != nil {
				return false, fmt.Errorf("removed contact addresses: %w", err)
			}
			if removed {
				return false, domain.RemovedContactEmail(to)
			}
		}
		after := change.Proposed.Normalized.IdentityKeys()
		if !sameKeys(before, after) {
			dup, err := a.repo.IdentityConflicts(ctx, partner.Market(), after, partner.ID())
			if err != nil {
				return false, fmt.Errorf("duplicate check: %w", err)
			}
			if dup != nil {
				return false, duplicateChange(dup)
			}
		}
		partner.SawActivity(now)
		view = profileView(seenBy(p, partner.Snapshot()))
		return true, nil
	})
	if err != nil {
		return ProfileView{}, translate(err, "profile change")
	}
	return view, nil
}

func sameKeys(a, b []domain.IdentityKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// duplicateChange is the conflict of a change that would make the partner
// another partner's legal entity; the other partner is never named.
func duplicateChange(dup *domain.DuplicateError) error {
	kinds := dup.SortedMatchedOn()
	matched := make([]string, len(kinds))
	for i, k := range kinds {
		matched[i] = string(k)
	}
	return wrap(apperr.Conflict(CodeDuplicateEntity,
		"the changed legal identity is another partner's in this market; check the legal name, address and registration number").
		With("matched_on", matched), dup)
}

// GetProfile returns the verified profile and the latest change request.
// The partner's own users, verifiers and operators see it.
func (a *App) GetProfile(ctx context.Context, p auth.Principal, partnerID string) (ProfileView, error) {
	id, err := parseID[domain.PartnerID]("partner_id", ids.Partner, partnerID)
	if err != nil {
		return ProfileView{}, err
	}
	partner, err := a.repo.Get(ctx, id)
	if err != nil {
		return ProfileView{}, translate(err, "get profile "+string(id))
	}
	if !actsFor(p, partner) {
		return ProfileView{}, notFoundPartner()
	}
	return profileView(seenBy(p, partner.Snapshot())), nil
}

// DecideProfileCheckCmd is a verifier's decision on a re-opened company or
// employment check of a profile change.
type DecideProfileCheckCmd struct {
	PartnerID    string
	ChangeNumber string
	Check        string
	Outcome      string // passed or failed
	Reason       string // required when failed
}

// DecideProfileCheck records an operator's decision on a re-opened check,
// the override of verification's review (ApplyProfileCheckDecided). A failed
// check rejects the change and leaves the verified profile as it was; the
// last passing check applies it.
func (a *App) DecideProfileCheck(ctx context.Context, p auth.Principal, cmd DecideProfileCheckCmd) (ProfileView, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return ProfileView{}, err
	}
	number, nerr := strconv.Atoi(cmd.ChangeNumber)
	var fields []apperr.FieldError
	if nerr != nil || number < 1 {
		fields = append(fields, apperr.FieldError{Field: "path.number", Code: "profile_change.invalid_number", Message: "must be the change's number (1, 2, …)"})
	}
	check := domain.Recheck(strings.TrimSpace(cmd.Check))
	switch check {
	case domain.RecheckCompany, domain.RecheckEmployment, domain.RecheckEmailOwnership:
	default:
		fields = append(fields, apperr.FieldError{Field: "check", Code: "profile_change.unknown_check", Message: "must be company or employment"})
	}
	reason := strings.TrimSpace(cmd.Reason)
	switch cmd.Outcome {
	case "passed":
	case "failed":
		if reason == "" || len([]rune(reason)) > domain.MaxClaimStatement {
			fields = append(fields, apperr.FieldError{Field: "reason", Code: domain.CodeRequired, Message: "say why the check failed (at most 2000 characters); the partner is told"})
		}
	default:
		fields = append(fields, apperr.FieldError{Field: "outcome", Code: "profile_change.unknown_outcome", Message: "must be passed or failed"})
	}
	if len(fields) > 0 {
		return ProfileView{}, apperr.Invalid(CodeInvalidInput, "invalid decision", fields...)
	}
	var view ProfileView
	_, err := a.change(ctx, p, cmd.PartnerID, "decide profile check", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		if err := partner.DecideProfileCheck(number, check, cmd.Outcome == "passed", reason, p.Subject, now); err != nil {
			return false, err
		}
		view = profileView(seenBy(p, partner.Snapshot()))
		return true, nil
	})
	if err != nil {
		return ProfileView{}, translate(err, "profile change")
	}
	return view, nil
}

// ProfileCheckDecided is verification's decision on a check a profile
// change re-opened.
type ProfileCheckDecided struct {
	PartnerID    string
	ChangeNumber int
	Check        string
	Passed       bool
	Reason       string // the message for the partner, or the reason code
	Verifier     string
}

// ApplyProfileCheckDecided records verification's decision on a re-opened
// check (see DecideProfileCheck). A decision on a change decided or
// superseded meanwhile changes nothing. Callers: the verification consumer.
func (a *App) ApplyProfileCheckDecided(ctx context.Context, p auth.Principal, cmd ProfileCheckDecided) (LifecycleResult, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return LifecycleResult{}, err
	}
	reason := strings.TrimSpace(cmd.Reason)
	if !cmd.Passed && reason == "" {
		reason = "the " + cmd.Check + " check failed"
	}
	by := "verification"
	if cmd.Verifier != "" {
		by = "verification:" + cmd.Verifier
	}
	res, err := a.change(ctx, p, cmd.PartnerID, "apply profile check", func(_ context.Context, partner *domain.Partner, now time.Time) (bool, error) {
		err := partner.DecideProfileCheck(cmd.ChangeNumber, domain.Recheck(cmd.Check), cmd.Passed, reason, by, now)
		if errors.Is(err, domain.ErrProfileChangeDecided) {
			return false, nil
		}
		return err == nil, err
	})
	return res, translate(err, "profile change")
}
