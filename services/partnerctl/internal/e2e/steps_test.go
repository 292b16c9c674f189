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
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// company is an entry of verification's embedded register
// (services/verification/internal/adapters/registry/records.json); each
// test path uses its own, and the demo uses the first two.
type company struct {
	Name, Number, Region, City, Line1, Postal, Domain string
}

var (
	minato = company{"株式会社ミナトシステムズ", "9012001345678", "東京都", "港区", "芝浦3-4-1", "108-0023", "minato-systems.co.jp"}
	hikari = company{"株式会社ひかりネットワークス", "2030001456789", "埼玉県", "さいたま市大宮区", "桜木町1-7-5", "330-0854", "hikari-networks.co.jp"}
	fuji   = company{"合同会社ふじデータラボ", "9060001567890", "静岡県", "静岡市葵区", "追手町9-6", "420-0853", "fuji-datalab.co.jp"}
	naniwa = company{"株式会社なにわソリューションズ", "4120001678901", "大阪府", "大阪市北区", "梅田3-1-3", "530-0001", "naniwa-solutions.co.jp"}
	meijo  = company{"株式会社名城インフォテック", "8180001789012", "愛知県", "名古屋市中区", "三の丸3-1-2", "460-0001", "meijo-infotech.co.jp"}
)

// Email is the contact address: on the company's own domain, so the
// employment check passes by domain match and only the company review needs
// a verifier.
func (c company) Email() string { return "taro.yamada@" + c.Domain }

// Registration is the POST /v1/registrations body (and intake event data)
// for partner_network plus program.
func (c company) Registration(program string) map[string]any {
	programs := []map[string]any{{"program": "partner_network"}, {"program": program}}
	if program == "indirect_reseller" {
		programs[1]["support"] = map[string]any{"website": "https://www." + c.Domain + "/support", "email": "support@" + c.Domain}
	}
	return map[string]any{"market": "JP", "language": "ja",
		"company": map[string]any{"legal_name": c.Name, "phone": "03-1234-5678", "website": "https://www." + c.Domain,
			"address":             map[string]any{"line1": c.Line1, "city": c.City, "region": c.Region, "postal_code": c.Postal},
			"registration_number": map[string]any{"scheme": "jp_corporate_number", "value": c.Number}},
		"contact":  map[string]any{"first_name": "太郎", "last_name": "山田", "email": c.Email(), "phone": "090-2222-3333"},
		"programs": programs,
		"affirmations": map[string]any{"authority_to_represent": true, "consent_to_verification": true,
			"accept_network_terms": true, "can_provide_support": true}}
}

var (
	upstream = auth.Principal{Kind: auth.KindService, Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}
	// observer reads what the steps wait for, whichever upstream system
	// registered the partner (one reads only its own partners).
	observer = auth.Principal{Subject: "ops-observer", Roles: []auth.Role{auth.RoleOperator}}
)

func verifier(name string) auth.Principal {
	return auth.Principal{Kind: auth.KindService, Subject: name, Roles: []auth.Role{auth.RoleVerifier}}
}

func partnerAdmin(partnerID, sub string) auth.Principal {
	return auth.Principal{Subject: sub, Name: "山田 太郎", PartnerID: partnerID, Roles: []auth.Role{auth.RolePartnerAdmin}}
}

// registered is what POST /v1/registrations answered.
type registered struct {
	PartnerID   string `json:"partner_id"`
	LocationID  string `json:"location_id"`
	Status      string `json:"status"`
	Enrollments []struct {
		ID      string `json:"id"`
		Program string `json:"program"`
		Status  string `json:"status"`
	} `json:"enrollments"`
}

// partnerView is GET /v1/partners/{id}.
type partnerView struct {
	PartnerID   string `json:"partner_id"`
	Status      string `json:"status"`
	LegalName   string `json:"legal_name"`
	Locations   []struct{ ID, Status string }
	Enrollments []struct{ ID, Program, Status string }
}

func (p partnerView) enrollment(program string) string {
	for _, e := range p.Enrollments {
		if e.Program == program {
			return e.Status
		}
	}
	return ""
}

func register(t *testing.T, s *e2e.Stack, c company, program, idempotencyKey string) registered {
	t.Helper()
	var reg registered
	s.Call(t, "POST", s.URL("registration")+"/v1/registrations", s.Token(upstream), c.Registration(program), http.StatusCreated, &reg,
		"Idempotency-Key", idempotencyKey)
	if reg.Status != "pending" || len(reg.Enrollments) != 2 {
		t.Fatalf("registered %+v", reg)
	}
	return reg
}

func getPartner(t *testing.T, s *e2e.Stack, partnerID string) partnerView {
	t.Helper()
	var p partnerView
	s.Call(t, "GET", s.URL("registration")+"/v1/partners/"+partnerID, s.Token(observer), nil, http.StatusOK, &p)
	return p
}

// confirmLinks waits (up to 20 s) for n confirmation mails to address and
// returns their links. Other mails (documents requested for the employment
// check, which verification asks for as the case opens) are passed over.
func confirmLinks(t *testing.T, s *e2e.Stack, address string, n int) []string {
	t.Helper()
	var links []string
	e2e.Eventually(t, 20*time.Second, fmt.Sprintf("%d confirmation mails to %s", n, address), func() error {
		ms, err := s.Mails(address)
		if err != nil {
			return err
		}
		links = links[:0]
		for _, m := range ms {
			if l := m.ConfirmLink(); l != "" {
				links = append(links, l)
			}
		}
		if len(links) < n {
			return fmt.Errorf("%d confirmation mails of %d mails so far", len(links), len(ms))
		}
		return nil
	})
	return links
}

// confirmEmail opens the link of each confirmation mail to c's contact (one
// per enrollment), presses the page's button and waits until e-mail
// ownership confirmed every enrollment.
func confirmEmail(t *testing.T, s *e2e.Stack, c company, partnerID string, enrollments int) {
	t.Helper()
	for _, link := range confirmLinks(t, s, c.Email(), enrollments) {
		s.ConfirmLink(t, link)
	}
	e2e.Eventually(t, 20*time.Second, "ownership confirmed for every enrollment", func() error {
		if n := len(s.Events.Of(emailv1.TypeOwnershipConfirmed, partnerID)); n != enrollments {
			return fmt.Errorf("%d of %d confirmed", n, enrollments)
		}
		return nil
	})
	// Registration took every confirmation in (each enrollment's own gates
	// it), and verification passed its check: later steps (and the event
	// order they assert) follow both.
	e2e.Eventually(t, 20*time.Second, "registration saw every confirmation", func() error {
		var reg struct {
			EmailOwnership []struct{ EnrollmentID string } `json:"email_ownership"`
		}
		s.Call(t, "GET", s.URL("registration")+"/v1/registrations/"+partnerID, s.Token(observer), nil, http.StatusOK, &reg)
		if len(reg.EmailOwnership) != enrollments {
			return fmt.Errorf("%d of %d", len(reg.EmailOwnership), enrollments)
		}
		return nil
	})
	s.Events.WaitMatch(t, "e-mail ownership check passed", 20*time.Second, func(e e2e.Event) bool {
		if e.Topic() != ce.Topic(verificationv1.TypeCheckStateChanged) || e.Subject != partnerID {
			return false
		}
		var ch verificationv1.CheckStateChanged
		return json.Unmarshal(e.Data, &ch) == nil && ch.Check == "email_ownership" && ch.To == "passed"
	}, partnerID)
}

// checkChanges renders verification's check state changes about the
// partner as check:from→to(mode), in order.
func checkChanges(t *testing.T, s *e2e.Stack, partnerID string) []string {
	t.Helper()
	var out []string
	for _, e := range s.Events.Of(verificationv1.TypeCheckStateChanged, partnerID) {
		ch := decodeData[verificationv1.CheckStateChanged](t, e)
		c := ch.Check + ":" + ch.From + "→" + ch.To
		if ch.Mode != "" {
			c += "(" + ch.Mode + ")"
		}
		out = append(out, c)
	}
	return out
}

// wantTopics fails the test unless producer stream publishes exactly want
// (topics without the .v1 suffix) about subject, in this order, within 10 s
// (a relay publishes after its transaction commits, so the APIs may show a
// change before its events are on the bus).
func wantTopics(t *testing.T, s *e2e.Stack, stream, subject string, want ...string) {
	t.Helper()
	e2e.Eventually(t, 10*time.Second, stream+" events about "+subject, func() error {
		got := s.Events.Topics(stream, subject)
		for i := range got {
			got[i] = strings.TrimSuffix(got[i], ".v1")
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("\n got  %v\n want %v", got, want)
		}
		return nil
	})
}

// enrollmentChanges renders registration's enrollment status changes about
// the partner as program:from→to, in order.
func enrollmentChanges(t *testing.T, s *e2e.Stack, partnerID string) []string {
	t.Helper()
	var out []string
	for _, e := range s.Events.Of(regv1.TypeEnrollmentStatusChanged, partnerID) {
		ch := decodeData[regv1.EnrollmentStatusChanged](t, e)
		out = append(out, ch.Program+":"+ch.From+"→"+ch.To)
	}
	return out
}

// reviewTask waits for the round-th company review task of the partner.
func reviewTask(t *testing.T, s *e2e.Stack, partnerID string, round int) verificationv1.ReviewTaskCreated {
	t.Helper()
	var task verificationv1.ReviewTaskCreated
	s.Events.WaitMatch(t, fmt.Sprintf("company review task round %d", round), 20*time.Second, func(e e2e.Event) bool {
		if e.Topic() != "verification.task.created.v1" || e.Subject != partnerID {
			return false
		}
		var tk verificationv1.ReviewTaskCreated
		if json.Unmarshal(e.Data, &tk) != nil || tk.Check != "company" || tk.Round != round {
			return false
		}
		task = tk
		return true
	}, partnerID)
	return task
}

// decide claims the task as verifier v and records the decision body; it
// returns the answer.
func decide(t *testing.T, s *e2e.Stack, v auth.Principal, taskID string, decision map[string]any) map[string]any {
	t.Helper()
	tok := s.Token(v)
	s.Call(t, "POST", s.URL("verification")+"/v1/verification/tasks/"+taskID+"/claim", tok, nil, http.StatusOK, nil)
	var out map[string]any
	s.Call(t, "POST", s.URL("verification")+"/v1/verification/tasks/"+taskID+"/decisions", tok, decision, http.StatusCreated, &out)
	return out
}

// acceptAgreement has the partner's administrator accept the newest program
// agreement for JP and waits until the enrollment is active.
func acceptAgreement(t *testing.T, s *e2e.Stack, partnerID, program string) {
	t.Helper()
	adm := s.Token(partnerAdmin(partnerID, "admin-"+partnerID))
	var versions struct {
		Versions []struct {
			ID string `json:"id"`
		} `json:"versions"`
	}
	s.Call(t, "GET", s.URL("agreements")+"/v1/agreements/versions?program="+program+"&market=JP", adm, nil, http.StatusOK, &versions)
	if len(versions.Versions) == 0 {
		t.Fatalf("no %s agreement version for JP", program)
	}
	// 201, or 202 when agreements has not heard the approval yet: it records
	// the acceptance when it does, and registration's "active" follows.
	r := s.Do(t, "POST", s.URL("agreements")+"/v1/partners/"+partnerID+"/agreements/acceptances", adm,
		map[string]any{"version_id": versions.Versions[0].ID, "market": "JP"})
	if r.Status != http.StatusCreated && r.Status != http.StatusAccepted {
		t.Fatalf("accept: %s", r)
	}
	e2e.Eventually(t, 20*time.Second, program+" enrollment active", func() error {
		if st := getPartner(t, s, partnerID).enrollment(program); st != "active" {
			return fmt.Errorf("%s enrollment %q", program, st)
		}
		return nil
	})
}

// onboard takes c from registration to an active program enrollment: mail
// links, company review approved, agreement accepted.
func onboard(t *testing.T, s *e2e.Stack, c company, program string) registered {
	t.Helper()
	reg := register(t, s, c, program, "onboard-"+c.Number)
	confirmEmail(t, s, c, reg.PartnerID, len(reg.Enrollments))
	task := reviewTask(t, s, reg.PartnerID, 1)
	decide(t, s, verifier("verifier-"+c.Number), task.TaskID, map[string]any{"decision_id": "approve-" + task.TaskID, "outcome": "approve"})
	s.Events.WaitFor(t, regv1.TypePartnerActivated, reg.PartnerID)
	acceptAgreement(t, s, reg.PartnerID, program)
	return reg
}

func decodeData[T any](t *testing.T, e e2e.Event) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		t.Fatalf("%s data: %v\n%s", e.Topic(), err, e.Data)
	}
	return v
}
