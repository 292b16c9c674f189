package app

import (
	"errors"
	"fmt"
	"github.com/partnerhub/onboarding/pkg/ids"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Error codes of the registration use cases (apperr.Error.Code). Field-level
// codes are the domain.Code* constants.
const (
	CodeInvalidInput             = "registration.invalid_input"
	CodeInvalidID                = "registration.invalid_id"
	CodeIDKindMismatch           = "registration.id_kind_mismatch"
	CodeDuplicateEntity          = "registration.duplicate_entity"
	CodePartnerNotFound          = "registration.partner_not_found"
	CodeDuplicateAttemptNotFound = "registration.duplicate_attempt_not_found"
	CodeDuplicateClaimExists     = "registration.duplicate_claim_exists"
	CodeDuplicateClaimExpired    = "registration.duplicate_claim_window_closed"
	CodeMarketImmutable          = "registration.market_immutable"
	CodeIllegalTransition        = "registration.illegal_transition"
	CodeVerificationDecided      = "registration.verification_already_decided"
	CodeNotEnrolled              = "registration.not_enrolled"
	CodeNotYetApproved           = "registration.not_yet_approved"
	CodeProgramTakesNoLocation   = "registration.program_takes_no_location"
	CodeLocationRequired         = "registration.location_required"
	CodeLocationNotFound         = "registration.location_not_found"
	CodeLocationNotActive        = "registration.location_not_active"
	CodeLocationCountryMismatch  = "registration.location_country_mismatch"
	CodeLocationAlreadyLinked    = "registration.location_already_linked"
	CodeEnrollmentRejected       = "registration.enrollment_rejected"
	CodeEnrollmentNotFound       = "registration.enrollment_not_found"
	CodePartnerClosed            = "registration.partner_closed"
	CodeDuplicateReleased        = "registration.duplicate_released"
	CodePartnerRejected          = "registration.partner_rejected"
	CodeNotInactive              = "registration.not_inactive"
	CodeAlreadyEnrolled          = "registration.already_enrolled"
	CodeLocationExists           = "registration.location_exists"
	CodeProgramNotInMarket       = "registration.program_not_in_market"
)

// translate turns domain errors into coded application errors; anything
// unknown is returned wrapped and so stays an internal (retryable) error.
func translate(err error, op string) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		return apperr.Invalid(CodeInvalidInput, "the request has invalid fields; see fields", ve.Fields...)
	}
	var te *domain.TransitionError
	if errors.As(err, &te) {
		return wrap(apperr.Conflict(CodeIllegalTransition,
			fmt.Sprintf("the %s enrollment cannot go from %s to %s", te.Program, te.From, te.To)).
			With("enrollment_id", string(te.EnrollmentID)).With("program", string(te.Program)).
			With("from", string(te.From)).With("to", string(te.To)), err)
	}
	for _, m := range sentinelMap {
		if errors.Is(err, m.sentinel) {
			return wrap(apperr.New(m.kind, m.code, m.message), err)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func wrap(ae *apperr.Error, cause error) *apperr.Error {
	ae.Err = cause
	return ae
}

var sentinelMap = []struct {
	sentinel error
	kind     apperr.Kind
	code     string
	message  string
}{
	{domain.ErrPartnerNotFound, apperr.KindNotFound, CodePartnerNotFound, "no such partner"},
	{domain.ErrDuplicateAttemptNotFound, apperr.KindNotFound, CodeDuplicateAttemptNotFound, "no such duplicate attempt"},
	{domain.ErrClaimAlreadyFiled, apperr.KindConflict, CodeDuplicateClaimExists, "a claim was already filed for this duplicate attempt"},
	{domain.ErrClaimWindowClosed, apperr.KindConflict, CodeDuplicateClaimExpired, "the time to file a claim for this duplicate attempt has passed; register again or contact support"},
	{domain.ErrDuplicateReleased, apperr.KindConflict, CodeDuplicateReleased, "the registration this attempt collided with no longer blocks the company (that account was closed, or its registration rejected): submit the registration again, no claim is needed"},
	{domain.ErrMarketImmutable, apperr.KindConflict, CodeMarketImmutable, "the market of a partner can never be changed; selling in another market needs another registration"},
	{domain.ErrPartnerDecided, apperr.KindConflict, CodeVerificationDecided, "verification already decided otherwise for this partner"},
	{domain.ErrNotEnrolled, apperr.KindConflict, CodeNotEnrolled, "the partner is not enrolled in this program"},
	{domain.ErrAgreementBeforeApproval, apperr.KindConflict, CodeNotYetApproved, "the agreement can be accepted only after verification approved the partner"},
	{domain.ErrProgramTakesNoLocation, apperr.KindInvalid, CodeProgramTakesNoLocation, "only an indirect reseller enrollment takes a location ID"},
	{domain.ErrLocationRequired, apperr.KindInvalid, CodeLocationRequired, "an indirect reseller enrollment needs a location ID"},
	{domain.ErrLocationNotFound, apperr.KindNotFound, CodeLocationNotFound, "the location ID does not belong to this partner"},
	{domain.ErrLocationNotActive, apperr.KindConflict, CodeLocationNotActive, "the location ID is not active yet; it becomes active when verification approves the partner"},
	{domain.ErrLocationCountryMismatch, apperr.KindConflict, CodeLocationCountryMismatch, "the location ID is in another country than the enrollment"},
	{domain.ErrLocationAlreadyLinked, apperr.KindConflict, CodeLocationAlreadyLinked, "the active enrollment is linked to another location ID"},
	{domain.ErrEnrollmentClosed, apperr.KindConflict, CodeEnrollmentRejected, "the enrollment was rejected"},
	{domain.ErrEnrollmentNotFound, apperr.KindNotFound, CodeEnrollmentNotFound, "the partner has no such enrollment"},
	{domain.ErrPendingCorrection, apperr.KindConflict, CodeNotYetApproved, "the partner is not approved yet; while verification reviews its registration only the primary contact can be corrected, with an e-mail address on the same domain"},
	{domain.ErrNotApproved, apperr.KindConflict, CodeNotYetApproved, "the partner is not approved yet; its registration is still with verification"},
	{domain.ErrPartnerClosed, apperr.KindConflict, CodePartnerClosed, "the partner is closed, which is final: its standing, profile, programs and security requirements no longer change"},
	{domain.ErrPartnerRejected, apperr.KindConflict, CodePartnerRejected, "the partner's registration was rejected"},
	{domain.ErrNotInactive, apperr.KindConflict, CodeNotInactive, "the partner is not inactive; only an inactive partner is reactivated"},
	{domain.ErrInvalidSecurityReport, apperr.KindInvalid, CodeInvalidInput, "invalid security requirements report"},
	{domain.ErrAlreadyEnrolled, apperr.KindConflict, CodeAlreadyEnrolled, "the partner is already enrolled in this program at this location"},
	{domain.ErrNetworkComesWithReg, apperr.KindConflict, CodeAlreadyEnrolled, "every partner has the partner network membership from its registration"},
	{domain.ErrLocationExists, apperr.KindConflict, CodeLocationExists, "the partner already has a location at this address"},
	{domain.ErrProgramNotInMarket, apperr.KindConflict, CodeProgramNotInMarket, "the program is not offered in the partner's market"},
	{domain.ErrProfileChangeNotFound, apperr.KindNotFound, CodeProfileChangeNotFound, "the partner has no such profile change"},
	{domain.ErrProfileChangeDecided, apperr.KindConflict, CodeProfileChangeDecided, "the profile change or this check is decided already (or superseded by a newer change)"},
	{domain.ErrCheckNotReopened, apperr.KindConflict, CodeCheckNotReopened, "the profile change did not re-open this check"},
	{domain.ErrCheckDecidedByEvent, apperr.KindConflict, CodeCheckDecidedByEvent, "the new contact address confirms itself through the e-mail ownership service"},
}

// invalidNote answers a missing or too long reason.
func invalidNote() error {
	return apperr.Invalid(CodeInvalidInput, "say why", apperr.FieldError{Field: "note", Code: domain.CodeRequired,
		Message: "is required (at most 2000 characters)"})
}

// ReadID reads an identifier named field (a path parameter's field is
// "path.<name>", as every service names it) in its canonical form, with
// the errors of parseID.
func ReadID(field string, kind ids.Kind, s string) (string, error) {
	return parseID[string](field, kind, s)
}

// parseID parses an identifier from a command field with a precise error.
func parseID[T ~string](field string, kind ids.Kind, s string) (T, error) {
	id, err := ids.Parse(kind, s)
	switch {
	case errors.Is(err, ids.ErrWrongKind):
		return "", apperr.Invalid(CodeIDKindMismatch, "the identifier is of another kind", ids.FieldError(field, err, kind))
	case err != nil:
		return "", apperr.Invalid(CodeInvalidID, "the identifier is malformed", ids.FieldError(field, err, kind))
	}
	return T(id), nil
}

// notFoundPartner is the answer to a caller who may not see a partner: the
// same as for a partner that does not exist, so existence does not leak.
// actsFor is auth.Principal.ActsFor on partner, whose registrant is the
// principal that submitted its registration: an upstream system reads and
// changes only the partners it registered.
func actsFor(p auth.Principal, partner *domain.Partner) bool {
	return p.ActsFor(string(partner.ID()), partner.SubmittedBy())
}

func notFoundPartner() error { return apperr.NotFound(CodePartnerNotFound, "no such partner") }
