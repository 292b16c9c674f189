package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/pkg/testkit"
	api "github.com/partnerhub/onboarding/services/relationships/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/relationships/internal/service"
)

// env is one test's infrastructure: a database, a JetStream server, signing
// keys and a movable clock, shared by the service instances it starts.
type env struct {
	t      testing.TB
	db     string
	nats   string
	jwks   string
	signer *auth.Signer
	js     jetstream.JetStream
	client *http.Client // tests check every response against the OpenAPI document

	mu     sync.Mutex
	now    time.Time
	tokens map[*auth.Principal]string

	expiringLead time.Duration

	notifier *sealedbox.Opener // opens the sealed invitation links, as the notifier does
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, db: testkit.Database(t), nats: testkit.NATS(t), now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		client: http.DefaultClient}
	if tt, ok := t.(*testing.T); ok { // benchmarks measure without the check
		e.client = contract.ValidatingClient(tt, api.OpenAPI)
	}
	e.signer, e.jwks = testkit.DevKeys(t)
	_, e.js = testkit.JetStream(t, e.nats)
	_, priv, err := sealedbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if e.notifier, err = sealedbox.NewOpener(priv); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func (e *env) config() service.Config {
	cfg := service.Config{
		Config:            testkit.PlatformConfig(e.db, e.nats, e.jwks),
		InvitationBaseURL: "https://portal.partnerhub.example/invitations", NotifierPublicKey: e.notifier.PublicKey(),
		InvitationTTL: 90 * 24 * time.Hour, ReminderLead: 7 * 24 * time.Hour, ExpiringLead: 14 * 24 * time.Hour,
		Clock: e.clock,
	}
	if e.expiringLead > 0 {
		cfg.ExpiringLead = e.expiringLead
	}
	return cfg
}

// instance is one running service.
type instance struct {
	svc  *service.Service
	url  string
	stop func()
}

// start runs a service instance until stop (or the test's end).
func (e *env) start() *instance {
	t := e.t
	t.Helper()
	log := testkit.Log(t)
	started := testkit.StartService(t, service.Name, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, e.config(), log)
	}, func(s *service.Service) *platform.Base { return s.Base })
	svc, stop := started.Svc, started.Stop
	return &instance{svc: svc, url: "http://" + svc.Addr(), stop: stop}
}

// --- registration events on JetStream ---------------------------------------

type partnerSpec struct {
	id, location, market, name, program string
}

func (e *env) publish(eventType, subject string, payload any) string {
	e.t.Helper()
	data, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	h := map[string]string{
		ce.HSpecVersion: "1.0", ce.HID: ce.NewID(), ce.HSource: bus.OwnerSource(ce.Topic(eventType)), ce.HType: eventType,
		ce.HSubject: subject, ce.HDataContentType: "application/json", ce.HTime: time.Now().UTC().Format(time.RFC3339Nano),
	}
	e.publishRaw(ce.Topic(eventType), h, data)
	return h[ce.HID]
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

func submitted(p partnerSpec, at time.Time) registrationv1.ApplicationSubmitted {
	return registrationv1.ApplicationSubmitted{
		PartnerID: p.id, LocationID: p.location, Market: p.market, Language: "ja",
		LegalName: registrationv1.LegalName{Raw: p.name, Normalized: p.name},
		Address: registrationv1.Address{
			Raw: registrationv1.AddressLines{Line1: "1-2-3 Marunouchi", City: "Chiyoda-ku", Region: "Tokyo", PostalCode: "100-0005"},
			Normalized: registrationv1.NormalizedAddress{Line1: "1-2-3 Marunouchi", City: "Chiyoda-ku", Region: "Tokyo",
				RegionCode: "JP-13", PostalCode: "100-0005", Key: "jp|100-0005|1-2-3"},
		},
		CompanyPhoneE164: "+81312345678",
		Contact:          registrationv1.Contact{FirstName: "Hanako", LastName: "Sato", Email: "hanako@" + strings.ToLower(p.id) + ".example", EmailDomain: strings.ToLower(p.id) + ".example", PhoneE164: "+81312345678"},
		Enrollments: []registrationv1.Enrollment{
			{EnrollmentID: "EN-" + p.id, Program: p.program, Status: registrationv1.StatusPendingVerification},
			{EnrollmentID: "EN2-" + p.id, Program: registrationv1.ProgramPartnerNetwork, Status: registrationv1.StatusPendingVerification},
		},
		Affirmations: registrationv1.Affirmations{AuthorityToRepresent: true, ConsentToVerification: true, AcceptNetworkTerms: true, AffirmedAt: at},
		SubmittedBy:  "upstream-portal", SubmittedAt: at,
	}
}

// register publishes the partner's registration and, when status is not
// empty, its enrollment status change; it waits until the projection has it.
func (e *env) register(inst *instance, p partnerSpec, status string) {
	e.t.Helper()
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	e.publish(registrationv1.TypeApplicationSubmitted, p.id, submitted(p, at))
	want := registrationv1.StatusPendingVerification
	if status != "" {
		want = status
		e.publish(registrationv1.TypeEnrollmentStatusChanged, p.id, registrationv1.EnrollmentStatusChanged{
			PartnerID: p.id, EnrollmentID: "EN-" + p.id, Program: p.program, From: registrationv1.StatusPendingVerification,
			To: status, Reason: "agreement_accepted", AgreementID: "AG-1", At: at.Add(time.Hour),
		})
	}
	testkit.Eventually(e.t, 10*time.Second, func() error {
		var got *string
		err := inst.svc.Base.Pool.QueryRow(context.Background(),
			`SELECT doc->'enrollments'->$2->>'status' FROM partners WHERE id = $1 AND (doc->>'registered')::boolean`, p.id, p.program).Scan(&got)
		if err != nil {
			return err
		}
		if got == nil || *got != want {
			return fmt.Errorf("partner %s %s status %v, want %s", p.id, p.program, got, want)
		}
		return nil
	})
}

// --- HTTP ---------------------------------------------------------------------

type resp struct {
	status int
	body   map[string]any
	raw    string
}

func (r resp) str(k string) string { s, _ := r.body[k].(string); return s }

func (e *env) call(inst *instance, method, path string, p *auth.Principal, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, inst.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p != nil {
		req.Header.Set("Authorization", "Bearer "+e.token(p))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// token mints (once per principal) a bearer token.
func (e *env) token(p *auth.Principal) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tokens == nil {
		e.tokens = map[*auth.Principal]string{}
	}
	if tok, ok := e.tokens[p]; ok {
		return tok
	}
	tok := testkit.Token(e.t, e.signer, *p)
	e.tokens[p] = tok
	return tok
}

// user is a person of partner with roles, signed in with MFA (as partner
// tenants must; without it the privileged actions answer auth.mfa_required).
func user(sub, partner string, roles ...auth.Role) *auth.Principal {
	return &auth.Principal{Kind: auth.KindUser, Subject: sub, PartnerID: partner, Roles: roles, AMR: []string{"pwd", "mfa"}}
}

// tokenOf extracts the token from an invitation link (#token=…).
func tokenOf(t testing.TB, link string) string {
	t.Helper()
	_, tok, ok := strings.Cut(link, "#token=")
	if !ok || tok == "" {
		t.Fatalf("invitation link %q has no #token= fragment", link)
	}
	return tok
}

// --- emitted events -------------------------------------------------------------

type emitted struct {
	Type, Subject, ID  string
	DataClassification string
	Data               map[string]any
	Raw                []byte
}

// events reads every message of the RELATIONSHIPS stream.
func (e *env) events() []emitted {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, "RELATIONSHIPS")
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []emitted
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		ev := emitted{Type: m.Header.Get(ce.HType), Subject: m.Header.Get(ce.HSubject), ID: m.Header.Get(ce.HID),
			DataClassification: m.Header.Get(ce.HDataClassification), Raw: m.Data}
		_ = json.Unmarshal(m.Data, &ev.Data)
		out = append(out, ev)
	}
	return out
}

func count(evs []emitted, typ, relationshipID string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ && (relationshipID == "" || ev.Data["relationship_id"] == relationshipID) {
			n++
		}
	}
	return n
}

// waitEvent waits until at least one event of typ for the relationship is on
// the stream and returns the stream's events.
func (e *env) waitEvent(typ, relationshipID string) []emitted {
	e.t.Helper()
	var evs []emitted
	testkit.Eventually(e.t, 10*time.Second, func() error {
		evs = e.events()
		if count(evs, typ, relationshipID) == 0 {
			return errors.New("no " + typ + " for " + relationshipID + " yet")
		}
		return nil
	})
	return evs
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
