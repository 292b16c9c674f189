package cli

// The webhook commands against a fake timeline (requests, formatting, exit
// codes, secrets shown only once); the real timeline answers them in the
// end-to-end test (services/partnerctl/internal/e2e: PartnerctlFeedAndWebhooks).

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/auth"
)

const secret = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0zMmJ5dGVzIQ=="

// endpointJSON is a WebhookEndpoint as the timeline writes it.
func endpointJSON(status, extra string) string {
	return `{"id":"we_1","consumer":"crm-1","scope":"registered","url":"https://crm.example.com/hooks","description":"CRM sync",` +
		`"event_types":["com.partnerhub.registration.application.","com.partnerhub.verification.case."],"status":"` + status + `"` + extra + `,` +
		`"secrets":[{"id":"ws_2","created_at":"2026-11-21T11:00:00Z"},{"id":"ws_1","created_at":"2026-11-21T10:00:00Z","expires_at":"2026-11-22T11:00:00Z"}],` +
		`"created_by":"crm-1","created_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-21T11:00:00Z"}`
}

const deliveryJSON = `{"id":"wd_7","endpoint_id":"we_1","event_source":"/services/registration","event_id":"ev-1",` +
	`"event_type":"com.partnerhub.registration.application.submitted.v1","state":"failed","attempts":8,"last_status":502,` +
	`"last_error":"HTTP 502","attempt_log":[{"at":"2026-11-21T10:00:00Z","status":502,"duration_ms":12}],` +
	`"created_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-22T14:00:00Z"}`

func webhookFake(t *testing.T) *fakeAPI {
	f := newFakeAPI(t)
	f.mux.HandleFunc("POST /v1/webhooks/endpoints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/v1/webhooks/endpoints/we_1")
		writeJSONAnswer(w, 201, strings.TrimSuffix(endpointJSON("enabled", ""), "}")+`,"secret":"`+secret+`"}`)
	})
	f.mux.HandleFunc("GET /v1/webhooks/endpoints", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") == "" {
			writeJSONAnswer(w, 200, `{"endpoints":[`+endpointJSON("enabled", "")+`],"next":"p2"}`)
			return
		}
		writeJSONAnswer(w, 200, `{"endpoints":[`+strings.Replace(endpointJSON("disabled", `,"disabled_reason":"persistent_failure","disabled_at":"2026-11-22T14:00:00Z"`),
			`"we_1"`, `"we_2"`, 1)+`],"next":""}`)
	})
	f.mux.HandleFunc("GET /v1/webhooks/endpoints/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "we_1" {
			writeProblem(w, 404, "timeline.webhook_endpoint_unknown", "no such endpoint", nil)
			return
		}
		writeJSONAnswer(w, 200, endpointJSON("enabled", `,"failing_since":"2026-11-22T09:00:00Z"`))
	})
	f.mux.HandleFunc("PATCH /v1/webhooks/endpoints/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, endpointJSON("enabled", ""))
	})
	f.mux.HandleFunc("POST /v1/webhooks/endpoints/{id}/disable", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, endpointJSON("disabled", `,"disabled_reason":"disabled_by_caller","disabled_at":"2026-11-22T14:00:00Z"`))
	})
	f.mux.HandleFunc("POST /v1/webhooks/endpoints/{id}/enable", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, endpointJSON("enabled", ""))
	})
	f.mux.HandleFunc("DELETE /v1/webhooks/endpoints/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	f.mux.HandleFunc("POST /v1/webhooks/endpoints/{id}/secret/rotate", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"endpoint":`+endpointJSON("enabled", "")+`,"secret":"`+secret+`","previous_secret_expires_at":"2026-11-21T12:00:00Z"}`)
	})
	f.mux.HandleFunc("GET /v1/webhooks/endpoints/{id}/deliveries", func(w http.ResponseWriter, r *http.Request) {
		writeJSONAnswer(w, 200, `{"deliveries":[`+deliveryJSON+`],"next":""}`)
	})
	f.mux.HandleFunc("POST /v1/webhooks/endpoints/{id}/deliveries/{delivery}/redeliver", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("delivery") == "wd_1" {
			writeProblem(w, 409, "timeline.webhook_endpoint_disabled", "the endpoint is disabled: enable it first", nil)
			return
		}
		writeJSONAnswer(w, 202, strings.Replace(strings.Replace(deliveryJSON, `"failed"`, `"pending"`, 1), `"updated_at"`, `"next_attempt_at":"2026-11-22T14:05:00Z","updated_at"`, 1))
	})
	return f
}

func TestWebhooksCreatePrintsTheSecretOnce(t *testing.T) {
	f := webhookFake(t)
	code, out, errOut := runIn(t, "", nil, f.args("webhooks", "create", "--url", "https://crm.example.com/hooks",
		"--type", "registration.application.", "--type", "verification.case.", "--description", "CRM sync")...)
	if code != ExitOK {
		t.Fatalf("exit %d %s", code, errOut)
	}
	want := `endpoint:     we_1
status:       enabled
url:          https://crm.example.com/hooks
types:        registration.application.,verification.case.
consumer:     crm-1 (scope registered)
description:  CRM sync
signing key:  ws_2 created 2026-11-21 11:00:00Z
signing key:  ws_1 created 2026-11-21 10:00:00Z, signs until 2026-11-22 11:00:00Z
created:      2026-11-21 10:00:00Z by crm-1
updated:      2026-11-21 11:00:00Z
secret:       ` + secret + "\n"
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if strings.Count(out, "whsec_") != 1 || !strings.Contains(errOut, "shown only this once") || strings.Contains(errOut, "whsec_") {
		t.Errorf("the secret once on stdout with a warning on stderr: out %q err %q", out, errOut)
	}
	req := f.only(t, "POST", "/v1/webhooks/endpoints")
	var sent map[string]any
	if err := json.Unmarshal(req.body, &sent); err != nil || sent["url"] != "https://crm.example.com/hooks" || sent["description"] != "CRM sync" ||
		len(sent["event_types"].([]any)) != 2 || sent["consumer"] != nil || sent["scope"] != nil {
		t.Errorf("sent %s", req.body)
	}
	if !req.who.Has(auth.RoleOperator) {
		t.Errorf("acted as %+v, want an operator", req.who)
	}

	// As an upstream system, every type, -o json: the API's answer unchanged.
	code, out, errOut = runIn(t, "", nil, f.args("webhooks", "create", "--as-upstream", "--as-sub", "crm-1", "--url", "https://crm.example.com/hooks", "-o", "json")...)
	var created map[string]any
	if code != ExitOK || json.Unmarshal([]byte(out), &created) != nil || created["secret"] != secret || created["id"] != "we_1" ||
		!strings.Contains(errOut, "shown only this once") {
		t.Errorf("json: exit %d %s %s", code, out, errOut)
	}
	last := f.requests()[len(f.requests())-1]
	if last.who.Subject != "crm-1" || !last.who.Has(auth.RoleUpstreamSystem) || last.who.Kind != auth.KindService ||
		string(last.body) != `{"event_types":[],"url":"https://crm.example.com/hooks"}` {
		t.Errorf("upstream create: %s as %+v", last.body, last.who)
	}

	// An operator for another consumer.
	code, _, errOut = runIn(t, "", nil, f.args("webhooks", "create", "--url", "https://x.example/h", "--consumer", "crm-2", "--scope", "all")...)
	last = f.requests()[len(f.requests())-1]
	if code != ExitOK || string(last.body) != `{"consumer":"crm-2","event_types":[],"scope":"all","url":"https://x.example/h"}` {
		t.Errorf("consumer: exit %d %s, sent %s", code, errOut, last.body)
	}
}

func TestWebhooksManageAnEndpointWithoutEchoingSecrets(t *testing.T) {
	f := webhookFake(t)
	code, out, errOut := runIn(t, "", nil, f.args("webhooks", "list")...)
	want := `ENDPOINT  STATUS                                                 CONSUMER  SCOPE       TYPES                                         URL
we_1      enabled                                                crm-1     registered  registration.application.,verification.case.  https://crm.example.com/hooks
we_2      disabled (persistent failure at 2026-11-22 14:00:00Z)  crm-1     registered  registration.application.,verification.case.  https://crm.example.com/hooks
`
	if code != ExitOK || out != want {
		t.Errorf("list: exit %d %s\n%s\nwant\n%s", code, errOut, out, want)
	}
	if lq := f.requests(); len(lq) != 2 || lq[0].query != "limit=200" || lq[1].query != "after=p2&limit=200" {
		t.Errorf("list queries %+v", lq)
	}

	code, out, _ = runIn(t, "", nil, f.args("webhooks", "show", "we_1")...)
	if code != ExitOK || !strings.Contains(out, "failing since: 2026-11-22 09:00:00Z") || !strings.Contains(out, "signing key:  ws_2") ||
		strings.Contains(out, "whsec_") {
		t.Errorf("show: exit %d\n%s", code, out)
	}
	code, _, errOut = runIn(t, "", nil, f.args("webhooks", "show", "we_9")...)
	if code != ExitNotFound || !strings.Contains(errOut, "timeline.webhook_endpoint_unknown") {
		t.Errorf("unknown endpoint: exit %d %s", code, errOut)
	}

	code, out, _ = runIn(t, "", nil, f.args("webhooks", "disable", "we_1")...)
	if code != ExitOK || !strings.Contains(out, "status:       disabled (disabled by caller at 2026-11-22 14:00:00Z)") {
		t.Errorf("disable: exit %d\n%s", code, out)
	}
	f.only(t, "POST", "/v1/webhooks/endpoints/we_1/disable")
	code, out, _ = runIn(t, "", nil, f.args("webhooks", "enable", "we_1", "-o", "json")...)
	var ep map[string]any
	if code != ExitOK || json.Unmarshal([]byte(out), &ep) != nil || ep["status"] != "enabled" {
		t.Errorf("enable: exit %d\n%s", code, out)
	}
	f.only(t, "POST", "/v1/webhooks/endpoints/we_1/enable")

	code, _, errOut = runIn(t, "", nil, f.args("webhooks", "update", "we_1", "--type", "agreements.", "--description", "")...)
	req := f.only(t, "PATCH", "/v1/webhooks/endpoints/we_1")
	if code != ExitOK || string(req.body) != `{"description":"","event_types":["agreements."]}` {
		t.Errorf("update: exit %d %s, sent %s", code, errOut, req.body)
	}
	code, out, _ = runIn(t, "", nil, f.args("webhooks", "delete", "we_1")...)
	if f.only(t, "DELETE", "/v1/webhooks/endpoints/we_1"); code != ExitOK || out != "deleted we_1\n" {
		t.Errorf("delete: exit %d %q", code, out)
	}
	for _, r := range f.requests() {
		if !r.who.Has(auth.RoleOperator) {
			t.Errorf("%s %s as %+v", r.method, r.path, r.who)
		}
	}
}

func TestWebhooksRotateDeliveriesRedeliver(t *testing.T) {
	f := webhookFake(t)
	code, out, errOut := runIn(t, "", nil, f.args("webhooks", "rotate", "we_1", "--previous-expires-in", "1h")...)
	want := "endpoint:              we_1\nnew secret:            " + secret + "\nprevious secret until: 2026-11-21 12:00:00Z\n"
	if code != ExitOK || out != want || !strings.Contains(errOut, "shown only this once") {
		t.Errorf("rotate: exit %d\n%s\nwant\n%s%s", code, out, want, errOut)
	}
	if req := f.only(t, "POST", "/v1/webhooks/endpoints/we_1/secret/rotate"); string(req.body) != `{"previous_secret_expires_in":3600}` {
		t.Errorf("rotate sent %s", req.body)
	}
	code, _, _ = runIn(t, "", nil, f.args("webhooks", "rotate", "we_1", "--previous-expires-in", "0s")...)
	if last := f.requests()[len(f.requests())-1]; code != ExitOK || string(last.body) != `{"previous_secret_expires_in":0}` {
		t.Errorf("rotate 0s: exit %d sent %s", code, last.body)
	}

	code, out, errOut = runIn(t, "", nil, f.args("webhooks", "deliveries", "we_1", "--state", "failed")...)
	want = `DELIVERY  STATE   ATTEMPTS  LAST STATUS  LAST ERROR  EVENT TYPE                             EVENT ID  NEXT/UPDATED
wd_7      failed  8         502          HTTP 502    registration.application.submitted.v1  ev-1      2026-11-22 14:00:00Z
`
	if code != ExitOK || out != want {
		t.Errorf("deliveries: exit %d %s\n%s\nwant\n%s", code, errOut, out, want)
	}
	if req := f.only(t, "GET", "/v1/webhooks/endpoints/we_1/deliveries"); req.query != "limit=50&state=failed" {
		t.Errorf("deliveries query %q", req.query)
	}
	code, out, _ = runIn(t, "", nil, f.args("webhooks", "deliveries", "we_1", "-o", "json")...)
	var log struct {
		Deliveries []struct {
			AttemptLog []map[string]any `json:"attempt_log"`
		} `json:"deliveries"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &log) != nil || len(log.Deliveries) != 1 || len(log.Deliveries[0].AttemptLog) != 1 {
		t.Errorf("deliveries json: exit %d %s", code, out)
	}

	code, out, errOut = runIn(t, "", nil, f.args("webhooks", "redeliver", "we_1", "wd_7")...)
	if code != ExitOK || !strings.HasPrefix(out, "queued: wd_7 is sent again now") || !strings.Contains(out, "pending  8         502") ||
		!strings.Contains(out, "next 2026-11-22 14:05:00Z") {
		t.Errorf("redeliver: exit %d %s\n%s", code, errOut, out)
	}
	f.only(t, "POST", "/v1/webhooks/endpoints/we_1/deliveries/wd_7/redeliver")
	code, _, errOut = runIn(t, "", nil, f.args("webhooks", "redeliver", "we_1", "wd_1")...)
	if code != ExitRefused || !strings.Contains(errOut, "timeline.webhook_endpoint_disabled") {
		t.Errorf("redeliver conflict: exit %d %s", code, errOut)
	}
}
