package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// Sentinel errors of adding programs and locations to a registered partner.
var (
	ErrAlreadyEnrolled     = errors.New("the partner is already enrolled in this program at this location")
	ErrNetworkComesWithReg = errors.New("the partner network membership comes with the registration")
	ErrLocationExists      = errors.New("the partner already has a location at this address")
	ErrProgramNotInMarket  = errors.New("the program is not offered in the partner's market")
)

// EnrollmentInput asks to add one program to a registered partner, at one
// of its locations (empty: the registered location).
type EnrollmentInput struct {
	Program      string                      `json:"program"`
	Support      *SupportProfileInput        `json:"support,omitempty"`
	LocationID   string                      `json:"location_id,omitempty"`
	Affirmations EnrollmentAffirmationsInput `json:"affirmations"`
}

// EnrollmentAffirmationsInput are the statements a new program needs: the
// authority to represent the company and, for an indirect reseller, that it
// can give its customers admin and technical support (as at registration).
type EnrollmentAffirmationsInput struct {
	AuthorityToRepresent bool `json:"authority_to_represent"`
	CanProvideSupport    bool `json:"can_provide_support"`
}

// LocationInput asks to add a business location; Country, when given, must
// be the partner's market.
type LocationInput struct {
	Country string       `json:"country,omitempty"`
	Address AddressInput `json:"address"`
}

// NormalizeEnrollment validates a program request for a partner of market
// exactly as registration validates its programs (program, support profile,
// affirmations, e-mail policy). Every problem is reported at once in a
// *ValidationError; the partner network membership is refused with
// ErrNetworkComesWithReg.
func NormalizeEnrollment(in EnrollmentInput, market Country, policy Policy) (ProgramRequest, error) {
	v := &validator{}
	prog := programOf(in.Program)
	req := ProgramRequest{Program: prog}
	switch {
	case prog == ProgramPartnerNetwork:
		return ProgramRequest{}, ErrNetworkComesWithReg
	case !prog.Valid():
		v.add("program", CodeProgramUnknown, "%q is not a program (%s or %s)", in.Program, ProgramIndirectReseller, ProgramIndirectProvider)
	case prog == ProgramIndirectReseller && in.Support == nil:
		v.add("support", CodeSupportProfileRequired, "an indirect reseller needs a customer support profile")
	case in.Support != nil:
		req.Support = v.support("support", *in.Support, market, true, policy)
	}
	if !in.Affirmations.AuthorityToRepresent {
		v.add("affirmations.authority_to_represent", CodeAffirmationRequired, "you must affirm that you have authority to represent the company")
	}
	if prog == ProgramIndirectReseller && !in.Affirmations.CanProvideSupport {
		v.add("affirmations.can_provide_support", CodeAffirmationRequired,
			"you must affirm that the company can provide admin and technical support to its customers")
	}
	if len(v.fields) > 0 {
		return ProgramRequest{}, &ValidationError{Fields: v.fields}
	}
	return req, nil
}

// NormalizeLocation validates and normalizes a new location's address with
// the registration's rules for market. A country other than market is
// ErrMarketImmutable: a partner sells in one market only.
func NormalizeLocation(in LocationInput, market Country) (AddressFacts, error) {
	if s := normalize.Text(in.Country); s != "" {
		if c, _ := ParseCountry(s); c != market {
			return AddressFacts{}, fmt.Errorf("%w: location in %s, partner in %s", ErrMarketImmutable, s, market)
		}
	}
	v := &validator{}
	a := v.address("address", in.Address, market, true)
	if len(v.fields) > 0 {
		return AddressFacts{}, &ValidationError{Fields: v.fields}
	}
	return AddressFacts{Raw: in.Address, Normalized: a}, nil
}

// EnrollmentAdded: a registered partner added a program (at one of its
// locations). It carries what the enrollment's consumers need as
// RegistrationSubmitted does for the first ones: the contact whose address
// the enrollment confirms again, the support profile, the status it starts in.
type EnrollmentAdded struct {
	PartnerID    PartnerID         `json:"partner_id"`
	EnrollmentID EnrollmentID      `json:"enrollment_id"`
	Program      Program           `json:"program"`
	Status       EnrollmentStatus  `json:"status"`
	Market       Country           `json:"market"`
	Language     Language          `json:"language"`
	LocationID   LocationID        `json:"location_id"`
	Support      *SupportProfile   `json:"support,omitempty"`
	Contact      NormalizedContact `json:"contact"`
	AddedBy      string            `json:"added_by"`
	AddedAt      time.Time         `json:"added_at"`
}

// LocationAdded: a registered partner added a business location with its
// own location ID, pending until the partner is approved (active at once
// for an approved partner).
type LocationAdded struct {
	PartnerID  PartnerID      `json:"partner_id"`
	LocationID LocationID     `json:"location_id"`
	Market     Country        `json:"market"`
	Status     LocationStatus `json:"status"`
	Address    AddressFacts   `json:"address"`
	AddedBy    string         `json:"added_by"`
	AddedAt    time.Time      `json:"added_at"`
}

// EventName implements Event.
func (EnrollmentAdded) EventName() string { return "enrollment.added" }

// PartitionKey implements Event.
func (e EnrollmentAdded) PartitionKey() PartnerID { return e.PartnerID }

// OccurredAt implements Event.
func (e EnrollmentAdded) OccurredAt() time.Time { return e.AddedAt }

// EventName implements Event.
func (LocationAdded) EventName() string { return "location.added" }

// PartitionKey implements Event.
func (e LocationAdded) PartitionKey() PartnerID { return e.PartnerID }

// OccurredAt implements Event.
func (e LocationAdded) OccurredAt() time.Time { return e.AddedAt }

// canGrow refuses changes to a partner whose registration was rejected or
// that is closed.
func (p *Partner) canGrow() error {
	switch {
	case p.status == PartnerStatusRejected:
		return fmt.Errorf("partner %s: %w", p.id, ErrPartnerRejected)
	case p.standing.Closure != nil || p.status == PartnerStatusClosed:
		return fmt.Errorf("partner %s: %w", p.id, ErrPartnerClosed)
	}
	return nil
}

// enrollmentLocation is the location an enrollment belongs to: its linked
// one, else the registered location.
func (p *Partner) enrollmentLocation(e Enrollment) LocationID {
	if e.LocationID != "" {
		return e.LocationID
	}
	return p.locations[0].ID
}

// AddEnrollment enrolls the registered partner in one more program at one
// of its locations (empty: the registered one): one enrollment per program
// per location. It starts where an enrollment of the registration would be
// now: pending_verification while the partner is pending (the approval
// moves it), pending_email_confirmation once the partner is approved (its
// own e-mail confirmation comes next, then its agreement). A location other
// than the registered one is linked at once. It records EnrollmentAdded.
func (p *Partner) AddEnrollment(req ProgramRequest, locationID LocationID, ids IDIssuer, by string, now time.Time) (Enrollment, error) {
	if err := p.canGrow(); err != nil {
		return Enrollment{}, err
	}
	if req.Program == ProgramPartnerNetwork {
		return Enrollment{}, fmt.Errorf("partner %s: %w", p.id, ErrNetworkComesWithReg)
	}
	if locationID == "" {
		locationID = p.locations[0].ID
	}
	li := slices.IndexFunc(p.locations, func(l Location) bool { return l.ID == locationID })
	if li < 0 {
		return Enrollment{}, fmt.Errorf("partner %s, location %s: %w", p.id, locationID, ErrLocationNotFound)
	}
	if slices.ContainsFunc(p.enrollments, func(e Enrollment) bool {
		return e.Program == req.Program && p.enrollmentLocation(e) == locationID
	}) {
		return Enrollment{}, fmt.Errorf("partner %s, %s at %s: %w", p.id, req.Program, locationID, ErrAlreadyEnrolled)
	}
	status := EnrollmentPendingVerification
	if p.Approved() {
		status = EnrollmentPendingEmailConfirmation
	}
	e := Enrollment{ID: ids.NewEnrollmentID(), Program: req.Program, Country: p.market, Status: status,
		Support: req.Support, StatusChangedAt: now}
	if li > 0 {
		e.LocationID = locationID
	}
	// The program's agreement binds the company: accepted once, it covers
	// the program at every location (see extendAgreement), with the version
	// due, if any; lapsed, it covers none (since round 44 the new enrollment
	// says so too).
	if i := slices.IndexFunc(p.enrollments, func(o Enrollment) bool { return o.Program == req.Program && o.AgreementID != "" }); i >= 0 {
		o := p.enrollments[i]
		e.AgreementID, e.AgreementVersion, e.AgreementDue = o.AgreementID, o.AgreementVersion, o.AgreementDue
	} else if i := slices.IndexFunc(p.enrollments, func(o Enrollment) bool { return o.Program == req.Program && o.AgreementLapsed != nil }); i >= 0 {
		e.AgreementLapsed = p.enrollments[i].AgreementLapsed
	}
	p.enrollments = append(p.enrollments, e)
	p.updatedAt = now
	n := p.registration.Normalized
	p.record(EnrollmentAdded{PartnerID: p.id, EnrollmentID: e.ID, Program: e.Program, Status: e.Status, Market: p.market,
		Language: n.Language, LocationID: locationID, Support: e.Support, Contact: n.Contact, AddedBy: by, AddedAt: now})
	return e, nil
}

// AddLocation adds a business location with a new location ID in the
// partner's market, at an address none of its locations has. It is pending
// like the registered one until the partner is approved, and active at once
// for an approved partner (the company behind it is verified). Its
// identity key (legal name + address) joins the partner's, so that another
// partner cannot register there. It records LocationAdded.
func (p *Partner) AddLocation(addr AddressFacts, ids IDIssuer, by string, now time.Time) (Location, error) {
	if err := p.canGrow(); err != nil {
		return Location{}, err
	}
	key := addr.Normalized.Key
	if key == p.registration.Normalized.Company.Address.Key ||
		slices.ContainsFunc(p.locations, func(l Location) bool { return l.Address != nil && l.Address.Normalized.Key == key }) {
		return Location{}, fmt.Errorf("partner %s: %w", p.id, ErrLocationExists)
	}
	l := Location{ID: ids.NewLocationID(), Country: p.market, Status: LocationStatusPending, Address: &addr}
	if p.Approved() {
		l.Status, l.ActivatedAt = LocationStatusActive, now
	}
	p.locations = append(p.locations, l)
	p.updatedAt = now
	p.record(LocationAdded{PartnerID: p.id, LocationID: l.ID, Market: p.market, Status: l.Status, Address: addr,
		AddedBy: by, AddedAt: now})
	return l, nil
}

// locationIdentityKeys are the name+address keys of the added locations.
func (p *Partner) locationIdentityKeys() []IdentityKey {
	var out []IdentityKey
	for _, l := range p.locations {
		if l.Address != nil {
			out = append(out, IdentityKey{Kind: KeyNameAddress, Value: p.registration.Normalized.Company.LegalNameKey + "|" + l.Address.Normalized.Key})
		}
	}
	return out
}

// enrollmentFor is the index of the enrollment in program that locationID
// names: the one linked to that location, else the first in program (the
// registered location's, which is linked at acceptance); -1 when none.
func (p *Partner) enrollmentFor(program Program, locationID LocationID) int {
	if locationID != "" {
		if i := slices.IndexFunc(p.enrollments, func(e Enrollment) bool {
			return e.Program == program && e.LocationID == locationID
		}); i >= 0 {
			return i
		}
	}
	return p.enrollmentIndex(program)
}

// extendAgreement gives the program's other enrollments (at the partner's
// other locations) the agreement just accepted: the agreement binds the
// company for the program, so a qualified enrollment becomes active and one
// still waiting for its e-mail confirmation becomes active with it.
func (p *Partner) extendAgreement(program Program, agreementID, version string, now time.Time) error {
	for i := range p.enrollments {
		e := &p.enrollments[i]
		if e.Program != program || e.AgreementID != "" {
			continue
		}
		if program == ProgramIndirectReseller && e.LocationID == "" {
			// The registered location's reseller enrollment is linked to it
			// first, as an acceptance there would.
			if p.locations[0].Status != LocationStatusActive {
				continue
			}
			e.LocationID = p.locations[0].ID
			p.record(EnrollmentLocationLinked{PartnerID: p.id, EnrollmentID: e.ID, Program: program, LocationID: e.LocationID, At: now})
		}
		switch e.Status {
		case EnrollmentQualified:
			e.AgreementID, e.AgreementVersion, e.AgreementLapsed = agreementID, version, nil
			e.AgreementDue = e.AgreementDue.AcceptedBy(version)
			if err := p.move(e, EnrollmentActive, ReasonAgreementAccepted, now); err != nil {
				return err
			}
		case EnrollmentPendingEmailConfirmation:
			e.AgreementID, e.AgreementVersion, e.AgreementLapsed = agreementID, version, nil
			e.AgreementDue = e.AgreementDue.AcceptedBy(version)
		}
	}
	return nil
}
