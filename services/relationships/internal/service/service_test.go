package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	notifierv1 "github.com/partnerhub/onboarding/pkg/events/notifier/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/relationships/internal/app"
)

var (
	provider  = partnerSpec{id: "PG-PR0V-1000-001", location: "PL-PR0V-1000-001", market: "JP", name: "Kaisha Distribution K.K.", program: registrationv1.ProgramIndirectProvider}
	reseller  = partnerSpec{id: "PG-RES1-0000-00H", location: "PL-RES1-0000-00H", market: "JP", name: "Sakura Reseller K.K.", program: registrationv1.ProgramIndirectReseller}
	reseller2 = partnerSpec{id: "PG-RES2-0000-00F", location: "PL-RES2-0000-00F", market: "JP", name: "Fuji Reseller K.K.", program: registrationv1.ProgramIndirectReseller}

	providerAdmin = user("prov-admin", provider.id, auth.RoleProviderAdmin)
	resellerAdmin = user("res-admin", reseller.id, auth.RolePartnerAdmin)
)

// setup starts an instance with an active provider and an active reseller.
func setup(t *testing.T) (*env, *instance) {
	e := newEnv(t)
	inst := e.start()
	e.register(inst, provider, registrationv1.StatusActive)
	e.register(inst, reseller, registrationv1.StatusActive)
	return e, inst
}

func createRequest(t *testing.T, e *env, inst *instance, body map[string]any) (relID, token string) {
	t.Helper()
	r := e.call(inst, "POST", "/v1/relationship-requests", providerAdmin, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create request: %d %s", r.status, r.raw)
	}
	return r.str("relationship_id"), tokenOf(t, r.str("invitation_url"))
}

// TestInviteAuthoriseListEnd is the "done": an active provider
// invites an active reseller, the reseller's administrator sees what it
// consents to and authorises, the grant is listed on both sides with its
// expiry, and the reseller ends it — each step an event whose subject is the
// reseller's global ID and whose payload matches its schema.
func TestInviteAuthoriseListEnd(t *testing.T) {
	e, inst := setup(t)
	r := e.call(inst, "POST", "/v1/relationship-requests", providerAdmin, map[string]any{
		"reseller_location_id": reseller.location, "roles": []string{"support_agent", "billing_reader"}, "duration_days": 180,
	})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	link := r.str("invitation_url")
	if !strings.HasPrefix(link, "https://portal.partnerhub.example/invitations#token=") {
		t.Fatalf("invitation link %q", link)
	}
	relID, token := r.str("relationship_id"), tokenOf(t, link)

	v := e.call(inst, "GET", "/v1/invitation", resellerAdmin, nil, "Invitation-Token", token)
	if v.status != http.StatusOK {
		t.Fatalf("view: %d %s", v.status, v.raw)
	}
	addr, _ := v.body["provider_address"].(map[string]any)
	if v.str("provider_legal_name") != provider.name || addr["line1"] != "1-2-3 Marunouchi" || addr["postal_code"] != "100-0005" ||
		fmt.Sprint(v.body["roles"]) != "[billing_reader support_agent]" || v.body["duration_days"] != float64(180) ||
		!strings.Contains(v.str("consent_statement"), provider.name) {
		t.Fatalf("the view does not show what is consented to: %s", v.raw)
	}

	a := e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": token, "consent": true})
	if a.status != http.StatusOK {
		t.Fatalf("authorise: %d %s", a.status, a.raw)
	}
	wantExpiry := e.clock().Add(180 * 24 * time.Hour).Format(time.RFC3339)
	for _, side := range []struct {
		path string
		p    *auth.Principal
	}{{"/v1/provider/relationships", providerAdmin}, {"/v1/reseller/relationships", resellerAdmin}} {
		l := e.call(inst, "GET", side.path, side.p, nil)
		rows, _ := l.body["relationships"].([]any)
		if l.status != http.StatusOK || len(rows) != 1 {
			t.Fatalf("%s: %d %s", side.path, l.status, l.raw)
		}
		row := rows[0].(map[string]any)
		g, _ := row["grant"].(map[string]any)
		if row["state"] != "active" || g == nil || g["state"] != "active" || g["expires_at"] != wantExpiry {
			t.Fatalf("%s row: %v (want active grant expiring %s)", side.path, row, wantExpiry)
		}
	}

	// A reason that would read as something else at the other party, or
	// that no consumer could store, is refused and ends nothing.
	for reason, want := range map[string]string{`we changed\u202e distributor`: "422 relationships.invalid_reason reason.invalid_characters",
		`we changed\u0000 distributor`: "400 request.nul_character "} {
		bad := e.call(inst, "POST", "/v1/relationships/"+relID+"/end", resellerAdmin, json.RawMessage(`{"reason":"`+reason+`"}`))
		var fieldCode string
		if errs, _ := bad.body["errors"].([]any); len(errs) == 1 {
			fieldCode, _ = errs[0].(map[string]any)["code"].(string)
		}
		if got := fmt.Sprintf("%d %s %s", bad.status, bad.str("code"), fieldCode); got != want {
			t.Errorf("end with %s: %s, want %s: %s", reason, got, want, bad.raw)
		}
	}
	end := e.call(inst, "POST", "/v1/relationships/"+relID+"/end", resellerAdmin, map[string]any{"reason": "we changed distributor"})
	if end.status != http.StatusOK || end.str("ended_by") != "reseller" {
		t.Fatalf("end: %d %s", end.status, end.raw)
	}

	evs := e.waitEvent(relv1.TypeAccessTerminated, relID)
	want := []string{relv1.TypeRequestCreated, relv1.TypeRequestAccepted, relv1.TypeAccessGranted, relv1.TypeRelationshipEnded, relv1.TypeAccessTerminated}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Type)
		if ev.Subject != reseller.id || ev.Data["provider_id"] != provider.id || ev.Data["reseller_id"] != reseller.id {
			t.Errorf("%s: subject %q payload %v; want subject = reseller global ID and provider in the payload", ev.Type, ev.Subject, ev.Data)
		}
		if strings.Contains(string(ev.Raw), token) {
			t.Errorf("%s carries the invitation token", ev.Type)
		}
		if err := contract.ValidateJSON(ev.Type, ev.Raw); err != nil {
			t.Error(err)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	// The link the provider got travels to the reseller through the
	// notifier only: sealed to its key, bound to the request, and the
	// event marked restricted (readers redact sealed members).
	created := evs[0]
	var rc relv1.RequestCreated
	if err := json.Unmarshal(created.Raw, &rc); err != nil {
		t.Fatal(err)
	}
	plain, err := e.notifier.Open(rc.SealedInvitation)
	if err != nil {
		t.Fatalf("the notifier cannot open the invitation: %v", err)
	}
	var sealed sealedbox.Payload
	_ = json.Unmarshal(plain, &sealed)
	if sealed.Link != link || sealed.ChallengeID != rc.RequestID || rc.RequestID != r.str("request_id") || created.DataClassification != "restricted" {
		t.Fatalf("sealed invitation %+v for request %s (classification %q), want the provider's link %s", sealed, rc.RequestID, created.DataClassification, link)
	}
}

// TestRefusals covers the bad input: unknown, malformed, foreign,
// reused and expired tokens; consent missing; reseller not active; market
// mismatch; global target; duplicate requests.
func TestRefusals(t *testing.T) {
	e, inst := setup(t)
	notActive := partnerSpec{id: "PG-RES3-0000-00D", location: "PL-RES3-0000-00D", market: "JP", name: "Qualified Only K.K.", program: registrationv1.ProgramIndirectReseller}
	foreign := partnerSpec{id: "PG-RES4-0000-00B", location: "PL-RES4-0000-00B", market: "US", name: "Overseas Reseller Inc.", program: registrationv1.ProgramIndirectReseller}
	e.register(inst, notActive, registrationv1.StatusQualified)
	e.register(inst, foreign, registrationv1.StatusActive)
	e.register(inst, reseller2, registrationv1.StatusActive)

	relID, token := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller.location})
	check := func(name string, r resp, status int, code string) {
		t.Helper()
		if r.status != status || r.str("code") != code {
			t.Errorf("%s: got %d %s, want %d %s", name, r.status, r.raw, status, code)
		}
	}
	authorise := func(p *auth.Principal, tok string, consent bool) resp {
		return e.call(inst, "POST", "/v1/invitation/authorise", p, map[string]any{"token": tok, "consent": consent})
	}
	check("duplicate request", e.call(inst, "POST", "/v1/relationship-requests", providerAdmin,
		map[string]any{"reseller_location_id": reseller.location}), 409, app.CodeRequestPending)
	check("global target", e.call(inst, "POST", "/v1/relationship-requests", providerAdmin,
		map[string]any{"reseller_location_id": reseller.id}), 422, app.CodeTargetNotLocation)
	check("market mismatch", e.call(inst, "POST", "/v1/relationship-requests", providerAdmin,
		map[string]any{"reseller_location_id": foreign.location}), 409, app.CodeMarketMismatch)
	check("full admin never auto-extends", e.call(inst, "POST", "/v1/relationship-requests", providerAdmin,
		map[string]any{"reseller_location_id": reseller2.location, "roles": []string{"full_administrator"}, "auto_extend": true}), 422, app.CodeInvalidTerms)
	// What a request says is checked before the state of what it names: a
	// wrong request is 422 even where a request is already open, and one
	// naming no reseller is 422, not the 404 of an unknown one.
	check("bad terms while a request is open", e.call(inst, "POST", "/v1/relationship-requests", providerAdmin,
		map[string]any{"reseller_location_id": reseller.location, "roles": []string{"owner"}}), 422, app.CodeInvalidTerms)
	check("bad terms for an unknown reseller", e.call(inst, "POST", "/v1/relationship-requests", providerAdmin,
		map[string]any{"reseller_location_id": "PL-N0PE-N0PE-N0X", "duration_days": 731}), 422, app.CodeInvalidTerms)
	check("no reseller named", e.call(inst, "POST", "/v1/relationship-requests", providerAdmin, map[string]any{}),
		422, "relationships.reseller_location_missing")
	for _, answer := range []string{"authorise", "decline", "defer"} {
		body := map[string]any{}
		if answer == "authorise" {
			body["consent"] = true
		}
		r := e.call(inst, "POST", "/v1/invitation/"+answer, resellerAdmin, body)
		check(answer+" without a token", r, 422, "relationships.invitation_token_missing")
		if !strings.Contains(string(r.raw), `"field":"token"`) {
			t.Errorf("%s without a token: %s", answer, r.raw)
		}
	}

	// The header is named as a field, as a path or query parameter is.
	if r := e.call(inst, "GET", "/v1/invitation", resellerAdmin, nil); r.status != 422 || !strings.Contains(string(r.raw), `"field":"header.Invitation-Token","code":"field.required"`) {
		t.Errorf("view without the Invitation-Token header: %d %s", r.status, r.raw)
	}

	unknown := strings.Repeat("A", 43) // well-formed (32 bytes) but never issued
	check("unknown token", e.call(inst, "GET", "/v1/invitation", resellerAdmin, nil, "Invitation-Token", unknown), 404, app.CodeInvitationUnknown)
	check("malformed token", authorise(resellerAdmin, "not-a-token", true), 404, app.CodeInvitationUnknown)
	check("token of another reseller", e.call(inst, "GET", "/v1/invitation", user("r2", reseller2.id, auth.RolePartnerAdmin), nil,
		"Invitation-Token", token), 404, app.CodeInvitationUnknown)
	check("consent flag missing", e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": token}), 422, app.CodeConsentRequired)
	check("consent false", authorise(resellerAdmin, token, false), 422, app.CodeConsentRequired)

	first := authorise(resellerAdmin, token, true)
	if first.status != 200 {
		t.Fatalf("authorise: %d %s", first.status, first.raw)
	}
	// Sent again by its administrator (the answer lost): the same grant.
	if r := authorise(resellerAdmin, token, true); r.status != 200 || string(r.raw) != string(first.raw) {
		t.Errorf("authorise sent again: %d %s, first %s", r.status, r.raw, first.raw)
	}
	check("reused token (another administrator)", authorise(user("bob-2", reseller.id, auth.RolePartnerAdmin), token, true), 409, app.CodeInvitationUsed)
	check("reused token (decline)", e.call(inst, "POST", "/v1/invitation/decline", resellerAdmin, map[string]any{"token": token}), 409, app.CodeInvitationUsed)
	check("request while active", e.call(inst, "POST", "/v1/relationship-requests", providerAdmin,
		map[string]any{"reseller_location_id": reseller.location}), 409, app.CodeRelationshipExists)

	// Reseller not active: the request may be sent, consent is refused until
	// the reseller agreement is accepted.
	_, tok3 := createRequest(t, e, inst, map[string]any{"reseller_location_id": notActive.location})
	check("reseller not active", authorise(user("r3", notActive.id, auth.RolePartnerAdmin), tok3, true), 409, app.CodeResellerNotActive)

	// Expired: the clock passes the invitation's expiry.
	_, tok2 := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller2.location})
	r2 := user("r2", reseller2.id, auth.RolePartnerAdmin)
	if d := e.call(inst, "POST", "/v1/invitation/defer", r2, map[string]any{"token": tok2}); d.status != 200 {
		t.Fatalf("defer: %d %s", d.status, d.raw)
	}
	e.advance(90*24*time.Hour + time.Minute)
	check("expired token", authorise(r2, tok2, true), 409, app.CodeInvitationExpired)
	_ = relID
}

// TestAuthorization checks each route: no token 401, wrong role 403,
// another partner's relationship 404.
func TestAuthorization(t *testing.T) {
	e, inst := setup(t)
	relID, token := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller.location})
	if r := e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": token, "consent": true}); r.status != 200 {
		t.Fatalf("authorise: %d %s", r.status, r.raw)
	}
	other := user("intruder", "PG-0THE-R100-004", auth.RolePartnerAdmin, auth.RoleProviderAdmin)
	e.register(inst, partnerSpec{id: "PG-0THE-R100-004", location: "PL-0THE-R100-004", market: "JP", name: "Other K.K.", program: registrationv1.ProgramIndirectProvider}, registrationv1.StatusActive)
	resellerUser := user("res-user", reseller.id, auth.RolePartnerUser)

	routes := []struct {
		method, path string
		body         any
		wrongRole    *auth.Principal
	}{
		{"POST", "/v1/relationship-requests", map[string]any{"reseller_location_id": reseller.location}, resellerAdmin},
		{"GET", "/v1/invitation", nil, providerAdmin},
		{"POST", "/v1/invitation/authorise", map[string]any{"token": token, "consent": true}, resellerUser},
		{"POST", "/v1/invitation/decline", map[string]any{"token": token}, resellerUser},
		{"POST", "/v1/invitation/defer", map[string]any{"token": token}, providerAdmin},
		{"POST", "/v1/relationships/" + relID + "/end", map[string]any{"reason": "x"}, resellerUser},
		{"POST", "/v1/relationships/" + relID + "/narrow", map[string]any{"roles": []string{"support_agent"}}, resellerUser},
		{"POST", "/v1/relationships/" + relID + "/widen-requests", map[string]any{"roles": []string{"helpdesk_admin"}}, resellerAdmin},
		{"GET", "/v1/provider/relationships", nil, resellerAdmin},
		{"GET", "/v1/reseller/relationships", nil, providerAdmin},
	}
	for _, rt := range routes {
		if r := e.call(inst, rt.method, rt.path, nil, rt.body, "Invitation-Token", token); r.status != 401 {
			t.Errorf("%s %s without token: %d", rt.method, rt.path, r.status)
		}
		if rt.wrongRole != nil {
			if r := e.call(inst, rt.method, rt.path, rt.wrongRole, rt.body, "Invitation-Token", token); r.status != 403 {
				t.Errorf("%s %s with the wrong role: %d %s", rt.method, rt.path, r.status, r.raw)
			}
		}
	}
	for _, path := range []string{"/end", "/narrow"} {
		body := map[string]any{"reason": "x", "roles": []string{"support_agent"}}
		if path == "/narrow" {
			delete(body, "reason")
		} else {
			delete(body, "roles")
		}
		if r := e.call(inst, "POST", "/v1/relationships/"+relID+path, other, body); r.status != 404 {
			t.Errorf("%s by another partner: %d %s", path, r.status, r.raw)
		}
	}
	if r := e.call(inst, "GET", "/v1/reseller/relationships?partner_id="+reseller.id, other, nil); r.status != 404 {
		t.Errorf("listing another partner's relationships: %d %s", r.status, r.raw)
	}
	// Narrowing by the provider applies at once.
	if r := e.call(inst, "POST", "/v1/relationships/"+relID+"/narrow", providerAdmin, map[string]any{"roles": []string{"support_agent"}}); r.status != 200 {
		t.Fatalf("narrow: %d %s", r.status, r.raw)
	}
	e.waitEvent(relv1.TypeAccessNarrowed, relID)
	// Widening needs fresh consent: a new invitation link.
	w := e.call(inst, "POST", "/v1/relationships/"+relID+"/widen-requests", providerAdmin, map[string]any{"roles": []string{"support_agent", "helpdesk_admin"}})
	if w.status != 201 || tokenOf(t, w.str("invitation_url")) == token {
		t.Fatalf("widen: %d %s", w.status, w.raw)
	}
}

// TestBothSidesEndAtOnce: provider and reseller end the same relationship
// concurrently; the row lock lets exactly one end it.
func TestBothSidesEndAtOnce(t *testing.T) {
	e, inst := setup(t)
	relID, token := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller.location})
	if r := e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": token, "consent": true}); r.status != 200 {
		t.Fatalf("authorise: %d %s", r.status, r.raw)
	}
	var wg sync.WaitGroup
	results := make([]resp, 2)
	for i, p := range []*auth.Principal{providerAdmin, resellerAdmin} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.call(inst, "POST", "/v1/relationships/"+relID+"/end", p, map[string]any{"reason": "ending " + p.Subject})
		}()
	}
	wg.Wait()
	already := 0
	for _, r := range results {
		if r.status != 200 {
			t.Fatalf("end: %d %s", r.status, r.raw)
		}
		if r.body["already_ended"] == true {
			already++
		}
	}
	if already != 1 {
		t.Fatalf("already_ended answered %d times, want exactly once: %v", already, results)
	}
	evs := e.waitEvent(relv1.TypeAccessTerminated, relID)
	if n := count(evs, relv1.TypeRelationshipEnded, relID); n != 1 {
		t.Fatalf("%d relationship.ended events, want 1", n)
	}
	if n := count(evs, relv1.TypeAccessTerminated, relID); n != 1 {
		t.Fatalf("%d access.terminated events, want 1", n)
	}
}

// TestTimersAcrossRestarts stops the service, moves the clock and starts a
// new instance on the same database: each due timer fires once.
func TestTimersAcrossRestarts(t *testing.T) {
	e := newEnv(t)
	e.expiringLead = 12 * time.Hour
	inst := e.start()
	e.register(inst, provider, registrationv1.StatusActive)
	e.register(inst, reseller, registrationv1.StatusActive)
	e.register(inst, reseller2, registrationv1.StatusActive)
	granted, token := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller.location, "duration_days": 1})
	if r := e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": token, "consent": true}); r.status != 200 {
		t.Fatalf("authorise: %d %s", r.status, r.raw)
	}
	pending, _ := createRequest(t, e, inst, map[string]any{"reseller_location_id": reseller2.location})
	e.waitEvent(relv1.TypeAccessGranted, granted)
	inst.stop()

	e.advance(13 * time.Hour) // past "expiring" (12h before a 1-day grant's end)
	inst = e.start()
	e.waitEvent(relv1.TypeAccessExpiring, granted)
	inst.stop()

	e.advance(83 * 24 * time.Hour) // past the grant's expiry and the invitation reminder (7 days before 90)
	inst = e.start()
	e.waitEvent(relv1.TypeAccessExpired, granted)
	e.waitEvent(relv1.TypeRequestReminderDue, pending)
	inst.stop()

	e.advance(7*24*time.Hour + time.Hour) // past the invitation's expiry
	inst = e.start()
	evs := e.waitEvent(relv1.TypeRequestExpired, pending)
	for typ, id := range map[string]string{relv1.TypeAccessExpiring: granted, relv1.TypeAccessExpired: granted,
		relv1.TypeRequestReminderDue: pending, relv1.TypeRequestExpired: pending} {
		if n := count(evs, typ, id); n != 1 {
			t.Errorf("%s fired %d times, want once", typ, n)
		}
	}
	l := e.call(inst, "GET", "/v1/provider/relationships?include_closed=true", providerAdmin, nil)
	if !strings.Contains(l.raw, `"state":"lapsed"`) || !strings.Contains(l.raw, `"state":"expired"`) {
		t.Fatalf("listing after timers: %s", l.raw)
	}
}

// TestReplayedAndPoisonEvents: a replayed registration event changes
// nothing; unusable ones are dead-lettered with their code.
func TestReplayedAndPoisonEvents(t *testing.T) {
	e := newEnv(t)
	inst := e.start()
	ctx := context.Background()
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	id := e.publish(registrationv1.TypeApplicationSubmitted, reseller.id, submitted(reseller, at))
	e.register(inst, reseller, registrationv1.StatusActive)
	version := func(id string) (v int64) {
		if err := inst.svc.Base.Pool.QueryRow(ctx, `SELECT version FROM partners WHERE id = $1`, id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := version(reseller.id)

	// Replay the very same CloudEvent (same id; a new NATS message).
	data, _ := jsonMarshal(submitted(reseller, at))
	e.publishRaw(ce.Topic(registrationv1.TypeApplicationSubmitted), map[string]string{
		ce.HSpecVersion: "1.0", ce.HID: id, ce.HSource: "/services/registration", ce.HType: registrationv1.TypeApplicationSubmitted,
		ce.HSubject: reseller.id, ce.HDataContentType: "application/json",
	}, data)
	// Then poison: not a global ID, not JSON.
	bad := submitted(reseller2, at)
	bad.PartnerID = "RES2"
	e.publish(registrationv1.TypeApplicationSubmitted, "RES2", bad)
	e.publishRaw(ce.Topic(registrationv1.TypeEnrollmentStatusChanged), map[string]string{
		ce.HSpecVersion: "1.0", ce.HID: ce.NewID(), ce.HSource: "/services/registration", ce.HType: registrationv1.TypeEnrollmentStatusChanged,
		ce.HDataContentType: "application/json",
	}, []byte("<not json/>"))
	// A marker behind them proves they were consumed.
	e.register(inst, reseller2, registrationv1.StatusActive)

	if after := version(reseller.id); after != before {
		t.Errorf("replay changed the projection: version %d → %d", before, after)
	}
	var n int
	if err := inst.svc.Base.Pool.QueryRow(ctx, `SELECT count(*) FROM inbox WHERE event_id = $1`, id).Scan(&n); err != nil || n != 1 {
		t.Errorf("inbox rows for the replayed event: %d (%v), want 1", n, err)
	}
	codes := map[string]bool{}
	testkit.Eventually(t, 10*time.Second, func() error {
		s, err := e.js.Stream(ctx, bus.DeadLetterStream)
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
			if m, err := s.GetMsg(ctx, seq); err == nil && m.Header.Get(bus.DLQService) == "relationships" {
				codes[m.Header.Get(bus.DLQCode)] = true
			}
		}
		if !codes[app.CodeInvalidEvent] || !codes[ce.CodeNotJSON] {
			return errors.New(fmt.Sprint("dead-letter codes so far: ", codes))
		}
		return nil
	})
}

// TestAnUndeliverableInvitationIsShownToTheProvider: when the notifier gives
// up on the invitation mail (notifier.invitation_mail.failed.v1), the
// provider's listing shows it on the pending request, with why, until the
// reseller answers, and relationships.request.undelivered.v1 tells the
// provider once; a failure naming other parties is dead-lettered.
func TestAnUndeliverableInvitationIsShownToTheProvider(t *testing.T) {
	e, inst := setup(t)
	r := e.call(inst, "POST", "/v1/relationship-requests", providerAdmin, map[string]any{
		"reseller_location_id": reseller.location, "roles": []string{"billing_reader"}, "duration_days": 90,
	})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	relID, reqID, token := r.str("relationship_id"), r.str("request_id"), tokenOf(t, r.str("invitation_url"))
	failedAt := e.clock().Add(time.Minute).Truncate(time.Second)
	failure := notifierv1.InvitationMailFailed{PartnerID: reseller.id, RelationshipID: relID, RequestID: reqID, ProviderID: provider.id,
		TemplateID: "relationships.invitation", Attempts: 1, Reason: notifierv1.ReasonPermanentError,
		LastError: "550 5.1.1 <t***@sakura.example.co.jp>: user unknown", FailedAt: failedAt}
	if err := contract.Validate(notifierv1.TypeInvitationMailFailed, failure); err != nil {
		t.Fatal(err)
	}
	e.publish(notifierv1.TypeInvitationMailFailed, reseller.id, failure)
	var shown map[string]any
	testkit.Eventually(t, 10*time.Second, func() error {
		l := e.call(inst, "GET", "/v1/provider/relationships", providerAdmin, nil)
		rows, _ := l.body["relationships"].([]any)
		if len(rows) != 1 {
			return fmt.Errorf("listing %d %s", l.status, l.raw)
		}
		pending, _ := rows[0].(map[string]any)["pending_request"].(map[string]any)
		if shown, _ = pending["mail_failure"].(map[string]any); shown == nil {
			return fmt.Errorf("no mail failure on the pending request: %s", l.raw)
		}
		return nil
	})
	if shown["template"] != "relationships.invitation" || shown["reason"] != "permanent_error" || !strings.Contains(shown["detail"].(string), "550 5.1.1") ||
		shown["failed_at"] != failedAt.Format(time.RFC3339) {
		t.Fatalf("mail failure %v", shown)
	}
	// The provider is told on the bus (the notifier mails it), once: the
	// same failure again changes nothing.
	evs := e.waitEvent(relv1.TypeRequestUndelivered, relID)
	for _, ev := range evs {
		if ev.Type != relv1.TypeRequestUndelivered {
			continue
		}
		if err := contract.ValidateJSON(relv1.TypeRequestUndelivered, ev.Raw); err != nil {
			t.Fatal(err)
		}
		if ev.Subject != reseller.id || ev.Data["provider_id"] != provider.id || ev.Data["request_id"] != reqID ||
			ev.Data["reason"] != "permanent_error" || ev.Data["template_id"] != "relationships.invitation" || ev.Data["kind"] != "initial" {
			t.Fatalf("request.undelivered %s %v", ev.Subject, ev.Data)
		}
	}
	e.publish(notifierv1.TypeInvitationMailFailed, reseller.id, failure)
	// Naming another provider: not this relationship's mail.
	other := failure
	other.ProviderID = "PG-0THE-R900-00M"
	e.publish(notifierv1.TypeInvitationMailFailed, reseller.id, other)
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, code := range e.deadLetterCodes() {
			if code == app.CodeInvalidEvent {
				return nil
			}
		}
		return errors.New("the failure naming another provider was not dead-lettered")
	})
	if n := count(e.events(), relv1.TypeRequestUndelivered, relID); n != 1 {
		t.Fatalf("%d request.undelivered events, want 1", n)
	}
	// Answered: nothing pending, nothing shown.
	if a := e.call(inst, "POST", "/v1/invitation/authorise", resellerAdmin, map[string]any{"token": token, "consent": true}); a.status != http.StatusOK {
		t.Fatalf("authorise: %d %s", a.status, a.raw)
	}
	if l := e.call(inst, "GET", "/v1/provider/relationships", providerAdmin, nil); strings.Contains(l.raw, "mail_failure") {
		t.Fatalf("a mail failure shown after the answer: %s", l.raw)
	}
}

// deadLetterCodes are the codes of relationships' dead letters so far.
func (e *env) deadLetterCodes() []string {
	ctx := context.Background()
	s, err := e.js.Stream(ctx, bus.DeadLetterStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var codes []string
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		if m, err := s.GetMsg(ctx, seq); err == nil && m.Header.Get(bus.DLQService) == "relationships" {
			codes = append(codes, m.Header.Get(bus.DLQCode))
		}
	}
	return codes
}
