package domain

import (
	"testing"
	"time"
)

func TestApplyProfileKeepsTheCaseOnTheVerifiedProfile(t *testing.T) {
	c := openCase(t, func(in *OpenInput) { in.DomainProofToken = "tok" })
	c.PullEvents()
	status, checks := c.Status, len(c.Checks)
	f := c.Submitted
	f.Address.Line1, f.Registered = "芝浦3-4-1", nil
	later := t0.Add(time.Hour)
	p := ProfileFacts{Facts: f, Contact: Contact{FirstName: "花子", LastName: "佐藤", Email: "hanako@newco.co.jp"}, Website: "https://www.newco.co.jp/ja"}
	if !c.ApplyProfile(p, later) {
		t.Fatal("nothing changed")
	}
	if c.Submitted.Address.Line1 != "芝浦3-4-1" || c.Contact.EmailDomain != "newco.co.jp" || c.WebsiteDomain != "newco.co.jp" ||
		c.DomainProof.Domain != "newco.co.jp" || !c.UpdatedAt.Equal(later) {
		t.Fatalf("case after the profile change: %+v %+v %s %+v", c.Submitted.Address, c.Contact, c.WebsiteDomain, c.DomainProof)
	}
	if c.Status != status || len(c.Checks) != checks || len(c.PullEvents()) != 0 {
		t.Fatal("a profile change moves no check and records no event")
	}
	if c.ApplyProfile(p, later.Add(time.Hour)) {
		t.Fatal("the same profile again changed the case")
	}
}
