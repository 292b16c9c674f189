package events

import (
	"context"

	"github.com/partnerhub/onboarding/pkg/ce"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
)

// OnProfileCheckDecided applies verification's decision on a check a
// profile change re-opened: the change is applied once every re-opened
// check passed, rejected on a failed one.
func (h *Handlers) OnProfileCheckDecided(ctx context.Context, ev ce.Event) error {
	var p verificationv1.ProfileCheckDecided
	if err := ev.DecodeData(&p, false); err != nil {
		return err
	}
	reason := p.ApplicantMessage
	if reason == "" {
		reason = p.Reason
	}
	_, err := h.App.ApplyProfileCheckDecided(ctx, internal(ev), app.ProfileCheckDecided{PartnerID: p.PartnerID, ChangeNumber: p.ChangeNumber,
		Check: p.Check, Passed: p.Outcome == "passed", Reason: reason, Verifier: p.Verifier})
	return err
}
