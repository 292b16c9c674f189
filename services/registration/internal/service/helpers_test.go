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
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/testkit"
	api "github.com/partnerhub/onboarding/services/registration/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/registration/internal/service"
)

type env struct {
	svc    *service.Service
	base   string
	nats   string
	js     jetstream.JetStream
	signer *auth.Signer
	client *http.Client // tests check every response against the OpenAPI document
}

func start(t testing.TB) *env { return startWith(t, nil) }

// startWith starts the service with the configuration configure changes.
func startWith(t testing.TB, configure func(*service.Config)) *env {
	t.Helper()
	signer, jwks := testkit.DevKeys(t)
	natsURL := testkit.NATS(t)
	cfg := service.Config{IdempotencyRetention: 48 * time.Hour, Config: testkit.PlatformConfig(testkit.Database(t), natsURL, jwks)}
	if configure != nil {
		configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	svc := testkit.StartService(t, service.Name, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, testkit.Log(t))
	}, func(s *service.Service) *platform.Base { return s.Base }).Svc
	_, js := testkit.JetStream(t, natsURL)
	client := http.DefaultClient
	if tt, ok := t.(*testing.T); ok { // benchmarks measure without the check
		client = contract.ValidatingClient(tt, api.OpenAPI)
	}
	return &env{svc: svc, base: "http://" + svc.Addr(), nats: natsURL, js: js, signer: signer, client: client}
}

func (e *env) token(t testing.TB, p auth.Principal) string { return testkit.Token(t, e.signer, p) }

var upstream = auth.Principal{Kind: auth.KindService, Subject: "upstream-portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %s", r.Status, r.Body)
	}
	return m
}

func (e *env) do(t testing.TB, method, path, token, contentType string, body []byte, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// registration is a valid Japanese reseller registration; mutate to vary it.
func registration() map[string]any {
	return map[string]any{
		"market":   "JP",
		"language": "ja",
		"company": map[string]any{
			"legal_name": "（株）みらいクラウド",
			"address": map[string]any{"line1": "丸の内5-2-3", "line2": "ミライビル 10F", "city": "千代田区",
				"region": "東京都", "postal_code": "100-0005"},
			"phone":               "03-1234-5678",
			"website":             "https://www.mirai-cloud.co.jp",
			"registration_number": map[string]any{"scheme": "jp_corporate_number", "value": "7000012050002"},
		},
		"contact": map[string]any{"first_name": "太郎", "last_name": "山田", "email": "taro.yamada@mirai-cloud.co.jp",
			"phone": "090-1234-5678"},
		"programs": []any{
			map[string]any{"program": "partner_network"},
			map[string]any{"program": "indirect_reseller", "support": map[string]any{
				"website": "https://support.mirai-cloud.co.jp", "email": "support@mirai-cloud.co.jp"}},
		},
		"affirmations": map[string]any{"authority_to_represent": true, "consent_to_verification": true,
			"accept_network_terms": true, "can_provide_support": true},
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamEvents reads every message of stream whose subject matches.
func (e *env) streamEvents(t *testing.T, stream, subject string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	if info.State.Msgs == 0 {
		return nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		if subject == "" || m.Subject == subject || testkit.Partitioned(subject, map[string]string{ce.HSubject: m.Header.Get(ce.HSubject), ce.HPartitionKey: m.Header.Get(ce.HPartitionKey)}) == m.Subject {
			out = append(out, m)
		}
	}
	return out
}

// waitEvent waits for an event on subject matching pred and returns it.
func (e *env) waitEvent(t *testing.T, stream, subject string, pred func(ce.Event) bool) ce.Event {
	t.Helper()
	var found ce.Event
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, m := range e.streamEvents(t, stream, subject) {
			ev, err := decodeRaw(m)
			if err != nil {
				return err
			}
			if pred(ev) {
				found = ev
				return nil
			}
		}
		return fmt.Errorf("no matching event on %s yet", subject)
	})
	return found
}

func decodeRaw(m *jetstream.RawStreamMsg) (ce.Event, error) {
	h := map[string]string{}
	for k, v := range m.Header {
		if len(v) > 0 {
			h[k] = v[0]
		}
	}
	return ce.Decode(h, m.Data)
}

// sourceOf is the source an event type's producer publishes it with (an
// intake event comes from outside: any source).
func sourceOf(eventType string) string {
	if s := bus.OwnerSource(ce.Topic(eventType)); s != "" {
		return s
	}
	return "/tests"
}

// publish sends a binary-mode CloudEvent with verbatim lower-case headers.
func (e *env) publish(t *testing.T, eventType string, data []byte, ext map[string]string) string {
	t.Helper()
	id := ce.NewID()
	m := nats.NewMsg(ce.Topic(eventType))
	m.Header["ce-specversion"] = []string{"1.0"}
	m.Header["ce-id"] = []string{id}
	m.Header["ce-source"] = []string{sourceOf(eventType)}
	m.Header["ce-type"] = []string{eventType}
	m.Header["ce-datacontenttype"] = []string{"application/json"}
	for k, v := range ext {
		if v == "" {
			delete(m.Header, k)
			continue
		}
		m.Header[k] = []string{v}
	}
	m.Data = data
	headers := map[string]string{}
	for k, v := range m.Header {
		headers[k] = v[0]
	}
	if headers[ce.HSubject] == "" {
		// Registration's handlers read the partner from the data; the
		// partition is any.
		headers[ce.HSubject] = id
	}
	m.Subject = testkit.Partitioned(m.Subject, headers)
	if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) deadLetters(t *testing.T) []*jetstream.RawStreamMsg {
	return e.streamEvents(t, bus.DeadLetterStream, "")
}

// confirmEmail publishes e-mail ownership's confirmation of an enrollment.
func (e *env) confirmEmail(t *testing.T, partnerID, enrollmentID, program string) {
	t.Helper()
	e.publish(t, emailv1.TypeOwnershipConfirmed, mustJSON(t, emailv1.OwnershipConfirmed{PartnerID: partnerID, EnrollmentID: enrollmentID,
		Program: program, ChallengeID: "ch-" + enrollmentID, Address: "taro.yamada@mirai-cloud.co.jp", Method: "link",
		ConfirmedAt: time.Now().UTC()}), nil)
}

// enrollmentID is the id of the program's enrollment in a registration answer.
func enrollmentID(t *testing.T, view map[string]any, program string) string {
	t.Helper()
	for _, en := range view["enrollments"].([]any) {
		if m := en.(map[string]any); m["program"] == program {
			return m["id"].(string)
		}
	}
	t.Fatalf("no %s enrollment in %v", program, view["enrollments"])
	return ""
}
