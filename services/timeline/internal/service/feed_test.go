package service_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

var upstreamPortal = &auth.Principal{Kind: auth.KindService, Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}

// feedIDs reads the whole feed for p from after (following next), waiting
// for at least want events (the feed holds back events of transactions
// that may still be overtaken), and returns their ids and the last next.
func (e *env) feedIDs(p *auth.Principal, query url.Values, want int) ([]string, string) {
	e.t.Helper()
	var ids []string
	var next string
	testkit.Eventually(e.t, 10*time.Second, func() error {
		ids, next = nil, ""
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		for range 20 {
			a := e.get("/v1/events?"+q.Encode(), p)
			if a.status != http.StatusOK {
				return fmt.Errorf("status %d: %s", a.status, a.raw)
			}
			for _, ev := range a.events() {
				ids = append(ids, ev["id"].(string))
			}
			next, _ = a.body["next"].(string)
			if next == "" {
				return fmt.Errorf("an answer without next")
			}
			q.Set("after", next)
			if more, _ := a.body["has_more"].(bool); !more {
				break
			}
		}
		if len(ids) < want {
			return fmt.Errorf("%d events so far, want %d", len(ids), want)
		}
		return nil
	})
	return ids, next
}

// TestFeed: the event feed lists every event the caller may see in the
// order the timeline recorded them, as CloudEvents the official SDK reads,
// with a cursor that always goes on from where the caller stopped.
func TestFeed(t *testing.T) {
	e := start(t)
	submitted := event(srcRegistration, registrationv1.TypeApplicationSubmitted, reseller, 1, t0,
		registrationv1.ApplicationSubmitted{PartnerID: reseller, LocationID: "PL-RRRR-0000-001", Market: "JP", SubmittedBy: "upstream-portal", SubmittedAt: t0})
	submitted.AuthType, submitted.AuthID = "service_account", "upstream-portal"
	submitted.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	mail := event(srcEmail, emailv1.TypeVerificationMailRequested, reseller, 1, t0.Add(time.Second),
		emailv1.VerificationMailRequested{PartnerID: reseller, EnrollmentID: "EN-1", ChallengeID: "CH-1", SealedSecret: []byte("sealed"), RequestedAt: t0})
	mail.DataClassification = emailv1.DataClassificationRestricted
	rejected := event(srcRegistration, registrationv1.TypeApplicationRejected, "intake-4711", 1, t0.Add(2*time.Second),
		map[string]any{"intake_event_id": "intake-4711", "errors": []any{}})
	rejected.AuthType, rejected.AuthID = "service_account", "upstream-portal"
	strangers := event(srcRegistration, registrationv1.TypeApplicationSubmitted, stranger, 1, t0.Add(3*time.Second),
		registrationv1.ApplicationSubmitted{PartnerID: stranger, Market: "JP", SubmittedBy: "other-portal", SubmittedAt: t0})
	version := event(srcAgreements, agreementsv1.TypeVersionPublished, "AV-2026-01", 1, t0,
		agreementsv1.VersionPublished{VersionID: "AV-2026-01", Program: registrationv1.ProgramIndirectReseller, PublishedAt: t0})
	for _, ev := range []ce.Event{submitted, mail, rejected, strangers, version} {
		e.publish(ev)
	}
	e.settled()
	all := []string{submitted.ID, mail.ID, rejected.ID, strangers.ID, version.ID}

	t.Run("who sees what", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			p     *auth.Principal
			query url.Values
			want  []string
		}{
			{"operator: every event, in recording order", operator, nil, all},
			{"verifier", user("v-1", "PG-VVVV-0000-00W", auth.RoleVerifier), nil, all},
			{"partner admin: its own partner", user("a-1", reseller, auth.RolePartnerAdmin), nil, []string{submitted.ID, mail.ID}},
			{"upstream system: the partners it registered and what it caused", upstreamPortal, nil, []string{submitted.ID, mail.ID, rejected.ID}},
			{"upstream system, one of its partners", upstreamPortal, url.Values{"partner": {reseller}}, []string{submitted.ID, mail.ID}},
			{"operator, types", operator, url.Values{"type": {"registration.application.", "com.partnerhub.agreements."}},
				[]string{submitted.ID, rejected.ID, strangers.ID, version.ID}},
			{"operator, a partner", operator, url.Values{"partner": {stranger}}, []string{strangers.ID}},
		} {
			got, _ := e.feedIDs(tt.p, tt.query, len(tt.want))
			// The feed's order is the order of recording: one producer's
			// events about one partner in sequence, others as they arrived.
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", tt.name, got, want)
			}
		}
		for _, tt := range []struct {
			name   string
			p      *auth.Principal
			query  string
			status int
			code   string
		}{
			{"anonymous", nil, "", 401, ""},
			{"no role", user("n-1", reseller), "", 403, "auth.role_required"},
			{"partner admin, another partner", user("a-1", reseller, auth.RolePartnerAdmin), "partner=" + stranger, 404, "timeline.partner_unknown"},
			{"upstream, a partner it did not register", upstreamPortal, "partner=" + stranger, 404, "timeline.partner_unknown"},
			{"bad cursor", operator, "after=xyz", 422, "timeline.invalid_cursor"},
			{"bad limit", operator, "limit=501", 422, "request.invalid_query_parameter"},
			{"bad partner", operator, "partner=PL-1", 422, "timeline.invalid_partner_id"},
			{"bad type", operator, "type=" + url.QueryEscape("a b"), 422, "timeline.invalid_type"},
			{"a type no event has (was an empty 200)", operator, "type=registraton.", 422, "timeline.invalid_type"},
		} {
			a := e.get("/v1/events?"+tt.query, tt.p)
			if a.status != tt.status || (tt.code != "" && a.code() != tt.code) {
				t.Errorf("%s: %d %s, want %d %s", tt.name, a.status, a.code(), tt.status, tt.code)
			}
			// A query parameter at fault is named as every service names
			// one: query.<name>.
			if errs, _ := a.body["errors"].([]any); tt.status == 422 &&
				(len(errs) != 1 || errs[0].(map[string]any)["field"] != "query."+strings.SplitN(tt.query, "=", 2)[0]) {
				t.Errorf("%s: field errors %v, want query.%s", tt.name, errs, strings.SplitN(tt.query, "=", 2)[0])
			}
		}
	})

	t.Run("pages of one, then nothing new, then the next event", func(t *testing.T) {
		whole, _ := e.feedIDs(operator, nil, len(all))
		got, next := e.feedIDs(operator, url.Values{"limit": {"1"}}, len(all))
		if !slices.Equal(got, whole) {
			t.Fatalf("pages %v, want %v as in one page", got, whole)
		}
		empty := e.get("/v1/events?after="+url.QueryEscape(next), operator)
		if len(empty.events()) != 0 || empty.body["next"] != next || empty.body["has_more"] != false {
			t.Fatalf("caught up: %s", empty.raw)
		}
		later := event(srcEmail, emailv1.TypeOwnershipConfirmed, reseller, 2, t0.Add(time.Minute),
			emailv1.OwnershipConfirmed{PartnerID: reseller, EnrollmentID: "EN-1", ChallengeID: "CH-1", Method: "link", ConfirmedAt: t0})
		e.publish(later)
		e.settled()
		if got, _ := e.feedIDs(operator, url.Values{"after": {next}}, 1); !slices.Equal(got, []string{later.ID}) {
			t.Errorf("after the caught-up cursor: %v, want the new event", got)
		}
	})

	t.Run("structured CloudEvents, as the official SDK reads them", func(t *testing.T) {
		a := e.get("/v1/events?partner="+reseller+"&type=registration.&type=email.verification_mail", operator)
		evs, _ := a.body["events"].([]any)
		if len(evs) != 2 {
			t.Fatalf("%s", a.raw)
		}
		if evs[0].(map[string]any)["id"] != submitted.ID {
			evs[0], evs[1] = evs[1], evs[0] // two producers: recording order
		}
		raw := func(i int) []byte {
			b, _ := json.Marshal(evs[i])
			return b
		}
		var got cloudevents.Event
		if err := got.UnmarshalJSON(raw(0)); err != nil {
			t.Fatalf("the SDK cannot read a feed entry: %v\n%s", err, raw(0))
		}
		ext := got.Extensions()
		if got.ID() != submitted.ID || got.Type() != submitted.Type || got.Source() != srcRegistration || got.Subject() != reseller ||
			got.DataSchema() != submitted.DataSchema || ext["traceparent"] != submitted.TraceParent || ext["sequence"] != "000000000001" ||
			ext["authid"] != "upstream-portal" || ext["partitionkey"] != reseller || !got.Time().Equal(t0) {
			t.Errorf("as the SDK reads it:\n%s", got)
		}
		var data registrationv1.ApplicationSubmitted
		if err := got.DataAs(&data); err != nil || data.PartnerID != reseller {
			t.Errorf("data %+v, %v", data, err)
		}
		var restricted cloudevents.Event
		if err := restricted.UnmarshalJSON(raw(1)); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := restricted.DataAs(&m); err != nil || m["sealed_secret"] != "[redacted]" || restricted.Extensions()["dataclassification"] != "restricted" {
			t.Errorf("restricted data %v, %v", m, err)
		}
	})
}
