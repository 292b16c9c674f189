package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/agreements/internal/domain"
)

// ListSignedQuery names the partner (global or location id).
type ListSignedQuery struct {
	PartnerID string
}

// SignedAgreement is one acceptance as the signed-agreements page shows it.
type SignedAgreement struct {
	AcceptanceID string
	VersionID    string
	Name         string
	TextURL      string
	TextSHA256   domain.TextHash
	Market       domain.Market
	EffectiveAt  time.Time
	AcceptedAt   time.Time
	AcceptedBy   domain.Acceptor
	Channel      domain.Channel
	// Current is false for a record a later re-acceptance superseded.
	Current      bool
	SupersededBy string
	// Suspended is true for a current gated acceptance whose partner's
	// verification is no longer approved, or that is not in good standing.
	Suspended bool
}

// ProgramAgreements groups one program's acceptances, newest first.
type ProgramAgreements struct {
	Program    domain.Program
	Agreements []SignedAgreement
}

// SignedAgreements is a partner's signed agreements grouped by program.
type SignedAgreements struct {
	PartnerID  string
	LocationID string
	Market     domain.Market
	Programs   []ProgramAgreements // ordered by program name
	// Pending are the acceptances made before this service heard of the
	// partner's approval, with what became of them, oldest first.
	Pending []domain.PendingAcceptanceState
}

// ListSigned lists a partner's signed agreements per program: name,
// effective date and who accepted, history included. Callers who may not see
// the partner get agreements.unknown_partner.
type ListSigned struct{ d Deps }

// Handle lists for p.
func (uc ListSigned) Handle(ctx context.Context, p auth.Principal, q ListSignedQuery) (SignedAgreements, error) {
	if err := requireAuthenticated(p); err != nil {
		return SignedAgreements{}, err
	}
	partner, err := lookupPartner(ctx, uc.d.Partners, q.PartnerID)
	if err != nil {
		return SignedAgreements{}, err
	}
	if !p.ActsForRecord(partner.ID(), partner.RegisteredBy()) { // an upstream system: its own partners
		return SignedAgreements{}, errUnknownPartner()
	}
	all, err := uc.d.Acceptances.ListByPartner(ctx, partner.ID())
	if err != nil {
		return SignedAgreements{}, translate(wrapf(err, "list acceptances of %s", partner.ID()), "list acceptances")
	}
	supersededBy := map[string]string{}
	for _, a := range all {
		if s := a.State().SupersedesID; s != "" {
			supersededBy[s] = a.ID()
		}
	}
	versions := map[string]*domain.Version{}
	groups := map[domain.Program][]SignedAgreement{}
	for _, a := range all {
		s := a.State()
		v, ok := versions[s.VersionID]
		if !ok {
			v, err = uc.d.Versions.Get(ctx, s.VersionID)
			if err != nil && !errors.Is(err, domain.ErrVersionNotFound) {
				return SignedAgreements{}, translate(wrapf(err, "load version %s", s.VersionID), "load version")
			}
			versions[s.VersionID] = v
		}
		item := SignedAgreement{
			AcceptanceID: s.ID, VersionID: s.VersionID, TextSHA256: s.TextSHA256, Market: s.Market,
			EffectiveAt: s.EffectiveAt, AcceptedAt: s.AcceptedAt, AcceptedBy: s.Acceptor, Channel: s.Channel,
			SupersededBy: supersededBy[s.ID],
		}
		item.Current = item.SupersededBy == ""
		item.Suspended = item.Current && s.Program.GatedByVerification() && !(partner.Approved() && partner.InGoodStanding())
		if v != nil {
			item.Name, item.TextURL = v.Name(), v.State().TextURL
		}
		groups[s.Program] = append(groups[s.Program], item)
	}
	out := SignedAgreements{PartnerID: partner.ID(), LocationID: partner.LocationID(), Market: partner.Market()}
	for program, items := range groups {
		slices.SortStableFunc(items, func(a, b SignedAgreement) int { return b.AcceptedAt.Compare(a.AcceptedAt) })
		out.Programs = append(out.Programs, ProgramAgreements{Program: program, Agreements: items})
	}
	slices.SortFunc(out.Programs, func(a, b ProgramAgreements) int { return strings.Compare(string(a.Program), string(b.Program)) })
	pending, err := uc.d.Pending.ListByPartner(ctx, partner.ID())
	if err != nil {
		return SignedAgreements{}, translate(wrapf(err, "list pending acceptances of %s", partner.ID()), "list pending acceptances")
	}
	for _, pa := range pending {
		out.Pending = append(out.Pending, pa.State())
	}
	return out, nil
}

// requireAuthenticated refuses the anonymous principal.
func requireAuthenticated(p auth.Principal) error {
	if p.IsZero() {
		return p.Require()
	}
	return nil
}
