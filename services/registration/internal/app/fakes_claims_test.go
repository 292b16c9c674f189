package app

import (
	"context"
	"strings"
	"sync"

	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

func (r *fakeRepo) DuplicateAttemptByClaim(_ context.Context, id domain.ClaimID) (*domain.DuplicateAttempt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.attempts {
		if a.Claim != nil && a.Claim.ID == id {
			return &a, nil
		}
	}
	return nil, domain.ErrDuplicateAttemptNotFound
}

// removals is the fake's contact reports, beside fakeRepo (whose struct
// this file leaves alone), under their own lock.
var (
	removalsMu sync.Mutex
	removals   = map[*fakeRepo]map[domain.EnrollmentID]ContactReport{}
	removed    = map[*fakeRepo]map[string]bool{} // partner + "/" + address in lower case
)

func (r *fakeRepo) SaveContactReport(_ context.Context, c ContactReport) error {
	removalsMu.Lock()
	defer removalsMu.Unlock()
	if removals[r] == nil {
		removals[r] = map[domain.EnrollmentID]ContactReport{}
		removed[r] = map[string]bool{}
	}
	if c.State == ContactRemoved {
		removed[r][string(c.PartnerID)+"/"+strings.ToLower(c.Address)] = true
	}
	if old, ok := removals[r][c.EnrollmentID]; ok && !old.At.Before(c.At) {
		return nil
	}
	removals[r][c.EnrollmentID] = c
	return nil
}

func (r *fakeRepo) ContactReport(_ context.Context, id domain.EnrollmentID) (*ContactReport, error) {
	removalsMu.Lock()
	defer removalsMu.Unlock()
	if c, ok := removals[r][id]; ok {
		return &c, nil
	}
	return nil, nil
}

func (r *fakeRepo) ContactAddressRemoved(_ context.Context, partner domain.PartnerID, address string) (bool, error) {
	removalsMu.Lock()
	defer removalsMu.Unlock()
	return removed[r][string(partner)+"/"+strings.ToLower(address)], nil
}
