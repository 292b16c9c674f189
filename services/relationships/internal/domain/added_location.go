package domain

import (
	"fmt"
	"slices"
)

// AddLocation records a location ID the partner added after its
// registration (registration.location.added), so that invitations may name
// it. Name, address and market stay those of the registration. It reports
// whether the projection changed; a replay changes nothing.
func (p *Partner) AddLocation(partnerID, locationID string) (bool, error) {
	switch {
	case !IsGlobalID(partnerID):
		return false, fmt.Errorf("%w: partner_id %q is not a global ID", ErrInvalidPartner, partnerID)
	case !IsLocationID(locationID):
		return false, fmt.Errorf("%w: location id %q is not a location ID", ErrInvalidPartner, locationID)
	case p.ID != "" && p.ID != partnerID:
		return false, fmt.Errorf("%w: partner %s got a location of %s", ErrInvalidPartner, p.ID, partnerID)
	case slices.Contains(p.LocationIDs, locationID):
		return false, nil
	}
	p.ID = partnerID
	p.LocationIDs = append(p.LocationIDs, locationID)
	return true, nil
}
