package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	timelinev1 "github.com/partnerhub/onboarding/pkg/events/timeline/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// kumamoto is in no register (every entry of the embedded one has its
// path): the register pre-check finds nothing and the verifier approves
// on the documents it has.
var kumamoto = company{"株式会社くまもとデータサービス", "", "熊本県", "熊本市中央区", "手取本町1-1", "860-0806", "kumamoto-data.co.jp"}

// crm is an upstream system of its own (the other paths register as
// upstream-portal), so that what its endpoint and feed get is exactly what
// is about its partner.
var crm = auth.Principal{Kind: auth.KindService, Subject: "crm-webhooks", Roles: []auth.Role{auth.RoleUpstreamSystem}}

// hookReceiver is a webhook endpoint as an integrator writes one: every
// delivery is verified with the Standard Webhooks reference library and
// read with the official CloudEvents SDK; it answers status (0: 204).
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	wh     *standardwebhooks.Webhook
	status int
	got    map[string]cloudevents.Event
	bad    []string
}

func newHookReceiver(t *testing.T, status int) *hookReceiver {
	r := &hookReceiver{t: t, status: status, got: map[string]cloudevents.Event{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		var ev cloudevents.Event
		switch {
		case r.wh == nil:
			r.bad = append(r.bad, "a delivery before the secret was known")
		case r.wh.Verify(body, req.Header) != nil:
			r.bad = append(r.bad, "a delivery failed the signature check: "+req.Header.Get("webhook-id"))
		case ev.UnmarshalJSON(body) != nil || ev.ID() != req.Header.Get("webhook-id"):
			r.bad = append(r.bad, "a delivery is not the CloudEvent its webhook-id names")
		case r.status != 0:
			w.WriteHeader(r.status)
			return
		default:
			r.got[ev.ID()] = ev
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// register creates an endpoint for the receiver as p and keeps its secret.
func (r *hookReceiver) register(t *testing.T, s *e2e.Stack, p auth.Principal, body map[string]any) string {
	t.Helper()
	body["url"] = r.srv.URL + "/partnerhub"
	var created struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	s.Call(t, "POST", s.URL("timeline")+"/v1/webhooks/endpoints", s.Token(p), body, http.StatusCreated, &created)
	wh, err := standardwebhooks.NewWebhook(created.Secret)
	if err != nil {
		t.Fatalf("the secret %q is not a Standard Webhooks secret: %v", created.Secret[:6], err)
	}
	r.mu.Lock()
	r.wh = wh
	r.mu.Unlock()
	return created.ID
}

func (r *hookReceiver) ids(match func(cloudevents.Event) bool) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, ev := range r.got {
		if match(ev) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (r *hookReceiver) problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bad)
}

// checkTask waits for the partner's first review task of check.
func checkTask(t *testing.T, s *e2e.Stack, partnerID, check string) verificationv1.ReviewTaskCreated {
	t.Helper()
	var task verificationv1.ReviewTaskCreated
	s.Events.WaitMatch(t, check+" review task", 20*time.Second, func(e e2e.Event) bool {
		var tk verificationv1.ReviewTaskCreated
		if e.Topic() != "verification.task.created.v1" || e.Subject != partnerID || json.Unmarshal(e.Data, &tk) != nil || tk.Check != check {
			return false
		}
		task = tk
		return true
	}, partnerID)
	return task
}

// testWebhooksAndFeed: an upstream system that speaks only HTTP follows its
// partner's whole onboarding through a webhook endpoint (every delivery
// verified by the Standard Webhooks reference library, every body read by
// the official CloudEvents SDK) and through the event feed, and gets the
// same events as the bus carried, each with a trace context. An endpoint
// that keeps failing is disabled, and the notice reaches an operator's
// endpoint by webhook too.
func testWebhooksAndFeed(t *testing.T, s *e2e.Stack) {
	if !s.Has("timeline") {
		t.Skip("no timeline service")
	}
	ops := auth.Principal{Subject: "ops-webhooks", Roles: []auth.Role{auth.RoleOperator}}
	crmHooks := newHookReceiver(t, 0)
	crmHooks.register(t, s, crm, map[string]any{"description": "CRM: everything about our partners"})
	notices := newHookReceiver(t, 0)
	notices.register(t, s, ops, map[string]any{"event_types": []string{"timeline.webhook_endpoint."}})
	broken := newHookReceiver(t, http.StatusBadGateway)
	brokenID := broken.register(t, s, ops, map[string]any{"event_types": []string{"registration.application.submitted."}})

	// The onboarding, registered by the CRM.
	var reg registered
	body := kumamoto.Registration("indirect_reseller")
	delete(body["company"].(map[string]any), "registration_number")
	s.Call(t, "POST", s.URL("registration")+"/v1/registrations", s.Token(crm), body, http.StatusCreated, &reg,
		"Idempotency-Key", "webhooks-kumamoto")
	partner := reg.PartnerID
	logOnFailure(t, s, partner)
	confirmEmail(t, s, kumamoto, partner, len(reg.Enrollments))
	// No register ties kumamoto's e-mail domain to the company, so the
	// employment check asks for evidence: the CRM uploads an invoice that
	// shows the domain, and a verifier accepts it beside the company review.
	sum := sha256.Sum256([]byte("請求書 " + partner))
	s.Call(t, "POST", s.URL("verification")+"/v1/verification/partners/"+partner+"/documents", s.Token(crm),
		map[string]any{"check": "employment", "type": "domain_invoice", "issued_on": time.Now().AddDate(0, -1, 0).Format(time.DateOnly),
			"sha256": hex.EncodeToString(sum[:]), "size_bytes": 52_480, "media_type": "application/pdf",
			"storage_uri": "s3://partner-documents/" + partner + "/invoice.pdf"}, http.StatusCreated, nil)
	for _, check := range []string{"company", "employment"} {
		task := checkTask(t, s, partner, check)
		decide(t, s, verifier("verifier-webhooks"), task.TaskID, map[string]any{"decision_id": "approve-" + task.TaskID, "outcome": "approve"})
	}
	s.Events.WaitFor(t, regv1.TypePartnerActivated, partner)
	acceptAgreement(t, s, partner, "indirect_reseller")
	e2e.Eventually(t, 20*time.Second, "the reseller enrollment active", func() error {
		if st := getPartner(t, s, partner).enrollment("indirect_reseller"); st != "active" {
			return fmt.Errorf("reseller enrollment %s", st)
		}
		return nil
	})

	// What the bus carried about the partner (producer streams).
	onBus := func() []string {
		var ids []string
		for _, e := range s.Events.About(partner) {
			if e.Stream != bus.DeadLetterStream && e.Stream != "INTAKE" {
				ids = append(ids, e.ID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	about := func(ev cloudevents.Event) bool { return ev.Subject() == partner }
	e2e.Eventually(t, 20*time.Second, "every event about the partner delivered by webhook", func() error {
		if got, want := crmHooks.ids(about), onBus(); !slices.Equal(got, want) {
			return fmt.Errorf("delivered %d, the bus carried %d", len(got), len(want))
		}
		return nil
	})
	if other := crmHooks.ids(func(ev cloudevents.Event) bool { return !about(ev) }); len(other) > 0 {
		t.Errorf("the CRM's endpoint got %d events about partners it did not register", len(other))
	}
	crmHooks.mu.Lock()
	for _, typ := range []string{regv1.TypeApplicationSubmitted, emailv1.TypeOwnershipConfirmed, verificationv1.TypeVerificationApproved,
		regv1.TypePartnerActivated, "com.partnerhub.agreements.acceptance.recorded.v1"} {
		found := false
		for _, ev := range crmHooks.got {
			if ev.Type() != typ {
				continue
			}
			found = true
			if tp, _ := ev.Extensions()["traceparent"].(string); len(tp) != 55 {
				t.Errorf("%s delivered without a trace context (%q)", typ, tp)
			}
		}
		if !found {
			t.Errorf("no %s delivered", typ)
		}
	}
	crmHooks.mu.Unlock()
	atEnd(func(t *testing.T) { // nothing more, nothing twice, once the bus is quiet
		if got, want := crmHooks.ids(about), onBus(); !slices.Equal(got, want) {
			t.Errorf("webhooks delivered %d events about %s, the bus carried %d", len(got), partner, len(want))
		}
		for _, r := range []*hookReceiver{crmHooks, notices, broken} {
			if p := r.problems(); len(p) > 0 {
				t.Errorf("receiver problems: %v", p)
			}
		}
	})

	// The same events from the feed, as the CRM pages through it.
	e2e.Eventually(t, 20*time.Second, "the feed holds every event about the partner", func() error {
		var ids []string
		after := ""
		for range 50 {
			var page struct {
				Events  []map[string]any `json:"events"`
				Next    string           `json:"next"`
				HasMore bool             `json:"has_more"`
			}
			s.Call(t, "GET", s.URL("timeline")+"/v1/events?limit=10&after="+url.QueryEscape(after), s.Token(crm), nil, http.StatusOK, &page)
			for _, ev := range page.Events {
				if ev["subject"] != partner {
					return fmt.Errorf("the CRM's feed lists an event about %v", ev["subject"])
				}
				ids = append(ids, ev["id"].(string))
			}
			if after = page.Next; !page.HasMore {
				break
			}
		}
		slices.Sort(ids)
		if want := onBus(); !slices.Equal(ids, want) {
			return fmt.Errorf("feed %d events, bus %d", len(ids), len(want))
		}
		return nil
	})

	// The endpoint that answers 502 is disabled once a delivery used up the
	// retries; the notice reaches the operator's endpoint.
	e2e.Eventually(t, 20*time.Second, "the failing endpoint disabled", func() error {
		var ep struct{ Status, DisabledReason string }
		var raw map[string]any
		s.Call(t, "GET", s.URL("timeline")+"/v1/webhooks/endpoints/"+brokenID, s.Token(ops), nil, http.StatusOK, &raw)
		ep.Status, _ = raw["status"].(string)
		ep.DisabledReason, _ = raw["disabled_reason"].(string)
		if ep.Status != "disabled" || ep.DisabledReason != "persistent_failure" {
			return fmt.Errorf("endpoint %v", raw)
		}
		return nil
	})
	e2e.Eventually(t, 20*time.Second, "the disabled notice delivered by webhook", func() error {
		ids := notices.ids(func(ev cloudevents.Event) bool {
			var d timelinev1.WebhookEndpointDisabled
			return ev.Type() == timelinev1.TypeWebhookEndpointDisabled && ev.DataAs(&d) == nil && d.EndpointID == brokenID &&
				d.LastStatus == http.StatusBadGateway && d.Reason == timelinev1.ReasonPersistentFailure
		})
		if len(ids) != 1 {
			return fmt.Errorf("%d notices", len(ids))
		}
		return nil
	})
}
