package domain

import "time"

// ProfileFacts are a partner's verified profile after registration applied
// a profile change: the company facts (as submitted and, in
// Facts.Registered, as registration normalized them), the contact and the
// website.
type ProfileFacts struct {
	Facts   CompanyFacts
	Contact Contact
	Website string
}

// ApplyProfile keeps the case's facts equal to the partner's verified
// profile after a profile change, so that a later review (after a
// revocation, or a reactivation) and the domain proof look at what the
// partner transacts on now. Checks, tasks, decisions and the status do not
// move: registration had the change's own checks decided. It reports
// whether anything changed.
func (c *Case) ApplyProfile(f ProfileFacts, now time.Time) bool {
	contact := Contact{FirstName: f.Contact.FirstName, LastName: f.Contact.LastName, Email: f.Contact.Email, EmailDomain: EmailDomain(f.Contact.Email)}
	normalized := f.Facts.Normalize(c.Market)
	website := WebsiteDomain(f.Website)
	if normalized == c.Normalized && contact == c.Contact && website == c.WebsiteDomain && f.Facts.LegalName == c.Submitted.LegalName &&
		f.Facts.Address == c.Submitted.Address && f.Facts.Phone == c.Submitted.Phone {
		return false
	}
	c.Submitted, c.Normalized, c.Contact, c.WebsiteDomain = f.Facts, normalized, contact, website
	if c.DomainProof != nil && contact.EmailDomain != "" {
		c.DomainProof.Domain = contact.EmailDomain
	}
	c.UpdatedAt = now
	return true
}
