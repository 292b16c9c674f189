package e2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// confirmation is one of registration's e-mail confirmations of an enrollment.
type confirmation struct {
	EnrollmentID string `json:"enrollment_id"`
	Address      string `json:"address"`
}

var (
	kagoshima = company{"株式会社かごしまネットサービス", "9460001001414", "鹿児島県", "鹿児島市", "山下町11-1", "892-0816", "kagoshima-net.co.jp"}
	okinawa   = company{"株式会社おきなわクラウドリンク", "9360001001515", "沖縄県", "那覇市", "泉崎1-2-2", "900-0021", "okinawa-cloudlink.co.jp"}
)

// testConfirmWhileCorrecting: the contact follows both confirmation mails'
// links at the moment the upstream system corrects the pending
// registration's contact (another person on the same domain). Whichever
// comes first in each service — the confirmations or the correction —, the
// new contact is asked to confirm its address, and once it follows its
// links every service holds the new contact as the proven one: the case's
// e-mail check passed, e-mail ownership's membership confirmed on the new
// address, registration's membership confirmation on it too; nothing is
// dead-lettered. Before round 49 the correction, applied at once while
// registration had not heard of the confirmations yet, left the membership
// confirmed on the previous address: the new contact was never asked, and
// when the correction reached verification before the previous address's
// confirmation, that confirmation was dead-lettered
// (verification.email_mismatch) and the case waited for good (found by
// racing the two from outside on the real binaries: stuck in three of eight
// tries).
func testConfirmWhileCorrecting(t *testing.T, s *e2e.Stack) {
	c := kagoshima
	reg := register(t, s, c, "indirect_reseller", "correction-"+c.Number)
	pid := reg.PartnerID
	links := confirmLinks(t, s, c.Email(), 2)
	hanako := "hanako.sato@" + c.Domain
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, l := range links {
			// 200, or 410 once the correction moved the enrollment
			if r, _ := s.TryConfirmLink(t, l); r.Status != http.StatusOK && r.Status != http.StatusGone {
				t.Errorf("the first contact's link: %s", r)
			}
		}
	}()
	s.Call(t, "POST", s.URL("registration")+"/v1/partners/"+pid+"/profile-changes", s.Token(upstream), map[string]any{
		"contact": map[string]any{"first_name": "花子", "last_name": "佐藤", "email": hanako, "phone": "090-2222-3333"}}, http.StatusCreated, nil)
	wg.Wait()

	provenEverywhere(t, s, reg, hanako)
}

// testCorrectRightAfterRegistering: the upstream system corrects the
// pending registration's contact (another person, same domain) right after
// registering it, and at once once more (since round 51: a correction that
// waited in a service is handled after the next one, and must not undo it).
// The corrections are applied at once, and a service that hears of them
// may hear a correction before the registration: it waits for the
// registration. The last contact is asked to confirm for every enrollment,
// and once it follows its links every service holds it as the proven
// contact. Which event each service hears first is up to the bus (here,
// almost always the registration): this path checks the outcome end to
// end, and each service's tests force the other orders. Before
// round 50 a correction handled first was dead-lettered by verification
// (verification.case_not_found: the case then waited for good on the
// previous address), moved no enrollment in e-mail ownership (the new
// contact was never asked) and was overwritten in the notifier; and a dozen
// such corrections at once hung registration for 20 s (503).
func testCorrectRightAfterRegistering(t *testing.T, s *e2e.Stack) {
	c := okinawa
	reg := register(t, s, c, "indirect_reseller", "right-after-"+c.Number)
	hanako, jiro := "hanako.sato@"+c.Domain, "jiro.sato@"+c.Domain
	s.Call(t, "POST", s.URL("registration")+"/v1/partners/"+reg.PartnerID+"/profile-changes", s.Token(upstream), map[string]any{
		"contact": map[string]any{"first_name": "花子", "last_name": "佐藤", "email": hanako, "phone": "090-2222-3333"}}, http.StatusCreated, nil)
	// and at once again: the person changed too (a second correction
	// handled before the first one in a service must not be undone by it)
	s.Call(t, "POST", s.URL("registration")+"/v1/partners/"+reg.PartnerID+"/profile-changes", s.Token(upstream), map[string]any{
		"contact": map[string]any{"first_name": "次郎", "last_name": "佐藤", "email": jiro, "phone": "090-2222-4444"}}, http.StatusCreated, nil)
	provenEverywhere(t, s, reg, jiro)
	for _, e := range reg.Enrollments {
		var own struct{ State, Address string }
		s.Call(t, "GET", s.URL("email-ownership")+"/v1/enrollments/"+e.ID+"/ownership", s.Token(observer), nil, http.StatusOK, &own)
		if own.State != "confirmed" || own.Address != jiro {
			t.Errorf("e-mail ownership's %s enrollment %+v", e.Program, own)
		}
	}
	for _, d := range s.Events.DeadLetters() {
		if d.Subject == reg.PartnerID {
			t.Errorf("dead letter %s", d)
		}
	}
}

// provenEverywhere follows every confirmation link mailed to address
// until the partner's new contact address is the proven one in every
// service: the case's e-mail check passed, e-mail ownership's membership
// confirmed on it, registration's membership confirmation on it.
func provenEverywhere(t *testing.T, s *e2e.Stack, reg registered, address string) {
	t.Helper()
	pid := reg.PartnerID
	var net string
	for _, e := range reg.Enrollments {
		if e.Program == "partner_network" {
			net = e.ID
		}
	}
	var followed []string
	e2e.Eventually(t, 30*time.Second, "the new contact proven everywhere", func() error {
		ms, err := s.Mails(address)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if l := m.ConfirmLink(); l != "" && !slices.Contains(followed, l) {
				s.ConfirmLink(t, l)
				followed = append(followed, l)
			}
		}
		var cs caseView
		got := s.Do(t, "GET", s.URL("verification")+"/v1/verification/partners/"+pid+"/case", s.Token(observer), nil)
		if got.Status == http.StatusNotFound { // the registration has not opened the case yet
			return fmt.Errorf("no case yet: %s", got)
		}
		if got.Status != http.StatusOK {
			t.Fatalf("the case: %s", got)
		}
		got.JSON(t, &cs)
		if st, _, _, _, _ := cs.check("email_ownership"); st != "passed" {
			return fmt.Errorf("the case's e-mail check %q (%d links followed)", st, len(followed))
		}
		var own struct{ State, Address string }
		got = s.Do(t, "GET", s.URL("email-ownership")+"/v1/enrollments/"+net+"/ownership", s.Token(observer), nil)
		if got.Status == http.StatusOK {
			got.JSON(t, &own)
		} else if got.Status != http.StatusNotFound { // 404: no challenge opened yet
			t.Fatalf("e-mail ownership's membership: %s", got)
		}
		if own.State != "confirmed" || own.Address != address {
			return fmt.Errorf("e-mail ownership's membership %+v (%d)", own, got.Status)
		}
		var r struct {
			Normalized struct {
				Contact struct{ Email string } `json:"contact"`
			} `json:"normalized"`
			EmailOwnership []confirmation `json:"email_ownership"`
		}
		s.Call(t, "GET", s.URL("registration")+"/v1/registrations/"+pid, s.Token(observer), nil, http.StatusOK, &r)
		i := slices.IndexFunc(r.EmailOwnership, func(e confirmation) bool { return e.EnrollmentID == net })
		if r.Normalized.Contact.Email != address || i < 0 || r.EmailOwnership[i].Address != address {
			return fmt.Errorf("registration: contact %s, confirmations %+v", r.Normalized.Contact.Email, r.EmailOwnership)
		}
		return nil
	})
}
