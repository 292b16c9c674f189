package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/services/partnerctl/internal/e2e"
)

// caseView is GET /v1/verification/partners/{id}/case.
type caseView struct {
	CaseID    string `json:"case_id"`
	PartnerID string `json:"partner_id"`
	Status    string `json:"status"`
	SubStatus string `json:"sub_status"`
	Checks    []struct {
		Kind              string   `json:"kind"`
		State             string   `json:"state"`
		Mode              string   `json:"mode"`
		Reason            string   `json:"reason"`
		AcceptedDocuments []string `json:"accepted_documents"`
		AppealsUsed       int      `json:"appeals_used"`
		AppealsRemaining  int      `json:"appeals_remaining"`
	} `json:"checks"`
	Tasks []struct {
		ID, Check, Status string
		Round             int
	} `json:"tasks"`
	Documents []struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		TaskID      string `json:"task_id"`
		Status      string `json:"status"`
		RejectedFor string `json:"rejected_for"`
	} `json:"documents"`
	Decisions []struct {
		ID      string `json:"id"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
		Mode    string `json:"mode"`
		Status  string `json:"status"`
	} `json:"decisions"`
}

func (c caseView) check(kind string) (state, mode, reason string, docs []string, remaining int) {
	for _, ck := range c.Checks {
		if ck.Kind == kind {
			return ck.State, ck.Mode, ck.Reason, ck.AcceptedDocuments, ck.AppealsRemaining
		}
	}
	return "", "", "", nil, -1
}

func getCase(t *testing.T, s *e2e.Stack, tok, partnerID string) caseView {
	t.Helper()
	var c caseView
	s.Call(t, "GET", s.URL("verification")+"/v1/verification/partners/"+partnerID+"/case", tok, nil, http.StatusOK, &c)
	return c
}

// testRejectRetryThenApprove: the verifier rejects the company check with
// RETRY (address mismatch); the applicant is asked for the register
// certificate; the upstream system submits a wrong document type (refused)
// and then the certificate; a second review round approves and the partner
// is activated.
func testRejectRetryThenApprove(t *testing.T, s *e2e.Stack) {
	reg := register(t, s, hikari, "indirect_reseller", "retry-"+hikari.Number)
	partner := reg.PartnerID
	logOnFailure(t, s, partner)
	confirmEmail(t, s, hikari, partner, len(reg.Enrollments))
	ver := verifier("verifier-retry")
	verTok := s.Token(ver)

	task1 := reviewTask(t, s, partner, 1)
	rejectID := "retry-reject-" + task1.TaskID
	res := decide(t, s, ver, task1.TaskID, map[string]any{"decision_id": rejectID, "outcome": "reject",
		"reason_code": "address_mismatch", "mode": "RETRY", "internal_note": "street differs from the register"})
	if res["check_state"] != "rejected" || res["case_status"] != "pending" {
		t.Fatalf("RETRY rejection answered %v", res)
	}
	requested := s.Events.WaitFor(t, verificationv1.TypeDocumentsRequested, partner)
	req := decodeData[verificationv1.DocumentsRequested](t, requested)
	if req.Check != "company" || req.Reason != "address_mismatch" || !slices.Equal(req.AcceptedDocuments, []string{"company_register_certificate"}) ||
		req.AppealsRemaining != 3 || req.ContactEmail != hikari.Email() || !req.DueAt.After(time.Now()) || req.ApplicantMessage == "" {
		t.Fatalf("documents requested %+v", req)
	}
	recorded := decodeData[verificationv1.DecisionRecorded](t, s.Events.WaitFor(t, verificationv1.TypeDecisionRecorded, partner))
	if recorded.DecisionID != rejectID || recorded.Outcome != "reject" || recorded.Mode != "RETRY" || recorded.Reason != "address_mismatch" ||
		recorded.Verifier != "verifier-retry" || recorded.Status != "final" {
		t.Fatalf("decision recorded %+v", recorded)
	}
	c := getCase(t, s, verTok, partner)
	state, mode, reason, docs, remaining := c.check("company")
	if c.Status != "pending" || c.SubStatus != "awaiting_documents_company" || state != "rejected" || mode != "RETRY" ||
		reason != "address_mismatch" || !slices.Equal(docs, []string{"company_register_certificate"}) || remaining != 3 {
		t.Fatalf("case after RETRY: %+v", c)
	}
	// The rejection is not final: nothing left verification or reached registration.
	if n := len(s.Events.Of(verificationv1.TypeVerificationRejected, partner)); n != 0 {
		t.Fatalf("%d case rejected events after a RETRY rejection", n)
	}
	if p := getPartner(t, s, partner); p.Status != "pending" || p.enrollment("indirect_reseller") != "pending_verification" {
		t.Fatalf("partner after RETRY: %+v", p)
	}

	up := s.Token(upstream)
	docsURL := s.URL("verification") + "/v1/verification/partners/" + partner + "/documents"
	sum := sha256.Sum256([]byte("登記事項証明書 " + partner))
	doc := map[string]any{"check": "company", "type": "domain_invoice", "issued_on": time.Now().AddDate(0, -1, 0).Format(time.DateOnly),
		"sha256": hex.EncodeToString(sum[:]), "size_bytes": 184_320, "media_type": "application/pdf",
		"storage_uri": "s3://partner-documents/" + partner + "/register.pdf"}
	// A verifier may not submit documents; the applicant's upstream system may.
	e2e.WantProblem(t, s.Do(t, "POST", docsURL, verTok, doc), http.StatusForbidden, "auth.role_required")
	// A document that does not cure the reason is refused and uses no appeal.
	e2e.WantProblem(t, s.Do(t, "POST", docsURL, up, doc), http.StatusUnprocessableEntity, "verification.document_type_not_accepted")
	doc["type"] = "company_register_certificate"
	var accepted struct {
		Document struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			TaskID string `json:"task_id"`
		} `json:"document"`
		AppealsRemaining int  `json:"appeals_remaining"`
		Replayed         bool `json:"replayed"`
	}
	s.Call(t, "POST", docsURL, up, doc, http.StatusCreated, &accepted)
	if accepted.Document.Status != "under_review" || accepted.AppealsRemaining != 2 || accepted.Replayed {
		t.Fatalf("document accepted %+v", accepted)
	}
	// The same file again is a replay, not a second appeal.
	s.Call(t, "POST", docsURL, up, doc, http.StatusOK, &accepted)
	if !accepted.Replayed || accepted.AppealsRemaining != 2 {
		t.Fatalf("resubmission %+v", accepted)
	}
	docEv := decodeData[verificationv1.DocumentAccepted](t, s.Events.WaitFor(t, verificationv1.TypeDocumentAccepted, partner))
	if docEv.DocumentID != accepted.Document.ID || docEv.Type != "company_register_certificate" || docEv.AppealsRemaining != 2 {
		t.Fatalf("document accepted event %+v", docEv)
	}

	task2 := reviewTask(t, s, partner, 2)
	if task2.TaskID != accepted.Document.TaskID || task2.RespondsTo != "address_mismatch" {
		t.Fatalf("second review task %+v, document %+v", task2, accepted.Document)
	}
	approveID := "retry-approve-" + task2.TaskID
	res = decide(t, s, ver, task2.TaskID, map[string]any{"decision_id": approveID, "outcome": "approve"})
	if res["check_state"] != "passed" || res["case_status"] != "approved" {
		t.Fatalf("approval answered %v", res)
	}
	approvedEv := s.Events.WaitFor(t, verificationv1.TypeVerificationApproved, partner)
	if a := decodeData[verificationv1.VerificationApproved](t, approvedEv); a.DecisionID != approveID {
		t.Fatalf("case approved by %s, want %s", a.DecisionID, approveID)
	}
	if act := s.Events.WaitFor(t, regv1.TypePartnerActivated, partner); act.CausationID != approvedEv.ID {
		t.Fatalf("activated caused by %s, want %s", act.CausationID, approvedEv.ID)
	}

	c = getCase(t, s, verTok, partner)
	state, mode, _, _, remaining = c.check("company")
	if c.Status != "approved" || state != "passed" || mode != "" || remaining != 2 || len(c.Documents) != 1 ||
		c.Documents[0].Status != "approved" || len(c.Decisions) != 2 || c.Decisions[0].ID != rejectID || c.Decisions[1].ID != approveID {
		t.Fatalf("case after approval: %+v", c)
	}
	// The company check's state changes, in order, as verification published them.
	var changes []string
	for _, c := range checkChanges(t, s, partner) {
		if strings.HasPrefix(c, "company:") {
			changes = append(changes, c)
		}
	}
	if want := []string{"company:pending→in_review", "company:in_review→rejected(RETRY)", "company:rejected→in_review", "company:in_review→passed"}; !slices.Equal(changes, want) {
		t.Fatalf("company check changes %v, want %v", changes, want)
	}
	e2e.Eventually(t, 10*time.Second, "partner active", func() error {
		if p := getPartner(t, s, partner); p.Status != "active" || p.enrollment("indirect_reseller") != "qualified" {
			return fmt.Errorf("partner %+v", p)
		}
		return nil
	})
	wantTopics(t, s, "VERIFICATION", partner, "verification.case.opened", "verification.check.state_changed",
		"verification.check.state_changed", "verification.task.created", "verification.check.state_changed",
		"verification.task.claimed", "verification.check.state_changed", "verification.documents.requested", "verification.decision.recorded",
		"verification.check.state_changed", "verification.documents.satisfied", "verification.document.accepted", "verification.task.created",
		"verification.task.claimed", "verification.check.state_changed", "verification.decision.recorded", "verification.case.approved")
}
