package service_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	timelinev1 "github.com/partnerhub/onboarding/pkg/events/timeline/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/timeline/internal/service"
)

// receiver is a webhook consumer as an integrator writes one: it verifies
// every delivery with the Standard Webhooks reference library (against any
// of its secrets) and reads the body with the official CloudEvents SDK. It
// answers fail(id) as its status (0: 204).
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secrets  []string
	fail     func(id string) int
	got      []cloudevents.Event
	sigs     map[string]int // per event id: signatures on the last request
	requests int
	refused  int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, sigs: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	verified := false
	for _, s := range r.secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err == nil && wh.Verify(body, req.Header) == nil {
			verified = true
		}
	}
	if !verified || req.Header.Get("Content-Type") != "application/cloudevents+json" {
		r.refused++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev cloudevents.Event
	if err := ev.UnmarshalJSON(body); err != nil || ev.ID() != req.Header.Get("webhook-id") {
		r.t.Errorf("delivery is not the CloudEvent its webhook-id names: %v\n%s", err, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.sigs[ev.ID()] = len(strings.Fields(req.Header.Get("webhook-signature")))
	if fail := r.fail; fail != nil {
		r.mu.Unlock() // a receiver holding one request answers the others
		status := fail(ev.ID())
		r.mu.Lock()
		if status != 0 {
			w.WriteHeader(status)
			_, _ = w.Write([]byte("try later"))
			return
		}
	}
	r.got = append(r.got, ev)
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) trust(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, secret)
}

func (r *receiver) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.got {
		out = append(out, ev.ID())
	}
	return out
}

// waitFor waits until the receiver accepted exactly want (any order).
func (r *receiver) waitFor(t *testing.T, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	testkit.Eventually(t, 10*time.Second, func() error {
		got := slices.Sorted(slices.Values(r.ids()))
		if !slices.Equal(got, want) {
			return fmt.Errorf("received %v, want %v", got, want)
		}
		return nil
	})
}

func (e *env) send(method, path string, p *auth.Principal, body any) answer {
	e.t.Helper()
	return e.sendWith(method, path, p, body, nil)
}

// sendWith is send with headers h.
func (e *env) sendWith(method, path string, p *auth.Principal, body any, h map[string]string) answer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p != nil {
		req.Header.Set("Authorization", "Bearer "+testkit.Token(e.t, e.signer, *p))
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, raw: string(raw), header: res.Header}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// register creates an endpoint for r and has r trust its secret.
func (e *env) register(p *auth.Principal, r *receiver, body map[string]any) (id, secret string) {
	e.t.Helper()
	body["url"] = r.srv.URL + "/hooks?token=query-secret"
	a := e.send(http.MethodPost, "/v1/webhooks/endpoints", p, body)
	if a.status != http.StatusCreated {
		e.t.Fatalf("register: %d %s", a.status, a.raw)
	}
	id, _ = a.body["id"].(string)
	secret, _ = a.body["secret"].(string)
	r.trust(secret)
	return id, secret
}

func fastRetries(c *service.Config) {
	c.WebhookAllowInsecure = true // the receivers are on loopback
	c.WebhookRetrySchedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	c.WebhookTimeout = 2 * time.Second
}

// TestWebhooks: endpoints receive the events their consumer may see that
// match their filter, signed per Standard Webhooks (verified here by the
// reference library), retried with backoff, logged, redelivered by hand,
// signed by both secrets during a rotation, and disabled with a notice
// after failing for the whole retry schedule.
func TestWebhooks(t *testing.T) {
	e := start(t, fastRetries)
	portalHooks, opsHooks := newReceiver(t), newReceiver(t)
	portal, portalSecret := e.register(upstreamPortal, portalHooks, map[string]any{"event_types": []string{"registration.", "com.partnerhub.email.ownership."}})
	ops, _ := e.register(operator, opsHooks, map[string]any{"description": "everything"})

	submitted := event(srcRegistration, registrationv1.TypeApplicationSubmitted, reseller, 1, t0,
		registrationv1.ApplicationSubmitted{PartnerID: reseller, Market: "JP", SubmittedBy: "upstream-portal", SubmittedAt: t0})
	submitted.AuthType, submitted.AuthID = "service_account", "upstream-portal"
	confirmed := event(srcEmail, emailv1.TypeOwnershipConfirmed, reseller, 1, t0,
		emailv1.OwnershipConfirmed{PartnerID: reseller, EnrollmentID: "EN-1", ChallengeID: "CH-1", Method: "link", ConfirmedAt: t0})
	mail := event(srcEmail, emailv1.TypeVerificationMailRequested, reseller, 2, t0,
		emailv1.VerificationMailRequested{PartnerID: reseller, EnrollmentID: "EN-1", ChallengeID: "CH-1", SealedSecret: []byte("sealed"), RequestedAt: t0})
	mail.DataClassification = emailv1.DataClassificationRestricted
	rejected := event(srcRegistration, registrationv1.TypeApplicationRejected, "intake-1", 1, t0, map[string]any{"intake_event_id": "intake-1"})
	rejected.AuthType, rejected.AuthID = "service_account", "upstream-portal"
	strangers := event(srcRegistration, registrationv1.TypeApplicationSubmitted, stranger, 1, t0,
		registrationv1.ApplicationSubmitted{PartnerID: stranger, Market: "JP", SubmittedBy: "other-portal", SubmittedAt: t0})
	version := event(srcAgreements, agreementsv1.TypeVersionPublished, "AV-2026-01", 1, t0,
		agreementsv1.VersionPublished{VersionID: "AV-2026-01", Program: registrationv1.ProgramIndirectReseller, PublishedAt: t0})
	for _, ev := range []ce.Event{submitted, confirmed, mail, rejected, strangers, version} {
		e.publish(ev)
	}

	t.Run("each endpoint gets what its consumer may see and its filter passes, verified by the reference library", func(t *testing.T) {
		portalHooks.waitFor(t, submitted.ID, confirmed.ID, rejected.ID)
		opsHooks.waitFor(t, submitted.ID, confirmed.ID, mail.ID, rejected.ID, strangers.ID, version.ID)
		if portalHooks.refused+opsHooks.refused != 0 {
			t.Errorf("%d deliveries failed the signature check", portalHooks.refused+opsHooks.refused)
		}
		for _, ev := range opsHooks.got {
			if ev.ID() != mail.ID {
				continue
			}
			var data map[string]any
			if err := ev.DataAs(&data); err != nil || data["sealed_secret"] != "[redacted]" {
				t.Errorf("restricted data delivered as %v (%v)", data, err)
			}
		}
		testkit.Eventually(t, 10*time.Second, func() error { // the outcome is recorded once the batch is sent
			a := e.get("/v1/webhooks/endpoints/"+portal+"/deliveries", upstreamPortal)
			list, _ := a.body["deliveries"].([]any)
			if a.status != http.StatusOK || len(list) != 3 {
				return fmt.Errorf("delivery log: %d %s", a.status, a.raw)
			}
			for _, d := range list {
				m := d.(map[string]any)
				logs, _ := m["attempt_log"].([]any)
				if m["state"] != "succeeded" || m["attempts"] != float64(1) || m["last_status"] != float64(204) || len(logs) != 1 {
					return fmt.Errorf("delivery %v", m)
				}
			}
			return nil
		})
	})

	t.Run("a failing endpoint is retried with backoff until it answers", func(t *testing.T) {
		tries := 0
		portalHooks.mu.Lock()
		portalHooks.fail = func(string) int {
			if tries++; tries <= 2 {
				return http.StatusServiceUnavailable
			}
			return 0
		}
		portalHooks.mu.Unlock()
		again := event(srcRegistration, registrationv1.TypePartnerActivated, reseller, 2, t0,
			registrationv1.PartnerActivated{PartnerID: reseller, Market: "JP", At: t0})
		e.publish(again)
		portalHooks.waitFor(t, submitted.ID, confirmed.ID, rejected.ID, again.ID)
		var d map[string]any
		testkit.Eventually(t, 10*time.Second, func() error {
			if d = e.delivery(portal, again.ID, upstreamPortal); d["state"] != "succeeded" {
				return fmt.Errorf("delivery %v", d)
			}
			return nil
		})
		logs := d["attempt_log"].([]any)
		if d["attempts"] != float64(3) || len(logs) != 3 {
			t.Fatalf("retried delivery %v", d)
		}
		first, third := logs[0].(map[string]any), logs[2].(map[string]any)
		if first["status"] != float64(503) || first["response"] != "try later" || !strings.Contains(first["error"].(string), "503") || third["status"] != float64(204) {
			t.Errorf("attempt log %v", logs)
		}
		portalHooks.mu.Lock()
		portalHooks.fail = nil
		portalHooks.mu.Unlock()
	})

	t.Run("manual redelivery sends a delivered event again, once", func(t *testing.T) {
		d := e.delivery(portal, submitted.ID, upstreamPortal)
		a := e.send(http.MethodPost, "/v1/webhooks/endpoints/"+portal+"/deliveries/"+d["id"].(string)+"/redeliver", upstreamPortal, nil)
		if a.status != http.StatusAccepted || a.body["state"] != "pending" {
			t.Fatalf("redeliver: %d %s", a.status, a.raw)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			d := e.delivery(portal, submitted.ID, upstreamPortal)
			logs := d["attempt_log"].([]any)
			if d["state"] != "succeeded" || len(logs) != 2 || logs[1].(map[string]any)["manual"] != true {
				return fmt.Errorf("delivery %v", d)
			}
			return nil
		})
		if n := slices.Index(portalHooks.ids(), submitted.ID); n < 0 || strings.Count(strings.Join(portalHooks.ids(), " "), submitted.ID) != 2 {
			t.Errorf("the receiver got the event %d times, want 2", strings.Count(strings.Join(portalHooks.ids(), " "), submitted.ID))
		}
	})

	t.Run("during a rotation both secrets sign; after it the new one alone", func(t *testing.T) {
		a := e.send(http.MethodPost, "/v1/webhooks/endpoints/"+portal+"/secret/rotate", upstreamPortal, map[string]any{"previous_secret_expires_in": 3600})
		secret, _ := a.body["secret"].(string)
		if a.status != http.StatusOK || secret == "" || secret == portalSecret || len(a.body["endpoint"].(map[string]any)["secrets"].([]any)) != 2 {
			t.Fatalf("rotate: %d %s", a.status, a.raw)
		}
		// The receiver still knows only the previous secret: it verifies.
		during := event(srcRegistration, registrationv1.TypeEnrollmentStatusChanged, reseller, 3, t0,
			registrationv1.EnrollmentStatusChanged{PartnerID: reseller, EnrollmentID: "EN-1", Program: registrationv1.ProgramIndirectReseller, At: t0})
		e.publish(during)
		testkit.Eventually(t, 10*time.Second, func() error {
			if !slices.Contains(portalHooks.ids(), during.ID) {
				return fmt.Errorf("not delivered yet")
			}
			return nil
		})
		portalHooks.mu.Lock()
		sigs := portalHooks.sigs[during.ID]
		portalHooks.secrets = []string{secret} // the receiver switches
		portalHooks.mu.Unlock()
		if sigs != 2 {
			t.Errorf("%d signatures during the rotation, want 2", sigs)
		}
		a = e.send(http.MethodPost, "/v1/webhooks/endpoints/"+portal+"/secret/rotate", upstreamPortal, map[string]any{"previous_secret_expires_in": 0})
		if a.status != http.StatusOK {
			t.Fatalf("rotate: %d %s", a.status, a.raw)
		}
		portalHooks.trust(a.body["secret"].(string))
		after := event(srcRegistration, registrationv1.TypeEnrollmentStatusChanged, reseller, 4, t0,
			registrationv1.EnrollmentStatusChanged{PartnerID: reseller, EnrollmentID: "EN-1", Program: registrationv1.ProgramIndirectReseller, At: t0})
		e.publish(after)
		testkit.Eventually(t, 10*time.Second, func() error {
			if !slices.Contains(portalHooks.ids(), after.ID) {
				return fmt.Errorf("not delivered yet")
			}
			return nil
		})
		portalHooks.mu.Lock()
		defer portalHooks.mu.Unlock()
		if portalHooks.sigs[after.ID] != 1 || portalHooks.refused != 0 {
			t.Errorf("after an immediate rotation: %d signatures, %d refused", portalHooks.sigs[after.ID], portalHooks.refused)
		}
	})

	t.Run("an endpoint failing for the whole schedule is disabled, with a notice, a log line and a metric", func(t *testing.T) {
		dead := newReceiver(t)
		dead.fail = func(string) int { return http.StatusInternalServerError }
		deadID, _ := e.register(operator, dead, map[string]any{"event_types": []string{"relationships."}})
		doomed := event(srcRelationships, "com.partnerhub.relationships.request.created.v1", reseller, 1, t0, map[string]any{"reseller_id": reseller})
		e.publish(doomed)
		testkit.Eventually(t, 10*time.Second, func() error {
			a := e.get("/v1/webhooks/endpoints/"+deadID, operator)
			if a.body["status"] != "disabled" {
				return fmt.Errorf("endpoint %s", a.raw)
			}
			return nil
		})
		a := e.get("/v1/webhooks/endpoints/"+deadID, operator)
		if a.body["disabled_reason"] != "persistent_failure" || a.body["failing_since"] == nil {
			t.Errorf("disabled endpoint %s", a.raw)
		}
		d := e.delivery(deadID, doomed.ID, operator)
		if d["state"] != "failed" || d["attempts"] != float64(3) || d["last_status"] != float64(500) {
			t.Errorf("exhausted delivery %v", d)
		}
		// The notice: on the bus, in the feed, in the log, in the metrics.
		var notice ce.Event
		testkit.Eventually(t, 10*time.Second, func() error {
			s, err := e.js.Stream(context.Background(), "TIMELINE")
			if err != nil {
				return err
			}
			m, err := s.GetLastMsgForSubject(context.Background(), "timeline.webhook_endpoint.disabled.v1.*")
			if err != nil {
				return err
			}
			h := map[string]string{}
			for k, v := range m.Header {
				h[k] = v[0]
			}
			notice, err = ce.Decode(h, m.Data)
			return err
		})
		var data timelinev1.WebhookEndpointDisabled
		if err := notice.DecodeData(&data, true); err != nil || notice.Subject != deadID || notice.Source != "/services/timeline" ||
			data.EndpointID != deadID || data.Consumer != "op-1" || data.Reason != timelinev1.ReasonPersistentFailure ||
			data.LastStatus != 500 || strings.Contains(data.URL, "query-secret") || data.LastDeliveryID != d["id"] {
			t.Errorf("notice %s %+v (%v)", notice.Subject, data, err)
		}
		if !strings.Contains(e.logs.String(), `"msg":"webhook endpoint disabled: it failed for the whole retry schedule"`) {
			t.Error("no log line for the disabled endpoint")
		}
		if m := e.get("/metrics", nil); !strings.Contains(m.raw, "partnerhub_webhook_endpoints_disabled_total 1") ||
			!strings.Contains(m.raw, `partnerhub_webhook_attempts_total{outcome="failed"} 1`) {
			t.Errorf("metrics:\n%s", grep(m.raw, "webhook"))
		}
		// Disabled: no more deliveries; redelivery refused until enabled.
		later := event(srcRelationships, "com.partnerhub.relationships.request.created.v1", reseller, 2, t0, map[string]any{"reseller_id": reseller})
		e.publish(later)
		e.settled()
		if a := e.send(http.MethodPost, "/v1/webhooks/endpoints/"+deadID+"/deliveries/"+d["id"].(string)+"/redeliver", operator, nil); a.status != http.StatusConflict || a.code() != "timeline.webhook_endpoint_disabled" {
			t.Errorf("redeliver to a disabled endpoint: %d %s", a.status, a.raw)
		}
		dead.mu.Lock()
		dead.fail = nil
		dead.mu.Unlock()
		if a := e.send(http.MethodPost, "/v1/webhooks/endpoints/"+deadID+"/enable", operator, nil); a.status != http.StatusOK || a.body["status"] != "enabled" {
			t.Fatalf("enable: %d %s", a.status, a.raw)
		}
		e.send(http.MethodPost, "/v1/webhooks/endpoints/"+deadID+"/deliveries/"+d["id"].(string)+"/redeliver", operator, nil)
		dead.waitFor(t, doomed.ID) // not the event recorded while it was disabled: that one is in the feed
	})

	t.Run("who may manage which endpoint", func(t *testing.T) {
		other := &auth.Principal{Kind: auth.KindService, Subject: "other-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}
		for _, tt := range []struct {
			name   string
			method string
			path   string
			p      *auth.Principal
			body   any
			status int
			code   string
		}{
			{"another upstream's endpoint", http.MethodGet, "/v1/webhooks/endpoints/" + portal, other, nil, 404, "timeline.webhook_endpoint_unknown"},
			{"an operator's endpoint", http.MethodGet, "/v1/webhooks/endpoints/" + ops, upstreamPortal, nil, 404, "timeline.webhook_endpoint_unknown"},
			{"an operator sees any", http.MethodGet, "/v1/webhooks/endpoints/" + portal, operator, nil, 200, ""},
			{"a partner admin", http.MethodGet, "/v1/webhooks/endpoints", user("a-1", reseller, auth.RolePartnerAdmin), nil, 403, "auth.role_required"},
			{"anonymous", http.MethodGet, "/v1/webhooks/endpoints", nil, nil, 401, ""},
			{"upstream for another consumer", http.MethodPost, "/v1/webhooks/endpoints", upstreamPortal,
				map[string]any{"url": "https://example.com/h", "consumer": "other-portal"}, 403, "auth.role_required"},
			{"upstream with scope all", http.MethodPost, "/v1/webhooks/endpoints", upstreamPortal,
				map[string]any{"url": "https://example.com/h", "scope": "all"}, 403, "auth.role_required"},
			{"not https", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "ftp://example.com/h"}, 422, "timeline.invalid_webhook_endpoint"},
			{"credentials in the URL", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "https://u:p@example.com/h"}, 422, "timeline.invalid_webhook_endpoint"},
			{"bad type filter", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "https://example.com/h", "event_types": []string{"Registration Stuff"}}, 422, "timeline.invalid_webhook_endpoint"},
			{"a type filter no event matches (was 201: an endpoint never called)", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "https://example.com/h", "event_types": []string{"registraton."}}, 422, "timeline.invalid_webhook_endpoint"},
			{"port out of range", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "https://example.com:99999/h"}, 422, "timeline.invalid_webhook_endpoint"},
			{"bidi override in the description", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "https://example.com/h", "description": "CRM \u202eevil"}, 422, "timeline.invalid_webhook_endpoint"},
			{"bidi override in the consumer", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "https://example.com/h", "consumer": "crm\u202elatrop"}, 422, "timeline.invalid_webhook_endpoint"},
			{"zero-width space in the consumer", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "https://example.com/h", "consumer": "crm\u200b-portal"}, 422, "timeline.invalid_webhook_endpoint"},
			{"unknown member", http.MethodPost, "/v1/webhooks/endpoints", operator, map[string]any{"url": "https://example.com/h", "secret": "mine"}, 400, "request.unknown_field"},
			{"rotation too long", http.MethodPost, "/v1/webhooks/endpoints/" + portal + "/secret/rotate", upstreamPortal, map[string]any{"previous_secret_expires_in": 9999999}, 422, "timeline.invalid_rotation"},
			{"unknown delivery", http.MethodPost, "/v1/webhooks/endpoints/" + portal + "/deliveries/wd_nope/redeliver", upstreamPortal, nil, 404, "timeline.webhook_delivery_unknown"},
			{"bad state", http.MethodGet, "/v1/webhooks/endpoints/" + portal + "/deliveries?state=lost", upstreamPortal, nil, 422, "timeline.invalid_state"},
			// was 200 with an empty page (after every id) or a page from the start
			{"endpoints after a cursor not given here", http.MethodGet, "/v1/webhooks/endpoints?after=zzz", operator, nil, 422, "timeline.invalid_cursor"},
			{"endpoints after an id that is not an endpoint's", http.MethodGet, "/v1/webhooks/endpoints?after=we_", operator, nil, 422, "timeline.invalid_cursor"},
			{"endpoints after an endpoint", http.MethodGet, "/v1/webhooks/endpoints?after=" + portal, operator, nil, 200, ""},
		} {
			a := e.send(tt.method, tt.path, tt.p, tt.body)
			if a.status != tt.status || (tt.code != "" && a.code() != tt.code) {
				t.Errorf("%s: %d %s", tt.name, a.status, a.raw)
			}
		}
		list := e.get("/v1/webhooks/endpoints", upstreamPortal)
		if eps, _ := list.body["endpoints"].([]any); len(eps) != 1 || eps[0].(map[string]any)["id"] != portal {
			t.Errorf("an upstream system lists %s", list.raw)
		}
		updated := e.send(http.MethodPatch, "/v1/webhooks/endpoints/"+portal, upstreamPortal, map[string]any{"event_types": []string{"verification.case."}})
		if types, _ := updated.body["event_types"].([]any); updated.status != 200 || len(types) != 1 || types[0] != "com.partnerhub.verification.case." {
			t.Errorf("update: %d %s", updated.status, updated.raw)
		}
		if a := e.send(http.MethodDelete, "/v1/webhooks/endpoints/"+ops, operator, nil); a.status != http.StatusNoContent {
			t.Errorf("delete: %d %s", a.status, a.raw)
		}
		if a := e.get("/v1/webhooks/endpoints/"+ops, operator); a.status != http.StatusNotFound {
			t.Errorf("deleted endpoint: %d", a.status)
		}
	})

	t.Run("secrets never leave in clear but once", func(t *testing.T) {
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(portalSecret, "whsec_"))
		rows, err := e.svc.Base.Pool.Query(context.Background(), `SELECT sealed FROM webhook_secrets`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var sealed []byte
			_ = rows.Scan(&sealed)
			if bytes.Contains(sealed, key) || bytes.Contains(sealed, []byte(portalSecret)) {
				t.Error("a secret is stored in clear")
			}
		}
		rows.Close()
		if strings.Contains(e.logs.String(), strings.TrimPrefix(portalSecret, "whsec_")) || strings.Contains(e.logs.String(), "query-secret") {
			t.Error("a secret or the URL's query reached the log")
		}
		if a := e.get("/v1/webhooks/endpoints/"+portal, upstreamPortal); strings.Contains(a.raw, "whsec_") {
			t.Errorf("an endpoint shows its secret: %s", a.raw)
		}
	})
}

// delivery is the endpoint's delivery of event id, as the log shows it.
func (e *env) delivery(endpoint, eventID string, p *auth.Principal) map[string]any {
	e.t.Helper()
	var found map[string]any
	testkit.Eventually(e.t, 10*time.Second, func() error {
		a := e.get("/v1/webhooks/endpoints/"+endpoint+"/deliveries?limit=200", p)
		list, _ := a.body["deliveries"].([]any)
		for _, d := range list {
			if m := d.(map[string]any); m["event_id"] == eventID {
				found = m
				return nil
			}
		}
		return fmt.Errorf("no delivery of %s in %s", eventID, a.raw)
	})
	return found
}

// TestARedeliveryAskedForDuringAnAttemptIsMade: "redeliver" pressed while
// an attempt is in flight is made after it, whatever that attempt's
// outcome, and as an attempt by hand: after a scheduled attempt that
// succeeded the receiver gets the event again; after one that failed the
// redelivery uses up no retry and the schedule resumes where that attempt
// set it.
func TestARedeliveryAskedForDuringAnAttemptIsMade(t *testing.T) {
	for _, outcome := range []int{0, http.StatusInternalServerError} {
		t.Run(fmt.Sprintf("the attempt answered %d", outcome), func(t *testing.T) {
			e := start(t, fastRetries, func(c *service.Config) { c.WebhookRetrySchedule = []time.Duration{time.Hour, time.Hour} })
			hooks := newReceiver(t)
			entered, release := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			hooks.fail = func(string) int {
				if calls.Add(1) == 1 {
					close(entered)
					<-release // held until the redelivery was asked for
					return outcome
				}
				return http.StatusInternalServerError // the redelivery: failed, by hand
			}
			id, _ := e.register(operator, hooks, map[string]any{"event_types": []string{"relationships."}})
			ev := event(srcRelationships, "com.partnerhub.relationships.request.created.v1", reseller, 1, t0, map[string]any{"reseller_id": reseller})
			e.publish(ev)
			select {
			case <-entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the first attempt never reached the receiver")
			}
			d := e.delivery(id, ev.ID, operator)
			if a := e.send(http.MethodPost, "/v1/webhooks/endpoints/"+id+"/deliveries/"+d["id"].(string)+"/redeliver", operator, nil); a.status != http.StatusAccepted {
				t.Fatalf("redeliver during the attempt: %d %s", a.status, a.raw)
			}
			close(release)
			testkit.Eventually(t, 10*time.Second, func() error {
				if d = e.delivery(id, ev.ID, operator); d["attempts"] != float64(2) || d["state"] == "pending" && d["next_attempt_at"] == nil {
					return fmt.Errorf("delivery %v (receiver called %d times)", d, calls.Load())
				}
				return nil
			})
			log, _ := d["attempt_log"].([]any)
			if calls.Load() != 2 || len(log) != 2 || log[1].(map[string]any)["manual"] != true {
				t.Fatalf("after the redelivery asked for during the attempt: receiver called %d times, log %v", calls.Load(), log)
			}
			switch outcome {
			case 0: // a finished delivery gets one attempt by hand and no retry
				if d["state"] != "failed" {
					t.Fatalf("a succeeded delivery whose redelivery by hand failed: %v", d)
				}
			default: // the schedule resumes where the failed attempt set it: an hour after it
				next, err := time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string))
				first, _ := time.Parse(time.RFC3339Nano, log[0].(map[string]any)["at"].(string))
				if err != nil || d["state"] != "pending" || next.Before(first.Add(time.Hour)) || next.After(first.Add(time.Hour+15*time.Second)) {
					t.Fatalf("after a failed scheduled attempt and a failed one by hand: %v (first attempt at %s)", d, first)
				}
			}
		})
	}
}

func grep(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRedeliveriesByHandUseUpNoRetry: an integrator pressing "redeliver"
// on a pending delivery while its receiver still fails gets one attempt
// each time, beside the retry schedule: the schedule's next attempt stays
// where it was and the endpoint is not disabled (before, each attempt by
// hand used up a retry, and eight presses in twelve seconds disabled the
// endpoint as failing for the whole ~28 h schedule, cancelling its pending
// deliveries). Once the receiver is fixed, one more press delivers.
func TestRedeliveriesByHandUseUpNoRetry(t *testing.T) {
	e := start(t, fastRetries, func(c *service.Config) { c.WebhookRetrySchedule = []time.Duration{time.Hour, time.Hour} })
	hooks := newReceiver(t)
	hooks.fail = func(string) int { return http.StatusInternalServerError }
	id, _ := e.register(operator, hooks, map[string]any{"event_types": []string{"relationships."}})
	ev := event(srcRelationships, "com.partnerhub.relationships.request.created.v1", reseller, 1, t0, map[string]any{"reseller_id": reseller})
	e.publish(ev)
	var d map[string]any
	testkit.Eventually(t, 10*time.Second, func() error {
		if d = e.delivery(id, ev.ID, operator); d["attempts"] != float64(1) || d["state"] != "pending" {
			return fmt.Errorf("delivery %v", d)
		}
		return nil
	})
	next := d["next_attempt_at"]
	for i := 2; i <= 6; i++ {
		a := e.send(http.MethodPost, "/v1/webhooks/endpoints/"+id+"/deliveries/"+d["id"].(string)+"/redeliver", operator, nil)
		if a.status != http.StatusAccepted {
			t.Fatalf("redeliver: %d %s", a.status, a.raw)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			if d = e.delivery(id, ev.ID, operator); d["attempts"] != float64(i) {
				return fmt.Errorf("delivery %v", d)
			}
			return nil
		})
		if d["state"] != "pending" || d["next_attempt_at"] != next {
			t.Fatalf("after %d attempts by hand: %s, next attempt %v (was %v)", i-1, d["state"], d["next_attempt_at"], next)
		}
	}
	if a := e.get("/v1/webhooks/endpoints/"+id, operator); a.body["status"] != "enabled" {
		t.Fatalf("endpoint after five failed attempts by hand: %s", a.raw)
	}
	hooks.mu.Lock()
	hooks.fail = nil
	hooks.mu.Unlock()
	e.send(http.MethodPost, "/v1/webhooks/endpoints/"+id+"/deliveries/"+d["id"].(string)+"/redeliver", operator, nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		if d = e.delivery(id, ev.ID, operator); d["state"] != "succeeded" {
			return fmt.Errorf("delivery %v", d)
		}
		return nil
	})
}

// TestASlowReceiverHoldsOnlyItsOwnRequests: a receiver that holds its
// requests delays neither the next events' deliveries to other endpoints
// nor the recording of theirs, and takes at most half of the requests the
// dispatcher may have in flight (before, the dispatcher waited for every
// request of a batch before it sent the next: one receiver holding a
// request held every endpoint's deliveries, up to WEBHOOK_TIMEOUT).
func TestASlowReceiverHoldsOnlyItsOwnRequests(t *testing.T) {
	e := start(t, fastRetries, func(c *service.Config) {
		c.WebhookConcurrency = 2
		c.WebhookTimeout = time.Minute // the slow receiver's requests are held, never cut short, during the test
	})
	slow, fast := newReceiver(t), newReceiver(t)
	release := make(chan struct{})
	released := sync.OnceFunc(func() { close(release) })
	t.Cleanup(released)
	var held atomic.Int32
	slow.fail = func(string) int {
		held.Add(1)
		defer held.Add(-1)
		<-release
		return 0
	}
	slowID, _ := e.register(operator, slow, map[string]any{"event_types": []string{"relationships."}})
	fastID, _ := e.register(operator, fast, map[string]any{"event_types": []string{"relationships."}})
	var ids []string
	for i := range 3 {
		ev := event(srcRelationships, "com.partnerhub.relationships.request.created.v1", reseller, uint64(i+1), t0.Add(time.Duration(i)*time.Second), map[string]any{"reseller_id": reseller})
		e.publish(ev)
		ids = append(ids, ev.ID)
		if i == 0 {
			testkit.Eventually(t, 10*time.Second, func() error {
				if held.Load() == 0 {
					return errors.New("the slow receiver has no request yet")
				}
				return nil
			})
		}
	}
	fast.waitFor(t, ids...)
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, id := range ids {
			if d := e.delivery(fastID, id, operator); d["state"] != "succeeded" {
				return fmt.Errorf("the fast receiver's delivery of %s while the slow one holds its request: %v", id, d)
			}
		}
		return nil
	})
	if n := held.Load(); n != 1 {
		t.Fatalf("the slow receiver holds %d requests of the 2 the dispatcher may have in flight; want 1 (its half)", n)
	}
	released()
	slow.waitFor(t, ids...)
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, id := range ids {
			if d := e.delivery(slowID, id, operator); d["state"] != "succeeded" || d["attempts"] != float64(1) {
				return fmt.Errorf("the slow receiver's delivery of %s once released: %v", id, d)
			}
		}
		return nil
	})
}

// TestAWebhookRequestInFlightAtShutdownIsRecorded: a service stopping
// while a receiver holds a request lets that request end and records it
// (before, the shutdown cut it short, unrecorded, and the event was sent
// again after a restart, once the delivery's lease ended).
func TestAWebhookRequestInFlightAtShutdownIsRecorded(t *testing.T) {
	e := start(t, fastRetries, func(c *service.Config) { c.WebhookTimeout = 30 * time.Second })
	hooks := newReceiver(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hooks.fail = func(string) int {
		once.Do(func() { close(entered) })
		<-release
		return 0
	}
	released := sync.OnceFunc(func() { close(release) })
	t.Cleanup(released) // before the receiver closes (cleanups run last first)
	e.register(operator, hooks, map[string]any{"event_types": []string{"relationships."}})
	ev := event(srcRelationships, "com.partnerhub.relationships.request.created.v1", reseller, 1, t0, map[string]any{"reseller_id": reseller})
	e.publish(ev)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the attempt never reached the receiver")
	}
	stopped := make(chan struct{})
	go func() { e.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("the service stopped without waiting for the request in flight")
	case <-time.After(500 * time.Millisecond):
	}
	released()
	select {
	case <-stopped:
	case <-time.After(15 * time.Second):
		t.Fatal("the service did not stop once the request ended")
	}
	hooks.waitFor(t, ev.ID)
	db := e.adminDB()
	var state string
	var attempts int
	if err := db.QueryRow(context.Background(), "SELECT state, attempts FROM timeline.webhook_deliveries WHERE event_id = $1", ev.ID).Scan(&state, &attempts); err != nil {
		t.Fatal(err)
	}
	if state != "succeeded" || attempts != 1 {
		t.Fatalf("after the shutdown the delivery is %s with %d attempts, want succeeded with 1", state, attempts)
	}
}

// A client that lost the answer to its endpoint's creation retries it under
// the same Idempotency-Key: it gets the endpoint it created and its secret
// (before: a second endpoint, and every event delivered twice).
func TestARetriedEndpointCreationAnswersTheEndpointItCreated(t *testing.T) {
	e := start(t, fastRetries)
	body := map[string]any{"url": "https://hooks.example/crm", "event_types": []string{"registration."}}
	create := func(p *auth.Principal, key string, body any) answer {
		return e.sendWith(http.MethodPost, "/v1/webhooks/endpoints", p, body, map[string]string{"Idempotency-Key": key})
	}
	first := create(upstreamPortal, "k-1", body)
	id, _ := first.body["id"].(string)
	secret, _ := first.body["secret"].(string)
	if first.status != http.StatusCreated || id == "" || !strings.HasPrefix(secret, "whsec_") || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v %s", first.status, first.header, first.raw)
	}
	again := create(upstreamPortal, "k-1", body)
	if again.status != http.StatusCreated || again.body["id"] != id || again.body["secret"] != secret ||
		again.header.Get("Idempotent-Replayed") != "true" || again.header.Get("Location") != "/v1/webhooks/endpoints/"+id {
		t.Fatalf("retry: %d %v %s, want %s with its secret, replayed", again.status, again.header, again.raw, id)
	}
	if a := create(upstreamPortal, "k-1", map[string]any{"url": "https://hooks.example/other"}); a.status != 422 || a.code() != "idempotency.key_reused" {
		t.Errorf("another body under k-1: %d %s", a.status, a.raw)
	}
	other := &auth.Principal{Kind: auth.KindService, Subject: "other-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}
	if a := create(other, "k-1", body); a.status != http.StatusCreated || a.body["id"] == id || a.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("another principal's k-1: %d %s, want its own endpoint", a.status, a.raw)
	}
	// A refused request leaves its key free for the corrected one.
	if a := create(upstreamPortal, "k-2", map[string]any{"url": "ftp://hooks.example/x"}); a.status != 422 || a.code() != "timeline.invalid_webhook_endpoint" {
		t.Errorf("refused: %d %s", a.status, a.raw)
	}
	if a := create(upstreamPortal, "k-2", body); a.status != http.StatusCreated || a.body["id"] == id || a.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("corrected under k-2: %d %s", a.status, a.raw)
	}
	if a := create(upstreamPortal, "caf\u00e9", body); a.status != 422 || a.code() != "idempotency.key_invalid" || !strings.Contains(a.raw, `"header.Idempotency-Key"`) {
		t.Errorf("a key that is not ASCII: %d %s", a.status, a.raw)
	}
	// After a rotation the retry shows the secret that signs now.
	rotated := e.send(http.MethodPost, "/v1/webhooks/endpoints/"+id+"/secret/rotate", upstreamPortal, map[string]any{"previous_secret_expires_in": 60})
	newSecret, _ := rotated.body["secret"].(string)
	if rotated.status != http.StatusOK || newSecret == "" || newSecret == secret {
		t.Fatalf("rotate: %d %s", rotated.status, rotated.raw)
	}
	if a := create(upstreamPortal, "k-1", body); a.status != http.StatusCreated || a.body["id"] != id || a.body["secret"] != newSecret {
		t.Errorf("retry after a rotation: %d %s, want the rotated secret", a.status, a.raw)
	}
	list := e.get("/v1/webhooks/endpoints", upstreamPortal)
	if eps, _ := list.body["endpoints"].([]any); len(eps) != 2 {
		t.Errorf("the upstream system has %d endpoints, want 2 (k-1's and k-2's): %s", len(eps), list.raw)
	}
}

// A retried creation whose endpoint has no secret the service can open (the
// key WEBHOOK_SECRET_KEY seals them with was changed since) cannot show the
// secret again: 409 timeline.secret_unavailable, naming the rotation that
// makes a new one; after it, the retry answers with the new secret.
func TestARetriedCreationWhoseSecretCannotBeOpenedSaysToRotate(t *testing.T) {
	e := start(t, fastRetries)
	body := map[string]any{"url": "https://hooks.example/crm", "event_types": []string{"registration."}}
	create := func() answer {
		return e.sendWith(http.MethodPost, "/v1/webhooks/endpoints", upstreamPortal, body, map[string]string{"Idempotency-Key": "k-sealed"})
	}
	first := create()
	id, _ := first.body["id"].(string)
	if first.status != http.StatusCreated || id == "" {
		t.Fatalf("first: %d %s", first.status, first.raw)
	}
	// What another key sealed: the service cannot open it (its last byte is
	// the AEAD tag's).
	tag, err := e.adminDB().Exec(context.Background(), `UPDATE timeline.webhook_secrets
		SET sealed = overlay(sealed placing set_byte('\x00'::bytea, 0, get_byte(sealed, length(sealed) - 1) # 1) from length(sealed))
		WHERE endpoint_id = $1`, id)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("reseal: %v %v", tag, err)
	}
	again := create()
	if again.status != http.StatusConflict || again.code() != "timeline.secret_unavailable" ||
		!strings.Contains(again.raw, "/v1/webhooks/endpoints/"+id+"/secret/rotate") || strings.Contains(again.raw, "whsec_") {
		t.Fatalf("retry: %d %s, want 409 timeline.secret_unavailable naming the rotation", again.status, again.raw)
	}
	rotated := e.send(http.MethodPost, "/v1/webhooks/endpoints/"+id+"/secret/rotate", upstreamPortal, map[string]any{"previous_secret_expires_in": 0})
	newSecret, _ := rotated.body["secret"].(string)
	if rotated.status != http.StatusOK || !strings.HasPrefix(newSecret, "whsec_") {
		t.Fatalf("rotate: %d %s", rotated.status, rotated.raw)
	}
	if a := create(); a.status != http.StatusCreated || a.body["id"] != id || a.body["secret"] != newSecret || a.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry after the rotation: %d %s, want %s with the new secret", a.status, a.raw, id)
	}
}
