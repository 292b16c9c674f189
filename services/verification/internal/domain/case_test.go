package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = jst("2026-06-01 10:00") // a Monday

func rules() Rules { return Rules{Policy: DefaultPolicy(), Calendar: JapanCalendar()} }

func input() OpenInput {
	return OpenInput{
		RegistrationID: "reg-1", PartnerID: "p-1", LocationID: "loc-1", Market: "JP",
		Facts: CompanyFacts{LegalName: "（株）サンプル商事", Address: Address{Line1: "丸の内5-2-3", City: "千代田区", Prefecture: "東京都", PostalCode: "100-0005"},
			RegistrationNumber: "7000012050002"},
		Contact:     Contact{FirstName: "Taro", LastName: "Yamada", Email: "taro@sample.co.jp"},
		Website:     "https://www.sample.co.jp",
		Enrollments: []Enrollment{{ID: "enr-pn", Program: ProgramPartnerNetwork}, {ID: "enr-rs", Program: ProgramResellerIndirect}},
	}
}

func openCase(t *testing.T, mut func(*OpenInput)) *Case {
	t.Helper()
	in := input()
	if mut != nil {
		mut(&in)
	}
	c, err := Open("vc-1", in, registerSays(in.Website), t0, rules())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// registerSays is a pre-check that found the company, whose register entry
// lists website (none when empty). openCase's register lists the website
// the applicant typed: employment passes on the register's website.
func registerSays(website string) PreCheck {
	return NewPreCheck(RegistryMatch{Result: MatchFound, Record: &RegisterRecord{Market: "JP", RegistrationNumber: "7000012050002",
		Name: "株式会社サンプル商事", Prefecture: "東京都", City: "千代田区", Street: "丸の内５丁目２番３号", Website: website}}, nil, t0)
}

func names(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventName()
	}
	return out
}

func find[T Event](evs []Event) []T {
	var out []T
	for _, e := range evs {
		if v, ok := e.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func companyTask(c *Case) *ReviewTask {
	for i := len(c.Tasks) - 1; i >= 0; i-- {
		if c.Tasks[i].Check == CheckCompany {
			return c.Tasks[i]
		}
	}
	return nil
}

func TestOpenDecidesEmploymentAndQueuesCompanyReview(t *testing.T) {
	tests := []struct {
		name     string
		mut      func(*OpenInput)
		register string // the website the register lists
		policy   func(*Policy)
		employed CheckState
		reason   ReasonCode
	}{
		{"the register's website passes", nil, "https://www.sample.co.jp", nil, StatePassed, ""},
		{"a subdomain of it passes", func(in *OpenInput) { in.Contact.Email = "taro@mail.sample.co.jp" }, "sample.co.jp", nil, StatePassed, ""},
		{"the typed website alone proves nothing", nil, "", nil, StateActionRequired, ReasonEmailDomainUnverified},
		{"the register lists another website", nil, "https://sample-holdings.co.jp", nil, StateActionRequired, ReasonEmailDomainUnverified},
		{"another domain than the typed website", func(in *OpenInput) { in.Website = "https://other.co.jp" }, "", nil, StateActionRequired, ReasonEmailDomainMismatch},
		{"policy off needs documents", nil, "https://www.sample.co.jp", func(p *Policy) { p.AutoPassEmploymentOnRegisterWebsite = false }, StateActionRequired, ReasonEmailDomainUnverified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input()
			in.DomainProofToken = "tok-1"
			if tt.mut != nil {
				tt.mut(&in)
			}
			r := rules()
			if tt.policy != nil {
				tt.policy(&r.Policy)
			}
			pre := NewPreCheck(RegistryMatch{Result: MatchNameMismatch, Record: &RegisterRecord{Market: "JP", Name: "株式会社サンプル", Website: tt.register}}, nil, t0)
			c, err := Open("vc-1", in, pre, t0, r)
			if err != nil {
				t.Fatal(err)
			}
			emp := c.Check(CheckEmployment)
			if emp.State != tt.employed {
				t.Fatalf("employment = %s, want %s", emp.State, tt.employed)
			}
			evs := c.PullEvents()
			if tt.employed == StatePassed {
				if emp.Evidence == nil || emp.Evidence.Kind != EvidenceRegisterWebsite || emp.Evidence.Detail != tt.register {
					t.Fatalf("evidence %+v", emp.Evidence)
				}
				if ch := find[CheckStateChanged](evs); ch[0].Evidence == nil || ch[0].Evidence.Kind != EvidenceRegisterWebsite {
					t.Fatalf("the event says which evidence passed it: %+v", ch[0])
				}
			}
			if tt.employed == StateActionRequired {
				if !slices.Equal(emp.AcceptedDocuments, []DocumentType{DocDomainInvoice, DocDomainPurchaseProof}) || emp.Reason != tt.reason {
					t.Fatalf("employment cure = %v / %s", emp.AcceptedDocuments, emp.Reason)
				}
				if want := jst("2026-06-16 00:00"); !emp.DocumentsDueAt.Equal(want) { // 10 business days
					t.Fatalf("documents due %s, want %s", emp.DocumentsDueAt, want)
				}
				req := find[DocumentsRequested](evs)
				if len(req) != 1 || req[0].DomainProof == nil || req[0].DomainProof.Domain != "sample.co.jp" || req[0].DomainProof.Token != "tok-1" {
					t.Fatalf("want one DocumentsRequested offering the domain proof in %v", names(evs))
				}
			}
			co := c.Check(CheckCompany)
			task := companyTask(c)
			if co.State != StateInReview || task == nil || task.Status != TaskOpen {
				t.Fatalf("company %s, task %+v", co.State, task)
			}
			if task.Content.PreCheck == nil || task.Content.PreCheck.SuggestedReason != ReasonCompanyNameMismatch {
				t.Fatalf("task lacks the pre-check findings: %+v", task.Content.PreCheck)
			}
			if task.Content.Normalized.LegalName != "株式会社サンプル商事" || task.Content.Submitted.LegalName != "（株）サンプル商事" {
				t.Fatalf("task lacks submitted/normalized facts: %+v", task.Content)
			}
			if want := jst("2026-06-05 00:00"); !task.DueAt.Equal(want) {
				t.Fatalf("task due %s, want %s (3 business days)", task.DueAt, want)
			}
			if names(evs)[0] != "verification.case.opened" || len(find[ReviewTaskCreated](evs)) != 1 {
				t.Fatalf("events %v", names(evs))
			}
			if c.Status != CasePending || c.TimerAt.IsZero() {
				t.Fatalf("status %s timer %s", c.Status, c.TimerAt)
			}
		})
	}
}

func TestOpenRefusesInvalidInput(t *testing.T) {
	in := input()
	in.Facts.RegistrationNumber = "8000012050002"
	in.Contact.Email = "not-an-email"
	in.Enrollments = nil
	_, err := Open("vc-1", in, PreCheck{}, t0, rules())
	var de *Error
	if !errors.As(err, &de) || !errors.Is(err, ErrInvalidCase) {
		t.Fatalf("got %v", err)
	}
	fields := map[string]bool{}
	for _, f := range de.Fields {
		fields[f.Field] = true
	}
	for _, f := range []string{"company.registration_number", "contact.email", "enrollments"} {
		if !fields[f] {
			t.Errorf("missing field problem %s in %v", f, de.Fields)
		}
	}
}

func TestEmailOwnership(t *testing.T) {
	tests := []struct {
		name        string
		enrollments []Enrollment
		confirm     string
		wantPassed  bool
	}{
		{"partner network confirmation passes", nil, "enr-pn", true},
		{"reseller confirmation alone does not pass", nil, "enr-rs", false},
		{"reseller-only registration passes on reseller", []Enrollment{{ID: "enr-rs", Program: ProgramResellerIndirect}}, "enr-rs", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openCase(t, func(in *OpenInput) {
				if tt.enrollments != nil {
					in.Enrollments = tt.enrollments
				}
			})
			c.PullEvents()
			changed, err := c.ConfirmEmailOwnership(tt.confirm, "Taro@Sample.co.jp", t0, t0, rules())
			if err != nil || !changed {
				t.Fatalf("changed=%v err=%v", changed, err)
			}
			if got := c.Check(CheckEmailOwnership).State == StatePassed; got != tt.wantPassed {
				t.Fatalf("passed = %v", got)
			}
			again, err := c.ConfirmEmailOwnership(tt.confirm, "taro@sample.co.jp", t0, t0, rules())
			if err != nil || again {
				t.Fatalf("replay: changed=%v err=%v", again, err)
			}
		})
	}
	c := openCase(t, nil)
	if _, err := c.ConfirmEmailOwnership("enr-x", "taro@sample.co.jp", t0, t0, rules()); !errors.Is(err, ErrEnrollmentNotFound) {
		t.Fatalf("unknown enrollment: %v", err)
	}
	if _, err := c.ConfirmEmailOwnership("enr-pn", "eve@sample.co.jp", t0, t0, rules()); !errors.Is(err, ErrEmailMismatch) {
		t.Fatalf("other address: %v", err)
	}
	// Once the check passed, another address is a profile change's new
	// contact: no error (no dead letter), nothing changes.
	if _, err := c.ConfirmEmailOwnership("enr-pn", "taro@sample.co.jp", t0, t0, rules()); err != nil {
		t.Fatal(err)
	}
	changed, err := c.ConfirmEmailOwnership("enr-pn", "hanako@sample.co.jp", t0, t0, rules())
	if err != nil || changed {
		t.Fatalf("a profile change's new address: changed=%v err=%v", changed, err)
	}
}

func claim(t *testing.T, c *Case, task, who string, at time.Time) {
	t.Helper()
	if _, err := c.Claim(task, who, "", at, rules()); err != nil {
		t.Fatal(err)
	}
}

func decide(c *Case, in DecisionInput, at time.Time) (Decision, bool, error) {
	return c.Decide(in, at, rules())
}

func TestClaimLease(t *testing.T) {
	c := openCase(t, nil)
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	if _, err := c.Claim(id, "v2", "", t0.Add(29*time.Minute), rules()); !errors.Is(err, ErrTaskClaimed) {
		t.Fatalf("live lease: %v", err)
	}
	// Expired lease frees the task even before the timer ran.
	if _, err := c.Claim(id, "v2", "", t0.Add(30*time.Minute), rules()); err != nil {
		t.Fatalf("expired lease: %v", err)
	}
	if _, _, err := decide(c, DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeApprove}, t0.Add(31*time.Minute)); !errors.Is(err, ErrTaskNotClaimed) {
		t.Fatalf("decision by the previous holder: %v", err)
	}
	if _, err := c.Claim("nope", "v2", "", t0, rules()); !errors.Is(err, ErrTaskNotFound) {
		t.Fatalf("unknown task: %v", err)
	}
	if _, err := c.Claim(id, "v3", "p-1", t0.Add(time.Hour), rules()); !errors.Is(err, ErrOwnPartner) {
		t.Fatalf("own partner: %v", err)
	}
}

func TestDecideApproveAllChecksApproves(t *testing.T) {
	c := openCase(t, nil)
	if _, err := c.ConfirmEmailOwnership("enr-pn", "taro@sample.co.jp", t0, t0, rules()); err != nil {
		t.Fatal(err)
	}
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	c.PullEvents()
	in := DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeApprove}
	if _, replay, err := decide(c, in, t0.Add(time.Minute)); err != nil || replay {
		t.Fatalf("replay=%v err=%v", replay, err)
	}
	if c.Status != CaseApproved || c.SubStatus != "all_checks_passed" {
		t.Fatalf("status %s/%s", c.Status, c.SubStatus)
	}
	evs := c.PullEvents()
	if len(find[VerificationApproved](evs)) != 1 || len(find[DecisionRecorded](evs)) != 1 {
		t.Fatalf("events %v", names(evs))
	}
	// The replayed decision event changes nothing and records nothing.
	if _, replay, err := decide(c, in, t0.Add(time.Hour)); err != nil || !replay {
		t.Fatalf("replay=%v err=%v", replay, err)
	}
	if evs := c.PullEvents(); len(evs) != 0 {
		t.Fatalf("replay recorded %v", names(evs))
	}
	// The same id with other content is refused; a new decision on the decided task too.
	if _, _, err := decide(c, DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeReject, Reason: ReasonAddressMismatch, Mode: ModeRetry}, t0); !errors.Is(err, ErrDecisionIDReused) {
		t.Fatalf("reused id: %v", err)
	}
	if _, _, err := decide(c, DecisionInput{ID: "d2", TaskID: id, Verifier: "v1", Outcome: OutcomeApprove}, t0); !errors.Is(err, ErrTaskAlreadyDecided) {
		t.Fatalf("second decision: %v", err)
	}
}

func TestDecideRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   DecisionInput
		want error
	}{
		{"unknown task", DecisionInput{ID: "x", TaskID: "vc-1-t99", Verifier: "v1", Outcome: OutcomeApprove}, ErrTaskNotFound},
		{"not claimed by decider", DecisionInput{ID: "x", Verifier: "v2", Outcome: OutcomeApprove}, ErrTaskNotClaimed},
		{"own partner", DecisionInput{ID: "x", Verifier: "v1", VerifierPartnerID: "p-1", Outcome: OutcomeApprove}, ErrOwnPartner},
		{"unknown reason", DecisionInput{ID: "x", Verifier: "v1", Outcome: OutcomeReject, Reason: "bad_vibes", Mode: ModeRetry}, ErrInvalidDecision},
		{"reason for another check", DecisionInput{ID: "x", Verifier: "v1", Outcome: OutcomeReject, Reason: ReasonDomainNotOwned, Mode: ModeRetry}, ErrInvalidDecision},
		{"missing mode", DecisionInput{ID: "x", Verifier: "v1", Outcome: OutcomeReject, Reason: ReasonAddressMismatch}, ErrInvalidDecision},
		{"retry without cure", DecisionInput{ID: "x", Verifier: "v1", Outcome: OutcomeReject, Reason: ReasonFraudSuspected, Mode: ModeRetry}, ErrInvalidDecision},
		{"document that does not cure", DecisionInput{ID: "x", Verifier: "v1", Outcome: OutcomeRequestDocuments, Reason: ReasonAddressMismatch, Documents: []DocumentType{DocDomainInvoice}}, ErrInvalidDecision},
		{"no decision id", DecisionInput{Verifier: "v1", Outcome: OutcomeApprove}, ErrInvalidDecision},
		{"a blank decision id", DecisionInput{ID: "  ", Verifier: "v1", Outcome: OutcomeApprove}, ErrInvalidDecision},
		{"a decision id with a bidi override", DecisionInput{ID: "d-\u202e1", Verifier: "v1", Outcome: OutcomeApprove}, ErrInvalidDecision},
		{"a decision id of 129 characters", DecisionInput{ID: strings.Repeat("d", 129), Verifier: "v1", Outcome: OutcomeApprove}, ErrInvalidDecision},
		// The applicant's message is mailed as written: nothing in it may
		// make it read as something else; both texts are bounded.
		{"override in the message", DecisionInput{ID: "x", Verifier: "v1", Outcome: OutcomeRequestDocuments, Reason: ReasonAddressMismatch,
			ApplicantMessage: "番地の表記が\u202e違います"}, ErrInvalidDecision},
		{"invisible character in the note", DecisionInput{ID: "x", Verifier: "v1", Outcome: OutcomeApprove, InternalNote: "ok\u200b"}, ErrInvalidDecision},
		{"message too long", DecisionInput{ID: "x", Verifier: "v1", Outcome: OutcomeRequestDocuments, Reason: ReasonAddressMismatch,
			ApplicantMessage: strings.Repeat("あ", MaxApplicantMessage+1)}, ErrInvalidDecision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openCase(t, nil)
			id := companyTask(c).ID
			claim(t, c, id, "v1", t0)
			if tt.in.TaskID == "" {
				tt.in.TaskID = id
			}
			if _, _, err := decide(c, tt.in, t0.Add(time.Minute)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if c.Check(CheckCompany).State != StateInReview {
				t.Fatal("a refused decision changed the check")
			}
		})
	}
}

// TestABadDecisionIDIsRefusedWhateverTheTaskState: an id that could never
// have been recorded is refused at its field (422) before the task is
// looked at — a decided task answered 409 task_already_decided, and the
// tool retried the same id.
func TestABadDecisionIDIsRefusedWhateverTheTaskState(t *testing.T) {
	c := openCase(t, nil)
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	if _, _, err := decide(c, DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeApprove}, t0); err != nil {
		t.Fatal(err)
	}
	var de *Error
	_, _, err := decide(c, DecisionInput{ID: strings.Repeat("d", 500), TaskID: id, Verifier: "v1", Outcome: OutcomeApprove}, t0)
	if !errors.As(err, &de) || !errors.Is(err, ErrInvalidDecision) || len(de.Fields) != 1 || de.Fields[0].Code != "decision.id_too_long" {
		t.Fatalf("a 500-character id on a decided task: %v", err)
	}
	if d, replay, err := decide(c, DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeApprove}, t0); err != nil || !replay || d.ID != "d1" {
		t.Fatalf("the replay of the recorded decision: %+v %v %v", d, replay, err)
	}
}

func TestFinalRejectionNeedsFourEyes(t *testing.T) {
	c := openCase(t, nil)
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	reject := DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeReject, Reason: ReasonCompanyNotFound, Mode: ModeFinal, InternalNote: "no trace"}
	d, _, err := decide(c, reject, t0)
	if err != nil || d.Status != DecisionPendingConfirmation {
		t.Fatalf("%+v %v", d, err)
	}
	if c.Status != CasePending || c.Check(CheckCompany).State != StateInReview || companyTask(c).Status != TaskPendingConfirmation {
		t.Fatal("a single FINAL rejection must not reject")
	}
	if _, err := c.Claim(id, "v1", "", t0, rules()); !errors.Is(err, ErrFourEyes) {
		t.Fatalf("proposer claims again: %v", err)
	}
	claim(t, c, id, "v2", t0)
	mismatch := DecisionInput{ID: "d2", TaskID: id, Verifier: "v2", Outcome: OutcomeReject, Reason: ReasonAddressMismatch, Mode: ModeFinal}
	if _, _, err := decide(c, mismatch, t0); !errors.Is(err, ErrConfirmationMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	c.PullEvents()
	confirm := DecisionInput{ID: "d3", TaskID: id, Verifier: "v2", Outcome: OutcomeReject, Reason: ReasonCompanyNotFound, Mode: ModeFinal}
	d, _, err = decide(c, confirm, t0)
	if err != nil || d.Status != DecisionConfirmation || d.Confirms != "d1" {
		t.Fatalf("%+v %v", d, err)
	}
	if c.Status != CaseRejected || c.SubStatus != "company_check_failed" || c.Failure.Mode != ModeFinal {
		t.Fatalf("status %s/%s %+v", c.Status, c.SubStatus, c.Failure)
	}
	rej := find[VerificationRejected](c.PullEvents())
	if len(rej) != 1 || rej[0].FailingCheck != CheckCompany || rej[0].Reason != ReasonCompanyNotFound {
		t.Fatalf("rejected events %+v", rej)
	}
	if c.Redacted(func(*string) {}).Decisions[0].InternalNote != "" || c.Decisions[0].InternalNote == "" {
		t.Fatal("Redacted must drop internal notes and only on the copy")
	}
}

func TestSecondVerifierCanOverruleFinalProposal(t *testing.T) {
	c := openCase(t, nil)
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	if _, _, err := decide(c, DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeReject, Reason: ReasonCompanyNotFound, Mode: ModeFinal}, t0); err != nil {
		t.Fatal(err)
	}
	claim(t, c, id, "v2", t0)
	if _, _, err := decide(c, DecisionInput{ID: "d2", TaskID: id, Verifier: "v2", Outcome: OutcomeApprove}, t0); err != nil {
		t.Fatal(err)
	}
	if c.Decisions[0].Status != DecisionOverruled || c.Check(CheckCompany).State != StatePassed {
		t.Fatalf("proposal %s, check %s", c.Decisions[0].Status, c.Check(CheckCompany).State)
	}
}

func doc(sha byte, typ DocumentType, issued string) DocumentInput {
	return DocumentInput{Check: CheckCompany, Type: typ, IssuedOn: issued, SHA256: strings.Repeat(string("0123456789abcdef"[sha%16]), 64),
		SizeBytes: 1000, MediaType: "application/pdf", StorageURI: "s3://docs/x.pdf"}
}

// retryCompany rejects the open company task RETRY for reason.
func retryCompany(t *testing.T, c *Case, id string, at time.Time) {
	t.Helper()
	task := companyTask(c)
	claim(t, c, task.ID, "v1", at)
	if _, _, err := decide(c, DecisionInput{ID: id, TaskID: task.ID, Verifier: "v1", Outcome: OutcomeReject, Reason: ReasonAddressMismatch, Mode: ModeRetry}, at); err != nil {
		t.Fatal(err)
	}
}

func TestDocumentsAndAppeals(t *testing.T) {
	c := openCase(t, nil)
	if _, _, err := c.SubmitDocument(doc(1, DocCompanyRegisterCertificate, "2026-05-01"), t0, rules()); !errors.Is(err, ErrNoDocumentsDue) {
		t.Fatalf("in review: %v", err)
	}
	retryCompany(t, c, "d1", t0)
	ck := c.Check(CheckCompany)
	if ck.State != StateRejected || ck.Mode != ModeRetry || c.Status != CasePending {
		t.Fatalf("check %s/%s case %s", ck.State, ck.Mode, c.Status)
	}
	tests := []struct {
		name string
		in   DocumentInput
		want error
	}{
		{"wrong type", doc(2, DocDomainInvoice, "2026-05-01"), ErrDocumentTypeNotAccepted},
		{"too old", doc(3, DocCompanyRegisterCertificate, "2025-05-31"), ErrDocumentTooOld},
		{"future", doc(4, DocCompanyRegisterCertificate, "2026-06-02"), ErrInvalidDocument},
		{"bad hash", func() DocumentInput {
			d := doc(5, DocCompanyRegisterCertificate, "2026-05-01")
			d.SHA256 = "abc"
			return d
		}(), ErrInvalidDocument},
		{"bad media", func() DocumentInput {
			d := doc(5, DocCompanyRegisterCertificate, "2026-05-01")
			d.MediaType = "text/html"
			return d
		}(), ErrInvalidDocument},
		{"storage URI with a bidi override", func() DocumentInput { // shown to the verifier as where the file is
			d := doc(5, DocCompanyRegisterCertificate, "2026-05-01")
			d.StorageURI = "s3://docs/\u202efdp.exe"
			return d
		}(), ErrInvalidDocument},
	}
	for _, tt := range tests {
		if _, _, err := c.SubmitDocument(tt.in, t0, rules()); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	// Exactly 12 months old is still accepted.
	d, replay, err := c.SubmitDocument(doc(6, DocCompanyRegisterCertificate, "2025-06-01"), t0, rules())
	if err != nil || replay || d.TaskID != companyTask(c).ID {
		t.Fatalf("%+v %v %v", d, replay, err)
	}
	if ck.State != StateInReview || ck.AppealsRemaining(rules().Policy) != 2 {
		t.Fatalf("check %s, appeals %d", ck.State, ck.AppealsRemaining(rules().Policy))
	}
	if got := companyTask(c).Content.Documents; len(got) != 1 || got[0].SHA256 != d.SHA256 || companyTask(c).Content.RespondsTo != ReasonAddressMismatch {
		t.Fatalf("task content documents %+v", got)
	}
	if _, replay, err := c.SubmitDocument(doc(6, DocCompanyRegisterCertificate, "2025-06-01"), t0, rules()); err != nil || !replay {
		t.Fatalf("resubmission: %v %v", replay, err)
	}
	retryCompany(t, c, "d2", t0)
	_, _, err = c.SubmitDocument(doc(6, DocCompanyRegisterCertificate, "2025-06-01"), t0, rules())
	var de *Error
	if !errors.As(err, &de) || !errors.Is(err, ErrDocumentRejected) || de.Details["rejected_for"] != ReasonAddressMismatch {
		t.Fatalf("rejected hash: %v", err)
	}
	for i, sha := range []byte{7, 8} {
		if _, _, err := c.SubmitDocument(doc(sha, DocCompanyRegisterCertificate, "2026-05-01"), t0, rules()); err != nil {
			t.Fatalf("appeal %d: %v", i+2, err)
		}
		if i == 0 {
			retryCompany(t, c, "d3", t0)
		}
	}
	if ck.AppealsRemaining(rules().Policy) != 0 {
		t.Fatalf("appeals remaining %d", ck.AppealsRemaining(rules().Policy))
	}
	task := companyTask(c)
	claim(t, c, task.ID, "v1", t0)
	if _, _, err := decide(c, DecisionInput{ID: "d5", TaskID: task.ID, Verifier: "v1", Outcome: OutcomeRequestDocuments, Reason: ReasonDocumentIllegible}, t0); !errors.Is(err, ErrAppealsExhausted) {
		t.Fatalf("request documents without appeals: %v", err)
	}
	c.PullEvents()
	retryCompany(t, c, "d4", t0)
	if c.Status != CaseRejected || c.Failure.Mode != ModeRetry {
		t.Fatalf("RETRY with no appeals left must reject the case: %s", c.Status)
	}
	if evs := c.PullEvents(); len(find[DocumentsRequested](evs)) != 0 || len(find[VerificationRejected](evs)) != 1 {
		t.Fatalf("events %v", names(evs))
	}
	if _, _, err := c.SubmitDocument(doc(9, DocCompanyRegisterCertificate, "2026-05-01"), t0, rules()); !errors.Is(err, ErrCaseClosed) {
		t.Fatalf("closed case: %v", err)
	}
}

func TestEmploymentCuredByDocuments(t *testing.T) {
	c := openCase(t, func(in *OpenInput) { in.Website = "other.co.jp" })
	in := doc(1, DocDomainInvoice, "2019-01-01") // not a company document: no age limit
	in.Check = CheckEmployment
	if _, _, err := c.SubmitDocument(in, t0, rules()); err != nil {
		t.Fatal(err)
	}
	var task *ReviewTask
	for _, tk := range c.Tasks {
		if tk.Check == CheckEmployment {
			task = tk
		}
	}
	if task == nil || task.Content.RespondsTo != ReasonEmailDomainMismatch {
		t.Fatalf("employment task %+v", task)
	}
	claim(t, c, task.ID, "v1", t0)
	if _, _, err := decide(c, DecisionInput{ID: "d1", TaskID: task.ID, Verifier: "v1", Outcome: OutcomeApprove}, t0); err != nil {
		t.Fatal(err)
	}
	if c.Check(CheckEmployment).State != StatePassed || c.Documents[0].Status != DocumentApproved {
		t.Fatalf("employment %s doc %s", c.Check(CheckEmployment).State, c.Documents[0].Status)
	}
}

func TestTimersFireOnce(t *testing.T) {
	c := openCase(t, func(in *OpenInput) { in.Website = "other.co.jp" })
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	c.PullEvents()
	if want := t0.Add(30 * time.Minute); !c.TimerAt.Equal(want) {
		t.Fatalf("timer %s, want lease expiry %s", c.TimerAt, want)
	}
	at := c.TimerAt
	if n := c.FireTimers(at, rules()); n != 1 || len(find[ReviewTaskReleased](c.PullEvents())) != 1 {
		t.Fatalf("lease expiry fired %d", n)
	}
	if companyTask(c).ClaimedBy != "" {
		t.Fatal("expired lease must free the task")
	}
	due := companyTask(c).DueAt
	if !c.TimerAt.Equal(due) {
		t.Fatalf("next timer %s, want task due %s", c.TimerAt, due)
	}
	if n := c.FireTimers(due.Add(-time.Second), rules()); n != 0 {
		t.Fatalf("fired %d before due", n)
	}
	if n := c.FireTimers(due, rules()); n != 1 || len(find[ReviewTaskOverdue](c.PullEvents())) != 1 {
		t.Fatalf("overdue fired %d", n)
	}
	if n := c.FireTimers(due.Add(time.Hour), rules()); n != 0 {
		t.Fatalf("overdue fired again: %d", n)
	}
	// Employment documents are due 2026-06-16 00:00: reminders at -72h and -24h, once each.
	docDue := c.Check(CheckEmployment).DocumentsDueAt
	if !c.TimerAt.Equal(docDue.Add(-72 * time.Hour)) {
		t.Fatalf("next timer %s", c.TimerAt)
	}
	for _, step := range []struct {
		at   time.Time
		lead time.Duration
	}{{docDue.Add(-72 * time.Hour), 72 * time.Hour}, {docDue.Add(-24 * time.Hour), 24 * time.Hour}} {
		c.FireTimers(step.at, rules())
		rem := find[ReminderDue](c.PullEvents())
		if len(rem) != 1 || rem[0].Lead != step.lead || rem[0].ContactEmail != "taro@sample.co.jp" {
			t.Fatalf("reminders at %s: %+v", step.at, rem)
		}
		if c.FireTimers(step.at, rules()) != 0 {
			t.Fatal("reminder fired twice")
		}
	}
	if !c.TimerAt.IsZero() {
		t.Fatalf("no timer should remain, got %s", c.TimerAt)
	}
}

func TestRemindersAfterOutageSendOnlyMostUrgent(t *testing.T) {
	c := openCase(t, func(in *OpenInput) { in.Website = "other.co.jp" })
	c.PullEvents()
	docDue := c.Check(CheckEmployment).DocumentsDueAt
	c.FireTimers(docDue.Add(-time.Hour), rules())
	rem := find[ReminderDue](c.PullEvents())
	if len(rem) != 1 || rem[0].Lead != 24*time.Hour {
		t.Fatalf("reminders %+v", rem)
	}
}

func TestRequirementsView(t *testing.T) {
	c := openCase(t, func(in *OpenInput) { in.Website = "other.co.jp" })
	v := c.Requirements(t0, rules())
	if len(v.Due) != 2 || len(v.PastDue) != 0 || len(v.InReview) != 1 || v.InReview[0].Check != CheckCompany {
		t.Fatalf("view %+v", v)
	}
	var emp Requirement
	for _, r := range v.Due {
		if r.Check == CheckEmployment {
			emp = r
		}
	}
	if emp.AppealsRemaining != 3 || len(emp.AcceptedWays) != 2 || emp.AcceptedWays[0].DocumentType != DocDomainInvoice || emp.DueAt.IsZero() {
		t.Fatalf("employment requirement %+v", emp)
	}
	late := c.Requirements(emp.DueAt, rules())
	if len(late.PastDue) != 1 || late.PastDue[0].Check != CheckEmployment {
		t.Fatalf("past due %+v", late.PastDue)
	}
	retryCompany(t, c, "d1", t0)
	for _, r := range c.Requirements(t0, rules()).Due {
		if r.Check == CheckCompany && r.AcceptedWays[0].IssuedOnOrAfter != "2025-06-01" {
			t.Fatalf("company way %+v", r.AcceptedWays[0])
		}
	}
}

func TestCaseJSONRoundTrip(t *testing.T) {
	c := openCase(t, func(in *OpenInput) { in.Website = "other.co.jp" })
	retryCompany(t, c, "d1", t0)
	if _, _, err := c.SubmitDocument(doc(1, DocCompanyRegisterCertificate, "2026-05-01"), t0, rules()); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Case
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if !reflect.DeepEqual(b, b2) {
		t.Fatalf("round trip differs:\n%s\n%s", b, b2)
	}
}
