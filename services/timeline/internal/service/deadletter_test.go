package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	"github.com/partnerhub/onboarding/services/timeline/internal/service"
)

// deadLetter is ev as pkg/bus dead-letters it: the original ce-* headers
// and body, plus the dlq-* headers, on deadletter.<service>.
func (e *env) deadLetter(ev ce.Event, service, handler, code, reason string, delivered int, at time.Time) {
	e.t.Helper()
	h := ev.Headers()
	h[bus.DLQCode] = code
	h[bus.DLQReason] = reason
	h[bus.DLQService] = service
	h[bus.DLQHandler] = handler
	h[bus.DLQSubject] = ce.Topic(ev.Type)
	h[bus.DLQDelivered] = strconv.Itoa(delivered)
	h[bus.DLQTime] = at.UTC().Format(time.RFC3339Nano)
	e.publishRaw(bus.DeadLetterSubject(service), h, ev.Data)
}

func TestDeadLettersOnTheTimeline(t *testing.T) {
	e := start(t)
	const stuck = "PG-DDDD-0000-00J"
	accepted := event(srcAgreements, agreementsv1.TypeAcceptanceRecorded, stuck, 1, t0,
		map[string]string{"acceptance_id": "AC-1", "partner_id": stuck, "version_id": "AV-1"})
	e.publish(accepted)
	// Registration refused it; the dead letter is delivered twice.
	handler := bus.DurableName("registration", ce.Topic(agreementsv1.TypeAcceptanceRecorded))
	for range 2 {
		e.deadLetter(accepted, "registration", handler, "registration.not_yet_approved", "the partner is not approved yet", 1, t0.Add(time.Minute))
	}
	// The timeline's own dead letters are never consumed.
	own := event(srcAgreements, agreementsv1.TypeAcceptanceRecorded, stuck, 2, t0.Add(2*time.Minute),
		map[string]string{"acceptance_id": "AC-2", "partner_id": stuck, "version_id": "AV-1"})
	e.deadLetter(own, service.Name, "timeline__agreements_all", "handler.max_deliveries", "database down", 5, t0.Add(3*time.Minute))
	e.settled()

	a := e.get("/v1/partners/"+stuck+"/timeline", operator)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	for i, ev := range a.events() {
		if rec, _ := ev["recorded_at"].(string); rec == "" || rec == "0001-01-01T00:00:00Z" {
			t.Errorf("entry %d recorded_at = %v", i, ev["recorded_at"])
		}
		delete(ev, "recorded_at") // when this test ran
	}
	base := func(at string) map[string]any {
		return map[string]any{"id": accepted.ID, "source": srcAgreements, "type": agreementsv1.TypeAcceptanceRecorded, "subject": stuck,
			"time": at, "sequence": "000000000001", "correlationid": "corr-" + stuck, "causationid": "cause-" + accepted.ID,
			"authtype": "user", "authid": "user-1", "data": map[string]any{"acceptance_id": "AC-1", "partner_id": stuck, "version_id": "AV-1"}}
	}
	dead := base("2026-03-02T09:01:00Z")
	dead["dead_letter"] = map[string]any{"code": "registration.not_yet_approved", "reason": "the partner is not approved yet",
		"service": "registration", "handler": handler, "delivered": float64(1), "times": float64(1)}
	want := map[string]any{
		"partner_id": stuck,
		"events":     []any{base("2026-03-02T09:00:00Z"), dead},
		// The dead letter does not count as the producer's event.
		"sources": []any{map[string]any{"source": srcAgreements, "events": float64(1), "last_sequence": "000000000001", "gaps": []any{}}},
		"next":    "",
	}
	got, _ := json.Marshal(a.body)
	if w, _ := json.Marshal(want); string(got) != string(w) {
		t.Errorf("timeline\n got %s\nwant %s", got, w)
	}

	var stored int
	if err := e.svc.Base.Pool.QueryRow(context.Background(), `SELECT count(*) FROM dead_letters`).Scan(&stored); err != nil || stored != 1 {
		t.Errorf("dead letters stored = %d (%v), want 1 (the redelivery once, never the timeline's own)", stored, err)
	}
	if _, err := e.js.Consumer(context.Background(), bus.DeadLetterStream, bus.DurableName(service.Name, bus.DeadLetterSubject(service.Name))); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("a durable on the timeline's own dead letters: %v", err)
	}

	// Dead letters are for staff: the partner's own administrator reads its
	// events only (since round 47; a dead letter may hold anything another
	// service refused — a verifier's decision with its internal note, a
	// forged event —, and its reason is that service's).
	side := e.get("/v1/partners/"+stuck+"/timeline", user("adm-1", stuck, auth.RolePartnerAdmin))
	if evs := side.events(); side.status != http.StatusOK || len(evs) != 1 || evs[0]["dead_letter"] != nil || evs[0]["id"] != accepted.ID {
		t.Errorf("the partner's administrator reads %d %s", side.status, side.raw)
	}

	// The cursor pages through a dead letter; the type filter keeps it.
	var pages []string
	after := ""
	for i := 0; i < 3; i++ {
		p := e.get("/v1/partners/"+stuck+"/timeline?limit=1&type=agreements.&after="+url.QueryEscape(after), operator)
		if p.status != http.StatusOK || len(p.events()) != 1 {
			t.Fatalf("page %d: %d %s", i, p.status, p.raw)
		}
		_, isDead := p.events()[0]["dead_letter"]
		pages = append(pages, strconv.FormatBool(isDead))
		if after, _ = p.body["next"].(string); after == "" {
			break
		}
	}
	if !slices.Equal(pages, []string{"false", "true"}) {
		t.Errorf("pages of one (dead letter?) = %v, want [false true]", pages)
	}

	// An operator replays the dead letter and registration refuses it again:
	// the entry stays where it was and counts the second refusal, with its
	// reason; that dead letter delivered again changes nothing.
	for range 2 {
		e.deadLetter(accepted, "registration", handler, "registration.partner_closed", "the partner is closed", 2, t0.Add(time.Hour))
	}
	e.settled()
	again := e.get("/v1/partners/"+stuck+"/timeline", operator)
	if len(again.events()) != 2 {
		t.Fatalf("after the replay: %s", again.raw)
	}
	got, _ = json.Marshal(again.events()[1]["dead_letter"])
	want2, _ := json.Marshal(map[string]any{"code": "registration.partner_closed", "reason": "the partner is closed",
		"service": "registration", "handler": handler, "delivered": 2, "times": 2, "last_at": "2026-03-02T10:00:00Z"})
	if string(got) != string(want2) || again.events()[1]["time"] != "2026-03-02T09:01:00Z" {
		t.Errorf("dead letter after a replay refused again\n got %s at %v\nwant %s at the first one's time", got, again.events()[1]["time"], want2)
	}
}
