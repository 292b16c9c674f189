package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

// Recheck names a verification check that a profile change re-opens.
type Recheck string

// The checks a change can re-open, and what re-opens them:
//   - email_ownership: the contact e-mail (the new address proves itself
//     with a challenge of the e-mail ownership service);
//   - company: the legal name, the address or the registration number (a
//     verifier compares them with the register again);
//   - employment: the contact e-mail's domain or the website's domain (the
//     evidence tying the contact to the company no longer holds).
//
// Everything else (phones, contact names, support profiles, a website path on
// the same domain) is applied at once: no check depends on it.
const (
	RecheckEmailOwnership Recheck = "email_ownership"
	RecheckCompany        Recheck = "company"
	RecheckEmployment     Recheck = "employment"
)

// ProfileChangeStatus is the life of a profile change request.
type ProfileChangeStatus string

// Profile change states: pending_verification until every re-opened check
// passed (then applied) or one failed (rejected); a newer request supersedes
// a pending one, the account's closure withdraws it. A change that re-opens
// nothing is applied at once.
const (
	ChangePending    ProfileChangeStatus = "pending_verification"
	ChangeApplied    ProfileChangeStatus = "applied"
	ChangeRejected   ProfileChangeStatus = "rejected"
	ChangeSuperseded ProfileChangeStatus = "superseded"
	// ChangeWithdrawn: the partner's account was closed while the change
	// waited for its checks (since round 45; before, it waited for good):
	// a closed account's profile never changes.
	ChangeWithdrawn ProfileChangeStatus = "withdrawn"
)

// CheckState is the state of one re-opened check.
type CheckState string

// Re-opened check states.
const (
	CheckPending CheckState = "pending"
	CheckPassed  CheckState = "passed"
	CheckFailed  CheckState = "failed"
)

// Field codes of profile changes (besides the registration codes, which the
// changed fields are validated with).
const (
	CodeProfileChangeEmpty     = "profile_change.empty"
	CodeProfileNothingChanged  = "profile_change.nothing_changed"
	CodeSupportNotForProgram   = "program.support_not_accepted"
	CodeSupportProgramNotFound = "program.not_enrolled"
	// CodeEmailRemoved: the contact e-mail address is one a verifier
	// removed from the partner after its owner reported a confirmation
	// mail ("this wasn't me").
	CodeEmailRemoved = "email.removed_after_report"
)

// Sentinel errors of profile changes.
var (
	ErrProfileChangeNotFound = errors.New("no such profile change of this partner")
	ErrProfileChangeDecided  = errors.New("the profile change is no longer pending")
	ErrCheckNotReopened      = errors.New("the profile change did not re-open this check")
	ErrCheckDecidedByEvent   = errors.New("this check is decided by the e-mail ownership service, not by a verifier")
)

// ProfileChangeInput is a request to change the partner's profile: every
// field is optional, a given one replaces the verified value. Market is
// accepted only to refuse it precisely (ErrMarketImmutable).
type ProfileChangeInput struct {
	Market             *string                  `json:"market,omitempty"`
	LegalName          *string                  `json:"legal_name,omitempty"`
	Address            *AddressInput            `json:"address,omitempty"`
	Phone              *string                  `json:"phone,omitempty"`
	Website            *string                  `json:"website,omitempty"`
	RegistrationNumber *RegistrationNumberInput `json:"registration_number,omitempty"` // empty scheme and value: remove it
	Contact            *ContactInput            `json:"contact,omitempty"`
	Support            []ProgramInput           `json:"support,omitempty"` // program + its new support profile
}

// FieldChange is one changed field of the profile, normalized: the verified
// value and the requested one ("" when absent).
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// NormalizationNote says what normalization changed in a submitted value.
type NormalizationNote struct {
	Field      string `json:"field"`
	Submitted  string `json:"submitted"`
	Normalized string `json:"normalized"`
}

// ProfileCheck is one re-opened check of a change and its outcome.
type ProfileCheck struct {
	Check     Recheck    `json:"check"`
	State     CheckState `json:"state"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt time.Time  `json:"decided_at,omitzero"`
	Reason    string     `json:"reason,omitempty"`
}

// ProfileChange is one request to change the profile. Proposed is the whole
// profile as it will be once applied; the partner keeps its verified profile
// (Partner.Registration) until then.
type ProfileChange struct {
	Number          int                 `json:"number"`
	Status          ProfileChangeStatus `json:"status"`
	Proposed        Registration        `json:"proposed"`
	Changes         []FieldChange       `json:"changes"`
	Normalization   []NormalizationNote `json:"normalization"`
	Checks          []ProfileCheck      `json:"checks"`
	Supersedes      int                 `json:"supersedes,omitempty"`
	RequestedBy     string              `json:"requested_by"`
	RequestedAt     time.Time           `json:"requested_at"`
	DecidedAt       time.Time           `json:"decided_at,omitzero"`
	RejectionReason string              `json:"rejection_reason,omitempty"`
}

// Reopens lists the re-opened checks.
func (c ProfileChange) Reopens() []Recheck {
	out := make([]Recheck, len(c.Checks))
	for i, k := range c.Checks {
		out[i] = k.Check
	}
	return out
}

// ChangedContactEmail is the contact e-mail address the change proposes,
// when it changes it.
func (c ProfileChange) ChangedContactEmail() (string, bool) {
	for _, f := range c.Changes {
		if f.Field == "contact.email" {
			return f.To, true
		}
	}
	return "", false
}

// RemovedContactEmail is the refusal of a change back to a contact e-mail
// address a verifier removed from the partner: its owner said the partner's
// mails are not theirs and was told nothing more would come.
func RemovedContactEmail(address string) error {
	return &ValidationError{Fields: []apperr.FieldError{{Field: "contact.email", Code: CodeEmailRemoved,
		Message: "a verifier removed " + address + " from the partner after its owner reported a confirmation mail (\"this wasn't me\"); give another address"}}}
}

// ProfileChanges is the partner's change history as the aggregate keeps it:
// how many were requested, the latest one, and when the verified profile
// last changed.
type ProfileChanges struct {
	Count      int            `json:"count"`
	Latest     *ProfileChange `json:"latest,omitempty"`
	VerifiedAt time.Time      `json:"verified_at,omitzero"`
}

func (pc ProfileChanges) clone() ProfileChanges {
	if pc.Latest != nil {
		c := *pc.Latest
		c.Changes, c.Normalization, c.Checks = slices.Clone(c.Changes), slices.Clone(c.Normalization), slices.Clone(c.Checks)
		pc.Latest = &c
	}
	return pc
}

// ProfileChanges returns a copy of the partner's profile change state.
func (p *Partner) ProfileChanges() ProfileChanges { return p.profile.clone() }

// RequestProfileChange validates and normalizes a change exactly as a
// registration (the changed fields merged into the verified input), works out
// what it changes and which checks it re-opens, and records it. A change that
// re-opens nothing is applied at once; otherwise it waits for its checks and
// the partner keeps transacting on its verified profile. A pending change is
// superseded by the new one. The market never changes (ErrMarketImmutable);
// only an approved partner that is not closed changes its profile.
func (p *Partner) RequestProfileChange(in ProfileChangeInput, policy Policy, by string, now time.Time) (ProfileChange, error) {
	switch {
	case p.status == PartnerStatusRejected:
		return ProfileChange{}, fmt.Errorf("partner %s: %w", p.id, ErrPartnerRejected)
	case p.status == PartnerStatusClosed:
		return ProfileChange{}, fmt.Errorf("partner %s: %w", p.id, ErrPartnerClosed)
	case !p.Approved() && !in.onlyContact():
		return ProfileChange{}, fmt.Errorf("partner %s: %w", p.id, ErrPendingCorrection)
	}
	if in.Market != nil {
		if c, ok := ParseCountry(strings.TrimSpace(*in.Market)); !ok || c != p.market {
			return ProfileChange{}, fmt.Errorf("%w: partner %s is registered in %s, not %q", ErrMarketImmutable, p.id, p.market, *in.Market)
		}
	}
	merged, touched, err := p.mergeProfileInput(in)
	if err != nil {
		return ProfileChange{}, err
	}
	norm, problems := normalizeRegistration(merged, policy, now)
	var fields []apperr.FieldError
	for _, f := range problems {
		if slices.ContainsFunc(touched, func(t string) bool { return f.Field == t || strings.HasPrefix(f.Field, t+".") }) {
			f.Field = in.requestPath(f.Field)
			fields = append(fields, f)
		}
	}
	if len(fields) > 0 {
		return ProfileChange{}, &ValidationError{Fields: fields}
	}
	verified := p.registration
	// The unchanged parts stay exactly as verified (a later change of the
	// rules must not rewrite them), and the affirmations keep their time.
	norm = keepUntouched(verified.Normalized, norm, touched)
	norm.Affirmations = verified.Normalized.Affirmations
	norm.EmailDomainMatchesWebsite = SameOrSubdomain(norm.Contact.EmailDomain, norm.Company.WebsiteDomain)
	proposed := Registration{Input: merged, Normalized: norm}
	if !p.Approved() && !strings.EqualFold(norm.Contact.EmailDomain, verified.Normalized.Contact.EmailDomain) {
		// Another domain would re-open the employment check of a review
		// under way: it waits for the approval.
		return ProfileChange{}, fmt.Errorf("partner %s: e-mail domain %s: %w", p.id, norm.Contact.EmailDomain, ErrPendingCorrection)
	}

	changes := diffProfiles(verified, proposed)
	if len(changes) == 0 {
		return ProfileChange{}, &ValidationError{Fields: []apperr.FieldError{{Field: in.requestPath(touched[0]), Code: CodeProfileNothingChanged,
			Message: "the change equals the verified profile once normalized"}}}
	}
	change := ProfileChange{
		Number: p.profile.Count + 1, Status: ChangePending, Proposed: proposed, Changes: changes,
		Normalization: normalizationNotes(in, merged, norm, touched), RequestedBy: by, RequestedAt: now,
	}
	// A pending partner's correction re-opens nothing while its address is
	// unconfirmed: the new address confirms itself as the first would have
	// (e-mail ownership moves every unconfirmed enrollment to it once the
	// change is applied). Once the membership confirmed the address, the new
	// one proves itself first, as an approved partner's does.
	if p.Approved() || p.contactConfirmed() {
		for _, k := range reopened(verified.Normalized, norm) {
			change.Checks = append(change.Checks, ProfileCheck{Check: k, State: CheckPending})
		}
	}
	if l := p.profile.Latest; l != nil && l.Status == ChangePending {
		l.Status, l.DecidedAt = ChangeSuperseded, now
		change.Supersedes = l.Number
	}
	if len(change.Checks) == 0 {
		change.Checks = []ProfileCheck{}
	}
	p.profile.Count = change.Number
	p.profile.Latest = &change
	p.updatedAt = now
	p.record(p.profileChangeRequested(change))
	if len(change.Checks) == 0 {
		p.applyProfileChange(now)
	}
	return *p.profile.Latest, nil
}

// contactConfirmed reports whether the membership enrollment (the one whose
// confirmation proves the contact address) confirmed an address.
func (p *Partner) contactConfirmed() bool {
	e, ok := p.Enrollment(ProgramPartnerNetwork)
	return ok && !e.EmailConfirmedAt.IsZero()
}

// onlyContact reports whether the change is of the primary contact alone:
// what a partner still under review may correct (a mistyped address, or one
// whose owner reported "this wasn't me", would otherwise leave the
// registration waiting for a confirmation that cannot come).
func (in ProfileChangeInput) onlyContact() bool {
	return in.Contact != nil && in.LegalName == nil && in.Address == nil && in.Phone == nil && in.Website == nil &&
		in.RegistrationNumber == nil && len(in.Support) == 0 && in.Market == nil
}

// requestPath is where the field of the merged registration input lies in
// the change request, so that a problem points at what the caller sent:
// the company's fields are at the top of the request (phone, not
// company.phone) and a program's support profile at its place in support
// (support[0].support.email, not programs.indirect_reseller.support.email).
func (in ProfileChangeInput) requestPath(field string) string {
	if rest, ok := strings.CutPrefix(field, "company."); ok {
		return rest
	}
	if rest, ok := strings.CutPrefix(field, "programs."); ok {
		prog, tail, _ := strings.Cut(rest, ".")
		for i, s := range in.Support {
			if string(programOf(s.Program)) == prog {
				return fmt.Sprintf("support[%d].%s", i, tail)
			}
		}
	}
	return field
}

// mergeProfileInput writes the change over the verified input and returns
// the field prefixes it touched.
func (p *Partner) mergeProfileInput(in ProfileChangeInput) (RegistrationInput, []string, error) {
	merged := p.registration.Input
	merged.Programs = slices.Clone(merged.Programs)
	var touched []string
	touch := func(f string) { touched = append(touched, f) }
	if in.LegalName != nil {
		merged.Company.LegalName = *in.LegalName
		touch("company.legal_name")
	}
	if in.Address != nil {
		merged.Company.Address = *in.Address
		touch("company.address")
	}
	if in.Phone != nil {
		merged.Company.Phone = *in.Phone
		touch("company.phone")
	}
	if in.Website != nil {
		merged.Company.Website = *in.Website
		touch("company.website")
	}
	if in.RegistrationNumber != nil {
		rn := *in.RegistrationNumber
		merged.Company.RegistrationNumber = &rn
		if rn.Scheme == "" && rn.Value == "" {
			merged.Company.RegistrationNumber = nil
		}
		touch("company.registration_number")
	}
	if in.Contact != nil {
		merged.Contact = *in.Contact
		touch("contact")
	}
	v := &validator{}
	seen := map[Program]bool{}
	for i, s := range in.Support {
		prog := programOf(s.Program)
		field := fmt.Sprintf("support[%d]", i)
		j := slices.IndexFunc(merged.Programs, func(pi ProgramInput) bool { return programOf(pi.Program) == prog })
		switch {
		case !prog.Valid():
			v.add(field+".program", CodeProgramUnknown, "%q is not a program", s.Program)
		case seen[prog]:
			// Two profiles for one program: the last would win unseen.
			v.add(field+".program", CodeProgramDuplicate, "%s is given twice", prog)
		case prog == ProgramPartnerNetwork:
			v.add(field+".program", CodeSupportNotForProgram, "the partner network membership has no customer support profile")
		case j < 0:
			v.add(field+".program", CodeSupportProgramNotFound, "the partner is not enrolled in %s", prog)
		case s.Support == nil:
			v.add(field+".support", CodeRequired, "give the new support profile")
		default:
			sp := *s.Support
			merged.Programs[j] = ProgramInput{Program: merged.Programs[j].Program, Support: &sp}
			touch("programs." + string(prog) + ".support")
		}
		seen[prog] = true
	}
	if len(v.fields) > 0 {
		return merged, nil, &ValidationError{Fields: v.fields}
	}
	if len(touched) == 0 {
		return merged, nil, &ValidationError{Fields: []apperr.FieldError{{Field: "change", Code: CodeProfileChangeEmpty,
			Message: "give at least one of legal_name, address, phone, website, registration_number, contact, support"}}}
	}
	return merged, touched, nil
}

// keepUntouched copies the verified normalized values of every part the
// change did not touch into the proposal.
func keepUntouched(verified, n NormalizedRegistration, touched []string) NormalizedRegistration {
	has := func(f string) bool { return slices.Contains(touched, f) }
	c, vc := &n.Company, verified.Company
	if !has("company.legal_name") {
		c.LegalName, c.LegalNameKey = vc.LegalName, vc.LegalNameKey
	}
	if !has("company.address") {
		c.Address = vc.Address
	}
	if !has("company.phone") {
		c.PhoneE164 = vc.PhoneE164
	}
	if !has("company.website") {
		c.Website, c.WebsiteDomain = vc.Website, vc.WebsiteDomain
	}
	if !has("company.registration_number") {
		c.RegistrationNumber = vc.RegistrationNumber
	}
	if !has("contact") {
		n.Contact = verified.Contact
	}
	for i := range n.Programs {
		if has("programs." + string(n.Programs[i].Program) + ".support") {
			continue
		}
		if j := slices.IndexFunc(verified.Programs, func(r ProgramRequest) bool { return r.Program == n.Programs[i].Program }); j >= 0 {
			n.Programs[i] = verified.Programs[j]
		}
	}
	n.Market, n.Language = verified.Market, verified.Language
	return n
}

// profileFields flattens the changeable part of a normalized profile.
func profileFields(n NormalizedRegistration) map[string]string {
	c := n.Company
	m := map[string]string{
		"company.legal_name":          c.LegalName,
		"company.address.line1":       c.Address.Line1,
		"company.address.line2":       c.Address.Line2,
		"company.address.city":        c.Address.City,
		"company.address.region":      c.Address.Region,
		"company.address.postal_code": c.Address.PostalCode,
		"company.phone":               c.PhoneE164,
		"company.website":             c.Website,
		"company.registration_number": "",
		"contact.first_name":          n.Contact.FirstName,
		"contact.last_name":           n.Contact.LastName,
		"contact.email":               n.Contact.Email,
		"contact.phone":               n.Contact.PhoneE164,
	}
	if rn := c.RegistrationNumber; rn != nil {
		m["company.registration_number"] = string(rn.Scheme) + ":" + rn.Value
	}
	for _, pr := range n.Programs {
		if pr.Support == nil {
			continue
		}
		f := "programs." + string(pr.Program) + ".support"
		m[f+".website"], m[f+".email"], m[f+".phone"] = pr.Support.Website, pr.Support.Email, pr.Support.PhoneE164
	}
	return m
}

// submittedFields flattens the same part of an input as submitted.
func submittedFields(in RegistrationInput) map[string]string {
	c := in.Company
	m := map[string]string{
		"company.legal_name":          c.LegalName,
		"company.address.line1":       c.Address.Line1,
		"company.address.line2":       c.Address.Line2,
		"company.address.city":        c.Address.City,
		"company.address.region":      c.Address.Region,
		"company.address.postal_code": c.Address.PostalCode,
		"company.phone":               c.Phone,
		"company.website":             c.Website,
		"contact.first_name":          in.Contact.FirstName,
		"contact.last_name":           in.Contact.LastName,
		"contact.email":               in.Contact.Email,
		"contact.phone":               in.Contact.Phone,
	}
	if rn := c.RegistrationNumber; rn != nil {
		m["company.registration_number"] = rn.Scheme + ":" + rn.Value
	}
	for _, pr := range in.Programs {
		if pr.Support == nil {
			continue
		}
		f := "programs." + string(programOf(pr.Program)) + ".support"
		m[f+".website"], m[f+".email"], m[f+".phone"] = pr.Support.Website, pr.Support.Email, pr.Support.Phone
	}
	return m
}

func sortedKeys(ms ...map[string]string) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// diffProfiles lists the normalized fields that differ, in field order.
func diffProfiles(from, to Registration) []FieldChange {
	a, b := profileFields(from.Normalized), profileFields(to.Normalized)
	var out []FieldChange
	for _, k := range sortedKeys(a, b) {
		if a[k] != b[k] {
			out = append(out, FieldChange{Field: k, From: a[k], To: b[k]})
		}
	}
	return out
}

// normalizationNotes lists, for the touched fields, what normalization
// changed between the submitted and the normalized value, each at its
// place in the change request req (see requestPath).
func normalizationNotes(req ProfileChangeInput, in RegistrationInput, n NormalizedRegistration, touched []string) []NormalizationNote {
	raw, norm := submittedFields(in), profileFields(n)
	out := []NormalizationNote{}
	for _, k := range sortedKeys(raw) {
		if !slices.ContainsFunc(touched, func(t string) bool { return k == t || strings.HasPrefix(k, t+".") }) {
			continue
		}
		if raw[k] != norm[k] {
			out = append(out, NormalizationNote{Field: req.requestPath(k), Submitted: raw[k], Normalized: norm[k]})
		}
	}
	return out
}

// reopened says which checks the change from a to b re-opens.
func reopened(a, b NormalizedRegistration) []Recheck {
	var out []Recheck
	if a.Contact.Email != b.Contact.Email {
		out = append(out, RecheckEmailOwnership)
	}
	ac, bc := a.Company, b.Company
	if ac.LegalName != bc.LegalName || ac.Address.Key != bc.Address.Key || ac.Address.Line2 != bc.Address.Line2 ||
		ac.Address.Region != bc.Address.Region || ac.Address.City != bc.Address.City ||
		!equalNumber(ac.RegistrationNumber, bc.RegistrationNumber) {
		out = append(out, RecheckCompany)
	}
	if a.Contact.EmailDomain != b.Contact.EmailDomain || ac.WebsiteDomain != bc.WebsiteDomain {
		out = append(out, RecheckEmployment)
	}
	return out
}

func equalNumber(a, b *RegistrationNumber) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (p *Partner) profileChangeRequested(c ProfileChange) ProfileChangeRequested {
	n, in := c.Proposed.Normalized, c.Proposed.Input
	var contactEnrollment EnrollmentID
	if e, ok := p.Enrollment(ProgramPartnerNetwork); ok {
		contactEnrollment = e.ID
	}
	status := c.Status
	if len(c.Checks) == 0 {
		status = ChangeApplied // applied at once, ProfileChangeApplied follows
	}
	return ProfileChangeRequested{
		PartnerID: p.id, ChangeNumber: c.Number, Market: p.market, Language: n.Language, Status: status,
		Changes: slices.Clone(c.Changes), Reopens: c.Reopens(), Supersedes: c.Supersedes,
		ContactEnrollmentID: contactEnrollment, Contact: n.Contact,
		LegalName:          LegalNameFacts{Raw: in.Company.LegalName, Normalized: n.Company.LegalName},
		Address:            AddressFacts{Raw: in.Company.Address, Normalized: n.Company.Address},
		RegistrationNumber: n.Company.RegistrationNumber, Website: n.Company.Website, WebsiteDomain: n.Company.WebsiteDomain,
		EmailDomainMatchesWebsite: n.EmailDomainMatchesWebsite, RequestedBy: c.RequestedBy, RequestedAt: c.RequestedAt,
	}
}

// ConfirmProfileEmail records the e-mail ownership service's confirmation of
// the pending change's new contact address (confirmed on the partner-network
// enrollment); other addresses change nothing. It applies the change when no
// other re-opened check is pending.
func (p *Partner) ConfirmProfileEmail(enrollment EnrollmentID, address string, confirmedAt, now time.Time) bool {
	c := p.profile.Latest
	if c == nil || c.Status != ChangePending || !strings.EqualFold(address, c.Proposed.Normalized.Contact.Email) {
		return false
	}
	e, ok := p.Enrollment(ProgramPartnerNetwork)
	if !ok || e.ID != enrollment {
		return false
	}
	i := slices.IndexFunc(c.Checks, func(k ProfileCheck) bool { return k.Check == RecheckEmailOwnership })
	if i < 0 || c.Checks[i].State != CheckPending {
		return false
	}
	c.Checks[i] = ProfileCheck{Check: RecheckEmailOwnership, State: CheckPassed, DecidedBy: "email-ownership", DecidedAt: confirmedAt}
	p.updatedAt = now
	p.maybeApplyProfileChange(now)
	return true
}

// RefuseProfileEmail records that the pending change's new contact address
// cannot be confirmed: a verifier upheld its owner's "this wasn't me"
// report of the confirmation mail and e-mail ownership removed the address
// from the partner. The e-mail ownership check fails and the change is
// rejected for reason (the partner keeps its verified profile); other
// addresses change nothing.
func (p *Partner) RefuseProfileEmail(address, reason string, at, now time.Time) bool {
	c := p.profile.Latest
	if c == nil || c.Status != ChangePending || !strings.EqualFold(address, c.Proposed.Normalized.Contact.Email) {
		return false
	}
	i := slices.IndexFunc(c.Checks, func(k ProfileCheck) bool { return k.Check == RecheckEmailOwnership })
	if i < 0 || c.Checks[i].State != CheckPending {
		return false
	}
	c.Checks[i] = ProfileCheck{Check: RecheckEmailOwnership, State: CheckFailed, DecidedBy: "email-ownership", DecidedAt: at, Reason: reason}
	c.Status, c.DecidedAt, c.RejectionReason = ChangeRejected, now, reason
	p.updatedAt = now
	p.record(ProfileChangeRejected{PartnerID: p.id, ChangeNumber: c.Number, Market: p.market, Check: RecheckEmailOwnership, Reason: reason,
		Checks: slices.Clone(c.Checks), RejectedBy: "email-ownership", RejectedAt: now})
	return true
}

// DecideProfileCheck records a verifier's decision on a re-opened company or
// employment check of change number. A failed check rejects the change (the
// verified profile stays as it was); the last passing check applies it.
func (p *Partner) DecideProfileCheck(number int, check Recheck, passed bool, reason, by string, now time.Time) error {
	c := p.profile.Latest
	if c == nil || c.Number != number {
		if number >= 1 && number <= p.profile.Count {
			return fmt.Errorf("partner %s, change %d: %w", p.id, number, ErrProfileChangeDecided)
		}
		return fmt.Errorf("partner %s, change %d: %w", p.id, number, ErrProfileChangeNotFound)
	}
	if c.Status != ChangePending {
		return fmt.Errorf("partner %s, change %d is %s: %w", p.id, number, c.Status, ErrProfileChangeDecided)
	}
	if check == RecheckEmailOwnership {
		return fmt.Errorf("partner %s, change %d: %w", p.id, number, ErrCheckDecidedByEvent)
	}
	i := slices.IndexFunc(c.Checks, func(k ProfileCheck) bool { return k.Check == check })
	if i < 0 {
		return fmt.Errorf("partner %s, change %d, %s: %w", p.id, number, check, ErrCheckNotReopened)
	}
	if c.Checks[i].State != CheckPending {
		return fmt.Errorf("partner %s, change %d, %s is %s: %w", p.id, number, check, c.Checks[i].State, ErrProfileChangeDecided)
	}
	state := CheckPassed
	if !passed {
		state = CheckFailed
	}
	c.Checks[i] = ProfileCheck{Check: check, State: state, DecidedBy: by, DecidedAt: now, Reason: reason}
	p.updatedAt = now
	if !passed {
		c.Status, c.DecidedAt, c.RejectionReason = ChangeRejected, now, reason
		p.record(ProfileChangeRejected{PartnerID: p.id, ChangeNumber: c.Number, Market: p.market, Check: check, Reason: reason,
			Checks: slices.Clone(c.Checks), RejectedBy: by, RejectedAt: now})
		return nil
	}
	p.maybeApplyProfileChange(now)
	return nil
}

func (p *Partner) maybeApplyProfileChange(now time.Time) {
	c := p.profile.Latest
	if slices.ContainsFunc(c.Checks, func(k ProfileCheck) bool { return k.State != CheckPassed }) {
		return
	}
	p.applyProfileChange(now)
}

// applyProfileChange makes the latest change the verified profile: the
// registration, the enrollments' support profiles and, for a new contact
// address, the membership's confirmed address.
func (p *Partner) applyProfileChange(now time.Time) {
	c := p.profile.Latest
	c.Status, c.DecidedAt = ChangeApplied, now
	p.registration = c.Proposed
	for i := range p.enrollments {
		e := &p.enrollments[i]
		if j := slices.IndexFunc(c.Proposed.Normalized.Programs, func(r ProgramRequest) bool { return r.Program == e.Program }); j >= 0 {
			e.Support = c.Proposed.Normalized.Programs[j].Support
		}
		if e.Program == ProgramPartnerNetwork {
			if k := slices.IndexFunc(c.Checks, func(k ProfileCheck) bool { return k.Check == RecheckEmailOwnership }); k >= 0 {
				e.EmailAddress, e.EmailConfirmedAt = c.Proposed.Normalized.Contact.Email, c.Checks[k].DecidedAt
			}
		}
	}
	p.profile.VerifiedAt, p.updatedAt = now, now
	n := c.Proposed.Normalized
	in := c.Proposed.Input
	p.record(ProfileChangeApplied{PartnerID: p.id, ChangeNumber: c.Number, Market: p.market, Language: n.Language, Changes: slices.Clone(c.Changes),
		Checks:    slices.Clone(c.Checks),
		LegalName: LegalNameFacts{Raw: in.Company.LegalName, Normalized: n.Company.LegalName},
		Address:   AddressFacts{Raw: in.Company.Address, Normalized: n.Company.Address}, CompanyPhoneE164: n.Company.PhoneE164,
		RegistrationNumber: n.Company.RegistrationNumber, Website: n.Company.Website, WebsiteDomain: n.Company.WebsiteDomain,
		Contact: n.Contact, EmailDomainMatchesWebsite: n.EmailDomainMatchesWebsite, AppliedAt: now})
}

// ProfileChangeRequested: a profile change was requested; Reopens are the
// checks it waits for (none: it is applied at once, ProfileChangeApplied
// follows). It carries the proposed facts those checks need.
type ProfileChangeRequested struct {
	PartnerID                 PartnerID           `json:"partner_id"`
	ChangeNumber              int                 `json:"change_number"`
	Market                    Country             `json:"market"`
	Language                  Language            `json:"language"`
	Status                    ProfileChangeStatus `json:"status"`
	Changes                   []FieldChange       `json:"changes"`
	Reopens                   []Recheck           `json:"reopens"`
	Supersedes                int                 `json:"supersedes,omitempty"`
	ContactEnrollmentID       EnrollmentID        `json:"contact_enrollment_id"`
	Contact                   NormalizedContact   `json:"contact"`
	LegalName                 LegalNameFacts      `json:"legal_name"`
	Address                   AddressFacts        `json:"address"`
	RegistrationNumber        *RegistrationNumber `json:"registration_number,omitempty"`
	Website                   string              `json:"website,omitempty"`
	WebsiteDomain             string              `json:"website_domain,omitempty"`
	EmailDomainMatchesWebsite bool                `json:"email_domain_matches_website"`
	RequestedBy               string              `json:"requested_by"`
	RequestedAt               time.Time           `json:"requested_at"`
}

// ProfileChangeApplied: every re-opened check passed (or none was) and the
// change is now the verified profile.
type ProfileChangeApplied struct {
	PartnerID    PartnerID      `json:"partner_id"`
	ChangeNumber int            `json:"change_number"`
	Market       Country        `json:"market"`
	Language     Language       `json:"language"`
	Changes      []FieldChange  `json:"changes"`
	Checks       []ProfileCheck `json:"checks"`
	// The verified profile now (what verification keeps its case's facts
	// current with, and the notifier its contact).
	LegalName                 LegalNameFacts      `json:"legal_name"`
	Address                   AddressFacts        `json:"address"`
	CompanyPhoneE164          string              `json:"company_phone_e164"`
	RegistrationNumber        *RegistrationNumber `json:"registration_number,omitempty"`
	Website                   string              `json:"website,omitempty"`
	WebsiteDomain             string              `json:"website_domain,omitempty"`
	Contact                   NormalizedContact   `json:"contact"`
	EmailDomainMatchesWebsite bool                `json:"email_domain_matches_website"`
	AppliedAt                 time.Time           `json:"applied_at"`
}

// ProfileChangeRejected: a re-opened check failed; the verified profile
// stays as it was.
type ProfileChangeRejected struct {
	PartnerID    PartnerID      `json:"partner_id"`
	ChangeNumber int            `json:"change_number"`
	Market       Country        `json:"market"`
	Check        Recheck        `json:"check"`
	Reason       string         `json:"reason"`
	Checks       []ProfileCheck `json:"checks"`
	RejectedBy   string         `json:"rejected_by"`
	RejectedAt   time.Time      `json:"rejected_at"`
}

// EventName implements Event.
func (ProfileChangeRequested) EventName() string { return "profile_change.requested" }

// PartitionKey implements Event.
func (e ProfileChangeRequested) PartitionKey() PartnerID { return e.PartnerID }

// OccurredAt implements Event.
func (e ProfileChangeRequested) OccurredAt() time.Time { return e.RequestedAt }

// EventName implements Event.
func (ProfileChangeApplied) EventName() string { return "profile_change.applied" }

// PartitionKey implements Event.
func (e ProfileChangeApplied) PartitionKey() PartnerID { return e.PartnerID }

// OccurredAt implements Event.
func (e ProfileChangeApplied) OccurredAt() time.Time { return e.AppliedAt }

// EventName implements Event.
func (ProfileChangeRejected) EventName() string { return "profile_change.rejected" }

// PartitionKey implements Event.
func (e ProfileChangeRejected) PartitionKey() PartnerID { return e.PartnerID }

// OccurredAt implements Event.
func (e ProfileChangeRejected) OccurredAt() time.Time { return e.RejectedAt }
