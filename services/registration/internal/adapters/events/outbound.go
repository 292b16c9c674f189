// Package events is registration's side of the bus: domain events out as
// registration.v1 CloudEvents, and the handlers of what it consumes.
package events

import (
	"bytes"
	"encoding/json"
	"fmt"

	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	regv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// Draft maps a domain event to its published event. The payload types of
// pkg/events are the contract: the domain event is transcoded into them
// strictly, so a field the contract lacks is an error, not a silent leak.
func Draft(e domain.Event) (outbox.Draft, error) {
	var (
		typ     string
		payload any
	)
	switch e.(type) {
	case domain.RegistrationSubmitted:
		typ, payload = regv1.TypeApplicationSubmitted, &regv1.ApplicationSubmitted{}
	case domain.EnrollmentStatusChanged:
		typ, payload = regv1.TypeEnrollmentStatusChanged, &regv1.EnrollmentStatusChanged{}
	case domain.PartnerActivated:
		typ, payload = regv1.TypePartnerActivated, &regv1.PartnerActivated{}
	case domain.PartnerRejected:
		typ, payload = regv1.TypePartnerRejected, &regv1.PartnerRejected{}
	case domain.EnrollmentLocationLinked:
		typ, payload = regv1.TypeEnrollmentLocationLinked, &regv1.EnrollmentLocationLinked{}
	case domain.DuplicateClaimFiled:
		// v2 since round 47 (the claimant's contact is staff-only).
		typ, payload = regv2.TypeDuplicateClaimFiled, &regv2.DuplicateClaimFiled{}
	case domain.PartnerStandingChanged:
		typ, payload = regv1.TypePartnerStandingChanged, &regv1.PartnerStandingChanged{}
	case domain.SecurityStatusChanged:
		typ, payload = regv1.TypeSecurityStatusChanged, &regv1.SecurityStatusChanged{}
	case domain.EnrollmentAdded:
		typ, payload = regv1.TypeEnrollmentAdded, &regv1.EnrollmentAdded{}
	case domain.LocationAdded:
		typ, payload = regv1.TypeLocationAdded, &regv1.LocationAdded{}
	case domain.ProfileChangeRequested:
		typ, payload = regv1.TypeProfileChangeRequested, &regv1.ProfileChangeRequested{}
	case domain.ProfileChangeApplied:
		typ, payload = regv1.TypeProfileChangeApplied, &regv1.ProfileChangeApplied{}
	case domain.ProfileChangeRejected:
		typ, payload = regv1.TypeProfileChangeRejected, &regv1.ProfileChangeRejected{}
	default:
		return outbox.Draft{}, fmt.Errorf("no published event for domain event %T", e)
	}
	if err := transcode(e, payload); err != nil {
		return outbox.Draft{}, fmt.Errorf("map %s: %w", e.EventName(), err)
	}
	return outbox.Draft{Type: typ, Subject: string(e.PartitionKey()), Data: payload}, nil
}

func transcode(from, to any) error {
	data, err := json.Marshal(from)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(to)
}
