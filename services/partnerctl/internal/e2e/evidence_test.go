package e2e_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/partnerhub/onboarding/pkg/ce"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// morioka is in the register without a website: nothing there ties its
// contact's e-mail domain to it.
var morioka = company{"株式会社もりおかシステムサービス", "9400001000999", "岩手県", "盛岡市", "内丸10-1", "020-0023", "morioka-syssvc.co.jp"}

// zone is an in-process DNS server (github.com/miekg/dns) answering the TXT
// records a test publishes and NXDOMAIN for anything else; verification
// resolves domain proofs with it (VERIFICATION_DNS_SERVER).
type zone struct {
	addr string
	mu   sync.Mutex
	txt  map[string][]string // fully qualified, lower case
}

func startZone(t *testing.T) *zone {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := &zone{addr: pc.LocalAddr().String(), txt: map[string][]string{}}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(z.serve)}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return z
}

func (z *zone) publish(name, value string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	k := dns.Fqdn(strings.ToLower(name))
	z.txt[k] = append(z.txt[k], value)
}

func (z *zone) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	z.mu.Lock()
	for _, q := range r.Question {
		if q.Qtype != dns.TypeTXT {
			continue
		}
		for _, v := range z.txt[strings.ToLower(q.Name)] {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET}, Txt: []string{v}})
		}
	}
	z.mu.Unlock()
	if len(m.Answer) == 0 {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

// testEmploymentOnEvidence: the applicant's e-mail domain equals the
// website it typed, but the register knows no website for the company. The
// employment check no longer passes on that (before: it did); verification
// asks for documents or a domain proof, listed with the DNS record to
// publish in the enrollment's requirements view. Asked too early, the proof
// is not found (409); once the TXT record is published, the check passes with
// evidence dns_txt, and the company review approves the partner.
func testEmploymentOnEvidence(t *testing.T, s *e2e.Stack, z *zone) {
	reg := register(t, s, morioka, "indirect_reseller", "evidence-"+morioka.Number)
	p := reg.PartnerID
	logOnFailure(t, s, p)
	confirmEmail(t, s, morioka, p, len(reg.Enrollments))
	employment := func(to string) verificationv1.CheckStateChanged {
		var ch verificationv1.CheckStateChanged
		s.Events.WaitMatch(t, "employment check "+to, 20*time.Second, func(e e2e.Event) bool {
			return e.Topic() == ce.Topic(verificationv1.TypeCheckStateChanged) && e.Subject == p &&
				json.Unmarshal(e.Data, &ch) == nil && ch.Check == "employment" && ch.To == to
		}, p)
		return ch
	}
	if ch := employment("action_required"); ch.Reason != "email_domain_unverified" {
		t.Fatalf("employment check %+v", ch)
	}
	v := wantRequirements(t, s, p, "indirect_reseller", "documents:email_domain_unverified", "verification_review", "agreement")
	proof := v.Requirements[0].Documents
	if proof == nil || proof.DomainProof == nil || proof.DomainProof.Domain != morioka.Domain || proof.DueAt == "" {
		t.Fatalf("documents requirement %+v", v.Requirements[0])
	}
	// The contact is told by mail too: the documents, or the record to publish.
	m := waitMail(t, s, morioka.Email(), "書類のご提出のお願い")
	for _, want := range []string{proof.DomainProof.DNSTXTName, proof.DomainProof.DNSTXTValue, "登記情報に貴社の Web サイトがありません",
		"the register lists no website"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("the documents-requested mail lacks %q:\n%s", want, m.Text)
		}
	}

	url := s.URL("verification") + "/v1/verification/partners/" + p + "/domain-proofs"
	adm := s.Token(partnerAdmin(p, "admin-"+p))
	e2e.WantProblem(t, s.Do(t, "POST", url, adm, map[string]any{"method": "dns_txt"}), http.StatusConflict, "verification.domain_proof_not_found")
	z.publish(proof.DomainProof.DNSTXTName, proof.DomainProof.DNSTXTValue)
	var c caseView
	s.Call(t, "POST", url, adm, map[string]any{"method": "dns_txt"}, http.StatusOK, &c)
	if state, _, _, _, _ := c.check("employment"); state != "passed" {
		t.Fatalf("case after the proof %+v", c)
	}
	if ch := employment("passed"); ch.Evidence == nil || ch.Evidence.Kind != verificationv1.EvidenceDNSTXT {
		t.Fatalf("employment passed %+v", ch)
	}
	wantRequirements(t, s, p, "indirect_reseller", "verification_review", "agreement")
	task := reviewTask(t, s, p, 1)
	decide(t, s, verifier("verifier-"+morioka.Number), task.TaskID, map[string]any{"decision_id": "approve-" + task.TaskID, "outcome": "approve"})
	s.Events.WaitFor(t, regv1.TypePartnerActivated, p)
}
