package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/testkit"
	api "github.com/partnerhub/onboarding/services/verification/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/verification/internal/service"
)

// env is one test's infrastructure: a NATS server, a database and keys.
type env struct {
	t      testing.TB
	nats   string
	db     string
	jwks   string
	signer *auth.Signer
	js     jetstream.JetStream
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, nats: testkit.NATS(t), db: testkit.Database(t)}
	e.signer, e.jwks = testkit.DevKeys(t)
	_, e.js = testkit.JetStream(t, e.nats)
	return e
}

func (e *env) config() service.Config {
	return service.Config{
		Config:            testkit.PlatformConfig(e.db, e.nats, e.jwks),
		ConfirmationGrace: time.Nanosecond, // dead-letter unknown partners at once
	}
}

// running is a started service instance.
type running struct {
	svc    *service.Service
	base   string
	stop   func()
	client *http.Client // tests check every response against the OpenAPI document
}

func (e *env) start(cfg service.Config) *running {
	e.t.Helper()
	started := testkit.StartService(e.t, service.Name, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, testkit.Log(e.t))
	}, func(s *service.Service) *platform.Base { return s.Base })
	svc := started.Svc
	r := &running{svc: svc, base: "http://" + svc.Addr(), client: http.DefaultClient}
	if t, ok := e.t.(*testing.T); ok { // benchmarks measure without the check
		r.client = contract.ValidatingClient(t, api.OpenAPI)
	}
	r.stop = started.Stop
	return r
}

// publish puts a binary-mode CloudEvent on JetStream (headers verbatim,
// lower case) and returns its id.
func (e *env) publish(eventType, subject string, data any, extra map[string]string) string {
	e.t.Helper()
	body, err := json.Marshal(data)
	if err != nil {
		e.t.Fatal(err)
	}
	id := ce.NewID()
	h := map[string]string{ce.HSpecVersion: "1.0", ce.HID: id, ce.HSource: sourceOf(eventType), ce.HType: eventType,
		ce.HSubject: subject, ce.HDataContentType: "application/json", ce.HTime: time.Now().UTC().Format(time.RFC3339Nano)}
	for k, v := range extra {
		h[k] = v
	}
	e.publishRaw(ce.Topic(eventType), h, body)
	return id
}

func (e *env) publishRaw(subject string, headers map[string]string, body []byte) {
	e.t.Helper()
	m := nats.NewMsg(testkit.Partitioned(subject, headers))
	for k, v := range headers {
		m.Header[k] = []string{v}
	}
	m.Data = body
	if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
}

// msgs reads every message of a stream.
func (e *env) msgs(stream string) []*jetstream.RawStreamMsg {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		if m, err := s.GetMsg(ctx, seq); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// events returns the payloads of eventType for partner on VERIFICATION.
func (e *env) events(eventType, partner string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, m := range e.msgs("VERIFICATION") {
		if m.Header.Get(ce.HType) != eventType || m.Header.Get(ce.HSubject) != partner {
			continue
		}
		var p map[string]any
		if err := json.Unmarshal(m.Data, &p); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// waitEvent waits for the n-th event of a type for partner and returns it.
func (e *env) waitEvent(eventType, partner string, n int) map[string]any {
	e.t.Helper()
	var got []map[string]any
	testkit.Eventually(e.t, 15*time.Second, func() error {
		got = e.events(eventType, partner)
		if len(got) < n {
			return fmt.Errorf("%d %s events for %s, want %d", len(got), eventType, partner, n)
		}
		return nil
	})
	return got[n-1]
}

// refused waits for the refusal of the decision intake with id, causing
// it, and checks it is no dead letter.
func (e *env) refused(id string) verificationv1.DecisionRefused {
	e.t.Helper()
	var r verificationv1.DecisionRefused
	testkit.Eventually(e.t, 15*time.Second, func() error {
		for _, m := range e.msgs("VERIFICATION") {
			if m.Header.Get(ce.HType) == verificationv1.TypeDecisionRefused && m.Header.Get(ce.HCausationID) == id &&
				m.Header.Get(ce.HSubject) == id {
				return json.Unmarshal(m.Data, &r)
			}
		}
		return fmt.Errorf("no refusal of %s", id)
	})
	if r.IntakeEventID != id {
		e.t.Fatalf("refusal %+v of intake %s", r, id)
	}
	for _, m := range e.msgs(bus.DeadLetterStream) {
		if m.Header.Get(ce.HID) == id {
			e.t.Fatalf("intake %s refused and dead-lettered", id)
		}
	}
	return r
}

// deadLetter waits for a dead letter of the event with id and returns its code.
func (e *env) deadLetter(id string) string {
	e.t.Helper()
	var code string
	testkit.Eventually(e.t, 15*time.Second, func() error {
		for _, m := range e.msgs(bus.DeadLetterStream) {
			if m.Header.Get(ce.HID) == id {
				if m.Header.Get(bus.DLQReason) == "" {
					return fmt.Errorf("dead letter without a reason: %v", m.Header)
				}
				code = m.Header.Get(bus.DLQCode)
				return nil
			}
		}
		return fmt.Errorf("event %s not dead-lettered", id)
	})
	return code
}

func (e *env) token(p auth.Principal) string { return testkit.Token(e.t, e.signer, p) }

// call does an HTTP request and decodes a JSON answer.
func (r *running) call(t testing.TB, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

var (
	verifierA = auth.Principal{Kind: auth.KindUser, Subject: "reviewer-a", Roles: []auth.Role{auth.RoleVerifier}}
	verifierB = auth.Principal{Kind: auth.KindUser, Subject: "reviewer-b", Roles: []auth.Role{auth.RoleVerifier}}
	portal    = auth.Principal{Kind: auth.KindService, Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}
)

func partnerAdmin(partner string) auth.Principal {
	return auth.Principal{Kind: auth.KindUser, Subject: "admin-" + partner, PartnerID: partner, Roles: []auth.Role{auth.RolePartnerAdmin}}
}

// submitted is a registration-submitted payload for partner; the contact
// e-mail is on the website's domain unless mail says otherwise.
func submitted(partner, mail string) registrationv1.ApplicationSubmitted {
	if mail == "" {
		mail = "taro@sample-shoji.co.jp"
	}
	return registrationv1.ApplicationSubmitted{
		PartnerID: partner, LocationID: "PL" + partner[2:] + "-01", Market: "JP", Language: "ja",
		LegalName:          registrationv1.LegalName{Raw: "（株）サンプル商事", Normalized: "株式会社サンプル商事"},
		Address:            registrationv1.Address{Raw: registrationv1.AddressLines{Line1: "丸の内5-2-3", City: "千代田区", Region: "東京都", PostalCode: "100-0005"}},
		CompanyPhoneE164:   "+81312345678",
		RegistrationNumber: &registrationv1.RegistrationNumber{Scheme: "jp_corporate_number", Value: "9010401123456"},
		Website:            "https://www.sample-shoji.co.jp", WebsiteDomain: "sample-shoji.co.jp",
		Contact: registrationv1.Contact{FirstName: "Taro", LastName: "Yamada", Email: mail},
		Enrollments: []registrationv1.Enrollment{{EnrollmentID: "EN-" + partner[3:] + "-1", Program: "partner_network", Status: "pending_verification"},
			{EnrollmentID: "EN-" + partner[3:] + "-2", Program: "indirect_reseller", Status: "pending_verification"}},
		SubmittedBy: "upstream-portal", SubmittedAt: time.Now().UTC(),
	}
}

// openCase publishes a registration and waits for the company review task.
func (e *env) openCase(partner, mail string) (taskID string) {
	e.t.Helper()
	e.publish(registrationv1.TypeApplicationSubmitted, partner, submitted(partner, mail), nil)
	task := e.waitEvent("com.partnerhub.verification.task.created.v1", partner, 1)
	return task["task_id"].(string)
}

// sourceOf is the source an event type's producer publishes it with (an
// intake event comes from outside: any source).
func sourceOf(eventType string) string {
	if s := bus.OwnerSource(ce.Topic(eventType)); s != "" {
		return s
	}
	return "/tests"
}
