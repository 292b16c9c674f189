package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// sdkInbox is a consumer written with the official CloudEvents Go SDK and
// its NATS JetStream binding, as an integrator would write one: it keeps
// every event the SDK hands it.
type sdkInbox struct {
	mu     sync.Mutex
	events []cloudevents.Event
	added  chan struct{}
}

func sdkReceive(t *testing.T, nc *nats.Conn, stream, subject string) *sdkInbox {
	t.Helper()
	consumer, err := cejs.NewConsumerFromConn(nc, stream, subject, nil,
		[]nats.SubOpt{nats.BindStream(stream), nats.DeliverAll(), nats.AckExplicit()})
	if err != nil {
		t.Fatalf("sdk consumer on %s: %v", subject, err)
	}
	client, err := cloudevents.NewClient(consumer)
	if err != nil {
		t.Fatal(err)
	}
	in := &sdkInbox{added: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- client.StartReceiver(ctx, func(ev cloudevents.Event) {
			in.mu.Lock()
			in.events = append(in.events, ev)
			close(in.added)
			in.added = make(chan struct{})
			in.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sdk receiver on %s: %v", subject, err)
		}
	})
	return in
}

// wait returns the first event that matches, failing the test after 20 s.
func (in *sdkInbox) wait(t *testing.T, what string, match func(cloudevents.Event) bool) cloudevents.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		in.mu.Lock()
		i := slices.IndexFunc(in.events, match)
		var ev cloudevents.Event
		if i >= 0 {
			ev = in.events[i]
		}
		added := in.added
		n := len(in.events)
		in.mu.Unlock()
		if i >= 0 {
			return ev
		}
		select {
		case <-added:
		case <-deadline:
			t.Fatalf("the SDK consumer received no %s within 20s (%d other events)", what, n)
		}
	}
}

func (in *sdkInbox) count(match func(cloudevents.Event) bool) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, ev := range in.events {
		if match(ev) {
			n++
		}
	}
	return n
}

func about(typ, subject string) func(cloudevents.Event) bool {
	return func(ev cloudevents.Event) bool { return ev.Type() == typ && ev.Subject() == subject }
}

// testOfficialSDK: an upstream system written with the official CloudEvents
// Go SDK publishes an intake registration on JetStream and, with the SDK's
// consumer, follows the partner through submitted, e-mail ownership confirmed
// and case approved; the causation chain links every hop back to its event.
func testOfficialSDK(t *testing.T, s *e2e.Stack) {
	nc, err := nats.Connect(s.NATSURL, nats.Name("e2e-sdk-upstream"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close) // after the receivers stopped (cleanups run last-in first-out)
	regIn := sdkReceive(t, nc, "REGISTRATION", "registration.>")
	emailIn := sdkReceive(t, nc, "EMAIL", bus.AllPartitions(ce.Topic(emailv1.TypeOwnershipConfirmed)))
	verIn := sdkReceive(t, nc, "VERIFICATION", bus.AllPartitions(ce.Topic(verificationv1.TypeVerificationApproved)))

	intake := cloudevents.NewEvent()
	intake.SetID("crm-" + testkit.RandomID(8))
	intake.SetSource("/upstream/crm")
	intake.SetType(intakev1.TypeRegistrationRequested)
	intake.SetSubject("crm-lead-4711")
	intake.SetTime(time.Now())
	intake.SetExtension("authtype", "service_account")
	intake.SetExtension("authid", "upstream-portal")
	sdkSend(t, nc, intake, minato.Registration("indirect_reseller"))

	// The answer to the intake event: submitted, caused by it.
	submitted := regIn.wait(t, "application submitted caused by the intake event", func(ev cloudevents.Event) bool {
		return ev.Type() == regv1.TypeApplicationSubmitted && ev.Extensions()["causationid"] == intake.ID()
	})
	partner := submitted.Subject()
	logOnFailure(t, s, partner)
	var app regv1.ApplicationSubmitted
	if err := submitted.DataAs(&app); err != nil {
		t.Fatalf("sdk data: %v", err)
	}
	ext := submitted.Extensions()
	if submitted.Source() != "/services/registration" || submitted.SpecVersion() != cloudevents.VersionV1 ||
		submitted.DataContentType() != cloudevents.ApplicationJSON || ext["correlationid"] != intake.ID() ||
		ext["sequence"] != ce.FormatSequence(1) || ext["partitionkey"] != partner ||
		ext["authtype"] != "service_account" || ext["authid"] != "upstream-portal" {
		t.Fatalf("submitted as the SDK sees it:\n%s", submitted)
	}
	if app.PartnerID != partner || app.LegalName.Normalized != minato.Name || app.RegistrationNumber == nil ||
		app.RegistrationNumber.Value != minato.Number || !app.EmailDomainMatchesWebsite || len(app.Enrollments) != 2 ||
		app.SubmittedBy != "upstream-portal" {
		t.Fatalf("submitted data %+v", app)
	}
	if rej := s.Events.Filter(func(e e2e.Event) bool {
		return e.Topic() == ce.Topic(regv1.TypeApplicationRejected) && e.Subject == intake.ID()
	}); len(rej) > 0 {
		t.Fatalf("the intake was also rejected: %v", rej)
	}

	confirmEmail(t, s, minato, partner, len(app.Enrollments))
	for _, en := range app.Enrollments {
		emailIn.wait(t, "ownership confirmed of "+en.Program, func(ev cloudevents.Event) bool {
			var c emailv1.OwnershipConfirmed
			return about(emailv1.TypeOwnershipConfirmed, partner)(ev) && ev.DataAs(&c) == nil && c.EnrollmentID == en.EnrollmentID &&
				c.Method == "link" && c.Address == minato.Email()
		})
	}

	task := reviewTask(t, s, partner, 1)
	if task.PreCheck == nil {
		t.Fatalf("the review task carries no register pre-check: %+v", task)
	}
	decisionID := "sdk-path-" + task.TaskID
	decide(t, s, verifier("verifier-sdk"), task.TaskID, map[string]any{"decision_id": decisionID, "outcome": "approve"})
	approvedEv := verIn.wait(t, "case approved", about(verificationv1.TypeVerificationApproved, partner))
	var approved verificationv1.VerificationApproved
	if err := approvedEv.DataAs(&approved); err != nil || approved.DecisionID != decisionID || approved.PartnerID != partner ||
		approved.LocationID != app.LocationID || approved.Market != "JP" || len(approved.Enrollments) != 2 {
		t.Fatalf("case approved as the SDK sees it: %v %+v", err, approved)
	}
	if n := emailIn.count(about(emailv1.TypeOwnershipConfirmed, partner)); n != 2 {
		t.Fatalf("the SDK consumer got %d ownership confirmations, want 2 (one per enrollment, no duplicates)", n)
	}

	// Registration reacts to the approval: IDs active, reseller qualified.
	activated := s.Events.WaitFor(t, regv1.TypePartnerActivated, partner)
	if activated.CausationID != approvedEv.ID() {
		t.Fatalf("partner activated caused by %s, want the case approval %s", activated.CausationID, approvedEv.ID())
	}
	regIn.wait(t, "partner activated", about(regv1.TypePartnerActivated, partner))
	e2e.Eventually(t, 10*time.Second, "partner active", func() error {
		p := getPartner(t, s, partner)
		if p.Status != "active" || len(p.Locations) != 1 || p.Locations[0].Status != "active" ||
			p.enrollment("partner_network") != "active" || p.enrollment("indirect_reseller") != "qualified" {
			return fmt.Errorf("partner %+v", p)
		}
		return nil
	})

	// Causation chain across services, from the bus as any consumer sees it.
	sub := s.Events.WaitFor(t, regv1.TypeApplicationSubmitted, partner)
	if sub.ID != submitted.ID() || sub.CausationID != intake.ID() {
		t.Fatalf("collector and SDK disagree on submitted: %s vs %s", sub, submitted.ID())
	}
	opened := s.Events.WaitFor(t, verificationv1.TypeCaseOpened, partner)
	challenges := s.Events.Of(emailv1.TypeChallengeOpened, partner)
	if opened.CausationID != sub.ID || opened.CorrelationID != intake.ID() {
		t.Fatalf("case opened: cause %s corr %s, want %s %s", opened.CausationID, opened.CorrelationID, sub.ID, intake.ID())
	}
	if len(challenges) != 2 {
		t.Fatalf("%d challenges opened, want 2", len(challenges))
	}
	for _, c := range challenges {
		if c.CausationID != sub.ID || c.CorrelationID != intake.ID() {
			t.Fatalf("challenge opened %s: want cause %s, correlation %s", c, sub.ID, intake.ID())
		}
	}

	// What each producer said about the partner, in order.
	wantTopics(t, s, "REGISTRATION", partner, "registration.application.submitted", "registration.partner.activated",
		"registration.enrollment.status_changed", "registration.enrollment.status_changed")
	if got, want := enrollmentChanges(t, s, partner), []string{"partner_network:pending_verification→active",
		"indirect_reseller:pending_verification→qualified"}; !slices.Equal(got, want) {
		t.Fatalf("enrollment changes %v, want %v", got, want)
	}
	wantTopics(t, s, "EMAIL", partner, "email.challenge.opened", "email.verification_mail.requested",
		"email.challenge.opened", "email.verification_mail.requested", "email.ownership.confirmed", "email.ownership.confirmed")
	wantTopics(t, s, "NOTIFIER", partner, "notifier.mail.delivered", "notifier.mail.delivered")
	wantTopics(t, s, "AGREEMENTS", partner, "agreements.acceptance.recorded")
	wantTopics(t, s, "VERIFICATION", partner, "verification.case.opened", "verification.check.state_changed",
		"verification.check.state_changed", "verification.task.created", "verification.check.state_changed",
		"verification.task.claimed", "verification.check.state_changed", "verification.decision.recorded", "verification.case.approved")
	if got, want := checkChanges(t, s, partner), []string{"employment:pending→passed", "company:pending→in_review",
		"email_ownership:pending→passed", "company:in_review→passed"}; !slices.Equal(got, want) {
		t.Fatalf("check changes %v, want %v", got, want)
	}
	// Causes: the network terms accepted with the registration; each mail
	// delivered for a challenge the partner's mail requests named (the
	// notifier does not carry the request's id as causationid yet).
	if acc := s.Events.WaitFor(t, "agreements.acceptance.recorded.v1", partner); acc.CausationID != sub.ID || acc.CorrelationID != intake.ID() {
		t.Fatalf("acceptance recorded %s, want caused by %s", acc, sub.ID)
	}
	requested := map[string]bool{}
	for _, e := range s.Events.Of(emailv1.TypeVerificationMailRequested, partner) {
		if e.CausationID != sub.ID {
			t.Fatalf("mail requested %s, want caused by %s", e, sub.ID)
		}
		requested[decodeData[emailv1.VerificationMailRequested](t, e).ChallengeID] = true
	}
	for _, e := range s.Events.Of(notifierv1.TypeMailDelivered, partner) {
		if d := decodeData[notifierv1.MailDelivered](t, e); !requested[d.ChallengeID] || d.Attempts != 1 {
			t.Fatalf("mail delivered %+v; requested challenges %v", d, requested)
		}
	}
}

// logOnFailure logs, if the test fails, every event about subject.
func logOnFailure(t *testing.T, s *e2e.Stack, subject string) {
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range s.Events.About(subject) {
				t.Logf("  %s", e)
			}
		}
	})
}
