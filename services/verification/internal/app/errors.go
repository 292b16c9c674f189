package app

import (
	"errors"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

// kinds maps domain error codes to application error kinds.
var kinds = map[string]apperr.Kind{
	domain.ErrInvalidCase.Code:             apperr.KindInvalid,
	domain.ErrCaseExists.Code:              apperr.KindConflict,
	domain.ErrCaseNotFound.Code:            apperr.KindNotFound,
	domain.ErrCaseClosed.Code:              apperr.KindConflict,
	domain.ErrEnrollmentNotFound.Code:      apperr.KindNotFound,
	domain.ErrEmailMismatch.Code:           apperr.KindConflict,
	domain.ErrIllegalTransition.Code:       apperr.KindConflict,
	domain.ErrTaskNotFound.Code:            apperr.KindNotFound,
	domain.ErrTaskClaimed.Code:             apperr.KindConflict,
	domain.ErrTaskNotClaimed.Code:          apperr.KindConflict,
	domain.ErrTaskAlreadyDecided.Code:      apperr.KindConflict,
	domain.ErrFourEyes.Code:                apperr.KindConflict,
	domain.ErrConfirmationMismatch.Code:    apperr.KindConflict,
	domain.ErrOwnPartner.Code:              apperr.KindForbidden,
	domain.ErrInvalidDecision.Code:         apperr.KindInvalid,
	domain.ErrDecisionIDReused.Code:        apperr.KindConflict,
	domain.ErrAppealsExhausted.Code:        apperr.KindConflict,
	domain.ErrNoDocumentsDue.Code:          apperr.KindConflict,
	domain.ErrInvalidDocument.Code:         apperr.KindInvalid,
	domain.ErrDocumentTypeNotAccepted.Code: apperr.KindInvalid,
	domain.ErrDocumentTooOld.Code:          apperr.KindInvalid,
	domain.ErrDocumentRejected.Code:        apperr.KindConflict,
	domain.ErrDocumentDuplicate.Code:       apperr.KindConflict,
	domain.ErrInvalidRevocation.Code:       apperr.KindInvalid,
	domain.ErrCaseNotApproved.Code:         apperr.KindConflict,
	domain.ErrCaseAlreadyRevoked.Code:      apperr.KindConflict,
	domain.ErrCaseNotReopenable.Code:       apperr.KindConflict,
	domain.ErrPartnerClosed.Code:           apperr.KindConflict,
	domain.ErrInvalidDomainProof.Code:      apperr.KindInvalid,
	domain.ErrDomainProofNotFound.Code:     apperr.KindConflict,
}

// translate turns domain errors into *apperr.Error and leaves others (and
// errors that already are application errors) alone.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	var te *domain.TransitionError
	if errors.As(err, &te) {
		err = te.AsError()
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		return err
	}
	kind, ok := kinds[de.Code]
	if !ok {
		kind = apperr.KindInternal
	}
	ae := &apperr.Error{Kind: kind, Code: de.Code, Message: de.Message, Err: err}
	for _, f := range de.Fields {
		ae.Fields = append(ae.Fields, apperr.FieldError{Field: f.Field, Code: f.Code, Message: f.Message})
	}
	for k, v := range de.Details {
		ae.With(k, v)
	}
	return ae
}

// notFound is the answer for a case the caller may not see: the same as for
// a case that does not exist, so existence does not leak.
func notFound() error {
	return apperr.NotFound(domain.ErrCaseNotFound.Code, "no verification case")
}
