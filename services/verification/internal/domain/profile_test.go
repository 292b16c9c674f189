package domain

import (
	"errors"
	"slices"
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

// TestAnEarlierProfileChangeHeardLaterIsNotApplied: two contact
// corrections of the same partner, the first heard after the second (its
// handling waited while the second's did not). The case stays on the later
// one's contact.
func TestAnEarlierProfileChangeHeardLaterIsNotApplied(t *testing.T) {
	c := openCase(t, nil)
	later := ProfileFacts{Facts: c.Submitted, Contact: Contact{FirstName: "次郎", LastName: "山田", Email: "jiro@newco.co.jp"}, Sequence: 3}
	earlier := ProfileFacts{Facts: c.Submitted, Contact: Contact{FirstName: "花子", LastName: "佐藤", Email: "hanako@newco.co.jp"}, Sequence: 2}
	if !c.ApplyProfile(later, t0) {
		t.Fatal("nothing changed")
	}
	c.ApplyProfile(earlier, t0.Add(time.Second))
	if c.Contact.Email != "jiro@newco.co.jp" || c.ProfileSequence != 3 {
		t.Fatalf("the earlier change after the later one: contact %s, sequence %d", c.Contact.Email, c.ProfileSequence)
	}
	// 花子 was the contact between the two: a previous contact's address
	if !slices.Contains(c.PreviousContacts, "hanako@newco.co.jp") || !slices.Contains(c.PreviousContacts, "taro@sample.co.jp") {
		t.Fatalf("previous contacts %v", c.PreviousContacts)
	}
	unknown := earlier
	unknown.Sequence = 0 // an event without a sequence is applied as it comes
	if !c.ApplyProfile(unknown, t0.Add(2*time.Second)) || c.Contact.Email != "hanako@newco.co.jp" {
		t.Fatalf("a change without a sequence: contact %s", c.Contact.Email)
	}
}

func TestProfileReviewTasksDecideTheChangeNotTheCase(t *testing.T) {
	c := approvedCase(t)
	f := c.Submitted
	f.Address.Line1, f.Registered = "芝浦3-4-1", nil
	in := ProfileReviewInput{ChangeNumber: 2, Checks: []CheckKind{CheckEmailOwnership, CheckCompany},
		Proposed: ProfileFacts{Facts: f, Contact: c.Contact, Website: c.WebsiteDomain}, PreCheck: PreCheck{CheckedAt: t0}}
	opened := c.OpenProfileReview(in, t0, rules())
	if len(opened) != 1 || opened[0].Check != CheckCompany || opened[0].Content.ProfileChange != 2 || opened[0].Content.Submitted.Address.Line1 != "芝浦3-4-1" ||
		opened[0].Content.PreCheck == nil {
		t.Fatalf("opened %+v", opened)
	}
	if again := c.OpenProfileReview(in, t0, rules()); len(again) != 0 {
		t.Fatal("a redelivered change opened tasks again")
	}
	task := opened[0].ID
	claim(t, c, task, "v-2", t0)
	if _, _, err := c.Decide(DecisionInput{ID: "docs", TaskID: task, Verifier: "v-2", Outcome: OutcomeRequestDocuments, Reason: "address_mismatch"}, t0, rules()); err == nil {
		t.Fatal("documents requested of a profile change")
	}
	d, _, err := c.Decide(DecisionInput{ID: "no", TaskID: task, Verifier: "v-2", Outcome: OutcomeReject, Reason: "address_mismatch", Mode: ModeFinal}, t0, rules())
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != DecisionFinal || c.Status != CaseApproved || c.Check(CheckCompany).State != StatePassed {
		t.Fatalf("the case moved: %s, company %s, decision %s", c.Status, c.Check(CheckCompany).State, d.Status)
	}
	var decided []ProfileCheckDecided
	for _, e := range c.PullEvents() {
		if p, ok := e.(ProfileCheckDecided); ok {
			decided = append(decided, p)
		}
		if _, ok := e.(VerificationRejected); ok {
			t.Fatal("a profile change's rejection rejected the case")
		}
	}
	if len(decided) != 1 || decided[0].Passed || decided[0].ChangeNumber != 2 || decided[0].Reason != "address_mismatch" || decided[0].ApplicantMessage == "" {
		t.Fatalf("decided %+v", decided)
	}
	// A newer change cancels the open tasks of an older one.
	in.ChangeNumber = 3
	in.Checks = []CheckKind{CheckCompany, CheckEmployment}
	if got := c.OpenProfileReview(in, t0, rules()); len(got) != 2 {
		t.Fatalf("change 3 opened %d tasks", len(got))
	}
	in.ChangeNumber = 4
	in.Checks = []CheckKind{CheckCompany}
	c.OpenProfileReview(in, t0, rules())
	active := 0
	for _, tk := range c.Tasks {
		if tk.Active() {
			active++
			if tk.Content.ProfileChange != 4 {
				t.Errorf("task %s of change %d still open", tk.ID, tk.Content.ProfileChange)
			}
		}
	}
	if active != 1 {
		t.Fatalf("%d open tasks", active)
	}
}

// TestAConfirmationOfTheAddressTheContactWasCorrectedFrom: a pending
// partner's contact corrected at once (registration knew of no
// confirmation) while the contact confirmed the previous address: that
// confirmation reaches the case after the correction. It is no longer the
// case's to count, and neither an error (it was redelivered for two
// minutes and then dead-lettered as verification.email_mismatch) nor a
// pass: the check waits for the new contact's confirmation, which e-mail
// ownership asks for.
func TestAConfirmationOfTheAddressTheContactWasCorrectedFrom(t *testing.T) {
	c := openCase(t, nil)
	c.PullEvents()
	p := ProfileFacts{Facts: c.Submitted, Contact: Contact{FirstName: "花子", LastName: "佐藤", Email: "hanako@sample.co.jp"}}
	if !c.ApplyProfile(p, t0.Add(time.Minute)) {
		t.Fatal("nothing changed")
	}
	changed, err := c.ConfirmEmailOwnership("enr-pn", "Taro@Sample.co.jp", t0, t0.Add(2*time.Minute), rules())
	if err != nil || changed || c.Check(CheckEmailOwnership).State != StatePending {
		t.Fatalf("the previous contact's confirmation: changed=%v err=%v check %s", changed, err, c.Check(CheckEmailOwnership).State)
	}
	if _, err := c.ConfirmEmailOwnership("enr-pn", "eve@sample.co.jp", t0, t0, rules()); !errors.Is(err, ErrEmailMismatch) {
		t.Fatalf("an address that never was the contact: %v", err)
	}
	if changed, err := c.ConfirmEmailOwnership("enr-pn", "hanako@sample.co.jp", t0, t0.Add(3*time.Minute), rules()); err != nil || !changed ||
		c.Check(CheckEmailOwnership).State != StatePassed {
		t.Fatalf("the new contact's confirmation: changed=%v err=%v", changed, err)
	}
}
