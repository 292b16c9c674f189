package e2e_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	regv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// sdkIntake publishes a registration as an intake event with the official
// SDK, as upstream-portal, and returns the event id.
func sdkIntake(t *testing.T, s *e2e.Stack, data any) string {
	t.Helper()
	nc, err := nats.Connect(s.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ev := cloudevents.NewEvent()
	ev.SetID("crm-" + testkit.RandomID(8))
	ev.SetSource("/upstream/crm")
	ev.SetType(intakev1.TypeRegistrationRequested)
	ev.SetExtension("authtype", "service_account")
	ev.SetExtension("authid", "upstream-portal")
	sdkSend(t, nc, ev, data)
	return ev.ID()
}

// sdkSend sends ev with data through the official CloudEvents SDK and its
// NATS JetStream binding, on the NATS subject of its type in the INTAKE
// stream, and fails the test unless JetStream acknowledged it.
func sdkSend(t *testing.T, nc *nats.Conn, ev cloudevents.Event, data any) {
	t.Helper()
	sender, err := cejs.NewSenderFromConn(nc, "INTAKE", ce.Topic(ev.Type()), nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if res := client.Send(ctx, ev); !cloudevents.IsACK(res) {
		t.Fatalf("sdk send: %v", res)
	}
}

// testDuplicateRegistration: a company registered once is refused when it is
// registered again — by HTTP (409 registration.duplicate_entity naming the
// identity keys that matched and a duplicate attempt to quote, never the
// existing partner) and by intake event (a rejected event with the same
// code); a retried request with the same Idempotency-Key is a replay, not a
// duplicate; the applicant can file one claim on the attempt, which reaches
// reviewers as an event about the existing partner.
func testDuplicateRegistration(t *testing.T, s *e2e.Stack) {
	regURL := s.URL("registration") + "/v1/registrations"
	up := s.Token(upstream)
	first := register(t, s, fuji, "indirect_reseller", "dup-first")
	partner := first.PartnerID
	logOnFailure(t, s, partner)

	// The same request again under the same key is the first answer replayed.
	var replay registered
	r := s.Call(t, "POST", regURL, up, fuji.Registration("indirect_reseller"), http.StatusCreated, &replay, "Idempotency-Key", "dup-first")
	if r.Header.Get("Idempotent-Replayed") != "true" || replay.PartnerID != partner {
		t.Fatalf("retry under the same key: replayed=%q partner %s, want %s", r.Header.Get("Idempotent-Replayed"), replay.PartnerID, partner)
	}

	// The same company written differently (width, spacing), another contact.
	again := fuji.Registration("indirect_reseller")
	again["company"].(map[string]any)["legal_name"] = "合同会社　ふじ データラボ"
	again["contact"].(map[string]any)["email"] = "hanako.suzuki@" + fuji.Domain
	dup := e2e.WantProblem(t, s.Do(t, "POST", regURL, up, again, "Idempotency-Key", "dup-second"), http.StatusConflict, "registration.duplicate_entity")
	attempt, _ := dup.Members["duplicate_attempt_id"].(string)
	if got := strings.Join(toStrings(dup.Members["matched_on"]), ","); got != "name+address,name+registration_number,registration_number" || attempt == "" {
		t.Fatalf("duplicate problem: matched_on %q, attempt %q: %+v", got, attempt, dup.Members)
	}
	// Another name and address under the same corporate number: still the same legal entity.
	renamed := fuji.Registration("indirect_reseller")
	renamed["company"].(map[string]any)["legal_name"] = "株式会社ふじデータ"
	renamed["company"].(map[string]any)["address"] = map[string]any{"line1": "紺屋町17-1", "city": "静岡市葵区", "region": "静岡県", "postal_code": "420-0852"}
	byNumber := e2e.WantProblem(t, s.Do(t, "POST", regURL, up, renamed, "Idempotency-Key", "dup-third"), http.StatusConflict, "registration.duplicate_entity")
	if got := toStrings(byNumber.Members["matched_on"]); !slices.Equal(got, []string{"registration_number"}) {
		t.Fatalf("matched_on %v, want [registration_number]", got)
	}
	for _, p := range []*e2e.Problem{dup, byNumber} {
		for k, v := range p.Members {
			if s, ok := v.(string); ok && strings.Contains(s, partner) {
				t.Fatalf("the refusal discloses the existing partner in %q: %v", k, p.Members)
			}
		}
	}

	// The same duplicate as an intake event: a rejected event with the same code.
	intakeID := sdkIntake(t, s, again)
	rejectedEv := s.Events.WaitFor(t, regv1.TypeApplicationRejected, intakeID)
	rej := decodeData[regv1.ApplicationRejected](t, rejectedEv)
	if rejectedEv.CausationID != intakeID || rejectedEv.Source != "/services/registration" || rej.IntakeEventID != intakeID ||
		rej.Status != http.StatusConflict || rej.Code != "registration.duplicate_entity" ||
		!slices.Equal(rej.MatchedOn, []string{"name+address", "name+registration_number", "registration_number"}) ||
		rej.DuplicateAttemptID == "" || rej.DuplicateAttemptID == attempt || strings.Contains(string(rejectedEv.Data), partner) {
		t.Fatalf("intake duplicate: %s\n%s", rejectedEv, rejectedEv.Data)
	}

	// Exactly one partner exists for the corporate number.
	atEnd(func(t *testing.T) {
		var submitted []string
		for _, e := range s.Events.Filter(func(e e2e.Event) bool { return e.Topic() == ce.Topic(regv1.TypeApplicationSubmitted) }) {
			if a := decodeData[regv1.ApplicationSubmitted](t, e); a.RegistrationNumber != nil && a.RegistrationNumber.Value == fuji.Number {
				submitted = append(submitted, a.PartnerID)
			}
		}
		if !slices.Equal(submitted, []string{partner}) {
			t.Errorf("submitted partners for %s: %v, want only %s", fuji.Number, submitted, partner)
		}
		if n := len(s.Events.Of(regv2.TypeDuplicateClaimFiled, partner)); n != 1 {
			t.Errorf("%d duplicate claim events, want 1", n)
		}
	})

	// The applicant claims to be that company, quoting the attempt; once.
	claimsURL := s.URL("registration") + "/v1/duplicate-claims"
	claim := map[string]any{"duplicate_attempt_id": attempt, "statement": "私たちが合同会社ふじデータラボです。前任の担当者が退職しました。"}
	other := s.Token(auth.Principal{Kind: auth.KindService, Subject: "other-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}})
	e2e.WantProblem(t, s.Do(t, "POST", claimsURL, other, claim), http.StatusNotFound, "registration.duplicate_attempt_not_found")
	var filed struct {
		ClaimID            string `json:"claim_id"`
		DuplicateAttemptID string `json:"duplicate_attempt_id"`
	}
	s.Call(t, "POST", claimsURL, up, claim, http.StatusCreated, &filed)
	if filed.DuplicateAttemptID != attempt || filed.ClaimID == "" {
		t.Fatalf("claim %+v", filed)
	}
	e2e.WantProblem(t, s.Do(t, "POST", claimsURL, up, claim), http.StatusConflict, "registration.duplicate_claim_exists")
	claimEv := s.Events.WaitFor(t, regv2.TypeDuplicateClaimFiled, partner)
	c := decodeData[regv2.DuplicateClaimFiled](t, claimEv)
	if c.ClaimID != filed.ClaimID || c.DuplicateAttemptID != attempt || c.ExistingPartnerID != partner || c.Market != "JP" ||
		c.FiledBy != "upstream-portal" || c.Contact == nil || c.Contact.Email != "hanako.suzuki@"+fuji.Domain || c.LegalName.Raw != "合同会社　ふじ データラボ" ||
		!slices.Equal(c.MatchedOn, []string{"name+address", "name+registration_number", "registration_number"}) {
		t.Fatalf("duplicate claim filed %+v", c)
	}
	// The existing partner is untouched.
	if p := getPartner(t, s, partner); p.Status != "pending" || p.LegalName != fuji.Name {
		t.Fatalf("existing partner %+v", p)
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
