package service_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/contract"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/testkit"
	agreementshttp "github.com/partnerhub/onboarding/services/agreements/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/agreements/internal/service"
)

type harness struct {
	t      testing.TB
	svc    *service.Service
	js     jetstream.JetStream
	signer *auth.Signer
	base   string
	client *http.Client // tests check every response against the OpenAPI document
}

func testConfig(tb testing.TB) (service.Config, *auth.Signer) {
	tb.Helper()
	signer, jwks := testkit.DevKeys(tb)
	return service.Config{SeedVersions: true, Config: testkit.PlatformConfig(testkit.Database(tb), testkit.NATS(tb), jwks)}, signer
}

func start(tb testing.TB) *harness {
	tb.Helper()
	cfg, signer := testConfig(tb)
	svc := testkit.StartService(tb, service.Name, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, testkit.Log(tb))
	}, func(s *service.Service) *platform.Base { return s.Base }).Svc
	_, js := testkit.JetStream(tb, cfg.Bus.NATSURL)
	client := http.DefaultClient
	if t, ok := tb.(*testing.T); ok { // benchmarks measure without the check
		client = contract.ValidatingClient(t, agreementshttp.OpenAPI)
	}
	return &harness{t: tb, svc: svc, js: js, signer: signer, base: "http://" + svc.Addr(), client: client}
}

// publish sends data as a binary-mode CloudEvent of type typ (lower-case
// ce-* headers, verbatim) and returns the event id.
func (h *harness) publish(typ, subject, source string, data any) string {
	h.t.Helper()
	body, err := json.Marshal(data)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.publishRaw(typ, ce.NewID(), subject, source, body)
}

func (h *harness) publishRaw(typ, id, subject, source string, body []byte) string {
	h.t.Helper()
	m := nats.NewMsg(testkit.Subject(typ, subject))
	for k, v := range map[string]string{
		ce.HSpecVersion: "1.0", ce.HID: id, ce.HSource: source, ce.HType: typ, ce.HSubject: subject,
		ce.HDataContentType: "application/json", ce.HTime: time.Now().UTC().Format(time.RFC3339Nano),
	} {
		m.Header[k] = []string{v}
	}
	m.Data = body
	if _, err := h.js.PublishMsg(context.Background(), m); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// register publishes a registration submitted event for a JP partner.
func (h *harness) register(partnerID string, programs ...string) registrationv1.ApplicationSubmitted {
	h.t.Helper()
	sub := registrationv1.ApplicationSubmitted{
		PartnerID: partnerID, LocationID: locationOf(partnerID), Market: "JP", Language: "ja",
		LegalName:        registrationv1.LegalName{Raw: "（株）サンプル商事", Normalized: "株式会社サンプル商事"},
		CompanyPhoneE164: "+81312345678", Website: "https://sample.co.jp", WebsiteDomain: "sample.co.jp",
		Contact: registrationv1.Contact{FirstName: "花子", LastName: "佐藤", Email: "hanako@sample.co.jp",
			EmailDomain: "sample.co.jp", PhoneE164: "+819012345678"},
		EmailDomainMatchesWebsite: true,
		Affirmations: registrationv1.Affirmations{AuthorityToRepresent: true, ConsentToVerification: true,
			AcceptNetworkTerms: true, CanProvideSupport: true, AffirmedAt: time.Now().UTC().Add(-time.Minute)},
		SubmittedBy: "user-" + partnerID, SubmittedAt: time.Now().UTC().Add(-time.Minute),
	}
	for i, p := range programs {
		sub.Enrollments = append(sub.Enrollments, registrationv1.Enrollment{
			EnrollmentID: fmt.Sprintf("EN-%s-%d", partnerID, i), Program: p, Status: registrationv1.StatusPendingVerification})
	}
	h.publish(registrationv1.TypeApplicationSubmitted, partnerID, "/services/registration", sub)
	return sub
}

func (h *harness) approve(partnerID, decisionID string) string {
	h.t.Helper()
	return h.publish(verificationv1.TypeVerificationApproved, partnerID, "/services/verification", verificationv1.VerificationApproved{
		CaseID: "CASE-" + partnerID, PartnerID: partnerID, LocationID: locationOf(partnerID), Market: "JP", DecisionID: decisionID,
		Enrollments: []verificationv1.Enrollment{{EnrollmentID: "EN-" + partnerID + "-0", Program: "indirect_reseller"}},
		ApprovedAt:  time.Now().UTC(),
	})
}

func (h *harness) revoke(partnerID, decisionID string) {
	h.t.Helper()
	h.publish(verificationv1.TypeVerificationRevoked, partnerID, "/services/verification", verificationv1.VerificationRevoked{
		CaseID: "CASE-" + partnerID, PartnerID: partnerID, LocationID: locationOf(partnerID), Market: "JP", DecisionID: decisionID,
		Reason: "forged register extract", RevokedAt: time.Now().UTC(),
	})
}

// locationOf is the location partner ID with partnerID's body (a check
// symbol covers only the body, so it is valid too).
func locationOf(partnerID string) string {
	return string(ids.Location) + strings.TrimPrefix(partnerID, string(ids.Partner))
}

func newPartnerID() string {
	id, err := ids.New(ids.Partner, rand.Reader)
	if err != nil {
		panic(err)
	}
	return id
}

// approvedReseller registers a new partner in the network and as an
// indirect reseller, approves its verification and waits until the service
// has applied the approval; it returns the partner's id.
func (h *harness) approvedReseller() string {
	pid := newPartnerID()
	h.register(pid, "partner_network", "indirect_reseller")
	h.approve(pid, "DEC-1")
	h.waitVerification(pid, "approved")
	return pid
}

// waitVerification waits until the projection shows outcome for partnerID
// and has applied its registration: the two arrive on different durables,
// in either order.
func (h *harness) waitVerification(partnerID, outcome string) {
	h.t.Helper()
	testkit.Eventually(h.t, 10*time.Second, func() error {
		var got string
		var registered bool
		err := h.svc.Base.Pool.QueryRow(context.Background(),
			`SELECT doc->'verification'->>'outcome', coalesce((doc->>'registered')::bool, false) FROM partners WHERE partner_id = $1`,
			partnerID).Scan(&got, &registered)
		if err != nil || got != outcome || !registered {
			return fmt.Errorf("verification of %s = %q, registered %v (%v), want %s", partnerID, got, registered, err, outcome)
		}
		return nil
	})
}

func (h *harness) count(sql string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.svc.Base.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) token(p auth.Principal) string { return testkit.Token(h.t, h.signer, p) }

func adminOf(partnerID string) auth.Principal {
	return auth.Principal{Kind: auth.KindUser, Subject: "user-" + partnerID, Name: "佐藤 花子", Email: "hanako@sample.co.jp",
		PartnerID: partnerID, Roles: []auth.Role{auth.RolePartnerAdmin}, AMR: []string{"pwd", "mfa"}}
}

var operator = auth.Principal{Kind: auth.KindUser, Subject: "op-1", Name: "Ops", Roles: []auth.Role{auth.RoleOperator}}

type response struct {
	Status int
	Body   map[string]any
}

func (r response) code() string { s, _ := r.Body["code"].(string); return s }

// call sends an HTTP request with an optional bearer token and JSON body.
func (h *harness) call(method, path, token string, body any) response {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", "agreements-test/1.0")
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	out := response{Status: res.StatusCode, Body: map[string]any{}}
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// streamEvents returns the messages of type typ on stream (optionally for one subject).
func (h *harness) streamEvents(stream, typ, subject string) []*jetstream.RawStreamMsg {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.js.Stream(ctx, stream)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		if (typ == "" || m.Header.Get(ce.HType) == typ) && (subject == "" || m.Header.Get(ce.HSubject) == subject) {
			out = append(out, m)
		}
	}
	return out
}

// waitEvents waits until at least n events of typ for subject are on stream.
func (h *harness) waitEvents(stream, typ, subject string, n int) []*jetstream.RawStreamMsg {
	h.t.Helper()
	var got []*jetstream.RawStreamMsg
	testkit.Eventually(h.t, 10*time.Second, func() error {
		got = h.streamEvents(stream, typ, subject)
		if len(got) < n {
			return fmt.Errorf("%d %s events for %s, want %d", len(got), typ, subject, n)
		}
		return nil
	})
	return got
}
