package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
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
	"github.com/partnerhub/onboarding/pkg/contract"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	intakev1 "github.com/partnerhub/onboarding/pkg/events/intake/v1"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	regv2 "github.com/partnerhub/onboarding/pkg/events/registration/v2"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	verificationv2 "github.com/partnerhub/onboarding/pkg/events/verification/v2"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestRegisterOverHTTP submits a registration (after two refused under its
// key) and follows it to the row, the
// event on JetStream (valid against its schema) and the read API; then
// replays it with the same Idempotency-Key, reuses the key wrongly and
// sends keys that cannot be stored.
func TestRegisterOverHTTP(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	body := mustJSON(t, registration())
	// Refused for what they say, a body that does not decode (400) and one
	// without its market (422) leave the key free: the corrected request
	// uses it (it was idempotency.key_reused).
	wrong := registration()
	wrong["fax"] = "03-0000-0000"
	if r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, wrong), "Idempotency-Key", "k-1"); r.Status != http.StatusBadRequest {
		t.Fatalf("unknown member: %d %s", r.Status, r.Body)
	}
	delete(wrong, "fax")
	delete(wrong, "market")
	if r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, wrong), "Idempotency-Key", "k-1"); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("no market: %d %s", r.Status, r.Body)
	}
	res := e.do(t, "POST", "/v1/registrations", tok, "application/json", body, "Idempotency-Key", "k-1")
	if res.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	view := res.json(t)
	partnerID, _ := view["partner_id"].(string)
	locationID, _ := view["location_id"].(string)
	if !strings.HasPrefix(partnerID, "PG-") || !strings.HasPrefix(locationID, "PL-") || view["status"] != "pending" {
		t.Fatalf("ids/status: %s", res.Body)
	}
	norm := view["normalized"].(map[string]any)["company"].(map[string]any)
	if norm["legal_name"] != "株式会社みらいクラウド" || norm["phone_e164"] != "+81312345678" {
		t.Fatalf("normalized: %v", norm)
	}
	if res.Header.Get("Location") != "/v1/registrations/"+partnerID {
		t.Errorf("Location %q", res.Header.Get("Location"))
	}

	var n int
	if err := e.svc.Base.Pool.QueryRow(context.Background(), "SELECT count(*) FROM partners WHERE id=$1", partnerID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("partner row: %d %v", n, err)
	}
	ev := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationSubmitted), func(ev ce.Event) bool { return ev.Subject == partnerID })
	if ev.Source != "/services/registration" || ev.PartitionKey != partnerID || ev.Sequence != 1 || ev.AuthID != "upstream-portal" ||
		ev.DataSchema == "" || ev.CorrelationID == "" {
		t.Errorf("envelope: %+v", ev)
	}
	if err := contract.ValidateJSON(regv1.TypeApplicationSubmitted, ev.Data); err != nil {
		t.Fatal(err)
	}
	var sub regv1.ApplicationSubmitted
	if err := json.Unmarshal(ev.Data, &sub); err != nil || sub.Contact.EmailDomain != "mirai-cloud.co.jp" || len(sub.Enrollments) != 2 {
		t.Fatalf("payload: %+v %v", sub, err)
	}

	// Same key, same body: the original response, marked as a replay.
	again := e.do(t, "POST", "/v1/registrations", tok, "application/json", body, "Idempotency-Key", "k-1")
	if again.Status != http.StatusCreated || string(again.Body) != string(res.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s %v", again.Status, again.Body, again.Header)
	}
	// Same key, another body: refused.
	other := registration()
	other["language"] = "en"
	reuse := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, other), "Idempotency-Key", "k-1")
	if reuse.Status != http.StatusUnprocessableEntity || reuse.json(t)["code"] != "idempotency.key_reused" {
		t.Fatalf("key reuse: %d %s", reuse.Status, reuse.Body)
	}

	// A key that cannot be stored as text (not UTF-8: a 500 before), or
	// with a control character, is refused before anything is written.
	for _, key := range []string{"k-\xff\xfe", "k\t2", strings.Repeat("k", 256)} {
		bad := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, other), "Idempotency-Key", key)
		if bad.Status != http.StatusUnprocessableEntity || bad.json(t)["code"] != "idempotency.key_invalid" {
			t.Fatalf("Idempotency-Key %q: %d %s", key, bad.Status, bad.Body)
		}
		// The header is named as a field, as a path or query parameter is.
		if errs, _ := bad.json(t)["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != "header.Idempotency-Key" {
			t.Fatalf("Idempotency-Key %q: field errors %v, want header.Idempotency-Key", key, bad.json(t)["errors"])
		}
	}

	// The reads, by the upstream and by the partner's own user.
	got := e.do(t, "GET", "/v1/registrations/"+partnerID, tok, "", nil)
	if got.Status != 200 || got.json(t)["partner_id"] != partnerID {
		t.Fatalf("get registration: %d %s", got.Status, got.Body)
	}
	own := e.token(t, auth.Principal{Subject: "u1", PartnerID: partnerID, Roles: []auth.Role{auth.RolePartnerUser}})
	if r := e.do(t, "GET", "/v1/partners/"+partnerID, own, "", nil); r.Status != 200 {
		t.Fatalf("own partner: %d %s", r.Status, r.Body)
	}
	// Another partner's user learns nothing: 404, not 403.
	stranger := e.token(t, auth.Principal{Subject: "u2", PartnerID: "PG-0000-0000-000", Roles: []auth.Role{auth.RolePartnerAdmin}})
	if r := e.do(t, "GET", "/v1/partners/"+partnerID, stranger, "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("other partner: %d %s", r.Status, r.Body)
	}
	// The market cannot change.
	mk := e.do(t, "PUT", "/v1/partners/"+partnerID+"/market", tok, "application/json", []byte(`{"market":"US"}`))
	if mk.Status != http.StatusConflict || mk.json(t)["code"] != "registration.market_immutable" {
		t.Fatalf("market change: %d %s", mk.Status, mk.Body)
	}
}

// TestAuthorizationOnEveryRoute: no token → 401 with a challenge; a known
// caller without the role → 403 with a code.
func TestAuthorizationOnEveryRoute(t *testing.T) {
	e := start(t)
	partnerUser := e.token(t, auth.Principal{Subject: "u1", PartnerID: "PG-0000-0000-000", Roles: []auth.Role{auth.RolePartnerUser}})
	routes := []struct{ method, path, body string }{
		{"POST", "/v1/registrations", `{}`},
		{"GET", "/v1/registrations/PG-0000-0000-000", ""},
		{"GET", "/v1/partners/PG-0000-0000-000", ""},
		{"PUT", "/v1/partners/PG-0000-0000-000/market", `{"market":"JP"}`},
		{"PUT", "/v1/partners/PG-0000-0000-000/enrollments/indirect_reseller/location", `{"location_id":"PL-0000-0000-000"}`},
		{"POST", "/v1/duplicate-claims", `{"duplicate_attempt_id":"DA-0000-0000-000","statement":"x"}`},
		{"PUT", "/v1/partners/PG-0000-0000-000/compliance-hold", `{"note":"x"}`},
		{"DELETE", "/v1/partners/PG-0000-0000-000/compliance-hold", ""},
		{"POST", "/v1/partners/PG-0000-0000-000/closure", `{"note":"x"}`},
		{"POST", "/v1/partners/PG-0000-0000-000/reactivation", ""},
		{"GET", "/v1/partners/PG-0000-0000-000/security-requirements", ""},
		{"PUT", "/v1/partners/PG-0000-0000-000/security-requirements", `{"status":"compliant"}`},
		{"GET", "/v1/partners/PG-0000-0000-000/enrollments/indirect_reseller/requirements", ""},
	}
	for _, rt := range routes {
		r := e.do(t, rt.method, rt.path, "", "application/json", []byte(rt.body))
		if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s %s without token: %d %v", rt.method, rt.path, r.Status, r.Header.Get("WWW-Authenticate"))
		}
		r = e.do(t, rt.method, rt.path, "not-a-jwt", "application/json", []byte(rt.body))
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s %s with a bad token: %d", rt.method, rt.path, r.Status)
		}
	}
	r := e.do(t, "POST", "/v1/registrations", partnerUser, "application/json", mustJSON(t, registration()))
	if r.Status != http.StatusForbidden || r.json(t)["code"] != "auth.role_required" {
		t.Fatalf("partner user submitting: %d %s", r.Status, r.Body)
	}
}

// TestBadInputGetsPreciseErrors: each bad request gets a problem document
// with the code that names what is wrong, never a 5xx.
func TestBadInputGetsPreciseErrors(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	mutate := func(f func(m map[string]any)) []byte {
		m := registration()
		f(m)
		return mustJSON(t, m)
	}
	company := func(m map[string]any) map[string]any { return m["company"].(map[string]any) }
	cases := []struct {
		name        string
		contentType string
		body        []byte
		status      int
		code        string
		fieldCode   string
	}{
		{"malformed JSON", "application/json", []byte(`{"market":`), 400, "request.malformed_json", ""},
		{"wrong content type", "text/plain", mustJSON(t, registration()), 415, "request.unsupported_media_type", ""},
		{"body over 64 KiB", "application/json", []byte(`{"market":"` + strings.Repeat("J", 70<<10) + `"}`), 413, "request.body_too_large", ""},
		{"invalid UTF-8", "application/json", []byte("{\"market\":\"J\xffP\"}"), 400, "request.invalid_utf8", ""},
		{"unknown field", "application/json", mutate(func(m map[string]any) { m["nickname"] = "x" }), 400, "request.unknown_field", ""},
		{"missing fields", "application/json", []byte(`{"market":"JP"}`), 422, "registration.invalid_input", "field.required"},
		{"invalid country", "application/json", mutate(func(m map[string]any) { m["market"] = "XX" }), 422, "registration.invalid_input", "country.invalid"},
		{"bad check digit", "application/json", mutate(func(m map[string]any) {
			company(m)["registration_number"] = map[string]any{"scheme": "jp_corporate_number", "value": "1000012050002"}
		}), 422, "registration.invalid_input", "registration_number.check_digit"},
		{"free-mail address", "application/json", mutate(func(m map[string]any) {
			m["contact"].(map[string]any)["email"] = "taro@gmail.com"
		}), 422, "registration.invalid_input", "email.free_mail_domain"},
		{"vendor tenant address", "application/json", mutate(func(m map[string]any) {
			m["contact"].(map[string]any)["email"] = "taro@mirai.onmicrosoft.com"
		}), 422, "registration.invalid_input", "email.tenant_domain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/v1/registrations", tok, c.contentType, c.body)
			if r.Status != c.status || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d (%s): %s", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
			p := r.json(t)
			if p["code"] != c.code {
				t.Fatalf("code %v, want %s: %s", p["code"], c.code, r.Body)
			}
			if c.fieldCode != "" && !strings.Contains(string(r.Body), `"code":"`+c.fieldCode+`"`) {
				t.Fatalf("no field error %s: %s", c.fieldCode, r.Body)
			}
		})
	}
}

// TestDuplicateEntityIsRefusedOnNormalizedIdentity: the same company with
// the tricks the old system let through (legal-form spelling, width, a
// trailing space or dot) is refused, says what matched, and a claim can be
// filed instead.
func TestDuplicateEntityIsRefusedOnNormalizedIdentity(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	first := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, registration()))
	if first.Status != 201 {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	existing := first.json(t)
	// An identifier of the existing partner, in any member, or anything
	// that starts like one; not "PG-" inside another identifier (a
	// duplicate attempt's "DA-TPPG-…" is random and may hold it).
	leak := regexp.MustCompile(`"(PG|PL)-`)
	tricks := []func(m map[string]any){
		func(m map[string]any) {
			m["company"].(map[string]any)["legal_name"] = "株式会社みらいクラウド "
		},
		func(m map[string]any) { m["company"].(map[string]any)["legal_name"] = "㈱みらいクラウド." },
		func(m map[string]any) {
			c := m["company"].(map[string]any)
			c["legal_name"] = "(株)ﾐﾗｲｸﾗｳﾄﾞ"
			delete(c, "registration_number")
			c["legal_name"] = "（株）みらいクラウド"
			c["address"].(map[string]any)["line1"] = "丸の内５丁目２番地３"
		},
	}
	var attempt string
	for i, trick := range tricks {
		m := registration()
		trick(m)
		r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, m))
		if r.Status != http.StatusConflict {
			t.Fatalf("trick %d: %d %s", i, r.Status, r.Body)
		}
		p := r.json(t)
		if p["code"] != "registration.duplicate_entity" || p["matched_on"] == nil || p["duplicate_attempt_id"] == "" {
			t.Fatalf("trick %d: %s", i, r.Body)
		}
		if leak.Match(r.Body) || strings.Contains(string(r.Body), existing["partner_id"].(string)) ||
			strings.Contains(string(r.Body), existing["location_id"].(string)) {
			t.Fatalf("the refusal leaks the existing partner id: %s", r.Body)
		}
		attempt = p["duplicate_attempt_id"].(string)
	}
	claim := e.do(t, "POST", "/v1/duplicate-claims", tok, "application/json",
		mustJSON(t, map[string]string{"duplicate_attempt_id": attempt, "statement": "We are the registered company; our old contact left."}))
	if claim.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", claim.Status, claim.Body)
	}
	// v2 since round 47: the claimant's contact is there for the verifiers.
	ev := e.waitEvent(t, "REGISTRATION", ce.Topic(regv2.TypeDuplicateClaimFiled), func(ce.Event) bool { return true })
	if err := contract.ValidateJSON(regv2.TypeDuplicateClaimFiled, ev.Data); err != nil {
		t.Fatal(err)
	}
	var filed regv2.DuplicateClaimFiled
	if err := json.Unmarshal(ev.Data, &filed); err != nil || filed.Contact == nil || filed.Contact.Email == "" {
		t.Fatalf("filed claim without the claimant's contact: %s (%v)", ev.Data, err)
	}
}

// TestIntakeEventsAnsweredWithSameCodes: an upstream's intake event gets a
// submitted event (causationid = its id) or a rejected event with the HTTP
// codes; a replayed intake event registers nothing new, and one reusing an
// id for other data is rejected (cloudevent.id_reused) without registering
// it; an event without a known principal is dead-lettered with the reason.
func TestIntakeEventsAnsweredWithSameCodes(t *testing.T) {
	e := start(t)
	who := map[string]string{"ce-authtype": "service_account", "ce-authid": "upstream-portal"}
	okID := e.publish(t, intakev1.TypeRegistrationRequested, mustJSON(t, registration()), who)
	sub := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationSubmitted), func(ev ce.Event) bool { return ev.CausationID == okID })
	if sub.CorrelationID != okID {
		t.Errorf("correlation id %q, want the intake id", sub.CorrelationID)
	}

	bad := registration()
	bad["contact"].(map[string]any)["email"] = "x@yahoo.co.jp"
	badID := e.publish(t, intakev1.TypeRegistrationRequested, mustJSON(t, bad), who)
	rej := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationRejected), func(ev ce.Event) bool { return ev.CausationID == badID })
	var r regv1.ApplicationRejected
	_ = json.Unmarshal(rej.Data, &r)
	if r.Code != "registration.invalid_input" || r.Status != 422 || len(r.Errors) == 0 || r.Errors[0].Code != "email.free_mail_domain" {
		t.Fatalf("rejection: %+v", r)
	}
	if err := contract.ValidateJSON(regv1.TypeApplicationRejected, rej.Data); err != nil {
		t.Fatal(err)
	}

	// A replay of the accepted intake event (same ce-id) changes nothing.
	again := func(data []byte) {
		m := nats.NewMsg(ce.Topic(intakev1.TypeRegistrationRequested))
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": okID, "ce-source": "/tests", "ce-type": intakev1.TypeRegistrationRequested,
			"ce-authtype": "service_account", "ce-authid": "upstream-portal"} {
			m.Header[k] = []string{v}
		}
		m.Data = data
		if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	again(mustJSON(t, registration()))
	noPrincipal := e.publish(t, intakev1.TypeRegistrationRequested, mustJSON(t, registration()), nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, d := range e.deadLetters(t) {
			if d.Header.Get(ce.HID) == noPrincipal && d.Header.Get(bus.DLQCode) == "auth.principal_missing" {
				return nil
			}
		}
		return fmt.Errorf("no dead letter for the event without a principal")
	})
	// The replay was consumed before the later event was dead-lettered (one
	// durable, in order). Without the inbox it would have been refused as a
	// duplicate of itself: no rejection may name the accepted intake id.
	for _, m := range e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationRejected)) {
		if m.Header.Get(ce.HCausationID) == okID {
			t.Fatalf("the replayed intake event was processed again: %s", m.Data)
		}
	}

	// The accepted intake's id reused for another company: rejected, with
	// that id as causation, and the company is not registered.
	other := registration()
	other["company"].(map[string]any)["legal_name"] = "（株）あおばシステム"
	other["company"].(map[string]any)["registration_number"] = map[string]any{"scheme": "jp_corporate_number", "value": "3010001088782"}
	other["contact"].(map[string]any)["email"] = "hanako@aoba-system.co.jp"
	again(mustJSON(t, other))
	reused := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationRejected), func(ev ce.Event) bool { return ev.CausationID == okID })
	_ = json.Unmarshal(reused.Data, &r)
	if r.Code != bus.CodeIDReused || r.Status != http.StatusConflict || r.IntakeEventID != okID || !strings.Contains(r.Detail, okID) {
		t.Fatalf("the reused id's rejection: %+v", r)
	}
	if err := contract.ValidateJSON(regv1.TypeApplicationRejected, reused.Data); err != nil {
		t.Fatal(err)
	}
	again(mustJSON(t, other))                                           // the reused one delivered again: answered once
	e.publish(t, intakev1.TypeRegistrationRequested, []byte(`{}`), nil) // dead-lettered after it, on the same durable
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := len(e.deadLetters(t)); n != 2 {
			return fmt.Errorf("%d dead letters, want 2", n)
		}
		return nil
	})
	var answers int
	for _, m := range e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationRejected)) {
		if m.Header.Get(ce.HCausationID) == okID {
			answers++
		}
	}
	if answers != 1 {
		t.Fatalf("the reused id was answered %d times, want once", answers)
	}
	var partners int
	_ = e.svc.Base.Pool.QueryRow(context.Background(), "SELECT count(*) FROM partners").Scan(&partners)
	if partners != 1 {
		t.Fatalf("%d partners after a replay and a reused id, want 1", partners)
	}
	if n := len(e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationSubmitted))); n != 1 {
		t.Fatalf("%d submitted events, want 1", n)
	}
}

// TestBadIntakeEnvelopesAreDeadLettered: broken CloudEvents never crash the
// service and do not block the good event behind them.
func TestBadIntakeEnvelopesAreDeadLettered(t *testing.T) {
	e := start(t)
	who := map[string]string{"ce-authtype": "service_account", "ce-authid": "upstream-portal"}
	noSpec := map[string]string{"ce-specversion": "", "ce-authid": "upstream-portal", "ce-authtype": "service_account"}
	noType := map[string]string{"ce-type": "", "ce-authid": "upstream-portal", "ce-authtype": "service_account"}
	cases := []struct {
		name string
		ext  map[string]string
		data []byte
		code string
	}{
		{"missing specversion", noSpec, mustJSON(t, registration()), ce.CodeMissingSpecVersion},
		{"missing type", noType, mustJSON(t, registration()), ce.CodeMissingType},
		{"non-JSON data", who, []byte("company=x"), ce.CodeNotJSON},
		{"oversized data", who, []byte(`{"market":"` + strings.Repeat("x", 70<<10) + `"}`), ce.CodeTooLarge},
		{"unknown type on the subject", map[string]string{"ce-type": "com.partnerhub.intake.registration.deleted.v1"}, []byte(`{}`), ce.CodeUnknownType},
	}
	ids := map[string]string{}
	for _, c := range cases {
		ids[e.publish(t, intakev1.TypeRegistrationRequested, c.data, c.ext)] = c.code
	}
	good := e.publish(t, intakev1.TypeRegistrationRequested, mustJSON(t, registration()), who)
	e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationSubmitted), func(ev ce.Event) bool { return ev.CausationID == good })
	testkit.Eventually(t, 10*time.Second, func() error {
		seen := map[string]string{}
		for _, d := range e.deadLetters(t) {
			seen[d.Header.Get(ce.HID)] = d.Header.Get(bus.DLQCode)
		}
		for id, code := range ids {
			if seen[id] != code {
				return fmt.Errorf("event %s: dead letter code %q, want %s", id, seen[id], code)
			}
		}
		return nil
	})
	if r := e.do(t, "GET", "/readyz", "", "", nil); r.Status != 200 {
		t.Fatalf("not ready after poison: %d %s", r.Status, r.Body)
	}
}

// TestOfficialSDKInterop: the CloudEvents Go SDK publishes an intake event
// and reads our emitted event with its own binding, no glue.
func TestOfficialSDKInterop(t *testing.T) {
	e := start(t)
	sender, err := cejs.NewSender(e.nats, "INTAKE", ce.Topic(intakev1.TypeRegistrationRequested), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(context.Background())
	client, err := cloudevents.NewClient(sender)
	if err != nil {
		t.Fatal(err)
	}
	in := cloudevents.NewEvent()
	in.SetID("sdk-" + testkit.RandomID(6))
	in.SetSource("/upstream/crm")
	in.SetType(intakev1.TypeRegistrationRequested)
	in.SetExtension("authtype", "service_account")
	in.SetExtension("authid", "upstream-portal")
	if err := in.SetData(cloudevents.ApplicationJSON, registration()); err != nil {
		t.Fatal(err)
	}
	if res := client.Send(context.Background(), in); cloudevents.IsUndelivered(res) {
		t.Fatalf("sdk send: %v", res)
	}
	ev := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationSubmitted), func(ev ce.Event) bool { return ev.CausationID == in.ID() })

	raw := e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationSubmitted))
	var msg *nats.Msg
	for _, m := range raw {
		if m.Header.Get(ce.HID) == ev.ID {
			msg = &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
		}
	}
	got, err := binding.ToEvent(context.Background(), cejs.NewMessage(msg))
	if err != nil {
		t.Fatalf("the SDK cannot read our event: %v", err)
	}
	if got.ID() != ev.ID || got.Type() != regv1.TypeApplicationSubmitted || got.Subject() != ev.Subject ||
		got.Extensions()["sequence"] != ce.FormatSequence(1) || got.Extensions()["causationid"] != in.ID() {
		t.Fatalf("sdk view: %s", got)
	}
	var p regv1.ApplicationSubmitted
	if err := got.DataAs(&p); err != nil || p.PartnerID != ev.Subject {
		t.Fatalf("sdk data: %v %+v", err, p)
	}
}

// TestLifecycleConsumers: verification approved activates the IDs and
// qualifies the reseller enrollment; the agreement acceptance activates it;
// a replay changes nothing.
func TestLifecycleConsumers(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, registration()))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	view := r.json(t)
	pid, lid := view["partner_id"].(string), view["location_id"].(string)
	approved := mustJSON(t, verificationv1.VerificationApproved{CaseID: "c1", PartnerID: pid, LocationID: lid, Market: "JP",
		DecisionID: "d1", ApprovedAt: time.Now().UTC()})
	e.publish(t, verificationv1.TypeVerificationApproved, approved, nil)
	e.publish(t, verificationv1.TypeVerificationApproved, approved, nil) // another delivery of the same fact
	statuses := func() map[string]string {
		got := e.do(t, "GET", "/v1/partners/"+pid, tok, "", nil).json(t)
		out := map[string]string{"partner": fmt.Sprint(got["status"])}
		for _, en := range got["enrollments"].([]any) {
			m := en.(map[string]any)
			out[m["program"].(string)] = m["status"].(string)
		}
		for _, l := range got["locations"].([]any) {
			out["location"] = l.(map[string]any)["status"].(string)
		}
		return out
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		s := statuses()
		if s["partner"] != "active" || s["location"] != "active" || s["partner_network"] != "active" || s["indirect_reseller"] != "pending_email_confirmation" {
			return fmt.Errorf("after approval: %v", s)
		}
		return nil
	})
	// The reseller enrollment's own confirmation qualifies it (seed 002 step 17).
	e.confirmEmail(t, pid, enrollmentID(t, view, "indirect_reseller"), "indirect_reseller")
	testkit.Eventually(t, 10*time.Second, func() error {
		if s := statuses(); s["indirect_reseller"] != "qualified" {
			return fmt.Errorf("after the reseller's confirmation: %v", s)
		}
		return nil
	})
	e.publish(t, "com.partnerhub.agreements.acceptance.recorded.v1", mustJSON(t, map[string]any{
		"acceptance_id": "AC-1", "partner_id": pid, "location_id": lid, "program": "indirect_reseller", "market": "JP", "extra": true}), nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		if s := statuses(); s["indirect_reseller"] != "active" {
			return fmt.Errorf("after acceptance: %v", s)
		}
		return nil
	})
	// partner_network → active, reseller → pending_email_confirmation →
	// qualified → active (the last may still be on its way from the outbox).
	var changed []*jetstream.RawStreamMsg
	testkit.Eventually(t, 10*time.Second, func() error {
		if changed = e.streamEvents(t, "REGISTRATION", ce.Topic(regv1.TypeEnrollmentStatusChanged)); len(changed) != 4 {
			return fmt.Errorf("%d status-changed events, want 4", len(changed))
		}
		return nil
	})
	for _, m := range changed {
		if err := contract.ValidateJSON(regv1.TypeEnrollmentStatusChanged, m.Data); err != nil {
			t.Fatal(err)
		}
	}
	act := e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypePartnerActivated), func(ev ce.Event) bool { return ev.Subject == pid })
	if err := contract.ValidateJSON(regv1.TypePartnerActivated, act.Data); err != nil {
		t.Fatal(err)
	}
	// Sequences of one partner are gap-free in publication order.
	var seqs []uint64
	for _, m := range e.streamEvents(t, "REGISTRATION", "") {
		if ev, err := decodeRaw(m); err == nil && ev.Subject == pid {
			seqs = append(seqs, ev.Sequence)
		}
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("sequence not gap-free: %v", seqs)
		}
	}
}

// TestProviderAgreementActivatesProviderEnrollment: the acceptance of the
// provider agreement (which names the location as evidence) activates the
// indirect_provider enrollment.
func TestProviderAgreementActivatesProviderEnrollment(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	m := registration()
	m["programs"] = []any{map[string]any{"program": "partner_network"}, map[string]any{"program": "indirect_provider"}}
	r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, m))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	pid, lid := r.json(t)["partner_id"].(string), r.json(t)["location_id"].(string)
	e.confirmEmail(t, pid, enrollmentID(t, r.json(t), "indirect_provider"), "indirect_provider")
	e.publish(t, verificationv1.TypeVerificationApproved, mustJSON(t, verificationv1.VerificationApproved{CaseID: "c1", PartnerID: pid,
		LocationID: lid, Market: "JP", DecisionID: "d1", ApprovedAt: time.Now().UTC()}), nil)
	e.publish(t, "com.partnerhub.agreements.acceptance.recorded.v1", mustJSON(t, map[string]any{
		"acceptance_id": "AC-2", "partner_id": pid, "location_id": lid, "program": "indirect_provider", "market": "JP"}), nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		got := e.do(t, "GET", "/v1/partners/"+pid, tok, "", nil).json(t)
		for _, en := range got["enrollments"].([]any) {
			if en := en.(map[string]any); en["program"] == "indirect_provider" && en["status"] == "active" {
				return nil
			}
		}
		return fmt.Errorf("provider enrollment not active: %v", got["enrollments"])
	})
	if n := len(e.deadLetters(t)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

// TestAcceptanceBeforeApprovalWaitsForIt: the acceptance overtakes the
// approval (they come on different durables; a backlog after a restart
// delivers both at once). It is retried, not dead-lettered, and applies
// once the approval has.
func TestAcceptanceBeforeApprovalWaitsForIt(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	m := registration()
	m["programs"] = []any{map[string]any{"program": "partner_network"}, map[string]any{"program": "indirect_provider"}}
	r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, m))
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	pid, lid := r.json(t)["partner_id"].(string), r.json(t)["location_id"].(string)
	e.confirmEmail(t, pid, enrollmentID(t, r.json(t), "indirect_provider"), "indirect_provider")
	e.publish(t, "com.partnerhub.agreements.acceptance.recorded.v1", mustJSON(t, map[string]any{
		"acceptance_id": "AC-early", "partner_id": pid, "location_id": lid, "program": "indirect_provider", "market": "JP"}), nil)
	time.Sleep(300 * time.Millisecond) // the acceptance is handled (and refused) first
	e.publish(t, verificationv1.TypeVerificationApproved, mustJSON(t, verificationv1.VerificationApproved{CaseID: "c1", PartnerID: pid,
		LocationID: lid, Market: "JP", DecisionID: "d1", ApprovedAt: time.Now().UTC()}), nil)
	testkit.Eventually(t, 15*time.Second, func() error {
		got := e.do(t, "GET", "/v1/partners/"+pid, tok, "", nil).json(t)
		for _, en := range got["enrollments"].([]any) {
			if en := en.(map[string]any); en["program"] == "indirect_provider" && en["status"] == "active" {
				return nil
			}
		}
		return fmt.Errorf("provider enrollment not active: %v", got["enrollments"])
	})
	if dl := e.deadLetters(t); len(dl) != 0 {
		t.Fatalf("dead-lettered: %s", dl[0].Header.Get("dlq-code"))
	}
}

// TestConcurrentDuplicatesOneWins: the same company submitted at once by
// several callers yields exactly one partner; the others are duplicates.
func TestConcurrentDuplicatesOneWins(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	var wg sync.WaitGroup
	codes := make([]int, 6)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, registration())).Status
		}(i)
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 409:
		default:
			t.Fatalf("unexpected status in %v", codes)
		}
	}
	if created != 1 {
		t.Fatalf("%d created, want exactly 1 (%v)", created, codes)
	}
}

// TestASubmissionFromAClientWhoseUserAgentIsNotUTF8: HTTP lets a header
// carry any byte; the User-Agent went into the audit row as sent, Postgres
// refused it, and the submission answered 500.
func TestASubmissionFromAClientWhoseUserAgentIsNotUTF8(t *testing.T) {
	e := start(t)
	r := e.do(t, "POST", "/v1/registrations", e.token(t, upstream), "application/json", mustJSON(t, registration()), "User-Agent", "crm-sync\xff/2.1")
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var ua string
	err := e.svc.Base.Pool.QueryRow(context.Background(), `SELECT user_agent FROM audit_log WHERE subject = $1 AND event_type = $2`,
		r.json(t)["partner_id"], regv1.TypeApplicationSubmitted).Scan(&ua)
	if err != nil || ua != "crm-sync\uFFFD/2.1" {
		t.Fatalf("audit user agent %q (%v)", ua, err)
	}
}

// TestRegistrationShowsEmailOwnership: the ownership-confirmed event of the
// e-mail service shows in the registration's status; the actor of the
// submission is in the audit trail with where it came from.
func TestRegistrationShowsEmailOwnership(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, registration()), "User-Agent", "crm-sync/2.1")
	if r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	view := r.json(t)
	pid := view["partner_id"].(string)
	enrollment := view["enrollments"].([]any)[0].(map[string]any)["id"].(string)
	e.publish(t, emailv1.TypeOwnershipConfirmed, mustJSON(t, emailv1.OwnershipConfirmed{PartnerID: pid, EnrollmentID: enrollment,
		Program: "partner_network", ChallengeID: "ch-1", Address: "taro.yamada@mirai-cloud.co.jp", Method: "link",
		ConfirmedAt: time.Now().UTC()}), nil)
	testkit.Eventually(t, 10*time.Second, func() error {
		got := e.do(t, "GET", "/v1/registrations/"+pid, tok, "", nil).json(t)
		list, _ := got["email_ownership"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["enrollment_id"] != enrollment {
			return fmt.Errorf("email_ownership = %v", got["email_ownership"])
		}
		return nil
	})

	var sub, kind, ua, ip, rid string
	var roles []string
	err := e.svc.Base.Pool.QueryRow(context.Background(), `SELECT actor_sub, actor_kind, actor_roles, user_agent, source_ip, request_id
		FROM audit_log WHERE subject = $1 AND event_type = $2`, pid, regv1.TypeApplicationSubmitted).Scan(&sub, &kind, &roles, &ua, &ip, &rid)
	if err != nil {
		t.Fatalf("no audit row for the submission: %v", err)
	}
	if sub != "upstream-portal" || kind != "service" || len(roles) != 1 || roles[0] != "upstream_system" ||
		ua != "crm-sync/2.1" || ip != "127.0.0.1" || rid == "" {
		t.Fatalf("audit row: sub=%s kind=%s roles=%v ua=%s ip=%s rid=%s", sub, kind, roles, ua, ip, rid)
	}
}

// TestABoundSystemActsOnlyFromItsOwnBusUser: a directory account bound to
// a bus user (crm-west in the development directory) is taken only from
// that user's own intake subject; naming it on the shared subject or on
// another user's, or naming an account of the shared user on crm-west's
// subject, is dead-lettered (auth.principal_not_publisher) and registers
// nothing. The NATS permissions that keep each user to its own subject
// are tested in deploy/local/stack.
func TestABoundSystemActsOnlyFromItsOwnBusUser(t *testing.T) {
	e := start(t)
	publishOn := func(subject, authid string, data []byte) string {
		id := ce.NewID()
		m := nats.NewMsg(subject)
		for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": "/crm", "ce-type": intakev1.TypeRegistrationRequested,
			"ce-datacontenttype": "application/json", "ce-authtype": "service_account", "ce-authid": authid} {
			m.Header[k] = []string{v}
		}
		m.Data = data
		if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		return id
	}
	own := bus.IntakeSubject(intakev1.TypeRegistrationRequested, "crm-west")
	refused := []string{
		publishOn(bus.IntakeSubject(intakev1.TypeRegistrationRequested, ""), "crm-west", mustJSON(t, registration())),
		publishOn(bus.IntakeSubject(intakev1.TypeRegistrationRequested, "crm-east"), "crm-west", mustJSON(t, registration())),
		publishOn(own, "upstream-portal", mustJSON(t, registration())),
	}
	okID := publishOn(own, "crm-west", mustJSON(t, registration()))
	e.waitEvent(t, "REGISTRATION", ce.Topic(regv1.TypeApplicationSubmitted), func(ev ce.Event) bool { return ev.CausationID == okID })
	testkit.Eventually(t, 10*time.Second, func() error {
		got := map[string]string{}
		for _, d := range e.deadLetters(t) {
			got[d.Header.Get(ce.HID)] = d.Header.Get(bus.DLQCode)
		}
		for _, id := range refused {
			if got[id] != auth.CodePrincipalNotPublisher {
				return fmt.Errorf("dead letters %v; want %s for %v", got, auth.CodePrincipalNotPublisher, refused)
			}
		}
		return nil
	})
	var partners int
	_ = e.svc.Base.Pool.QueryRow(context.Background(), "SELECT count(*) FROM partners").Scan(&partners)
	if partners != 1 {
		t.Fatalf("%d partners, want the one crm-west registered from its own subject", partners)
	}
}

// TestARefusalOfEitherVersionIsRecorded: verification refuses claims with
// verification.duplicate_claim.refused.v2 since round 47 (no claimant) and
// refused them with v1 before; registration records either on the claim
// (the claimant reads it on GET /v1/duplicate-claims/{id}).
func TestARefusalOfEitherVersionIsRecorded(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	if r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, registration())); r.Status != http.StatusCreated {
		t.Fatalf("first: %d %s", r.Status, r.Body)
	}
	refusal := map[string]func(claimID, attemptID string) (string, any){
		"v2": func(claimID, attemptID string) (string, any) {
			return verificationv2.TypeDuplicateClaimRefused, verificationv2.DuplicateClaimRefused{ReviewID: "rv-" + claimID, DecisionID: "d-" + claimID,
				ClaimID: claimID, DuplicateAttemptID: attemptID, ExistingPartnerID: "PG-0000-0000-000", Market: "JP", Outcome: "refused",
				Reason: "insufficient_evidence", ReasonText: "the evidence does not show it", DecidedBy: "verifier-a", DecidedAt: time.Now().UTC()}
		},
		"v1": func(claimID, attemptID string) (string, any) {
			return verificationv1.TypeDuplicateClaimRefused, verificationv1.DuplicateClaimDecided{ReviewID: "rv-" + claimID, DecisionID: "d-" + claimID,
				ClaimID: claimID, DuplicateAttemptID: attemptID, ExistingPartnerID: "PG-0000-0000-000", Market: "JP", Outcome: "refused",
				Reason: "insufficient_evidence", ReasonText: "the evidence does not show it",
				Claimant:  verificationv1.Claimant{FirstName: "花子", LastName: "佐藤", Email: "hanako@example.jp", CompanyName: "株式会社みらいクラウド"},
				DecidedBy: "verifier-a", DecidedAt: time.Now().UTC()}
		},
	}
	for _, version := range []string{"v2", "v1"} {
		r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, registration()))
		if r.Status != http.StatusConflict {
			t.Fatalf("%s: the duplicate: %d %s", version, r.Status, r.Body)
		}
		attempt := r.json(t)["duplicate_attempt_id"].(string)
		c := e.do(t, "POST", "/v1/duplicate-claims", tok, "application/json",
			mustJSON(t, map[string]string{"duplicate_attempt_id": attempt, "statement": "We are the registered company."}))
		if c.Status != http.StatusCreated {
			t.Fatalf("%s: claim: %d %s", version, c.Status, c.Body)
		}
		claimID := c.json(t)["claim_id"].(string)
		typ, data := refusal[version](claimID, attempt)
		e.publish(t, typ, mustJSON(t, data), nil)
		testkit.Eventually(t, 10*time.Second, func() error {
			g := e.do(t, "GET", "/v1/duplicate-claims/"+claimID, tok, "", nil)
			if m := g.json(t); g.Status != http.StatusOK || m["status"] != "refused" || m["reason"] != "insufficient_evidence" {
				return fmt.Errorf("%s: the claim reads %d %s", version, g.Status, g.Body)
			}
			return nil
		})
	}
	if dl := e.deadLetters(t); len(dl) != 0 {
		t.Fatalf("%d dead letters", len(dl))
	}
}
