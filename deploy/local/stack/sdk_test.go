package stack_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	cejs "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/protocol"
	"github.com/nats-io/nats.go"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// sdkConn connects as an external bus user the way the README tells an
// integrator to: its user and password, and its private inbox prefix (the
// only replies it may read: JetStream publish acks, API answers, pushed
// messages).
func sdkConn(t *testing.T, url, user, password string, v *violations) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name(user+"-sdk"), nats.UserInfo(user, password),
		nats.CustomInboxPrefix(bus.InboxPrefix(user)), nats.ErrorHandler(v.handler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close) // after the receivers (cleanups run last-in first-out)
	return nc
}

// sdkSend publishes ev with the official SDK's JetStream sender and
// returns the SDK's result: an ACK only when JetStream stored it.
func sdkSend(nc *nats.Conn, stream, subject string, ev cloudevents.Event) error {
	sender, err := cejs.NewSenderFromConn(nc, stream, subject, []nats.JSOpt{nats.MaxWait(denied)})
	if err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res := client.Send(ctx, ev); !protocol.IsACK(res) {
		return fmt.Errorf("send %s on %s: %w", ev.Type(), subject, res)
	}
	return nil
}

// sdkDurable receives with the official SDK's JetStream consumer through
// the durable the user's permissions name (bus.ExternalDurable): the SDK
// creates it on first use and binds to it afterwards.
type sdkDurable struct {
	mu     sync.Mutex
	events []cloudevents.Event
}

func sdkReceive(t *testing.T, nc *nats.Conn, user, stream, filter string) (*sdkDurable, error) {
	t.Helper()
	consumer, err := cejs.NewConsumerFromConn(nc, stream, filter, []nats.JSOpt{nats.MaxWait(denied)}, []nats.SubOpt{
		nats.BindStream(stream), nats.Durable(bus.ExternalDurable(user, filter)), nats.DeliverAll(), nats.AckExplicit()})
	if err != nil {
		return nil, err
	}
	client, err := cloudevents.NewClient(consumer)
	if err != nil {
		return nil, err
	}
	in := &sdkDurable{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- client.StartReceiver(ctx, func(ev cloudevents.Event) {
			in.mu.Lock()
			defer in.mu.Unlock()
			in.events = append(in.events, ev)
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sdk receiver on %s: %v", filter, err)
		}
	})
	return in, nil
}

func (in *sdkDurable) wait(t *testing.T, id string) cloudevents.Event {
	t.Helper()
	var got cloudevents.Event
	testkit.Eventually(t, 10*time.Second, func() error {
		in.mu.Lock()
		defer in.mu.Unlock()
		for _, ev := range in.events {
			if ev.ID() == id {
				got = ev
				return nil
			}
		}
		return fmt.Errorf("event %s not received (%d others)", id, len(in.events))
	})
	return got
}

func sdkEvent(typ, source, subject string) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(ce.NewID())
	ev.SetSource(source)
	ev.SetType(typ)
	ev.SetSubject(subject)
	ev.SetTime(time.Now())
	_ = ev.SetData(cloudevents.ApplicationJSON, map[string]string{"reference": subject})
	return ev
}

// TestOfficialSDKUnderTheCommittedPermissions is an upstream system and a
// verifier service written with the official CloudEvents Go SDK (its NATS
// JetStream binding) against a server running the committed accounts.conf:
// each publishes on its intake with acks, reads what it is told to read
// through its durables, and is refused everything else.
func TestOfficialSDKUnderTheCommittedPermissions(t *testing.T) {
	url, pw := busServer(t)
	ctx := context.Background()
	admin := connectAs(t, url, bus.AdminUser, pw[bus.AdminUser])
	if err := bus.PrepareStreams(ctx, admin.js, admin.cfg); err != nil {
		t.Fatal(err)
	}
	registration := connectAs(t, url, "registration", pw["registration"])
	verification := connectAs(t, url, "verification", pw["verification"])

	t.Run("upstream system", func(t *testing.T) {
		v := &violations{}
		nc := sdkConn(t, url, bus.UpstreamUser, pw[bus.UpstreamUser], v)
		intake := sdkEvent("com.partnerhub.intake.registration.requested.v1", "/upstream/crm", "crm-lead-1")
		intake.SetExtension("authtype", "service_account")
		intake.SetExtension("authid", "upstream-portal")
		if err := sdkSend(nc, "INTAKE", "intake.registration.requested.v1", intake); err != nil {
			t.Fatalf("the upstream user publishes an intake registration with the SDK: %v", err)
		}
		stored, err := admin.js.Stream(ctx, "INTAKE")
		if err != nil {
			t.Fatal(err)
		}
		m, err := stored.GetLastMsgForSubject(ctx, "intake.registration.requested.v1")
		if err != nil || m.Header.Get(ce.HID) != intake.ID() || m.Header.Get("ce-authid") != "upstream-portal" {
			t.Fatalf("INTAKE holds %v (%v), want the SDK's event %s in binary mode", m, err, intake.ID())
		}

		// The answers: one of each, published by registration on a partition.
		submitted := publishAs(t, registration, "com.partnerhub.registration.application.submitted.v1", "PG-SDKU-0000-001")
		rejected := publishAs(t, registration, "com.partnerhub.registration.application.rejected.v1", intake.ID())
		for _, a := range []struct{ filter, id string }{
			{bus.AllPartitions("registration.application.submitted.v1"), submitted},
			{bus.AllPartitions("registration.application.rejected.v1"), rejected},
		} {
			in, err := sdkReceive(t, nc, bus.UpstreamUser, "REGISTRATION", a.filter)
			if err != nil {
				t.Fatalf("the upstream user reads %s with the SDK: %v", a.filter, err)
			}
			if ev := in.wait(t, a.id); ev.Source() != "/services/registration" {
				t.Errorf("answer as the SDK sees it: %s", ev)
			}
			acked(t, admin, "REGISTRATION", bus.ExternalDurable(bus.UpstreamUser, a.filter))
		}

		// Refused: publishing registration's events, intake decisions, and
		// reading through any consumer but its own durables.
		forged := sdkEvent("com.partnerhub.registration.partner.activated.v1", "/services/registration", "PG-SDKU-0000-001")
		if err := sdkSend(nc, "REGISTRATION", "registration.partner.activated.v1.1", forged); err == nil {
			t.Fatal("the upstream user published a registration event")
		}
		v.await(t, "registration.partner.activated.v1.1")
		decision := sdkEvent("com.partnerhub.intake.verification.decision_submitted.v1", "/upstream/crm", "x")
		if err := sdkSend(nc, "INTAKE", "intake.verification.decision_submitted.v1", decision); err == nil {
			t.Fatal("the upstream user published a verification decision")
		}
		// An ephemeral consumer's filter is only in the request body, so it
		// may not create one: the SDK's subscription fails.
		all, err := cejs.NewConsumerFromConn(nc, "REGISTRATION", "registration.>", []nats.JSOpt{nats.MaxWait(denied)},
			[]nats.SubOpt{nats.BindStream("REGISTRATION"), nats.DeliverAll()})
		if err != nil {
			t.Fatal(err) // only the stream lookup so far, which it may do
		}
		octx, cancel := context.WithTimeout(ctx, 3*denied)
		defer cancel()
		if err := all.OpenInbound(octx); err == nil {
			t.Fatal("the upstream user read every registration event through an ephemeral consumer")
		}
	})

	t.Run("a service's own user publishes only on a partition", func(t *testing.T) {
		// What round 29 found from outside: an event sent on the bare topic
		// was stored, and no consumer read it. The stream refuses it now,
		// and the SDK reports the send as not acknowledged.
		v := &violations{}
		nc := sdkConn(t, url, "registration", pw["registration"], v)
		ev := sdkEvent("com.partnerhub.registration.partner.activated.v1", "/services/registration", "PG-SDKP-0000-001")
		ev.SetExtension("partitionkey", "PG-SDKP-0000-001")
		for _, subject := range []string{"registration.partner.activated.v1", bus.PartitionSubject("registration.partner.activated.v1", bus.Partitions)} {
			if err := sdkSend(nc, "REGISTRATION", subject, ev); err == nil {
				t.Errorf("the SDK's send on %s was acknowledged: stored where no consumer reads it", subject)
			}
		}
		subject := bus.PartitionSubject("registration.partner.activated.v1", bus.PartitionFor("PG-SDKP-0000-001"))
		if err := sdkSend(nc, "REGISTRATION", subject, ev); err != nil {
			t.Fatalf("on its partition: %v", err)
		}
		stored, err := admin.js.Stream(ctx, "REGISTRATION")
		if err != nil {
			t.Fatal(err)
		}
		if m, err := stored.GetLastMsgForSubject(ctx, subject); err != nil || m.Header.Get(ce.HID) != ev.ID() {
			t.Fatalf("REGISTRATION holds %v (%v) on %s, want the SDK's event", m, err, subject)
		}
	})

	t.Run("verifier service", func(t *testing.T) {
		v := &violations{}
		nc := sdkConn(t, url, bus.VerifierUser, pw[bus.VerifierUser], v)
		decision := sdkEvent("com.partnerhub.intake.verification.decision_submitted.v1", "/verifiers/kyc", "decision-1")
		if err := sdkSend(nc, "INTAKE", "intake.verification.decision_submitted.v1", decision); err != nil {
			t.Fatalf("the verifier publishes a decision with the SDK: %v", err)
		}
		// What it reads: its review tasks, and the refusals of its decisions.
		task := publishAs(t, verification, "com.partnerhub.verification.task.created.v1", "PG-SDKV-0000-001")
		refused := publishAs(t, verification, "com.partnerhub.verification.decision.refused.v1", decision.ID())
		for _, a := range []struct{ filter, id string }{
			{bus.AllPartitions("verification.task.created.v1"), task},
			{bus.AllPartitions("verification.decision.refused.v1"), refused},
		} {
			in, err := sdkReceive(t, nc, bus.VerifierUser, "VERIFICATION", a.filter)
			if err != nil {
				t.Fatalf("the verifier reads %s with the SDK: %v", a.filter, err)
			}
			in.wait(t, a.id)
			acked(t, admin, "VERIFICATION", bus.ExternalDurable(bus.VerifierUser, a.filter))
		}
		forged := sdkEvent("com.partnerhub.verification.case.approved.v1", "/services/verification", "PG-SDKV-0000-001")
		if err := sdkSend(nc, "VERIFICATION", "verification.case.approved.v1.3", forged); err == nil {
			t.Fatal("the verifier published a case approval")
		}
		v.await(t, "verification.case.approved.v1.3")
	})

	// Outside systems with bus users of their own (directory accounts with
	// bus_user: crm-west, kyb-checks in the development directory) publish
	// only on their own intake subjects, so the services know which system
	// published; no one else may publish there, and they may not publish
	// on the shared subjects or another's.
	t.Run("systems with bus users of their own", func(t *testing.T) {
		for _, c := range []struct{ user, typ, other string }{
			{"crm-west", "com.partnerhub.intake.registration.requested.v1", "kyb-checks"},
			{"kyb-checks", "com.partnerhub.intake.verification.decision_submitted.v1", "crm-west"},
		} {
			v := &violations{}
			nc := sdkConn(t, url, c.user, pw[c.user], v)
			ev := sdkEvent(c.typ, "/systems/"+c.user, "x-1")
			own := bus.IntakeSubject(c.typ, c.user)
			if err := sdkSend(nc, "INTAKE", own, ev); err != nil {
				t.Fatalf("%s publishes on its own subject %s with the SDK: %v", c.user, own, err)
			}
			for _, subject := range []string{bus.IntakeSubject(c.typ, ""), bus.IntakeSubject(c.typ, c.other), bus.IntakeSubject(c.typ, "crm-east")} {
				if err := sdkSend(nc, "INTAKE", subject, sdkEvent(c.typ, "/systems/"+c.user, "x-2")); err == nil {
					t.Fatalf("%s published on %s", c.user, subject)
				}
				v.await(t, subject)
			}
			shared := map[string]string{"crm-west": bus.UpstreamUser, "kyb-checks": bus.VerifierUser}[c.user]
			sv := &violations{}
			snc := sdkConn(t, url, shared, pw[shared], sv)
			if err := sdkSend(snc, "INTAKE", own, sdkEvent(c.typ, "/systems/other", "x-3")); err == nil {
				t.Fatalf("the shared %s user published on %s", shared, own)
			}
			sv.await(t, own)
		}

		// What they read: kyb-checks the review queue, as every verifier;
		// crm-west no answers on NATS (they are every upstream system's:
		// its own come through the feed or webhooks).
		nc := sdkConn(t, url, "kyb-checks", pw["kyb-checks"], &violations{})
		task := publishAs(t, verification, "com.partnerhub.verification.task.created.v1", "PG-SDKB-0000-001")
		in, err := sdkReceive(t, nc, "kyb-checks", "VERIFICATION", bus.AllPartitions("verification.task.created.v1"))
		if err != nil {
			t.Fatalf("kyb-checks reads the review queue with the SDK: %v", err)
		}
		in.wait(t, task)
		nc = sdkConn(t, url, "crm-west", pw["crm-west"], &violations{})
		if _, err := sdkReceive(t, nc, "crm-west", "REGISTRATION", bus.AllPartitions("registration.application.submitted.v1")); err == nil {
			t.Fatal("crm-west reads every upstream system's registrations with the SDK")
		}
	})
}

// publishAs publishes an event of eventType about subject as u (a
// service), on its partition, and returns its id.
func publishAs(t *testing.T, u *busUser, eventType, subject string) string {
	t.Helper()
	ev := ce.Event{ID: ce.NewID(), Source: "/services/" + u.name, Type: eventType, Subject: subject, PartitionKey: subject,
		Time: time.Now(), DataContentType: ce.JSON, Data: []byte(`{}`)}
	msg := nats.NewMsg(bus.PartitionSubject(ce.Topic(eventType), bus.PartitionFor(subject)))
	for k, v := range ev.Headers() {
		msg.Header[k] = []string{v}
	}
	msg.Data = ev.Data
	if _, err := u.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatalf("%s publishes %s: %v", u.name, eventType, err)
	}
	return ev.ID
}

// acked waits until durable has acknowledged everything it was delivered.
func acked(t *testing.T, admin *busUser, stream, durable string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		js, err := admin.nc.JetStream() // the SDK's durables are push consumers
		if err != nil {
			return err
		}
		info, err := js.ConsumerInfo(stream, durable)
		if err != nil {
			return err
		}
		if info.Delivered.Consumer == 0 || info.NumAckPending != 0 {
			return errors.New("not acknowledged yet")
		}
		return nil
	})
}
