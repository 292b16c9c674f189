package service_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
)

// TestVerifierWithTheOfficialSDK plays a verifier service written with the
// official CloudEvents Go SDK: it reads the review task event with the
// SDK's NATS JetStream binding (from a consumer it creates, since the SDK
// receiver acks before its handler runs), claims the task over HTTP and
// publishes its decision with the SDK sender. The case is approved.
func TestVerifierWithTheOfficialSDK(t *testing.T) {
	e := newEnv(t)
	svc := e.start(e.config())
	const partner = "PG-JJJJ-9999-00W"
	e.openCase(partner, "")
	e.publish(emailv1.TypeOwnershipConfirmed, partner, confirmed(partner), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	cons, err := e.js.CreateOrUpdateConsumer(ctx, "VERIFICATION", jetstream.ConsumerConfig{
		Durable: "sdk_verifier_bot", FilterSubject: bus.AllPartitions(ce.Topic(verificationv1.TypeReviewTaskCreated)), AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msg jetstream.Msg
	for m := range batch.Messages() {
		msg = m
	}
	if msg == nil {
		t.Fatalf("no review task event: %v", batch.Error())
	}
	event, err := binding.ToEvent(ctx, cejs.NewMessage(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}))
	if err != nil {
		t.Fatalf("the SDK cannot read our event: %v", err)
	}
	var task verificationv1.ReviewTaskCreated
	if err := event.DataAs(&task); err != nil {
		t.Fatal(err)
	}
	if event.Type() != verificationv1.TypeReviewTaskCreated || event.Subject() != partner || task.PartnerID != partner ||
		task.Decide.EventType != intakev1.TypeVerificationDecisionSubmitted {
		t.Fatalf("event %s subject %s task %+v", event.Type(), event.Subject(), task)
	}
	if err := msg.Ack(); err != nil {
		t.Fatal(err)
	}

	bot := e.token(auth.Principal{Kind: auth.KindService, Subject: "verifier-bot", Roles: []auth.Role{auth.RoleVerifier}})
	if status, body := svc.call(t, "POST", task.Decide.ClaimPath, bot, nil); status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, body)
	}

	sender, err := cejs.NewSender(e.nats, "INTAKE", ce.Topic(intakev1.TypeVerificationDecisionSubmitted), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(ctx)
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		t.Fatal(err)
	}
	decision := cloudevents.NewEvent()
	decision.SetID("sdk-" + task.TaskID)
	decision.SetSource("/verifiers/verifier-bot")
	decision.SetType(intakev1.TypeVerificationDecisionSubmitted)
	decision.SetSubject(partner)
	decision.SetTime(time.Now())
	decision.SetExtension("authtype", "service_account")
	decision.SetExtension("authid", "verifier-bot")
	if err := decision.SetData(cloudevents.ApplicationJSON, intakev1.VerificationDecisionSubmitted{
		DecisionID: "sdk-dec-1", TaskID: task.TaskID, Outcome: intakev1.OutcomeApprove, InternalNote: "register record matches"}); err != nil {
		t.Fatal(err)
	}
	if res := client.Send(ctx, decision); !cloudevents.IsACK(res) {
		t.Fatalf("send: %v", res)
	}
	approved := e.waitEvent(verificationv1.TypeVerificationApproved, partner, 1)
	if approved["decision_id"] != "sdk-dec-1" {
		t.Fatalf("approved %v", approved)
	}
	recorded := e.waitEvent(verificationv1.TypeDecisionRecorded, partner, 1)
	if recorded["verifier"] != "verifier-bot" || recorded["internal_note"] != nil {
		t.Fatalf("decision recorded %v", recorded)
	}
}
