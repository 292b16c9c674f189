package app

import (
	"errors"
	"fmt"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// Codes the app layer adds to the domain's.
const (
	CodeInvalidInput    = "agreements.invalid_input"
	CodeNotPartnerAdmin = "agreements.acceptor_not_partner_admin"
)

// translate turns domain errors into the one application error type; other
// errors become internal errors with context.
func translate(err error, context string) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		fields := make([]apperr.FieldError, len(ve.Problems))
		for i, p := range ve.Problems {
			fields[i] = apperr.FieldError{Field: p.Field, Code: p.Err.Code, Message: p.Err.Message}
		}
		// One problem is the answer's code, unless it is a missing member:
		// field.required is a field's code, never an answer's.
		code, msg := CodeInvalidInput, "the input is invalid"
		switch {
		case len(fields) == 1 && fields[0].Code == apperr.CodeFieldRequired:
			msg = fields[0].Field + " " + fields[0].Message
		case len(fields) == 1:
			code, msg = fields[0].Code, fields[0].Message
		}
		e := apperr.Invalid(code, msg, fields...)
		e.Err = err
		return e
	}
	var de *domain.Error
	if errors.As(err, &de) {
		e := coded(de)
		e.Err = err
		return e
	}
	return &apperr.Error{Kind: apperr.KindInternal, Code: "agreements.internal", Message: context, Err: err}
}

// coded returns the application error for a domain sentinel.
func coded(de *domain.Error) *apperr.Error {
	kind := apperr.KindConflict
	switch de.Category {
	case domain.CategoryInvalid:
		kind = apperr.KindInvalid
	case domain.CategoryNotFound:
		kind = apperr.KindNotFound
	}
	return apperr.New(kind, de.Code, de.Message)
}

// errUnknownPartner is the answer for a partner that does not exist or that
// the caller may not see: the two are indistinguishable on purpose.
func errUnknownPartner() *apperr.Error { return coded(domain.ErrPartnerNotFound) }

// wrapf adds context to a repository error, keeping domain sentinels visible.
func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
