// Package domain holds the rules of provider relationships: the projection of
// partners this service keeps, the Relationship aggregate (requests, consent,
// the delegated access grant and its timers) and the events it records. It is
// pure Go: no database, broker or HTTP imports.
package domain

import "errors"

// Sentinel errors. The app layer maps each to one stable apperr code.
var (
	// Projection.
	ErrPartnerNotFound = errors.New("partner not found")
	ErrInvalidPartner  = errors.New("invalid partner event")
	ErrMarketChanged   = errors.New("a partner's market can never change")

	// Creating a request.
	ErrProviderNotActive = errors.New("provider has no active indirect_provider enrollment")
	// Standing: registration suspended the partner, it is inactive or closed.
	ErrProviderNotInGoodStanding = errors.New("the provider is not in good standing")
	ErrResellerNotInGoodStanding = errors.New("the reseller is not in good standing")
	ErrTargetNotLocation         = errors.New("target is a global partner ID, not a location ID")
	ErrResellerUnknown           = errors.New("no partner has this location ID")
	ErrTargetNotReseller         = errors.New("target has no indirect_reseller enrollment")
	ErrMarketMismatch            = errors.New("provider and reseller are in different markets")
	ErrSelfRelationship          = errors.New("a partner cannot be its own provider")
	ErrRelationshipExists        = errors.New("an active relationship already exists")
	ErrRequestPending            = errors.New("an open request already exists")
	ErrNoRoles                   = errors.New("no roles")
	ErrUnknownRole               = errors.New("role not in the catalog")
	ErrDurationOutOfRange        = errors.New("duration out of range")
	ErrAutoExtendFullAdmin       = errors.New("auto-extension is not allowed with full_administrator")

	// Answering an invitation.
	ErrInvitationUnknown   = errors.New("invitation unknown")
	ErrInvitationExpired   = errors.New("invitation expired")
	ErrInvitationUsed      = errors.New("invitation already answered")
	ErrInvitationWithdrawn = errors.New("invitation withdrawn")
	ErrConsentRequired     = errors.New("explicit consent is required")
	ErrResellerNotActive   = errors.New("reseller has no active indirect_reseller enrollment")

	// After.
	ErrRelationshipNotFound  = errors.New("relationship not found")
	ErrRelationshipNotActive = errors.New("relationship is not active")
	ErrGrantNotActive        = errors.New("no active access grant")
	ErrNotNarrower           = errors.New("roles are not a strict, non-empty subset of the granted roles")
	ErrNotWider              = errors.New("roles add nothing to the granted roles")
	ErrReasonRequired        = errors.New("a reason is required")
	ErrReasonTooLong         = errors.New("reason too long")
	ErrReasonCharacters      = errors.New("the reason holds a control, invisible or bidirectional-control character")
)
