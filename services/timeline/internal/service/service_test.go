package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	agreementsv1 "github.com/partnerhub/onboarding/pkg/events/agreements/v1"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relationshipsv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/events"
	api "github.com/partnerhub/onboarding/services/timeline/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/timeline/internal/service"
)

const (
	reseller = "PG-RRRR-0000-00E"
	provider = "PG-PPPP-0000-00T"
	stranger = "PG-ZZZZ-0000-004"

	srcRegistration  = "/services/registration"
	srcEmail         = "/services/email-ownership"
	srcRelationships = "/services/relationships"
	srcAgreements    = "/services/agreements"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// env is one test's infrastructure and the running service.
type env struct {
	t      testing.TB
	db     string
	js     jetstream.JetStream
	signer *auth.Signer
	svc    *service.Service
	url    string
	client *http.Client // every response is checked against the OpenAPI document
	logs   *testkit.SyncBuffer
	stop   func() // stops the service gracefully and waits for it
}

func start(t testing.TB, configure ...func(*service.Config)) *env {
	t.Helper()
	db, natsURL := testkit.Database(t), testkit.NATS(t)
	signer, jwks := testkit.DevKeys(t)
	_, js := testkit.JetStream(t, natsURL)
	cfg := service.Config{Config: testkit.PlatformConfig(db, natsURL, jwks), DevKeysDir: t.TempDir()}
	for _, c := range configure {
		c(&cfg)
	}
	logs := &testkit.SyncBuffer{}
	started := testkit.StartService(t, service.Name, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}, func(s *service.Service) *platform.Base { return s.Base })
	svc := started.Svc
	e := &env{t: t, db: db, js: js, signer: signer, svc: svc, url: "http://" + svc.Addr(), client: http.DefaultClient, logs: logs, stop: started.Stop}
	if tt, ok := t.(*testing.T); ok { // benchmarks measure without the check
		e.client = contract.ValidatingClient(tt, api.OpenAPI)
	}
	return e
}

// adminDB connects to the service's database as its owner.
func (e *env) adminDB() *pgx.Conn {
	e.t.Helper()
	cfg, err := pgx.ParseConfig(testkit.AdminURL())
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Database = e.db
	db, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// event is a CloudEvent as a producer's outbox relay would publish it.
func event(source, typ, subject string, seq uint64, at time.Time, payload any) ce.Event {
	data, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	id := ce.NewID()
	return ce.Event{ID: id, Source: source, Type: typ, Subject: subject, Time: at, DataContentType: ce.JSON,
		DataSchema: "https://schemas.partnerhub.example/" + ce.Topic(typ) + ".json", PartitionKey: subject, Sequence: seq,
		CorrelationID: "corr-" + subject, CausationID: "cause-" + id, AuthType: "user", AuthID: "user-1", Data: data}
}

// publish sends ev in binary mode with the lower-case ce-* headers the
// producers use. Without a Nats-Msg-Id, JetStream stores a second publish of
// the same event again: that is a redelivery the timeline must absorb.
func (e *env) publish(ev ce.Event) {
	e.t.Helper()
	e.publishRaw(ce.Topic(ev.Type), ev.Headers(), ev.Data)
}

func (e *env) publishRaw(subject string, headers map[string]string, body []byte) {
	e.t.Helper()
	m := nats.NewMsg(testkit.Partitioned(subject, headers))
	for k, v := range headers {
		m.Header[k] = []string{v} // verbatim, lower case
	}
	m.Data = body
	if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
}

// settled waits until every timeline durable has acknowledged everything in
// its stream (the duplicates included).
func (e *env) settled() {
	e.t.Helper()
	ctx := context.Background()
	testkit.Eventually(e.t, 15*time.Second, func() error {
		for _, sub := range (events.Inbound{}).Subscriptions() {
			f := sub.FilterOf()
			s, err := bus.StreamFor(f)
			if err != nil {
				return err
			}
			c, err := e.js.Consumer(ctx, s.Name, bus.DurableName(service.Name, f))
			if err != nil {
				return err
			}
			info, err := c.Info(ctx)
			if err != nil {
				return err
			}
			if info.NumPending != 0 || info.NumAckPending != 0 || info.NumRedelivered != 0 {
				return fmt.Errorf("%s: pending %d, ack pending %d, redelivered %d", f, info.NumPending, info.NumAckPending, info.NumRedelivered)
			}
		}
		return nil
	})
}

type answer struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func (e *env) get(path string, p *auth.Principal) answer {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if p != nil {
		req.Header.Set("Authorization", "Bearer "+testkit.Token(e.t, e.signer, *p))
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) code() string { s, _ := a.body["code"].(string); return s }

func (a answer) events() []map[string]any {
	list, _ := a.body["events"].([]any)
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i], _ = v.(map[string]any)
	}
	return out
}

func ids(evs []map[string]any) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i], _ = ev["id"].(string)
	}
	return out
}

func user(sub, partner string, roles ...auth.Role) *auth.Principal {
	return &auth.Principal{Kind: auth.KindUser, Subject: sub, PartnerID: partner, Roles: roles}
}

var operator = user("op-1", "", auth.RoleOperator)

func TestTimeline(t *testing.T) {
	e := start(t)

	// Registration about the reseller: 1, 3 (arrives before 2), 2, 5; 4 never arrives.
	reg1 := event(srcRegistration, registrationv1.TypeApplicationSubmitted, reseller, 1, t0,
		registrationv1.ApplicationSubmitted{PartnerID: reseller, LocationID: "PL-RRRR-0000-001", Market: "JP", SubmittedAt: t0})
	reg2 := event(srcRegistration, registrationv1.TypeEnrollmentStatusChanged, reseller, 2, t0.Add(2*time.Minute),
		registrationv1.EnrollmentStatusChanged{PartnerID: reseller, EnrollmentID: "EN-1", Program: registrationv1.ProgramIndirectReseller,
			From: registrationv1.StatusPendingVerification, To: registrationv1.StatusQualified, At: t0.Add(2 * time.Minute)})
	reg3 := event(srcRegistration, registrationv1.TypePartnerActivated, reseller, 3, t0.Add(3*time.Minute),
		registrationv1.PartnerActivated{PartnerID: reseller, Market: "JP", LocationIDs: []string{"PL-RRRR-0000-001"}, At: t0.Add(3 * time.Minute)})
	reg5 := event(srcRegistration, registrationv1.TypeEnrollmentStatusChanged, reseller, 5, t0.Add(5*time.Minute),
		registrationv1.EnrollmentStatusChanged{PartnerID: reseller, EnrollmentID: "EN-1", Program: registrationv1.ProgramIndirectReseller,
			From: registrationv1.StatusQualified, To: registrationv1.StatusActive, At: t0.Add(5 * time.Minute)})
	// E-mail ownership about the reseller: 1 at the same instant as
	// registration's 1 (the source breaks the tie), 2 delivered twice, 3 of a
	// type nobody knows yet.
	mail1 := event(srcEmail, emailv1.TypeVerificationMailRequested, reseller, 1, t0,
		emailv1.VerificationMailRequested{PartnerID: reseller, EnrollmentID: "EN-1", ChallengeID: "CH-1", SealedSecret: []byte("sealed"), RequestedAt: t0})
	mail1.DataClassification = emailv1.DataClassificationRestricted
	mail2 := event(srcEmail, emailv1.TypeOwnershipConfirmed, reseller, 2, t0.Add(time.Minute),
		emailv1.OwnershipConfirmed{PartnerID: reseller, EnrollmentID: "EN-1", ChallengeID: "CH-1", Method: "link", ConfirmedAt: t0.Add(time.Minute)})
	mail3 := event(srcEmail, "com.partnerhub.email.brand_new.fact.v1", reseller, 3, t0.Add(4*time.Minute),
		map[string]any{"partner_id": reseller, "something": "new"})
	// A relationship event: subject (and partition) the reseller, about the provider too.
	rel1 := event(srcRelationships, relationshipsv1.TypeRequestCreated, reseller, 1, t0.Add(6*time.Minute),
		relationshipsv1.RequestCreated{Parties: relationshipsv1.Parties{RelationshipID: "RL-1", ProviderID: provider, ResellerID: reseller,
			ResellerLocationID: "PL-RRRR-0000-001", OccurredAt: t0.Add(6 * time.Minute)}, RequestID: "RQ-1", Kind: relationshipsv1.KindInitial})
	// About no partner.
	version := event(srcAgreements, agreementsv1.TypeVersionPublished, "AV-2026-01", 1, t0,
		agreementsv1.VersionPublished{VersionID: "AV-2026-01", Program: registrationv1.ProgramIndirectReseller, PublishedAt: t0})

	for _, ev := range []ce.Event{reg1, reg3, mail1, mail2, reg2, mail2, mail3, reg5, rel1, version} {
		e.publish(ev)
	}
	e.publishRaw(bus.PartitionSubject("registration.test.garbled.v1", 0), map[string]string{"content-type": "text/plain"}, []byte("not a cloudevent"))
	e.settled()

	full := []string{mail1.ID, reg1.ID, mail2.ID, reg2.ID, reg3.ID, mail3.ID, reg5.ID, rel1.ID}

	t.Run("order, dedupe, gaps and every attribute", func(t *testing.T) {
		a := e.get("/v1/partners/"+reseller+"/timeline", operator)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		if got := ids(a.events()); !slices.Equal(got, full) {
			t.Fatalf("timeline ids\n got %q\nwant %q", got, full)
		}
		if a.body["partner_id"] != reseller || a.body["next"] != "" {
			t.Errorf("partner_id %v, next %v", a.body["partner_id"], a.body["next"])
		}
		first := a.events()[1] // reg1
		want := map[string]any{"id": reg1.ID, "source": srcRegistration, "type": registrationv1.TypeApplicationSubmitted,
			"subject": reseller, "time": "2026-03-02T09:00:00Z", "sequence": "000000000001", "correlationid": "corr-" + reseller,
			"causationid": "cause-" + reg1.ID, "authtype": "user", "authid": "user-1"}
		for k, v := range want {
			if first[k] != v {
				t.Errorf("%s = %v, want %v", k, first[k], v)
			}
		}
		if data, _ := first["data"].(map[string]any); data["partner_id"] != reseller || data["location_id"] != "PL-RRRR-0000-001" {
			t.Errorf("data = %v", first["data"])
		}
		if rec, _ := first["recorded_at"].(string); rec == "" || rec == "0001-01-01T00:00:00Z" {
			t.Errorf("recorded_at = %v", first["recorded_at"])
		}
		if data, _ := a.events()[0]["data"].(map[string]any); data["sealed_secret"] != "[redacted]" || data["challenge_id"] != "CH-1" {
			t.Errorf("restricted data = %v", data)
		}
		wantSources := `[{"events":3,"gaps":[],"last_sequence":"000000000003","source":"/services/email-ownership"},` +
			`{"events":4,"gaps":["000000000004"],"last_sequence":"000000000005","source":"/services/registration"},` +
			`{"events":1,"gaps":[],"last_sequence":"000000000001","source":"/services/relationships"}]`
		if got, _ := json.Marshal(a.body["sources"]); string(got) != wantSources {
			t.Errorf("sources\n got %s\nwant %s", got, wantSources)
		}
	})

	t.Run("a relationship event is on the provider's timeline too", func(t *testing.T) {
		a := e.get("/v1/partners/"+provider+"/timeline", operator)
		if a.status != http.StatusOK || !slices.Equal(ids(a.events()), []string{rel1.ID}) {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		// The event is in the reseller's partition: no sequence of the provider's own.
		want := `[{"events":1,"gaps":[],"last_sequence":"","source":"/services/relationships"}]`
		if got, _ := json.Marshal(a.body["sources"]); string(got) != want {
			t.Errorf("sources = %s, want %s", got, want)
		}
	})

	t.Run("an event about no partner is stored on no timeline; a malformed one is dead-lettered", func(t *testing.T) {
		ctx := context.Background()
		var n, indexed int
		if err := e.svc.Base.Pool.QueryRow(ctx, `SELECT count(*), (SELECT sum(cardinality(partners)) FROM events WHERE id = $1)
			FROM events WHERE id = $1`, version.ID).Scan(&n, &indexed); err != nil {
			t.Fatal(err)
		}
		if n != 1 || indexed != 0 {
			t.Errorf("version event: stored %d, indexed %d", n, indexed)
		}
		if err := e.svc.Base.Pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 9 {
			t.Errorf("events stored = %d (%v), want 9 (the duplicate once)", n, err)
		}
		dl, err := e.js.Stream(ctx, bus.DeadLetterStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := dl.Info(ctx, jetstream.WithSubjectFilter(bus.DeadLetterSubject(service.Name)))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.State.Subjects[bus.DeadLetterSubject(service.Name)]; got != 1 {
			t.Errorf("%d dead letters, want 1 (the malformed message; never the unknown type)", got)
		}
		m, err := dl.GetLastMsgForSubject(ctx, bus.DeadLetterSubject(service.Name))
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get(bus.DLQCode) != ce.CodeMissingSpecVersion || m.Header.Get(bus.DLQSubject) != bus.PartitionSubject("registration.test.garbled.v1", 0) {
			t.Errorf("dead letter code %q subject %q", m.Header.Get(bus.DLQCode), m.Header.Get(bus.DLQSubject))
		}
	})

	t.Run("pages follow the cursor to the end", func(t *testing.T) {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("the cursor does not end")
			}
			a := e.get("/v1/partners/"+reseller+"/timeline?limit=3&after="+url.QueryEscape(after), operator)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			page := ids(a.events())
			got = append(got, page...)
			after, _ = a.body["next"].(string)
			if after == "" {
				if len(page) != 2 {
					t.Errorf("last page has %d events, want 2", len(page))
				}
				break
			}
			if len(page) != 3 {
				t.Fatalf("a page with a next cursor has %d events", len(page))
			}
		}
		if !slices.Equal(got, full) {
			t.Errorf("pages\n got %q\nwant %q", got, full)
		}
	})

	t.Run("type prefix filter", func(t *testing.T) {
		tests := []struct {
			prefix string
			want   []string
		}{
			{"registration.", []string{reg1.ID, reg2.ID, reg3.ID, reg5.ID}},
			{"com.partnerhub.email.", []string{mail1.ID, mail2.ID, mail3.ID}},
			{"email.brand_new", []string{mail3.ID}},
			{"registration.enrollment.status_changed.v1", []string{reg2.ID, reg5.ID}},
			{"agreements.", nil},
		}
		for _, tt := range tests {
			a := e.get("/v1/partners/"+reseller+"/timeline?type="+url.QueryEscape(tt.prefix), operator)
			if a.status != http.StatusOK {
				t.Fatalf("%s: status %d: %s", tt.prefix, a.status, a.raw)
			}
			if got := ids(a.events()); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("type=%s: got %q, want %q", tt.prefix, got, tt.want)
			}
		}
		// Filtered pages follow the cursor too.
		a := e.get("/v1/partners/"+reseller+"/timeline?type=registration.&limit=3", operator)
		next, _ := a.body["next"].(string)
		b := e.get("/v1/partners/"+reseller+"/timeline?type=registration.&limit=3&after="+url.QueryEscape(next), operator)
		if next == "" || !slices.Equal(ids(b.events()), []string{reg5.ID}) || b.body["next"] != "" {
			t.Errorf("second filtered page: next %q, events %q", next, ids(b.events()))
		}
	})

	t.Run("bad input", func(t *testing.T) {
		tests := []struct {
			path   string
			status int
			code   string
		}{
			{"/v1/partners/" + stranger + "/timeline", 404, "timeline.partner_unknown"},
			{"/v1/partners/acme/timeline", 422, "timeline.invalid_partner_id"},
			{"/v1/partners/PL-RRRR-0000-00E/timeline", 422, "timeline.invalid_partner_id"},
			{"/v1/partners/PG-RRRR-0000-001/timeline", 422, "timeline.invalid_partner_id"}, // its check symbol is E
			{"/v1/events?partner=PG-RRRR-0000-001", 422, "timeline.invalid_partner_id"},
			{"/v1/partners/" + reseller + "/timeline?limit=0", 422, "request.invalid_query_parameter"},
			{"/v1/partners/" + reseller + "/timeline?limit=501", 422, "request.invalid_query_parameter"},
			{"/v1/partners/" + reseller + "/timeline?limit=ten", 422, "request.invalid_query_parameter"},
			{"/v1/partners/" + reseller + "/timeline?after=not-a-cursor", 422, "timeline.invalid_cursor"},
			{"/v1/partners/" + reseller + "/timeline?type=" + url.QueryEscape("registration. x"), 422, "timeline.invalid_type"},
		}
		for _, tt := range tests {
			a := e.get(tt.path, operator)
			if a.status != tt.status || a.code() != tt.code {
				t.Errorf("GET %s = %d %s, want %d %s (%s)", tt.path, a.status, a.code(), tt.status, tt.code, a.raw)
			}
		}
		// A partner ID is read as registration reads it: any case, grouped
		// or not, and answered in its canonical form.
		loose := strings.ToLower(strings.ReplaceAll(reseller[3:], "-", ""))
		for path, canonical := range map[string]string{
			"/v1/partners/pg-" + loose + "/timeline": "/v1/partners/" + reseller + "/timeline",
			"/v1/events?partner=PG-" + loose:         "/v1/events?partner=" + reseller,
		} {
			// The feed shows an event once every transaction recorded before
			// it has committed: wait for it to show them all.
			testkit.Eventually(t, 10*time.Second, func() error {
				a, want := e.get(path, operator), e.get(canonical, operator)
				if a.status != 200 || len(a.events()) == 0 || !slices.Equal(ids(a.events()), ids(want.events())) {
					return fmt.Errorf("GET %s = %d %s, want the events of %s", path, a.status, a.raw, canonical)
				}
				return nil
			})
		}
		if got := e.get("/v1/partners/pg-"+loose+"/timeline", operator).body["partner_id"]; got != reseller {
			t.Errorf("partner_id %v, want %s", got, reseller)
		}
	})

	t.Run("who may see which timeline", func(t *testing.T) {
		path := func(id string) string { return "/v1/partners/" + id + "/timeline" }
		tests := []struct {
			name   string
			p      *auth.Principal
			path   string
			status int
			code   string
		}{
			{"anonymous", nil, path(reseller), 401, ""},
			{"operator", operator, path(reseller), 200, ""},
			{"verifier", user("v-1", "PG-VVVV-0000-00W", auth.RoleVerifier), path(reseller), 200, ""},
			{"partner admin, own partner", user("a-1", reseller, auth.RolePartnerAdmin), path(reseller), 200, ""},
			{"partner user, own partner", user("u-1", reseller, auth.RolePartnerUser), path(reseller), 200, ""},
			{"provider admin, own provider", user("pa-1", provider, auth.RoleProviderAdmin), path(provider), 200, ""},
			{"partner admin, another partner", user("a-2", provider, auth.RolePartnerAdmin), path(reseller), 404, "timeline.partner_unknown"},
			{"partner user, another partner", user("u-2", provider, auth.RolePartnerUser), path(reseller), 404, "timeline.partner_unknown"},
			{"provider admin, its reseller", user("pa-1", provider, auth.RoleProviderAdmin), path(reseller), 404, "timeline.partner_unknown"},
			{"upstream system", &auth.Principal{Kind: auth.KindService, Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}, path(reseller), 403, "auth.role_required"},
			{"no role", user("n-1", reseller), path(reseller), 403, "auth.role_required"},
		}
		for _, tt := range tests {
			a := e.get(tt.path, tt.p)
			if a.status != tt.status || (tt.code != "" && a.code() != tt.code) {
				t.Errorf("%s: GET %s = %d %s, want %d %s", tt.name, tt.path, a.status, a.code(), tt.status, tt.code)
			}
			if tt.status == 200 && len(a.events()) == 0 {
				t.Errorf("%s: no events", tt.name)
			}
		}
	})

	t.Run("health and readiness", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
			if a := e.get(p, nil); a.status != http.StatusOK {
				t.Errorf("GET %s = %d: %s", p, a.status, a.raw)
			}
		}
	})
}
