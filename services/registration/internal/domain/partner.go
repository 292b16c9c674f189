package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PartnerStatus is the partner's standing: pending until verification
// decides, then active, suspended, inactive or closed (see standing.go).
type PartnerStatus string

// Partner states.
const (
	PartnerStatusPending   PartnerStatus = "pending"
	PartnerStatusActive    PartnerStatus = "active"
	PartnerStatusSuspended PartnerStatus = "suspended"
	PartnerStatusInactive  PartnerStatus = "inactive"
	PartnerStatusClosed    PartnerStatus = "closed"
	PartnerStatusRejected  PartnerStatus = "rejected"
)

// PartnerStatuses are every partner status, in the order of a life.
var PartnerStatuses = []PartnerStatus{PartnerStatusPending, PartnerStatusActive, PartnerStatusSuspended,
	PartnerStatusInactive, PartnerStatusClosed, PartnerStatusRejected}

// Valid reports whether s is a partner status.
func (s PartnerStatus) Valid() bool { return slices.Contains(PartnerStatuses, s) }

// LocationStatus is the status of a location ID.
type LocationStatus string

// Location states: a location ID is issued pending and becomes valid when its
// partner is approved.
const (
	LocationStatusPending LocationStatus = "pending"
	LocationStatusActive  LocationStatus = "active"
)

// Sentinel errors of the partner aggregate.
var (
	ErrPartnerNotFound         = errors.New("partner not found")
	ErrMarketImmutable         = errors.New("the market of a partner cannot be changed")
	ErrPartnerDecided          = errors.New("verification already decided the other way")
	ErrNotEnrolled             = errors.New("the partner is not enrolled in this program")
	ErrAgreementBeforeApproval = errors.New("an agreement can be accepted only after verification approved the partner")
	ErrProgramTakesNoLocation  = errors.New("only an indirect reseller enrollment takes a location ID")
	ErrLocationNotFound        = errors.New("location not found for this partner")
	ErrLocationNotActive       = errors.New("the location ID is not active")
	ErrLocationCountryMismatch = errors.New("the location is in another country than the enrollment")
	ErrLocationRequired        = errors.New("an indirect reseller enrollment needs a linked location ID")
	ErrLocationAlreadyLinked   = errors.New("an active enrollment is already linked to another location")
	ErrEnrollmentClosed        = errors.New("the enrollment was rejected")
	ErrEnrollmentNotFound      = errors.New("no such enrollment of this partner")
)

// Location is one business location of a partner with its own partner ID;
// transactions use location IDs, never the global one.
type Location struct {
	ID          LocationID     `json:"id"`
	Country     Country        `json:"country"`
	Status      LocationStatus `json:"status"`
	ActivatedAt time.Time      `json:"activated_at,omitzero"`
	// Address of a location added after registration (the registered
	// location's address is the registration's).
	Address *AddressFacts `json:"address,omitempty"`
}

// IDIssuer issues the identifiers a new partner needs.
type IDIssuer interface {
	NewPartnerID() PartnerID
	NewLocationID() LocationID
	NewEnrollmentID() EnrollmentID
}

// Partner is the aggregate of a registered company: its market (immutable),
// legal profile (raw and normalized), contact, status, locations and program
// enrollments. Change it only through its methods; each records its events.
type Partner struct {
	id              PartnerID
	market          Country
	status          PartnerStatus
	registration    Registration
	locations       []Location
	enrollments     []Enrollment
	rejectionReason string
	standing        Standing
	security        SecurityStatus
	profile         ProfileChanges
	lastActivityAt  time.Time
	submittedBy     string
	createdAt       time.Time
	updatedAt       time.Time
	events          []Event
}

// NewPartner creates the partner for a validated registration: a global
// partner ID and a location ID in the market (both pending) and one enrollment
// per requested program (pending_verification), issued at once. It records
// RegistrationSubmitted.
func NewPartner(reg Registration, ids IDIssuer, submittedBy string, now time.Time) *Partner {
	n := reg.Normalized
	p := &Partner{
		id:             ids.NewPartnerID(),
		market:         n.Market,
		status:         PartnerStatusPending,
		registration:   reg,
		locations:      []Location{{ID: ids.NewLocationID(), Country: n.Market, Status: LocationStatusPending}},
		submittedBy:    submittedBy,
		lastActivityAt: now,
		createdAt:      now,
		updatedAt:      now,
	}
	facts := make([]EnrollmentFacts, 0, len(n.Programs))
	for _, req := range n.Programs {
		e := Enrollment{ID: ids.NewEnrollmentID(), Program: req.Program, Country: n.Market,
			Status: EnrollmentPendingVerification, Support: req.Support, StatusChangedAt: now}
		p.enrollments = append(p.enrollments, e)
		facts = append(facts, EnrollmentFacts{EnrollmentID: e.ID, Program: e.Program, Status: e.Status, Support: e.Support})
	}
	c := n.Company
	p.record(RegistrationSubmitted{
		PartnerID:                 p.id,
		LocationID:                p.locations[0].ID,
		Market:                    n.Market,
		Language:                  n.Language,
		LegalName:                 LegalNameFacts{Raw: reg.Input.Company.LegalName, Normalized: c.LegalName},
		Address:                   AddressFacts{Raw: reg.Input.Company.Address, Normalized: c.Address},
		CompanyPhoneE164:          c.PhoneE164,
		RegistrationNumber:        c.RegistrationNumber,
		Website:                   c.Website,
		WebsiteDomain:             c.WebsiteDomain,
		Contact:                   n.Contact,
		EmailDomainMatchesWebsite: n.EmailDomainMatchesWebsite,
		Enrollments:               facts,
		Affirmations:              n.Affirmations,
		SubmittedBy:               submittedBy,
		SubmittedAt:               now,
		EarlierAccounts:           slices.Clone(reg.EarlierAccounts),
	})
	return p
}

func (p *Partner) record(e Event) { p.events = append(p.events, e) }

// PullEvents returns the events recorded since the last pull and forgets them.
func (p *Partner) PullEvents() []Event {
	out := p.events
	p.events = nil
	return out
}

// ID returns the global partner ID.
func (p *Partner) ID() PartnerID { return p.id }

// SubmittedBy is the subject of the principal that submitted the
// partner's registration (an upstream system, or an operator).
func (p *Partner) SubmittedBy() string { return p.submittedBy }

// Market returns the partner's market.
func (p *Partner) Market() Country { return p.market }

// Status returns the status of the global partner ID.
func (p *Partner) Status() PartnerStatus { return p.status }

// Registration returns the registration as submitted and normalized.
func (p *Partner) Registration() Registration { return p.registration }

// Locations returns a copy of the partner's locations; the first is the
// registered one.
func (p *Partner) Locations() []Location { return slices.Clone(p.locations) }

// Enrollments returns a copy of the partner's enrollments.
func (p *Partner) Enrollments() []Enrollment { return slices.Clone(p.enrollments) }

// Enrollment returns the enrollment in program, if any.
func (p *Partner) Enrollment(program Program) (Enrollment, bool) {
	i := p.enrollmentIndex(program)
	if i < 0 {
		return Enrollment{}, false
	}
	return p.enrollments[i], true
}

func (p *Partner) enrollmentIndex(program Program) int {
	return slices.IndexFunc(p.enrollments, func(e Enrollment) bool { return e.Program == program })
}

// IdentityKeys returns the keys that must be unique in the partner's market.
// Added locations contribute their legal name + address key.
func (p *Partner) IdentityKeys() []IdentityKey {
	return append(p.registration.Normalized.IdentityKeys(), p.locationIdentityKeys()...)
}

// HoldsIdentity reports whether the partner still claims its identity keys:
// a rejected registration and a closed account release them so that the
// company can register again (a new partner, reviewed from the start; a
// closure is final for the account it closed, not for the company).
func (p *Partner) HoldsIdentity() bool { return holdsIdentity(p.status) }

// holdsIdentity reports whether a partner of status claims its identity keys.
func holdsIdentity(s PartnerStatus) bool {
	return s != PartnerStatusRejected && s != PartnerStatusClosed
}

// ChangeMarket refuses any change of market: selling in another market needs
// another registration. Setting the same market is a no-op.
func (p *Partner) ChangeMarket(c Country) error {
	if c == p.market {
		return nil
	}
	return fmt.Errorf("%w: partner %s is registered in %s, not %s", ErrMarketImmutable, p.id, p.market, c)
}

// ApproveVerification applies verification's approval decided at
// decidedAt. A pending partner and its locations become active (held, if a
// hold came first), the partner-network membership active, and every other
// pending enrollment qualified — or pending_email_confirmation until its own
// e-mail confirmation is in. For an approved partner a later approval (a
// re-review) lifts the verification holds placed before it; an older or
// repeated one changes nothing. Approving a rejected partner fails with
// ErrPartnerDecided.
func (p *Partner) ApproveVerification(decidedAt, now time.Time) (changed bool, err error) {
	if decidedAt.IsZero() {
		decidedAt = now
	}
	if p.status == PartnerStatusRejected {
		return false, fmt.Errorf("approve partner %s: %w (rejected)", p.id, ErrPartnerDecided)
	}
	if p.Approved() {
		if p.standing.Closure != nil || !decidedAt.After(p.standing.VerifiedAt) {
			return false, nil
		}
		from, before := p.status, p.standing.Reasons()
		p.standing.VerifiedAt = decidedAt
		p.standing.Holds = slices.DeleteFunc(p.standing.Holds, func(h Hold) bool {
			return (h.Reason == ReasonVerificationRevoked || h.Reason == ReasonReverificationRequired) && h.Since.Before(decidedAt)
		})
		p.settle(from, before, "verification", "approved again", now)
		return true, nil
	}
	before := p.standing.Reasons()
	p.standing.VerifiedAt = decidedAt
	p.standing.Holds = slices.DeleteFunc(p.standing.Holds, func(h Hold) bool {
		return (h.Reason == ReasonVerificationRevoked || h.Reason == ReasonReverificationRequired) && h.Since.Before(decidedAt)
	})
	p.status, p.updatedAt = PartnerStatusActive, now
	var activated []LocationID
	for i := range p.locations {
		if p.locations[i].Status == LocationStatusPending {
			p.locations[i].Status, p.locations[i].ActivatedAt = LocationStatusActive, now
			activated = append(activated, p.locations[i].ID)
		}
	}
	p.record(PartnerActivated{PartnerID: p.id, Market: p.market, LocationIDs: activated, At: now})
	for i := range p.enrollments {
		e := &p.enrollments[i]
		if e.Status != EnrollmentPendingVerification {
			continue
		}
		to := EnrollmentQualified
		switch {
		case e.Program == ProgramPartnerNetwork:
			to = EnrollmentActive
		case e.NeedsOwnEmailConfirmation():
			to = EnrollmentPendingEmailConfirmation
		}
		if err := p.move(e, to, ReasonVerificationApproved, now); err != nil {
			return false, err
		}
	}
	p.settle(PartnerStatusPending, before, "verification", "", now)
	return true, nil
}

// ConfirmEnrollmentEmail records the e-mail service's confirmation of an
// enrollment's address at confirmedAt. An enrollment that waited for it is
// qualified, or active when its agreement was accepted meanwhile. A repeat
// changes nothing. The membership's confirmation of an address the contact
// was corrected from gives way to the contact's own: a pending partner's
// correction applied at once while that confirmation was on its way, after
// which e-mail ownership asks the new contact too.
func (p *Partner) ConfirmEnrollmentEmail(id EnrollmentID, address string, confirmedAt, now time.Time) (changed bool, err error) {
	i := slices.IndexFunc(p.enrollments, func(e Enrollment) bool { return e.ID == id })
	if i < 0 {
		return false, fmt.Errorf("partner %s, enrollment %s: %w", p.id, id, ErrEnrollmentNotFound)
	}
	e := &p.enrollments[i]
	if !e.EmailConfirmedAt.IsZero() {
		contact := p.registration.Normalized.Contact.Email
		if e.Program != ProgramPartnerNetwork || strings.EqualFold(e.EmailAddress, contact) || !strings.EqualFold(address, contact) {
			return false, nil
		}
		e.EmailConfirmedAt, e.EmailAddress, p.updatedAt = confirmedAt, address, now
		return true, nil
	}
	e.EmailConfirmedAt, e.EmailAddress, p.updatedAt = confirmedAt, address, now
	if e.Status == EnrollmentPendingEmailConfirmation {
		to := EnrollmentQualified
		if e.AgreementID != "" {
			to = EnrollmentActive
		}
		if err := p.move(e, to, ReasonEmailConfirmed, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

// RejectVerification rejects the partner and every pending enrollment with
// reason (a code from verification). Rejecting a rejected partner changes
// nothing. An approved partner whose approval was revoked (or that is
// reviewed again after a long inactivity) stays suspended when the new
// review rejects it; rejecting any other approved partner fails with
// ErrPartnerDecided.
func (p *Partner) RejectVerification(reason string, now time.Time) (changed bool, err error) {
	switch {
	case p.status == PartnerStatusRejected:
		return false, nil
	case p.Approved():
		_, revoked := p.standing.Hold(ReasonVerificationRevoked)
		_, review := p.standing.Hold(ReasonReverificationRequired)
		if revoked || review || p.standing.Closure != nil {
			return false, nil
		}
		return false, fmt.Errorf("reject partner %s: %w (%s)", p.id, ErrPartnerDecided, p.status)
	}
	if reason == "" {
		reason = "verification_rejected"
	}
	p.status, p.rejectionReason, p.updatedAt = PartnerStatusRejected, reason, now
	p.record(PartnerRejected{PartnerID: p.id, Reason: reason, At: now})
	for i := range p.enrollments {
		e := &p.enrollments[i]
		if e.Status != EnrollmentPendingVerification {
			continue
		}
		e.RejectionReason = reason
		if err := p.move(e, EnrollmentRejected, reason, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

// AcceptAgreement records that the program's agreement was accepted, which
// makes a qualified enrollment active. An indirect reseller also needs a
// location: locationID is linked first (see LinkLocation) unless empty and one
// is already linked. The partner-network agreement was accepted at
// registration, so for that program this only confirms an active membership.
// Accepting again for an active enrollment records the newer acceptance and
// its version (agreementID, version) and moves nothing; the same acceptance
// again changes nothing. An acceptance lifts a lapse of the program's
// agreement (LapseAgreement): its enrollments are active again.
func (p *Partner) AcceptAgreement(program Program, locationID LocationID, agreementID, version string, now time.Time) (changed bool, err error) {
	i := p.enrollmentFor(program, locationID)
	if i < 0 {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrNotEnrolled)
	}
	e := &p.enrollments[i]
	switch e.Status {
	case EnrollmentActive:
		if locationID != "" && e.LocationID != "" && locationID != e.LocationID {
			return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrLocationAlreadyLinked)
		}
		return p.renewAgreement(program, agreementID, version, now), nil
	case EnrollmentPendingVerification:
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrAgreementBeforeApproval)
	case EnrollmentRejected:
		return false, &TransitionError{EnrollmentID: e.ID, Program: program, From: e.Status, To: EnrollmentActive}
	case EnrollmentPendingEmailConfirmation:
		// The agreement is kept; the confirmation activates the enrollment.
		if e.AgreementID != "" {
			return p.renewAgreement(program, agreementID, version, now), nil
		}
	}
	if program == ProgramIndirectReseller {
		if locationID == "" && e.LocationID == "" {
			return false, fmt.Errorf("partner %s: %w", p.id, ErrLocationRequired)
		}
		if locationID != "" && locationID != e.LocationID {
			if _, err := p.LinkLocation(program, locationID, now); err != nil {
				return false, err
			}
		}
	} else if locationID != "" {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrProgramTakesNoLocation)
	}
	e.AgreementID, e.AgreementVersion, e.AgreementLapsed, p.updatedAt = agreementID, version, nil, now
	e.AgreementDue = e.AgreementDue.AcceptedBy(version)
	if e.Status != EnrollmentPendingEmailConfirmation {
		if err := p.move(e, EnrollmentActive, ReasonAgreementAccepted, now); err != nil {
			return false, err
		}
	}
	return true, p.extendAgreement(program, agreementID, version, now)
}

// renewAgreement records a newer acceptance of the program's agreement on
// the enrollments that have one in force (a re-acceptance of a new version:
// nothing moves). It reports whether anything changed; the acceptance
// recorded already changes nothing.
func (p *Partner) renewAgreement(program Program, agreementID, version string, now time.Time) bool {
	changed := false
	for i := range p.enrollments {
		e := &p.enrollments[i]
		if e.Program != program || !e.hasAgreement() || agreementID == "" || // an operator's acceptance names none: keep what is recorded
			(e.AgreementID == agreementID && e.AgreementVersion == version) {
			continue
		}
		e.AgreementID, e.AgreementVersion, changed = agreementID, version, true
		e.AgreementDue = e.AgreementDue.AcceptedBy(version)
	}
	if changed {
		p.updatedAt = now
	}
	return changed
}

// RequireReacceptance records that the partner must accept version of the
// program's agreement by dueBy (agreements asked at) for its acceptance to
// keep counting: every enrollment of the program with an agreement in force
// that has not accepted that version shows it (Enrollment.AgreementDue);
// nothing moves. So does, since round 46, an enrollment whose agreement
// lapsed for an earlier version (agreements asks it too): accepting the
// lapsed version makes it active with this one still due, accepting this
// one clears both. The acceptance of the version — also one that overtook
// this news, which comes on another durable — and a replay change nothing.
func (p *Partner) RequireReacceptance(program Program, version string, dueBy, at, now time.Time) (changed bool, err error) {
	if !program.Valid() || program == ProgramPartnerNetwork {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrNotEnrolled)
	}
	for i := range p.enrollments {
		e := &p.enrollments[i]
		if e.Program != program || (!e.hasAgreement() && e.AgreementLapsed == nil) || (version != "" && e.AgreementVersion == version) ||
			(e.AgreementLapsed != nil && e.AgreementLapsed.VersionID == version) ||
			(e.AgreementDue != nil && e.AgreementDue.VersionID == version && e.AgreementDue.DueBy.Equal(dueBy)) {
			continue
		}
		e.AgreementDue, p.updatedAt, changed = &AgreementRevision{VersionID: version, DueBy: dueBy, At: at}, now, true
	}
	return changed, nil
}

// LapseAgreement records that the partner did not accept version of the
// program's agreement by dueBy (agreements found it overdue at): the earlier
// acceptance no longer counts. Every enrollment of the program that has no
// acceptance of that version loses its agreement: an active one is
// qualified again (reason agreement_reacceptance_overdue), one waiting for
// its e-mail confirmation will be qualified, not active, by it; the
// acceptance of the version makes them active again (AcceptAgreement). An
// enrollment whose agreement had lapsed already for an earlier version and
// was asked to accept this one (RequireReacceptance) now shows this one
// overdue instead (since round 46). An enrollment that accepted the version
// already — its acceptance overtook this news, which comes on another
// durable — and a replay change nothing.
func (p *Partner) LapseAgreement(program Program, version string, dueBy, at, now time.Time) (changed bool, err error) {
	if !program.Valid() || program == ProgramPartnerNetwork {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrNotEnrolled)
	}
	for i := range p.enrollments {
		e := &p.enrollments[i]
		if l, d := e.AgreementLapsed, e.AgreementDue; e.Program == program && !e.hasAgreement() && l != nil && d != nil && d.VersionID == version {
			e.AgreementLapsed = &AgreementRevision{VersionID: version, DueBy: dueBy, At: at,
				PriorAgreementID: l.PriorAgreementID, PriorAgreementVersion: l.PriorAgreementVersion}
			e.AgreementDue, p.updatedAt, changed = nil, now, true
			continue
		}
		if e.Program != program || !e.hasAgreement() || (version != "" && e.AgreementVersion == version) {
			continue
		}
		lapsed := &AgreementRevision{VersionID: version, DueBy: dueBy, At: at,
			PriorAgreementID: e.AgreementID, PriorAgreementVersion: e.AgreementVersion}
		e.AgreementID, e.AgreementVersion, p.updatedAt = "", "", now
		e.AgreementDue, e.AgreementLapsed = nil, lapsed
		changed = true
		if e.Status == EnrollmentActive {
			if err := p.move(e, EnrollmentQualified, ReasonReacceptanceOverdue, now); err != nil {
				return false, err
			}
		}
	}
	return changed, nil
}

// WithdrawReacceptance records that agreements cancelled its requirement to
// accept version of the program's agreement (the version was retired, or
// the partner's account was closed), so the acceptance the partner had
// (acceptanceID) counts as before: no enrollment shows the version due any
// more, and, when restore is set (a retirement), one whose agreement lapsed
// for that version has its earlier acceptance back — a qualified one is
// active again (reason agreement_reacceptance_cancelled), one waiting for
// its e-mail confirmation will be active by it. A closed partner's lapse
// stays (closure is final). An enrollment that accepted another version
// since, and a replay, change nothing.
func (p *Partner) WithdrawReacceptance(program Program, version, acceptanceID string, restore bool, now time.Time) (changed bool, err error) {
	if !program.Valid() || program == ProgramPartnerNetwork {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrNotEnrolled)
	}
	for i := range p.enrollments {
		e := &p.enrollments[i]
		if e.Program != program {
			continue
		}
		if e.AgreementDue != nil && e.AgreementDue.VersionID == version {
			e.AgreementDue, p.updatedAt, changed = nil, now, true
		}
		l := e.AgreementLapsed
		if !restore || l == nil || l.VersionID != version || e.AgreementID != "" {
			continue
		}
		e.AgreementID, e.AgreementVersion = l.PriorAgreementID, l.PriorAgreementVersion
		if e.AgreementID == "" || (acceptanceID != "" && acceptanceID != e.AgreementID) {
			// a lapse recorded before its prior acceptance was kept, or
			// agreements knows a later one: agreements' word
			e.AgreementID, e.AgreementVersion = acceptanceID, ""
		}
		e.AgreementLapsed, p.updatedAt, changed = nil, now, true
		if e.Status == EnrollmentQualified {
			if err := p.move(e, EnrollmentActive, ReasonReacceptanceCancelled, now); err != nil {
				return false, err
			}
		}
	}
	return changed, nil
}

// LinkLocation links one of the partner's location IDs to its indirect
// reseller enrollment. The location must be active and in the enrollment's
// country. Linking the already linked location changes nothing; an active
// enrollment cannot be moved to another location.
func (p *Partner) LinkLocation(program Program, locationID LocationID, now time.Time) (changed bool, err error) {
	if program != ProgramIndirectReseller {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrProgramTakesNoLocation)
	}
	i := p.enrollmentIndex(program)
	if i < 0 {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrNotEnrolled)
	}
	e := &p.enrollments[i]
	if e.Status == EnrollmentRejected {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrEnrollmentClosed)
	}
	li := slices.IndexFunc(p.locations, func(l Location) bool { return l.ID == locationID })
	if li < 0 {
		return false, fmt.Errorf("partner %s, location %s: %w", p.id, locationID, ErrLocationNotFound)
	}
	loc := p.locations[li]
	if loc.Status != LocationStatusActive {
		return false, fmt.Errorf("location %s is %s: %w", loc.ID, loc.Status, ErrLocationNotActive)
	}
	if loc.Country != e.Country {
		return false, fmt.Errorf("location %s is in %s, enrollment in %s: %w", loc.ID, loc.Country, e.Country, ErrLocationCountryMismatch)
	}
	if e.LocationID == locationID {
		return false, nil
	}
	if e.LocationID != "" && e.Status == EnrollmentActive {
		return false, fmt.Errorf("partner %s, %s: %w", p.id, program, ErrLocationAlreadyLinked)
	}
	if slices.ContainsFunc(p.enrollments, func(o Enrollment) bool { return o.ID != e.ID && o.Program == program && o.LocationID == locationID }) {
		return false, fmt.Errorf("partner %s, %s at %s: %w", p.id, program, locationID, ErrAlreadyEnrolled)
	}
	prev := e.LocationID
	e.LocationID, p.updatedAt = locationID, now
	p.record(EnrollmentLocationLinked{PartnerID: p.id, EnrollmentID: e.ID, Program: program,
		LocationID: locationID, PreviousLocationID: prev, At: now})
	return true, nil
}

func (p *Partner) move(e *Enrollment, to EnrollmentStatus, reason string, now time.Time) error {
	from, err := e.transition(to, now)
	if err != nil {
		return err
	}
	p.updatedAt = now
	p.record(EnrollmentStatusChanged{PartnerID: p.id, EnrollmentID: e.ID, Program: e.Program, From: from, To: to,
		Reason: reason, LocationID: e.LocationID, AgreementID: e.AgreementID, At: now})
	return nil
}

// PartnerSnapshot is the plain-data form of a Partner, for storage and reads.
type PartnerSnapshot struct {
	ID              PartnerID      `json:"id"`
	Market          Country        `json:"market"`
	Status          PartnerStatus  `json:"status"`
	Registration    Registration   `json:"registration"`
	Locations       []Location     `json:"locations"`
	Enrollments     []Enrollment   `json:"enrollments"`
	RejectionReason string         `json:"rejection_reason,omitempty"`
	Standing        Standing       `json:"standing"`
	Security        SecurityStatus `json:"security"`
	Profile         ProfileChanges `json:"profile,omitzero"`
	LastActivityAt  time.Time      `json:"last_activity_at,omitzero"`
	SubmittedBy     string         `json:"submitted_by"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// Snapshot returns a deep-enough copy of the partner's state.
func (p *Partner) Snapshot() PartnerSnapshot {
	return PartnerSnapshot{
		ID: p.id, Market: p.market, Status: p.status, Registration: p.registration,
		Locations: p.Locations(), Enrollments: p.Enrollments(), RejectionReason: p.rejectionReason,
		Standing: p.standing.clone(), Security: p.Security(), Profile: p.profile.clone(), LastActivityAt: p.lastActivityAt,
		SubmittedBy: p.submittedBy, CreatedAt: p.createdAt, UpdatedAt: p.updatedAt,
	}
}

// ErrCorruptSnapshot is returned when stored state breaks an invariant.
var ErrCorruptSnapshot = errors.New("stored partner breaks an invariant")

// RehydratePartner rebuilds a Partner from stored state (the repository's
// job); it records no events and checks the invariants storage must keep.
func RehydratePartner(s PartnerSnapshot) (*Partner, error) {
	if _, err := ParsePartnerID(string(s.ID)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptSnapshot, err)
	}
	if !iso3166[s.Market] || s.Market != s.Registration.Normalized.Market {
		return nil, fmt.Errorf("%w: partner %s market %q", ErrCorruptSnapshot, s.ID, s.Market)
	}
	switch s.Status {
	case PartnerStatusPending, PartnerStatusActive, PartnerStatusRejected, PartnerStatusSuspended, PartnerStatusInactive, PartnerStatusClosed:
	default:
		return nil, fmt.Errorf("%w: partner %s status %q", ErrCorruptSnapshot, s.ID, s.Status)
	}
	if len(s.Locations) == 0 || !slices.ContainsFunc(s.Enrollments, func(e Enrollment) bool { return e.Program == ProgramPartnerNetwork }) {
		return nil, fmt.Errorf("%w: partner %s lacks a location or the partner-network enrollment", ErrCorruptSnapshot, s.ID)
	}
	return &Partner{
		id: s.ID, market: s.Market, status: s.Status, registration: s.Registration,
		locations: slices.Clone(s.Locations), enrollments: slices.Clone(s.Enrollments),
		rejectionReason: s.RejectionReason, standing: s.Standing.clone(), security: s.Security, profile: s.Profile.clone(),
		lastActivityAt: s.LastActivityAt,
		submittedBy:    s.SubmittedBy, createdAt: s.CreatedAt, updatedAt: s.UpdatedAt,
	}, nil
}
