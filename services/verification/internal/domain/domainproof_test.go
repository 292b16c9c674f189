package domain

import (
	"errors"
	"testing"
	"time"
)

// unprovenCase is a case whose register lists no website: employment waits
// for documents or the domain proof.
func unprovenCase(t *testing.T) *Case {
	t.Helper()
	in := input()
	in.DomainProofToken = "tok-1"
	c, err := Open("vc-1", in, registerSays(""), t0, rules())
	if err != nil {
		t.Fatal(err)
	}
	c.PullEvents()
	return c
}

func TestDomainProofPassesEmploymentWithItsEvidence(t *testing.T) {
	c := unprovenCase(t)
	dp := *c.DomainProof
	if dp.TXTName() != "_partnerhub-verification.sample.co.jp" || dp.Value() != "partnerhub-verification=tok-1" ||
		dp.URL() != "https://sample.co.jp/.well-known/partnerhub-verification.txt" {
		t.Fatalf("proof %+v %s %s %s", dp, dp.TXTName(), dp.Value(), dp.URL())
	}
	err := c.ProveDomain(ProofDNSTXT, []string{"v=spf1 -all", "partnerhub-verification=other"}, t0, rules())
	if !errors.Is(err, ErrDomainProofNotFound) || err.(*Error).Details["looked_at"] != dp.TXTName() {
		t.Fatalf("wrong token: %v", err)
	}
	if err := c.ProveDomain("carrier_pigeon", nil, t0, rules()); !errors.Is(err, ErrInvalidDomainProof) {
		t.Fatalf("unknown method: %v", err)
	}
	if err := c.ProveDomain(ProofDNSTXT, []string{"partnerhub-verification=tok-1"}, t0, rules()); err != nil {
		t.Fatal(err)
	}
	emp := c.Check(CheckEmployment)
	if emp.State != StatePassed || emp.Evidence == nil || emp.Evidence.Kind != EvidenceDNSTXT || emp.Evidence.Detail != dp.TXTName() {
		t.Fatalf("employment %+v evidence %+v", emp.State, emp.Evidence)
	}
	evs := c.PullEvents()
	sat := find[DocumentsSatisfied](evs)
	if len(sat) != 1 || sat[0].Check != CheckEmployment || sat[0].By != "dns_txt" {
		t.Fatalf("documents satisfied %+v in %v", sat, names(evs))
	}
	if err := c.ProveDomain(ProofDNSTXT, []string{"partnerhub-verification=tok-1"}, t0, rules()); !errors.Is(err, ErrNoDocumentsDue) {
		t.Fatalf("proving twice: %v", err)
	}

	web := unprovenCase(t)
	if err := web.ProveDomain(ProofHTTPWellKnown, []string{"# hello", " partnerhub-verification=tok-1 "}, t0, rules()); err != nil {
		t.Fatal(err)
	}
	if ev := web.Check(CheckEmployment).Evidence; ev.Kind != EvidenceHTTPWellKnown || ev.Detail != dp.URL() {
		t.Fatalf("evidence %+v", ev)
	}
}

func TestEvidenceOfEveryPass(t *testing.T) {
	c := openCase(t, nil)
	if _, err := c.ConfirmEmailOwnership("enr-pn", "taro@sample.co.jp", t0, t0, rules()); err != nil {
		t.Fatal(err)
	}
	if ev := c.Check(CheckEmailOwnership).Evidence; ev == nil || ev.Kind != EvidenceEmailConfirmed || ev.Detail != "enr-pn" {
		t.Fatalf("e-mail evidence %+v", ev)
	}
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	if _, _, err := decide(c, DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeApprove}, t0); err != nil {
		t.Fatal(err)
	}
	if ev := c.Check(CheckCompany).Evidence; ev == nil || ev.Kind != EvidenceVerifierDecision || ev.Detail != "d1" {
		t.Fatalf("company evidence %+v", ev)
	}
}

func TestDocumentSubmissionSatisfiesTheRequest(t *testing.T) {
	c := unprovenCase(t)
	in := doc(1, DocDomainInvoice, "2019-01-01")
	in.Check = CheckEmployment
	if _, _, err := c.SubmitDocument(in, t0, rules()); err != nil {
		t.Fatal(err)
	}
	if sat := find[DocumentsSatisfied](c.PullEvents()); len(sat) != 1 || sat[0].By != "document" {
		t.Fatalf("documents satisfied %+v", sat)
	}
}

func TestReopenReviewAfterRevocationApprovesAgain(t *testing.T) {
	c := approvedCase(t)
	if _, err := c.ReopenReview(ReopenForRevocation, "n", "v2", t0, rules()); err != nil {
		t.Fatal(err) // an approved case may be reviewed again (reactivation)
	}
	c = approvedCase(t)
	at := t0.Add(48 * time.Hour)
	if _, _, err := c.Revoke(RevokeInput{DecisionID: "rv1", Revoker: "v2", Reason: "forged register entry"}, at); err != nil {
		t.Fatal(err)
	}
	c.PullEvents()
	changed, err := c.ReopenReview(ReopenForRevocation, "the company sent a new register certificate", "v3", at.Add(time.Hour), rules())
	if err != nil || !changed {
		t.Fatalf("reopen: %v %v", changed, err)
	}
	if c.Status != CasePending || c.Check(CheckCompany).State != StateInReview || c.Check(CheckEmployment).State != StatePassed {
		t.Fatalf("after reopen: %s company %s", c.Status, c.Check(CheckCompany).State)
	}
	evs := c.PullEvents()
	ro := find[CaseReopened](evs)
	task := companyTask(c)
	if len(ro) != 1 || ro[0].From != CaseRevoked || ro[0].Reason != ReopenForRevocation || ro[0].TaskID != task.ID || task.Round != 2 {
		t.Fatalf("reopened %+v task %+v", ro, task)
	}
	if again, _ := c.ReopenReview(ReopenForRevocation, "again", "v3", at, rules()); again {
		t.Fatal("a case in review is not reopened again")
	}
	claim(t, c, task.ID, "v3", at.Add(2*time.Hour))
	if _, _, err := decide(c, DecisionInput{ID: "d2", TaskID: task.ID, Verifier: "v3", Outcome: OutcomeApprove}, at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ap := find[VerificationApproved](c.PullEvents())
	if c.Status != CaseApproved || len(ap) != 1 || ap[0].DecisionID != "d2" {
		t.Fatalf("re-approval: %s %+v", c.Status, ap)
	}

	rejected := openCase(t, nil)
	rejected.Status = CaseRejected
	if _, err := rejected.ReopenReview(ReopenForRevocation, "n", "v2", t0, rules()); !errors.Is(err, ErrCaseNotReopenable) {
		t.Fatalf("a rejected case: %v", err)
	}
}
