package e2e_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/partnerhub/onboarding/pkg/auth"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

var kyoto = company{"株式会社京都クラウドワークス", "6130001890123", "京都府", "京都市下京区", "東塩小路町721-1", "600-8216", "kyoto-cloudworks.co.jp"}

// expectedDeadLetters are the CloudEvent ids a path dead-letters on
// purpose, with the code each must carry; any other dead letter fails.
var expectedDeadLetters sync.Map

// sdkDecision publishes a verifier decision event with the official SDK as
// principal authid and returns its id.
func sdkDecision(t *testing.T, s *e2e.Stack, authid, partnerID string, d intakev1.VerificationDecisionSubmitted) string {
	t.Helper()
	nc, err := nats.Connect(s.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ev := cloudevents.NewEvent()
	ev.SetID("decision-" + testkit.RandomID(8))
	ev.SetSource("/verifiers/" + authid)
	ev.SetType(intakev1.TypeVerificationDecisionSubmitted)
	ev.SetSubject(partnerID)
	ev.SetExtension("authtype", "service_account")
	ev.SetExtension("authid", authid)
	sdkSend(t, nc, ev, d)
	return ev.ID()
}

// testDecisionEventsOverTheBus: verifier decisions arrive as intake events
// too. One published by an upstream system (a known principal without the
// verifier role) is answered with decision.refused (auth.role_required)
// and changes nothing; so is the verifier's own decision before its claim
// (verification.task_not_claimed), which names the partner and shows on
// its timeline; the verifier's decision event after its claim approves the
// case. Neither refusal is a dead letter: a verifier reads the refusals.
func testDecisionEventsOverTheBus(t *testing.T, s *e2e.Stack) {
	reg := register(t, s, kyoto, "indirect_reseller", "bus-"+kyoto.Number)
	partner := reg.PartnerID
	logOnFailure(t, s, partner)
	confirmEmail(t, s, kyoto, partner, len(reg.Enrollments))
	task := reviewTask(t, s, partner, 1)
	if task.Decide.EventType != intakev1.TypeVerificationDecisionSubmitted {
		t.Fatalf("the task names decision event type %q", task.Decide.EventType)
	}

	refusal := func(intakeID string) verificationv1.DecisionRefused {
		t.Helper()
		ev := s.Events.WaitMatch(t, "the refusal of "+intakeID, 20*time.Second, func(e e2e.Event) bool {
			return e.Type == verificationv1.TypeDecisionRefused && e.CausationID == intakeID
		}, partner)
		r := decodeData[verificationv1.DecisionRefused](t, ev)
		if ev.Subject != intakeID || r.IntakeEventID != intakeID || r.TaskID != task.TaskID {
			t.Fatalf("refusal %s: %+v", ev, r)
		}
		return r
	}
	forged := sdkDecision(t, s, "upstream-portal", partner, intakev1.VerificationDecisionSubmitted{
		DecisionID: "forged-" + task.TaskID, TaskID: task.TaskID, Outcome: intakev1.OutcomeApprove})
	if r := refusal(forged); r.Code != "auth.role_required" || r.Status != http.StatusForbidden || r.PartnerID != "" {
		t.Fatalf("forged decision refused as %+v", r)
	}
	early := sdkDecision(t, s, "verifier-bot", partner, intakev1.VerificationDecisionSubmitted{
		DecisionID: "early-" + task.TaskID, TaskID: task.TaskID, Outcome: intakev1.OutcomeApprove})
	if r := refusal(early); r.Code != "verification.task_not_claimed" || r.Status != http.StatusConflict || r.PartnerID != partner {
		t.Fatalf("decision before the claim refused as %+v", r)
	}
	if s.Has("timeline") {
		// "Why is this partner stuck?": the refusal is on its timeline.
		op := s.Token(auth.Principal{Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}})
		e2e.Eventually(t, 10*time.Second, "the refusal on the partner's timeline", func() error {
			var tl struct {
				Events []struct {
					Type        string `json:"type"`
					CausationID string `json:"causationid"`
				} `json:"events"`
			}
			s.Call(t, "GET", s.URL("timeline")+"/v1/partners/"+partner+"/timeline?limit=500", op, nil, http.StatusOK, &tl)
			for _, e := range tl.Events {
				if e.Type == verificationv1.TypeDecisionRefused && e.CausationID == early {
					return nil
				}
			}
			return fmt.Errorf("not among %d entries", len(tl.Events))
		})
	}
	c := getCase(t, s, s.Token(verifier("verifier-bot")), partner)
	if state, _, _, _, _ := c.check("company"); c.Status != "pending" || state != "in_review" || len(c.Decisions) != 0 {
		t.Fatalf("case after the forged decision: %+v", c)
	}

	// The verifier claims over HTTP and decides by event, as the task says.
	bot := s.Token(verifier("verifier-bot"))
	s.Call(t, "POST", s.URL("verification")+task.Decide.ClaimPath, bot, nil, http.StatusOK, nil)
	decisionID := "bus-approve-" + task.TaskID
	sdkDecision(t, s, "verifier-bot", partner, intakev1.VerificationDecisionSubmitted{
		DecisionID: decisionID, TaskID: task.TaskID, Outcome: intakev1.OutcomeApprove, InternalNote: "register record matches"})
	approvedEv := s.Events.WaitFor(t, verificationv1.TypeVerificationApproved, partner)
	if a := decodeData[verificationv1.VerificationApproved](t, approvedEv); a.DecisionID != decisionID {
		t.Fatalf("approved by %s, want %s", a.DecisionID, decisionID)
	}
	rec := decodeData[verificationv1.DecisionRecorded](t, s.Events.WaitFor(t, verificationv1.TypeDecisionRecorded, partner))
	if rec.DecisionID != decisionID || rec.Verifier != "verifier-bot" || rec.Outcome != "approve" {
		t.Fatalf("decision recorded %+v", rec)
	}
	if act := s.Events.WaitFor(t, regv1.TypePartnerActivated, partner); act.CausationID != approvedEv.ID {
		t.Fatalf("activated caused by %s, want %s", act.CausationID, approvedEv.ID)
	}
}
