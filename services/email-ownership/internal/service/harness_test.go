package service_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/ids"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/pkg/sealedbox"
	"github.com/partnerhub/onboarding/pkg/testkit"
	httpadapter "github.com/partnerhub/onboarding/services/emailownership/internal/adapters/http"
	"github.com/partnerhub/onboarding/services/emailownership/internal/service"
)

// clock is a settable clock shared by the app and the expiry poller.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// harness is one running service with its infrastructure.
type harness struct {
	t      testing.TB
	svc    *service.Service
	js     jetstream.JetStream
	signer *auth.Signer
	opener *sealedbox.Opener // the notifier's key: only positive controls use it
	clock  *clock
	url    string
	client *http.Client
}

func testConfig(t testing.TB, natsURL, db, jwks, pub string) service.Config {
	return service.Config{
		Config:            testkit.PlatformConfig(db, natsURL, jwks),
		CodePepper:        "test-pepper-test-pepper-test-pepper-0123456789",
		NotifierPublicKey: pub,
		ChallengeTTL:      72 * time.Hour, ResendCooldown: 60 * time.Second, ResendQuota: 5, MaxWrongCodes: 5,
	}
}

func start(t testing.TB) *harness {
	t.Helper()
	natsURL := testkit.NATS(t)
	signer, jwks := testkit.DevKeys(t)
	pub, priv, err := sealedbox.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	opener, _ := sealedbox.NewOpener(priv)
	cfg := testConfig(t, natsURL, testkit.Database(t), jwks, pub)
	h := &harness{t: t, signer: signer, opener: opener, clock: &clock{}, client: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if tt, ok := t.(*testing.T); ok { // every response is checked against the OpenAPI document (not in benchmarks)
		h.client = contract.ValidatingClient(tt, httpadapter.OpenAPI)
		h.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	cfg.Clock = h.clock
	h.svc = testkit.StartService(t, service.Name, func(ctx context.Context) (*service.Service, error) {
		return service.New(ctx, cfg, testkit.Log(t))
	}, func(s *service.Service) *platform.Base { return s.Base }).Svc
	h.url = "http://" + h.svc.Addr()
	_, h.js = testkit.JetStream(t, natsURL)
	return h
}

// submitted is a realistic registration event with both enrollments.
func submitted(partner, email string) registrationv1.ApplicationSubmitted {
	at := time.Now().UTC().Truncate(time.Second)
	return registrationv1.ApplicationSubmitted{
		PartnerID: partner, LocationID: partner + "-L1", Market: "JP", Language: "ja",
		LegalName: registrationv1.LegalName{Raw: "（株）山田商事", Normalized: "株式会社山田商事"},
		Address: registrationv1.Address{Raw: registrationv1.AddressLines{Line1: "5-2-3", City: "千代田区", Region: "東京都", PostalCode: "100-0001"},
			Normalized: registrationv1.NormalizedAddress{Line1: "5丁目2番地3", City: "千代田区", Region: "東京都", PostalCode: "100-0001", Key: "k"}},
		CompanyPhoneE164: "+81312345678", Website: "https://yamada.example.co.jp", WebsiteDomain: "yamada.example.co.jp",
		Contact:                   registrationv1.Contact{FirstName: "太郎", LastName: "山田", Email: email, EmailDomain: "yamada.example.co.jp", PhoneE164: "+819012345678"},
		EmailDomainMatchesWebsite: true,
		Enrollments: []registrationv1.Enrollment{
			{EnrollmentID: netOf(partner), Program: registrationv1.ProgramPartnerNetwork, Status: registrationv1.StatusPendingVerification},
			{EnrollmentID: resOf(partner), Program: registrationv1.ProgramIndirectReseller, Status: registrationv1.StatusPendingVerification,
				Support: &registrationv1.SupportProfile{Website: "https://yamada.example.co.jp/support", Email: "support@yamada.example.co.jp"}},
		},
		Affirmations: registrationv1.Affirmations{AuthorityToRepresent: true, ConsentToVerification: true, AcceptNetworkTerms: true, CanProvideSupport: true, AffirmedAt: at},
		SubmittedBy:  "upstream-portal", SubmittedAt: at,
	}
}

// publish sends a binary-mode CloudEvent and returns its id.
func publish(t testing.TB, js jetstream.JetStream, typ, id, subject string, data any) string {
	t.Helper()
	return publishSeq(t, js, typ, id, subject, 0, data)
}

// publishSeq is publish with the partner sequence of the event (0: none).
func publishSeq(t testing.TB, js jetstream.JetStream, typ, id, subject string, seq uint64, data any) string {
	t.Helper()
	body, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		id = ce.NewID()
	}
	m := nats.NewMsg(testkit.Subject(typ, subject))
	for k, v := range map[string]string{ce.HSpecVersion: "1.0", ce.HID: id, ce.HSource: bus.OwnerSource(m.Subject),
		ce.HType: typ, ce.HSubject: subject, ce.HDataContentType: "application/json"} {
		m.Header[k] = []string{v}
	}
	if seq > 0 {
		m.Header[ce.HSequence] = []string{ce.FormatSequence(seq)}
	}
	m.Header[nats.MsgIdHdr] = []string{ce.NewID()} // a replay must not be deduplicated by the stream
	m.Data = body
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return id
}

func (h *harness) submit(partner, email string) registrationv1.ApplicationSubmitted {
	p := submitted(partner, email)
	publish(h.t, h.js, registrationv1.TypeApplicationSubmitted, "", partner, p)
	return p
}

// streamMsgs returns every message of a stream with the given ce-type.
func streamMsgs(t testing.TB, js jetstream.JetStream, stream, typ string) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		if typ == "" || m.Header.Get(ce.HType) == typ {
			out = append(out, m)
		}
	}
	return out
}

// waitEvents waits until exactly n events of typ match keep (nil: all).
func (h *harness) waitEvents(typ string, n int, keep func(*jetstream.RawStreamMsg) bool) []*jetstream.RawStreamMsg {
	h.t.Helper()
	var got []*jetstream.RawStreamMsg
	testkit.Eventually(h.t, 10*time.Second, func() error {
		got = got[:0]
		for _, m := range streamMsgs(h.t, h.js, "EMAIL", typ) {
			if keep == nil || keep(m) {
				got = append(got, m)
			}
		}
		if len(got) != n {
			return fmt.Errorf("%d %s events, want %d", len(got), typ, n)
		}
		return nil
	})
	return got
}

func forEnrollment(id string) func(*jetstream.RawStreamMsg) bool {
	return func(m *jetstream.RawStreamMsg) bool {
		var p struct {
			EnrollmentID string `json:"enrollment_id"`
		}
		_ = json.Unmarshal(m.Data, &p)
		return p.EnrollmentID == id
	}
}

// mailFor waits for the single mail request of an enrollment and decodes it.
func (h *harness) mailFor(enrollmentID string, n int) []emailv1.VerificationMailRequested {
	h.t.Helper()
	msgs := h.waitEvents(emailv1.TypeVerificationMailRequested, n, forEnrollment(enrollmentID))
	out := make([]emailv1.VerificationMailRequested, len(msgs))
	for i, m := range msgs {
		if err := json.Unmarshal(m.Data, &out[i]); err != nil {
			h.t.Fatal(err)
		}
	}
	return out
}

// secret opens a mail request as the notifier would (positive controls only).
func (h *harness) secret(m emailv1.VerificationMailRequested) sealedbox.Payload {
	h.t.Helper()
	p, err := h.opener.OpenPayload(m.SealedSecret, m.ChallengeID)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) token(p auth.Principal) string { return testkit.Token(h.t, h.signer, p) }

func partnerUser(partner string) auth.Principal {
	return auth.Principal{Kind: auth.KindUser, Subject: "u-" + partner, PartnerID: partner, Roles: []auth.Role{auth.RolePartnerUser}}
}

// do sends a request; body may be nil, a string (form) or a value (JSON).
func (h *harness) do(method, path, bearer string, body any) (int, string, http.Header) {
	h.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/x-www-form-urlencoded"
	default:
		js, _ := json.Marshal(b)
		rd, ctype = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// confirm presses the button of a link's page: the POST of its token.
func (h *harness) confirm(token string) (int, string, http.Header) {
	h.t.Helper()
	return h.do("POST", "/confirm", "", "token="+url.QueryEscape(token))
}

func (h *harness) status(enrollmentID, partner string) map[string]any {
	h.t.Helper()
	code, body, _ := h.do("GET", "/v1/enrollments/"+enrollmentID+"/ownership", h.token(partnerUser(partner)), nil)
	if code != 200 {
		h.t.Fatalf("status %s: %d %s", enrollmentID, code, body)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	return m
}

// netOf and resOf are the enrollment IDs of partner's network membership and
// reseller enrollment: valid EN-… identifiers drawn from partner.
func netOf(partner string) string { return enrollmentOf(partner, "N") }
func resOf(partner string) string { return enrollmentOf(partner, "R") }

func enrollmentOf(partner, last string) string {
	sum := sha256.Sum256([]byte(partner))
	body := make([]byte, 9)
	for i := range body {
		body[i] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[sum[i]&31]
	}
	id, err := ids.Format(ids.Enrollment, string(body)+last)
	if err != nil {
		panic(err)
	}
	return id
}
