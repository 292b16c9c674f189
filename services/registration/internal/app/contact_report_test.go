package app

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// TestContactRemovalInRequirements: an upheld dispute of the contact
// address replaces the enrollment's e-mail confirmation requirement with
// contact_email_removed, while the partner's contact is still that address;
// the partner's standing and the enrollment's status stay as they were.
func TestContactRemovalInRequirements(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id := string(v.PartnerID)
	admin := adminOf(v.PartnerID)
	before, err := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(rv RequirementsView) map[string]bool {
		m := map[string]bool{}
		for _, r := range rv.Requirements {
			m[r.Kind] = true
		}
		return m
	}
	if !kinds(before)[RequirementEmailConfirmation] {
		t.Fatalf("no e-mail confirmation requirement before: %+v", before.Requirements)
	}
	// Whether the confirmation mail could be delivered is e-mail
	// ownership's to say: the requirement points at its status.
	for _, r := range before.Requirements {
		if r.Kind == RequirementEmailConfirmation && !slices.ContainsFunc(r.Cures, func(c Cure) bool {
			return c.Action == "check_confirmation_mail" && c.Method == "GET" && c.Path == "/v1/enrollments/"+string(before.EnrollmentID)+"/ownership"
		}) {
			t.Errorf("no cure to see the confirmation's mail: %+v", r.Cures)
		}
	}
	at := t0
	record := func(address string, state ContactReportState) {
		t.Helper()
		at = at.Add(time.Minute)
		if err := h.app.RecordContactReport(ctx, operator, ContactReport{PartnerID: v.PartnerID, EnrollmentID: before.EnrollmentID,
			ChallengeID: "ch-1", Address: address, State: state, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	record("someone.else@test-shoji.co.jp", ContactRemoved)
	if got, _ := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller"); kinds(got)[RequirementContactRemoved] {
		t.Fatal("a removal of another address than the contact's counted")
	}
	record("Taro@test-shoji.co.jp", ContactRemoved)
	got, err := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if err != nil {
		t.Fatal(err)
	}
	k := kinds(got)
	if !k[RequirementContactRemoved] || k[RequirementEmailConfirmation] || got.EnrollmentStatus != before.EnrollmentStatus ||
		got.PartnerStatus != domain.PartnerStatusPending {
		t.Fatalf("requirements after removal %+v", got)
	}
	// The cure, a profile change, keeps the e-mail domain while the partner
	// is under review: the view says so rather than send the partner to a
	// 409 registration.not_yet_approved.
	for _, r := range got.Requirements {
		if r.Kind == RequirementContactRemoved && (len(r.Cures) != 1 || r.Cures[0].Action != "change_contact_email" ||
			!strings.Contains(r.Cures[0].Description, "an address on the same domain") || r.Cures[0].Service != "registration" ||
			r.Cures[0].Method != "POST" || r.Cures[0].Path != "/v1/partners/"+id+"/profile-changes") {
			t.Fatalf("cure of a pending partner's removed address: %+v", r.Cures)
		}
	}
	// The other enrollment keeps its own confirmation requirement (e-mail
	// ownership reports a removal per enrollment).
	if other, _ := h.app.EnrollmentRequirements(ctx, admin, id, "partner_network"); kinds(other)[RequirementContactRemoved] {
		t.Fatal("the removal leaked to another enrollment")
	}
}

// TestAReportedMailInRequirements: while a verifier reviews a "this wasn't
// me" report of the enrollment's confirmation mail, its requirement waits
// on the vendor, says why and offers no resend (which would mail the
// reporter again); a withdrawal or dismissal brings the plain requirement
// back; a state older than the one kept (another durable's event, late)
// changes nothing.
func TestAReportedMailInRequirements(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id, admin := string(v.PartnerID), adminOf(v.PartnerID)
	before, err := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
	if err != nil {
		t.Fatal(err)
	}
	record := func(state ContactReportState, at time.Time) {
		t.Helper()
		if err := h.app.RecordContactReport(ctx, operator, ContactReport{PartnerID: v.PartnerID, EnrollmentID: before.EnrollmentID,
			ChallengeID: "ch-1", Address: "taro@test-shoji.co.jp", State: state, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	confirmation := func() Requirement {
		t.Helper()
		got, err := h.app.EnrollmentRequirements(ctx, admin, id, "indirect_reseller")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got.Requirements {
			if r.Kind == RequirementEmailConfirmation {
				return r
			}
		}
		t.Fatalf("no e-mail confirmation requirement: %+v", got.Requirements)
		return Requirement{}
	}
	record(ContactReported, t0.Add(time.Minute))
	r := confirmation()
	actions := map[string]bool{}
	for _, c := range r.Cures {
		actions[c.Action] = true
	}
	if r.Party != PartyVendor || r.Reason != ReasonContactReported || !r.Since.Equal(t0.Add(time.Minute)) ||
		!strings.Contains(r.Description, "reported") || actions["resend_confirmation"] || !actions["confirm_email_link"] ||
		!actions["change_contact_email"] || !actions["check_confirmation_mail"] {
		t.Fatalf("requirement under review %+v", r)
	}
	record(ContactReportEnded, t0) // older than the report: late
	if r := confirmation(); r.Reason != ReasonContactReported {
		t.Fatalf("a late, older state replaced the report: %+v", r)
	}
	record(ContactReportEnded, t0.Add(2*time.Minute))
	if r := confirmation(); r.Party != PartyPartner || r.Reason != "" {
		t.Fatalf("requirement after the report ended %+v", r)
	}
}

// TestAProfileChangeBackToARemovedAddress: a contact address an upheld
// report removed from the partner cannot become its contact again (its
// owner was told nothing more would come; e-mail ownership would open a
// challenge the notifier withholds, and the partner would wait for a mail
// that never comes) — even once the enrollment's latest report is of a
// later address, and whatever the case; another partner may use it.
func TestAProfileChangeBackToARemovedAddress(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.submit(t)
	id, admin := string(v.PartnerID), adminOf(v.PartnerID)
	enrollment := v.Enrollments[0].ID
	contact := func(email string) RequestProfileChangeCmd {
		return RequestProfileChangeCmd{PartnerID: id, Change: domain.ProfileChangeInput{
			Contact: &domain.ContactInput{FirstName: "太郎", LastName: "山田", Email: email, Phone: "090-1234-5678"}}}
	}
	report := func(address string, state ContactReportState, at time.Time) {
		t.Helper()
		if err := h.app.RecordContactReport(ctx, operator, ContactReport{PartnerID: v.PartnerID, EnrollmentID: enrollment,
			ChallengeID: "ch-" + address, Address: address, State: state, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(email string) {
		t.Helper()
		_, err := h.app.RequestProfileChange(ctx, admin, contact(email))
		ae := wantAppErr(t, err, apperr.KindInvalid, CodeInvalidInput)
		if len(ae.Fields) != 1 || ae.Fields[0].Field != "contact.email" || ae.Fields[0].Code != domain.CodeEmailRemoved {
			t.Fatalf("change to %s: fields %+v", email, ae.Fields)
		}
	}
	report("taro@test-shoji.co.jp", ContactRemoved, t0.Add(time.Minute))
	if _, err := h.app.RequestProfileChange(ctx, admin, contact("hanako@test-shoji.co.jp")); err != nil {
		t.Fatal(err)
	}
	refused("taro@test-shoji.co.jp")
	refused("Taro@Test-Shoji.co.jp")
	// The enrollment's latest report is now of the new address.
	report("hanako@test-shoji.co.jp", ContactReported, t0.Add(2*time.Minute))
	refused("taro@test-shoji.co.jp")
	if p, _ := h.app.GetProfile(ctx, admin, id); p.Verified.Contact.Email != "hanako@test-shoji.co.jp" {
		t.Fatalf("the refused change moved the contact to %s", p.Verified.Contact.Email)
	}
	// A report under review or dismissed removes nothing.
	if _, err := h.app.RequestProfileChange(ctx, admin, contact("jiro@test-shoji.co.jp")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.RequestProfileChange(ctx, admin, contact("hanako@test-shoji.co.jp")); err != nil {
		t.Fatalf("back to an address only reported: %v", err)
	}
	// Removals are the partner's own.
	other := h.submit2(t)
	if _, err := h.app.RequestProfileChange(ctx, adminOf(other.PartnerID), RequestProfileChangeCmd{PartnerID: string(other.PartnerID),
		Change: domain.ProfileChangeInput{Contact: &domain.ContactInput{FirstName: "太郎", LastName: "山田", Email: "taro@test-shoji.co.jp",
			Phone: "090-1234-5678"}}}); err != nil && strings.Contains(err.Error(), domain.CodeEmailRemoved) {
		t.Fatalf("another partner's removal counted: %v", err)
	}
}

// TestARemovedAddressRejectsTheProfileChange: a verifier upholding the
// report of a profile change's confirmation mail (its new contact address
// is not the partner's) rejects the change — its e-mail ownership check
// failed, the partner keeps its verified contact and is told
// (profile_change.rejected, check email_ownership). Before round 43 the
// change stayed pending for good. A removal of another address, or a
// repeat, changes nothing.
func TestARemovedAddressRejectsTheProfileChange(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	v := h.activePartner(t)
	id := string(v.PartnerID)
	res, err := h.changeContact(v.PartnerID, "次郎", "jiro@test-shoji.co.jp")
	if err != nil || res.Change.Status != domain.ChangePending {
		t.Fatalf("change %+v %v", res.Change, err)
	}
	h.repo.pullOutbox()
	remove := func(address string, at time.Time) {
		t.Helper()
		if err := h.app.RecordContactReport(ctx, operator, ContactReport{PartnerID: v.PartnerID, EnrollmentID: v.Enrollments[0].ID,
			ChallengeID: "ch-" + address, Address: address, State: ContactRemoved, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	remove("saburo@test-shoji.co.jp", t0.Add(time.Minute))
	if p, _ := h.app.GetProfile(ctx, operator, id); p.Change.Status != domain.ChangePending {
		t.Fatalf("another address's removal decided the change: %s", p.Change.Status)
	}
	remove("Jiro@test-shoji.co.jp", t0.Add(2*time.Minute))
	remove("jiro@test-shoji.co.jp", t0.Add(2*time.Minute)) // a repeat
	p, err := h.app.GetProfile(ctx, adminOf(v.PartnerID), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Change.Status != domain.ChangeRejected || p.Verified.Contact.Email != "taro@test-shoji.co.jp" || len(p.Change.Checks) != 1 ||
		p.Change.Checks[0].State != domain.CheckFailed || p.Change.RejectionReason != ReasonProfileEmailRemoved {
		t.Fatalf("after the removal: %+v, verified %s", p.Change, p.Verified.Contact.Email)
	}
	rejected := eventsOf[domain.ProfileChangeRejected](h.repo.pullOutbox())
	if len(rejected) != 1 || rejected[0].Check != domain.RecheckEmailOwnership || rejected[0].ChangeNumber != res.Change.Number ||
		rejected[0].RejectedBy != "email-ownership" {
		t.Fatalf("rejected events %+v", rejected)
	}
	// The partner asks again with another address.
	if _, err := h.changeContact(v.PartnerID, "花子", "hanako@test-shoji.co.jp"); err != nil {
		t.Fatal(err)
	}
}
