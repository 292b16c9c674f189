package app

import (
	"errors"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/relationships/internal/domain"
)

// Error codes of this service. Stable: clients and dead-letter readers key on them.
const (
	CodeInvalidEvent            = "relationships.invalid_event"
	CodeMarketChanged           = "relationships.market_changed"
	CodeProviderNotActive       = "relationships.provider_not_active"
	CodeTargetNotLocation       = "relationships.target_not_location"
	CodeResellerUnknown         = "relationships.reseller_unknown"
	CodeResellerLocationMissing = "relationships.reseller_location_missing"
	CodeTargetNotReseller       = "relationships.target_not_reseller"
	CodeMarketMismatch          = "relationships.market_mismatch"
	CodeSelfRelationship        = "relationships.self_relationship"
	CodeRelationshipExists      = "relationships.relationship_exists"
	CodeRequestPending          = "relationships.request_pending"
	CodeInvalidTerms            = "relationships.invalid_terms"
	CodeInvitationUnknown       = "relationships.invitation_unknown"
	CodeInvitationExpired       = "relationships.invitation_expired"
	CodeInvitationUsed          = "relationships.invitation_used"
	CodeInvitationWithdrawn     = "relationships.invitation_withdrawn"
	CodeConsentRequired         = "relationships.consent_required"
	CodeResellerNotActive       = "relationships.reseller_not_active"
	CodeRelationshipNotFound    = "relationships.relationship_not_found"
	CodeRelationshipNotActive   = "relationships.relationship_not_active"
	CodeGrantNotActive          = "relationships.grant_not_active"
	CodeNotNarrower             = "relationships.not_narrower"
	CodeNotWider                = "relationships.not_wider"
	CodeInvalidReason           = "relationships.invalid_reason"
	CodeInvalidPartnerID        = "relationships.invalid_partner_id"
	// A party suspended, inactive or closed by registration: the answer
	// carries standing and reasons.
	CodeProviderNotInGoodStanding = "relationships.provider_not_in_good_standing"
	CodeResellerNotInGoodStanding = "relationships.reseller_not_in_good_standing"
)

// notInGoodStanding is the refusal for a party registration does not let
// transact, with its standing and reasons.
func notInGoodStanding(side domain.Side, pt domain.Partner) error {
	code, sentinel := CodeResellerNotInGoodStanding, domain.ErrResellerNotInGoodStanding
	if side == domain.SideProvider {
		code, sentinel = CodeProviderNotInGoodStanding, domain.ErrProviderNotInGoodStanding
	}
	reasons := pt.Standing.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	e := apperr.Conflict(code, "the "+string(side)+" is "+pt.Standing.Status+" and may not transact until it is active again").
		With("standing", pt.Standing.Status).With("reasons", reasons)
	e.Err = sentinel
	return e
}

func relationshipNotFound() error {
	return apperr.NotFound(CodeRelationshipNotFound, "no such relationship")
}

// mapErr translates domain sentinels into coded application errors; other
// errors (infrastructure) pass through and count as internal.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	field := func(code, f, fcode string) error {
		e := apperr.Invalid(code, err.Error(), apperr.FieldError{Field: f, Code: fcode, Message: err.Error()})
		e.Err = err
		return e
	}
	kind := func(k apperr.Kind, code, msg string) error {
		e := apperr.New(k, code, msg)
		e.Err = err
		return e
	}
	switch {
	case errors.Is(err, domain.ErrInvalidPartner):
		return kind(apperr.KindInvalid, CodeInvalidEvent, "the partner event is not usable")
	case errors.Is(err, domain.ErrMarketChanged):
		return kind(apperr.KindInvalid, CodeMarketChanged, "a partner's market can never change")
	case errors.Is(err, domain.ErrProviderNotActive):
		return kind(apperr.KindConflict, CodeProviderNotActive, "the provider has no active indirect provider enrollment")
	case errors.Is(err, domain.ErrTargetNotLocation):
		return field(CodeTargetNotLocation, "reseller_location_id", "partner_id.global_not_location")
	case errors.Is(err, domain.ErrResellerUnknown):
		return kind(apperr.KindNotFound, CodeResellerUnknown, "no reseller has this location ID")
	case errors.Is(err, domain.ErrTargetNotReseller):
		return kind(apperr.KindConflict, CodeTargetNotReseller, "the partner at this location is not enrolled as an indirect reseller")
	case errors.Is(err, domain.ErrMarketMismatch):
		return kind(apperr.KindConflict, CodeMarketMismatch, "provider and reseller are in different markets")
	case errors.Is(err, domain.ErrSelfRelationship):
		return field(CodeSelfRelationship, "reseller_location_id", "partner_id.self")
	case errors.Is(err, domain.ErrRelationshipExists):
		return kind(apperr.KindConflict, CodeRelationshipExists, "an active relationship with this reseller already exists")
	case errors.Is(err, domain.ErrRequestPending):
		return kind(apperr.KindConflict, CodeRequestPending, "a request to this reseller is already open")
	case errors.Is(err, domain.ErrNoRoles):
		return field(CodeInvalidTerms, "roles", "roles.empty")
	case errors.Is(err, domain.ErrUnknownRole):
		return field(CodeInvalidTerms, "roles", "roles.unknown")
	case errors.Is(err, domain.ErrDurationOutOfRange):
		return field(CodeInvalidTerms, "duration_days", "duration_days.out_of_range")
	case errors.Is(err, domain.ErrAutoExtendFullAdmin):
		return field(CodeInvalidTerms, "auto_extend", "auto_extend.full_administrator")
	case errors.Is(err, domain.ErrInvitationUnknown):
		return kind(apperr.KindNotFound, CodeInvitationUnknown, "this invitation link is not valid")
	case errors.Is(err, domain.ErrInvitationExpired):
		return kind(apperr.KindConflict, CodeInvitationExpired, "this invitation has expired")
	case errors.Is(err, domain.ErrInvitationUsed):
		return kind(apperr.KindConflict, CodeInvitationUsed, "this invitation has already been answered")
	case errors.Is(err, domain.ErrInvitationWithdrawn):
		return kind(apperr.KindConflict, CodeInvitationWithdrawn, "this invitation is no longer valid")
	case errors.Is(err, domain.ErrConsentRequired):
		return field(CodeConsentRequired, "consent", "consent.required")
	case errors.Is(err, domain.ErrResellerNotActive):
		return kind(apperr.KindConflict, CodeResellerNotActive, "the reseller enrollment is not active yet: accept the reseller agreement first")
	case errors.Is(err, domain.ErrRelationshipNotFound):
		return relationshipNotFound()
	case errors.Is(err, domain.ErrRelationshipNotActive):
		return kind(apperr.KindConflict, CodeRelationshipNotActive, "the relationship is not active")
	case errors.Is(err, domain.ErrGrantNotActive):
		return kind(apperr.KindConflict, CodeGrantNotActive, "the relationship has no active access grant")
	case errors.Is(err, domain.ErrNotNarrower):
		return field(CodeNotNarrower, "roles", "roles.not_narrower")
	case errors.Is(err, domain.ErrNotWider):
		return field(CodeNotWider, "roles", "roles.not_wider")
	case errors.Is(err, domain.ErrReasonRequired):
		return field(CodeInvalidReason, "reason", apperr.CodeFieldRequired)
	case errors.Is(err, domain.ErrReasonTooLong):
		return field(CodeInvalidReason, "reason", "reason.too_long")
	case errors.Is(err, domain.ErrReasonCharacters):
		return field(CodeInvalidReason, "reason", "reason.invalid_characters")
	}
	return err
}
