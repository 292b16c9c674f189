package app

import (
	"context"
	"strings"

	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// ApplyEnrollmentAddedCommand is registration.enrollment.added's content.
type ApplyEnrollmentAddedCommand struct {
	PartnerID    string
	Program      string
	EnrollmentID string
}

// ApplyEnrollmentAdded adds a program a registered partner enrolled in
// later to the partner projection, so that its agreement is accepted as at
// registration. Idempotent.
type ApplyEnrollmentAdded struct {
	d Deps
}

// Handle applies cmd and reports whether the projection changed.
func (uc ApplyEnrollmentAdded) Handle(ctx context.Context, cmd ApplyEnrollmentAddedCommand) (bool, error) {
	id := strings.TrimSpace(cmd.PartnerID)
	if id == "" {
		return false, translate(&domain.ValidationError{Problems: []domain.Problem{{Field: "partner_id", Err: domain.ErrInvalidPartnerID}}}, "")
	}
	var changed bool
	err := uc.d.Partners.Upsert(ctx, id, func(p *domain.Partner) error {
		var err error
		changed, err = p.AddEnrollment(cmd.Program, cmd.EnrollmentID)
		return err
	})
	if err != nil {
		return false, translate(wrapf(err, "add enrollment of partner %s", id), "store partner")
	}
	return changed, nil
}
