package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// profileTask waits for verification's review task of a profile change's
// re-opened check.
func profileTask(t *testing.T, s *e2e.Stack, partnerID string, change int, check string) verificationv1.ReviewTaskCreated {
	t.Helper()
	var task verificationv1.ReviewTaskCreated
	s.Events.WaitMatch(t, fmt.Sprintf("review task of profile change %d (%s)", change, check), 20*time.Second, func(e e2e.Event) bool {
		if e.Topic() != ce.Topic(verificationv1.TypeReviewTaskCreated) || e.Subject != partnerID {
			return false
		}
		var tk verificationv1.ReviewTaskCreated
		if json.Unmarshal(e.Data, &tk) != nil || tk.ProfileChange != change || tk.Check != check {
			return false
		}
		task = tk
		return true
	}, partnerID)
	return task
}

// profile is GET /v1/partners/{id}/profile.
type profile struct {
	Verified struct {
		Company struct {
			LegalName string `json:"legal_name"`
			Address   struct {
				Line1      string `json:"line1"`
				PostalCode string `json:"postal_code"`
			} `json:"address"`
		} `json:"company"`
		Contact struct {
			FirstName string `json:"first_name"`
			Email     string `json:"email"`
		} `json:"contact"`
	} `json:"verified"`
	Change *struct {
		Number int    `json:"number"`
		Status string `json:"status"`
		Checks []struct {
			Check string `json:"check"`
			State string `json:"state"`
		} `json:"checks"`
		Changes []struct{ Field, From, To string } `json:"changes"`
	} `json:"change"`
}

func (p profile) checks() []string {
	var out []string
	if p.Change != nil {
		for _, c := range p.Change.Checks {
			out = append(out, c.Check+":"+c.State)
		}
	}
	return out
}

// TestProfileChangesAcrossServices runs the seven binaries and changes an
// active reseller's profile: a new contact address is mailed a challenge
// by email-ownership through the notifier and SMTP, and its confirmation
// makes it the verified contact (the notifier mails it from then on); an
// address change puts a company review task with the proposed facts in
// verification's queue, is rejected there once (the verified address and
// the case stay, the new contact is mailed why) and applied after a
// verifier approves the next one. The partner stays active throughout; every response
// matches its OpenAPI document and nothing is dead-lettered.
func TestProfileChangesAcrossServices(t *testing.T) {
	s := e2e.Start(t)
	docs, err := contract.FetchDocs(s.HTTPClient, s.URL("registration"), s.URL("email-ownership"), s.URL("verification"), s.URL("agreements"),
		s.URL("timeline"))
	if err != nil {
		t.Fatal(err)
	}
	tr := contract.NewValidatingTransport(s.HTTPClient.Transport, docs)
	s.HTTPClient = &http.Client{Transport: tr, Timeout: s.HTTPClient.Timeout}
	t.Cleanup(func() { tr.Verify(t) })

	c := minato
	reg := onboard(t, s, c, "indirect_reseller")
	pid := reg.PartnerID
	reg0 := s.URL("registration")
	admin := s.Token(partnerAdmin(pid, "admin-"+pid))
	checker := s.Token(verifier("verifier-profile"))
	getProfile := func() profile {
		t.Helper()
		var p profile
		s.Call(t, "GET", reg0+"/v1/partners/"+pid+"/profile", admin, nil, http.StatusOK, &p)
		return p
	}
	active := func(when string) {
		t.Helper()
		if p := getPartner(t, s, pid); p.Status != "active" || p.enrollment("indirect_reseller") != "active" {
			t.Fatalf("%s: the partner must keep transacting (%s, reseller %s)", when, p.Status, p.enrollment("indirect_reseller"))
		}
	}

	// 1. A new contact: only e-mail ownership re-opens (same domain).
	newEmail := "hanako.sato@" + c.Domain
	var p profile
	s.Call(t, "POST", reg0+"/v1/partners/"+pid+"/profile-changes", admin, map[string]any{
		"contact": map[string]any{"first_name": "花子", "last_name": "佐藤", "email": strings.ToUpper(newEmail), "phone": "090-4444-5555"},
	}, http.StatusCreated, &p)
	if got := p.checks(); !slices.Equal(got, []string{"email_ownership:pending"}) || p.Verified.Contact.Email != c.Email() {
		t.Fatalf("contact change: checks %v, verified %s", got, p.Verified.Contact.Email)
	}
	active("contact change pending")
	links := confirmLinks(t, s, newEmail, 1)
	s.ConfirmLink(t, links[0])
	e2e.Eventually(t, 20*time.Second, "the new contact is the verified one", func() error {
		p = getProfile()
		if p.Change.Status != "applied" || p.Verified.Contact.Email != newEmail || p.Verified.Contact.FirstName != "花子" {
			return fmt.Errorf("%s, verified contact %+v", p.Change.Status, p.Verified.Contact)
		}
		return nil
	})
	opened := s.Events.Of(emailv1.TypeChallengeOpened, pid)
	if o := decodeData[emailv1.ChallengeOpened](t, opened[len(opened)-1]); o.Reason != emailv1.ReasonProfileChange {
		t.Fatalf("challenge for the new address opened for %q", o.Reason)
	}
	active("contact change applied")
	// The new contact is mailed what changed; the old address, only that
	// the contact moved away from it (before: neither heard of it).
	changed := waitMail(t, s, newEmail, "登録情報が変更されました")
	wantMail(t, changed, newEmail, fmt.Sprintf("変更番号 %d", p.Change.Number), "ご担当者のメール アドレス："+c.Email()+" → "+newEmail,
		"contact e-mail address: "+c.Email()+" → "+newEmail, "「メールの所有権」", pid)
	moved := waitMail(t, s, c.Email(), "連絡先メール アドレスが変更されました")
	wantMail(t, moved, c.Email(), pid, "no longer to this one")
	if strings.Contains(moved.Text, newEmail) || strings.Contains(moved.HTML, newEmail) {
		t.Fatalf("the old address is told the new one:\n%s", moved.Text)
	}

	// 2. A new address: the company check re-opens; a verifier rejects it
	// and the verified address stays.
	move := map[string]any{"address": map[string]any{"line1": "芝浦３－４－１", "line2": "ミナトタワー 12F", "city": "港区", "region": "東京", "postal_code": "〒108-0023"}}
	s.Call(t, "POST", reg0+"/v1/partners/"+pid+"/profile-changes", admin, move, http.StatusCreated, &p)
	if got := p.checks(); !slices.Equal(got, []string{"company:pending"}) {
		t.Fatalf("address change: checks %v", got)
	}
	// A review task in verification's queue, with the proposed facts and
	// the register pre-check of them.
	task := profileTask(t, s, pid, p.Change.Number, "company")
	if task.Submitted.Address.Line1 != "芝浦３－４－１" || task.Normalized.Street == "" || task.PreCheck == nil {
		t.Fatalf("profile review task %+v", task)
	}
	decide(t, s, verifier("verifier-profile"), task.TaskID, map[string]any{"decision_id": "reject-" + task.TaskID, "outcome": "reject",
		"reason_code": "address_mismatch", "mode": "FINAL", "applicant_message": "the register shows another building"})
	e2e.Eventually(t, 20*time.Second, "the change rejected", func() error {
		if p = getProfile(); p.Change.Status != "rejected" {
			return fmt.Errorf("change %s", p.Change.Status)
		}
		return nil
	})
	if p.Verified.Company.Address.Line1 != c.Line1 {
		t.Fatalf("rejected change: verified %+v", p.Verified.Company.Address)
	}
	active("address change rejected")
	var vcase struct {
		Status string `json:"status"`
	}
	s.Call(t, "GET", s.URL("verification")+"/v1/verification/partners/"+pid+"/case", checker, nil, http.StatusOK, &vcase)
	if vcase.Status != "approved" {
		t.Fatalf("the profile review moved the case: %s", vcase.Status)
	}
	// The partner is told why, at its new (verified) contact address.
	m, ok := findMail(s, newEmail, "登録情報の変更を承認できませんでした", 20*time.Second)
	if !ok {
		// What the notifier made of it, and whether it went to the old
		// address: a failure here says which of the two broke.
		var list struct {
			Mails []struct {
				Template    string `json:"template"`
				Status      string `json:"status"`
				Recipient   string `json:"recipient"`
				TriggerType string `json:"trigger_type"`
			} `json:"mails"`
		}
		op := s.Token(auth.Principal{Subject: "ops-diag", Roles: []auth.Role{auth.RoleOperator}})
		s.Call(t, "GET", s.URL("notifier")+"/v1/mails?partner_id="+pid, op, nil, http.StatusOK, &list)
		old, _ := s.Mails(c.Email())
		var oldSubjects []string
		for _, o := range old {
			oldSubjects = append(oldSubjects, o.Subject)
		}
		t.Fatalf("no rejection mail at the new contact within 20s; the notifier's mails of the partner: %+v; at the old address: %q", list.Mails, oldSubjects)
	}
	wantMail(t, m, newEmail, "the register shows another building", fmt.Sprintf("変更番号 %d", p.Change.Number))
	if old, _ := s.Mails(c.Email()); slices.ContainsFunc(old, func(m e2e.Mail) bool { return strings.Contains(m.Subject, "登録情報の変更") }) {
		t.Fatal("the rejection went to the old contact")
	}

	// 3. Asked again and approved: the verified profile moves.
	s.Call(t, "POST", reg0+"/v1/partners/"+pid+"/profile-changes", admin, move, http.StatusCreated, &p)
	task = profileTask(t, s, pid, p.Change.Number, "company")
	decide(t, s, verifier("verifier-profile"), task.TaskID, map[string]any{"decision_id": "approve-" + task.TaskID, "outcome": "approve"})
	e2e.Eventually(t, 20*time.Second, "the change applied", func() error {
		if p = getProfile(); p.Change.Status != "applied" {
			return fmt.Errorf("change %s", p.Change.Status)
		}
		return nil
	})
	if p.Verified.Company.Address.Line1 != c.Line1 || p.Verified.Company.Address.PostalCode != "108-0023" {
		t.Fatalf("approved change: verified %+v", p.Verified.Company.Address)
	}
	var registration struct {
		Normalized struct {
			Company struct {
				Address struct {
					Line2 string `json:"line2"`
				} `json:"address"`
			} `json:"company"`
		} `json:"normalized"`
	}
	s.Call(t, "GET", reg0+"/v1/registrations/"+pid, admin, nil, http.StatusOK, &registration)
	if registration.Normalized.Company.Address.Line2 != "ミナトタワー 12F" {
		t.Fatalf("registration view line2 %q", registration.Normalized.Company.Address.Line2)
	}
	active("address change applied")

	// 4. Back to the first contact address: proven before, it proves itself again.
	before := confirmLinks(t, s, c.Email(), 2)
	s.Call(t, "POST", reg0+"/v1/partners/"+pid+"/profile-changes", admin, map[string]any{
		"contact": map[string]any{"first_name": "太郎", "last_name": "山田", "email": c.Email(), "phone": "090-2222-3333"},
	}, http.StatusCreated, &p)
	if got := p.checks(); !slices.Equal(got, []string{"email_ownership:pending"}) {
		t.Fatalf("change back: checks %v", got)
	}
	for _, l := range confirmLinks(t, s, c.Email(), 3) {
		if !slices.Contains(before, l) {
			s.ConfirmLink(t, l)
		}
	}
	e2e.Eventually(t, 20*time.Second, "the first contact verified again", func() error {
		if p = getProfile(); p.Change.Status != "applied" || p.Verified.Contact.Email != c.Email() {
			return fmt.Errorf("%s, verified contact %+v", p.Change.Status, p.Verified.Contact)
		}
		return nil
	})

	// 5. A new contact address whose confirmation mail its owner reports
	// ("this wasn't me"): a verifier upholds the report and the change is
	// rejected, the verified contact told why (since round 43; before, the
	// change stayed pending for good and nobody heard of it).
	stranger := "jiro.kato@" + c.Domain
	var q profile
	s.Call(t, "POST", reg0+"/v1/partners/"+pid+"/profile-changes", admin, map[string]any{
		"contact": map[string]any{"first_name": "次郎", "last_name": "加藤", "email": stranger, "phone": "090-2222-3333"},
	}, http.StatusCreated, &q)
	confirmLinks(t, s, stranger, 1)
	reported, _ := s.Mails(stranger)
	report := disputeLinkRe.FindString(reported[0].Text)
	if report == "" {
		t.Fatalf("no report link in %s", reported[0].Text)
	}
	s.ConfirmLink(t, report) // the same page-and-button as a confirmation
	r := waitReview(t, s, "email_dispute", func(r review) bool { return r.Dispute != nil && r.Dispute.Address == stranger })
	// The verifier sees what is at stake: the report is of this change's
	// mail (since round 43), and the membership confirmed the verified
	// contact long before.
	if r.Dispute.ProfileChange != q.Change.Number || r.Dispute.Existing == nil || !slices.ContainsFunc(r.Dispute.Existing.Enrollments,
		func(e reviewedEnrollment) bool { return e.Program == "partner_network" && e.EmailConfirmedAt != "" }) {
		t.Fatalf("the review of the change's mail: %+v", r.Dispute)
	}
	decideReview(t, s, "dispute-verifier", r.ID, map[string]any{"decision_id": "up-" + r.ID, "outcome": "upheld"})
	e2e.Eventually(t, 20*time.Second, "the change with the removed address rejected", func() error {
		if q = getProfile(); q.Change.Number != p.Change.Number+1 || q.Change.Status != "rejected" || q.Verified.Contact.Email != c.Email() {
			return fmt.Errorf("change %d %s, verified %s", q.Change.Number, q.Change.Status, q.Verified.Contact.Email)
		}
		return nil
	})
	if got := q.checks(); !slices.Equal(got, []string{"email_ownership:failed"}) {
		t.Fatalf("checks of the rejected change %v", got)
	}
	active("contact change rejected")
	// E-mail ownership's status of the membership: the change's challenge
	// removed, the enrollment confirmed on the verified contact all along.
	membership := 0
	for _, en := range reg.Enrollments {
		if en.Program != "partner_network" {
			continue
		}
		membership++
		var st struct {
			State         string `json:"state"`
			ProfileChange int    `json:"profile_change"`
			Standing      *struct {
				Address string `json:"address"`
			} `json:"standing_confirmation"`
		}
		s.Call(t, "GET", s.URL("email-ownership")+"/v1/enrollments/"+en.ID+"/ownership", admin, nil, http.StatusOK, &st)
		if st.State != "removed" || st.ProfileChange != q.Change.Number || st.Standing == nil || st.Standing.Address != c.Email() {
			t.Fatalf("the membership's e-mail ownership after the rejection: %+v", st)
		}
	}
	if membership != 1 {
		t.Fatalf("%d membership enrollments in %+v", membership, reg.Enrollments)
	}
	rejection := waitMail(t, s, c.Email(), "登録情報の変更を承認できませんでした")
	wantMail(t, rejection, c.Email(), fmt.Sprintf("変更番号 %d", q.Change.Number), "心当たりがない", "this wasn't me",
		"another contact e-mail address")

	// The market never changes.
	e2e.WantProblem(t, s.Do(t, "POST", reg0+"/v1/partners/"+pid+"/profile-changes", admin, map[string]any{"market": "US"}),
		http.StatusConflict, "registration.market_immutable")
	// Registration's route is the operators' override: not for verifiers, and not for a decided change.
	decisions := fmt.Sprintf("%s/v1/partners/%s/profile-changes/%d/decisions", reg0, pid, p.Change.Number)
	e2e.WantProblem(t, s.Do(t, "POST", decisions, checker, map[string]any{"check": "company", "outcome": "passed"}),
		http.StatusForbidden, "auth.role_required")
	ops := s.Token(auth.Principal{Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}})
	e2e.WantProblem(t, s.Do(t, "POST", decisions, ops, map[string]any{"check": "company", "outcome": "passed"}),
		http.StatusConflict, "registration.profile_change_decided")

	e2e.Eventually(t, 10*time.Second, "profile change events", func() error {
		n := func(typ string) int { return len(s.Events.Of(typ, pid)) }
		if n(regv1.TypeProfileChangeRequested) != 5 || n(regv1.TypeProfileChangeApplied) != 3 || n(regv1.TypeProfileChangeRejected) != 2 {
			return fmt.Errorf("requested %d, applied %d, rejected %d", n(regv1.TypeProfileChangeRequested),
				n(regv1.TypeProfileChangeApplied), n(regv1.TypeProfileChangeRejected))
		}
		return nil
	})
	// The partner's own administrator follows every step on its timeline.
	e2e.Eventually(t, 10*time.Second, "the profile change steps on the partner's timeline", func() error {
		var tl struct {
			Events []struct {
				Type string `json:"type"`
			} `json:"events"`
		}
		s.Call(t, "GET", s.URL("timeline")+"/v1/partners/"+pid+"/timeline?limit=500&type=registration.profile_change", admin, nil, http.StatusOK, &tl)
		var got []string
		for _, e := range tl.Events {
			got = append(got, strings.TrimSuffix(strings.TrimPrefix(e.Type, "com.partnerhub.registration.profile_change."), ".v1"))
		}
		if want := []string{"requested", "applied", "requested", "rejected", "requested", "applied", "requested", "applied", "requested", "rejected"}; !slices.Equal(got, want) {
			return fmt.Errorf("timeline %v, want %v", got, want)
		}
		return nil
	})
	s.Events.Settle(300*time.Millisecond, 5*time.Second)
	s.AssertNoDeadLetters(t)
	s.Stop(t)
}
