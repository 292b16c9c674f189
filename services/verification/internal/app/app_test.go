package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

var (
	t0       = time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC) // Monday 10:00 JST
	ctx      = context.Background()
	verifier = auth.Principal{Kind: auth.KindService, Subject: "checker-1", Roles: []auth.Role{auth.RoleVerifier}}
	second   = auth.Principal{Kind: auth.KindUser, Subject: "reviewer-2", Roles: []auth.Role{auth.RoleVerifier}}
	upstream = auth.Principal{Kind: auth.KindService, Subject: "portal", Roles: []auth.Role{auth.RoleUpstreamSystem}}
	owner    = auth.Principal{Kind: auth.KindUser, Subject: "u-1", PartnerID: "p-1", Roles: []auth.Role{auth.RolePartnerAdmin}}
	stranger = auth.Principal{Kind: auth.KindUser, Subject: "u-9", PartnerID: "p-9", Roles: []auth.Role{auth.RolePartnerAdmin}}
)

type harness struct {
	app    *App
	repo   *memRepo
	clock  *fakeClock
	reg    *fakeRegistry
	proofs *fakeProofs
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	// The register lists the company's website, whose domain is the contact's: employment passes on it.
	h := &harness{repo: newMemRepo(), clock: &fakeClock{now: t0}, reg: &fakeRegistry{match: domain.RegistryMatch{Result: domain.MatchFound,
		Record: &domain.RegisterRecord{Market: "JP", Name: "株式会社サンプル商事", Website: "https://www.sample.co.jp"}}},
		proofs: &fakeProofs{}}
	h.app = h.restart(t)
	return h
}

// restart builds a fresh App over the same stored state, as after a process restart.
func (h *harness) restart(t *testing.T) *App {
	t.Helper()
	a, err := New(DefaultConfig(), Deps{Cases: h.repo, Tasks: h.repo, Due: h.repo, Registry: h.reg, Clock: h.clock, IDs: &seqIDs{},
		DomainProofs: h.proofs})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func openCmd() OpenCaseCommand {
	return OpenCaseCommand{domain.OpenInput{
		RegistrationID: "reg-1", PartnerID: "p-1", LocationID: "loc-1", Market: "JP",
		Facts:       domain.CompanyFacts{LegalName: "株式会社サンプル商事", Address: domain.Address{Line1: "丸の内5-2-3", City: "千代田区", Prefecture: "東京都"}},
		Contact:     domain.Contact{Email: "taro@sample.co.jp"},
		Website:     "sample.co.jp",
		Enrollments: []domain.Enrollment{{ID: "enr-pn", Program: domain.ProgramPartnerNetwork}, {ID: "enr-rs", Program: domain.ProgramResellerIndirect}},
	}}
}

func (h *harness) open(t *testing.T, mut func(*OpenCaseCommand)) OpenCaseResult {
	t.Helper()
	cmd := openCmd()
	if mut != nil {
		mut(&cmd)
	}
	res, err := h.app.OpenCase(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (h *harness) companyTaskID(t *testing.T) string {
	t.Helper()
	tasks, _, err := h.app.ListTasks(ctx, verifier, TaskFilter{Check: domain.CheckCompany})
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no company task: %v", err)
	}
	return tasks[len(tasks)-1].Task.ID
}

func wantCode(t *testing.T, err error, kind apperr.Kind, code string) {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != kind || ae.Code != code {
		t.Fatalf("got %v, want %s %s", err, kind, code)
	}
}

func TestOpenCaseIsIdempotent(t *testing.T) {
	h := newHarness(t)
	first := h.open(t, nil)
	evs := h.repo.drain()
	again := h.open(t, nil)
	if !first.Created || again.Created || again.CaseID != first.CaseID {
		t.Fatalf("first %+v again %+v", first, again)
	}
	if len(h.repo.drain()) != 0 || h.reg.calls != 1 {
		t.Fatal("a redelivered registration must not record events or look up again")
	}
	if countEvents(evs, "verification.case.opened") != 1 || countEvents(evs, "verification.task.created") != 1 {
		t.Fatalf("events %v", eventNames(evs))
	}
}

func TestOpenCaseSurvivesRegistryOutage(t *testing.T) {
	h := newHarness(t)
	h.reg.err = errRegistryDown
	res := h.open(t, nil)
	c, _ := h.repo.Get(ctx, res.CaseID)
	pc := c.Check(domain.CheckCompany).PreCheck
	if pc == nil || pc.Result != domain.MatchUnavailable || !strings.Contains(pc.Error, "registry down") || len(c.Tasks) != 1 {
		t.Fatalf("pre-check %+v tasks %d", pc, len(c.Tasks))
	}
}

func TestOpenCaseRefusesInvalidInput(t *testing.T) {
	h := newHarness(t)
	cmd := openCmd()
	cmd.Market = "japan"
	_, err := h.app.OpenCase(ctx, cmd)
	wantCode(t, err, apperr.KindInvalid, "verification.invalid_case")
	if ae, _ := apperr.As(err); len(ae.Fields) != 1 || ae.Fields[0].Field != "market" {
		t.Fatalf("fields %+v", ae.Fields)
	}
}

func TestEmailConfirmationForUnknownPartnerIsNotFound(t *testing.T) {
	h := newHarness(t)
	_, err := h.app.MarkEmailOwnershipConfirmed(ctx, MarkEmailOwnershipConfirmedCommand{PartnerID: "p-x", EnrollmentID: "e", Email: "a@b.jp"})
	wantCode(t, err, apperr.KindNotFound, "verification.case_not_found")
	if !apperr.Permanent(err) {
		t.Fatal("must be dead-lettered, not retried")
	}
	h.open(t, nil)
	_, err = h.app.MarkEmailOwnershipConfirmed(ctx, MarkEmailOwnershipConfirmedCommand{PartnerID: "p-1", EnrollmentID: "enr-x", Email: "taro@sample.co.jp"})
	wantCode(t, err, apperr.KindNotFound, "verification.enrollment_not_found")
}

func TestHappyPathApprovesOnce(t *testing.T) {
	h := newHarness(t)
	res := h.open(t, nil)
	confirm := MarkEmailOwnershipConfirmedCommand{PartnerID: "p-1", EnrollmentID: "enr-pn", Email: "taro@sample.co.jp", ConfirmedAt: t0}
	if r, err := h.app.MarkEmailOwnershipConfirmed(ctx, confirm); err != nil || !r.Changed || r.CheckState != domain.StatePassed {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := h.app.MarkEmailOwnershipConfirmed(ctx, confirm); err != nil || r.Changed {
		t.Fatalf("replayed confirmation: %+v %v", r, err)
	}
	task := h.companyTaskID(t)
	claimed, err := h.app.ClaimTask(ctx, verifier, ClaimTaskCommand{TaskID: task})
	if err != nil || !claimed.LeaseUntil.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("%+v %v", claimed, err)
	}
	h.repo.drain()
	cmd := DecideCommand{DecisionID: "dec-1", TaskID: task, Outcome: domain.OutcomeApprove}
	d, err := h.app.Decide(ctx, verifier, cmd)
	if err != nil || d.CaseStatus != domain.CaseApproved || d.Replayed {
		t.Fatalf("%+v %v", d, err)
	}
	if d, err := h.app.Decide(ctx, verifier, cmd); err != nil || !d.Replayed {
		t.Fatalf("replayed decision: %+v %v", d, err)
	}
	evs := h.repo.drain()
	if countEvents(evs, "verification.case.approved") != 1 || countEvents(evs, "verification.decision.recorded") != 1 {
		t.Fatalf("events %v", eventNames(evs))
	}
	c, _ := h.app.GetCase(ctx, owner, CaseQuery{CaseID: res.CaseID})
	if c.Status != domain.CaseApproved {
		t.Fatalf("status %s", c.Status)
	}
}

func TestAuthorization(t *testing.T) {
	h := newHarness(t)
	res := h.open(t, nil)
	task := h.companyTaskID(t)
	ownVerifier := auth.Principal{Subject: "v-own", PartnerID: "p-1", Roles: []auth.Role{auth.RoleVerifier}}
	tests := []struct {
		name string
		call func() error
		kind apperr.Kind
		code string
	}{
		{"partner admin cannot claim", func() error { _, err := h.app.ClaimTask(ctx, owner, ClaimTaskCommand{TaskID: task}); return err }, apperr.KindForbidden, "auth.role_required"},
		{"anonymous cannot decide", func() error {
			_, err := h.app.Decide(ctx, auth.Principal{}, DecideCommand{TaskID: task})
			return err
		}, apperr.KindUnauthenticated, "auth.unauthenticated"},
		{"verifier of the partner itself", func() error { _, err := h.app.ClaimTask(ctx, ownVerifier, ClaimTaskCommand{TaskID: task}); return err }, apperr.KindForbidden, "verification.own_partner"},
		{"verifier cannot submit documents", func() error {
			_, err := h.app.SubmitDocument(ctx, verifier, SubmitDocumentCommand{PartnerID: "p-1"})
			return err
		}, apperr.KindForbidden, "auth.role_required"},
		{"other partner cannot read", func() error { _, err := h.app.GetCase(ctx, stranger, CaseQuery{CaseID: res.CaseID}); return err }, apperr.KindNotFound, "verification.case_not_found"},
		{"other partner cannot read requirements", func() error {
			_, err := h.app.Requirements(ctx, stranger, CaseQuery{PartnerID: "p-1"})
			return err
		}, apperr.KindNotFound, "verification.case_not_found"},
		{"partner cannot list tasks", func() error { _, _, err := h.app.ListTasks(ctx, owner, TaskFilter{}); return err }, apperr.KindForbidden, "auth.role_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), tt.kind, tt.code) })
	}
	if tasks, _, _ := h.app.ListTasks(ctx, ownVerifier, TaskFilter{}); len(tasks) != 0 {
		t.Fatalf("a verifier must not see its own partner's tasks: %d", len(tasks))
	}
}

func TestDecisionFaults(t *testing.T) {
	h := newHarness(t)
	h.open(t, nil)
	task := h.companyTaskID(t)
	approve := DecideCommand{DecisionID: "dec-1", TaskID: task, Outcome: domain.OutcomeApprove}
	_, err := h.app.Decide(ctx, verifier, DecideCommand{DecisionID: "x", TaskID: "vc-1-t99", Outcome: domain.OutcomeApprove})
	wantCode(t, err, apperr.KindNotFound, "verification.task_not_found")
	_, err = h.app.Decide(ctx, verifier, approve) // out of order: before the claim
	wantCode(t, err, apperr.KindConflict, "verification.task_not_claimed")
	if _, err := h.app.ClaimTask(ctx, verifier, ClaimTaskCommand{TaskID: task}); err != nil {
		t.Fatal(err)
	}
	_, err = h.app.ClaimTask(ctx, second, ClaimTaskCommand{TaskID: task})
	wantCode(t, err, apperr.KindConflict, "verification.task_claimed")
	_, err = h.app.Decide(ctx, second, approve) // the wrong verifier
	wantCode(t, err, apperr.KindConflict, "verification.task_not_claimed")
	_, err = h.app.Decide(ctx, verifier, DecideCommand{DecisionID: "dec-0", TaskID: task, Outcome: domain.OutcomeReject, Reason: "made_up", Mode: domain.ModeRetry})
	wantCode(t, err, apperr.KindInvalid, "verification.invalid_decision")
	if _, err := h.app.Decide(ctx, verifier, approve); err != nil {
		t.Fatal(err)
	}
	_, err = h.app.Decide(ctx, verifier, DecideCommand{DecisionID: "dec-2", TaskID: task, Outcome: domain.OutcomeApprove}) // twice
	wantCode(t, err, apperr.KindConflict, "verification.task_already_decided")
}

func TestFourEyesAndRedaction(t *testing.T) {
	h := newHarness(t)
	res := h.open(t, nil)
	task := h.companyTaskID(t)
	reject := DecideCommand{TaskID: task, Outcome: domain.OutcomeReject, Reason: domain.ReasonCompanyNotFound, Mode: domain.ModeFinal, InternalNote: "shell company?"}
	h.app.ClaimTask(ctx, verifier, ClaimTaskCommand{TaskID: task})
	reject.DecisionID = "dec-1"
	if d, err := h.app.Decide(ctx, verifier, reject); err != nil || d.CaseStatus != domain.CasePending || d.Decision.Status != domain.DecisionPendingConfirmation {
		t.Fatalf("%+v %v", d, err)
	}
	_, err := h.app.ClaimTask(ctx, verifier, ClaimTaskCommand{TaskID: task})
	wantCode(t, err, apperr.KindConflict, "verification.four_eyes_required")
	if _, err := h.app.ClaimTask(ctx, second, ClaimTaskCommand{TaskID: task}); err != nil {
		t.Fatal(err)
	}
	reject.DecisionID = "dec-2"
	if d, err := h.app.Decide(ctx, second, reject); err != nil || d.CaseStatus != domain.CaseRejected {
		t.Fatalf("%+v %v", d, err)
	}
	var rejected []domain.VerificationRejected
	for _, e := range h.repo.drain() {
		if r, ok := e.(domain.VerificationRejected); ok {
			rejected = append(rejected, r)
		}
	}
	if len(rejected) != 1 || rejected[0].FailingCheck != domain.CheckCompany || rejected[0].Mode != domain.ModeFinal || rejected[0].Reason != domain.ReasonCompanyNotFound {
		t.Fatalf("rejected %+v", rejected)
	}
	mine, _ := h.app.GetCase(ctx, owner, CaseQuery{CaseID: res.CaseID})
	staff, _ := h.app.GetCase(ctx, second, CaseQuery{CaseID: res.CaseID})
	if mine.Decisions[0].InternalNote != "" || staff.Decisions[0].InternalNote != "shell company?" {
		t.Fatal("internal notes are for staff only")
	}
}

func TestDocumentsThroughTheApp(t *testing.T) {
	h := newHarness(t)
	h.reg.match.Record = nil // nothing in the register ties the domain to the company
	h.open(t, func(c *OpenCaseCommand) { c.Website = "other.co.jp" })
	d := domain.DocumentInput{Check: domain.CheckEmployment, Type: domain.DocDomainInvoice, IssuedOn: "2026-05-20",
		SHA256: strings.Repeat("ab", 32), SizeBytes: 2048, MediaType: "application/pdf", StorageURI: "s3://docs/inv.pdf"}
	wrong := d
	wrong.Type = domain.DocCompanyRegisterCertificate
	_, err := h.app.SubmitDocument(ctx, upstream, SubmitDocumentCommand{PartnerID: "p-1", Document: wrong})
	wantCode(t, err, apperr.KindInvalid, "verification.document_type_not_accepted")
	_, err = h.app.SubmitDocument(ctx, upstream, SubmitDocumentCommand{PartnerID: "p-9", Document: d})
	wantCode(t, err, apperr.KindNotFound, "verification.case_not_found")
	res, err := h.app.SubmitDocument(ctx, upstream, SubmitDocumentCommand{PartnerID: "p-1", Document: d})
	if err != nil || res.AppealsRemaining != 2 || res.Document.SubmittedBy != "portal" {
		t.Fatalf("%+v %v", res, err)
	}
	tasks, _, _ := h.app.ListTasks(ctx, verifier, TaskFilter{Check: domain.CheckEmployment})
	if len(tasks) != 1 || len(tasks[0].Task.Content.Documents) != 1 {
		t.Fatalf("employment tasks %+v", tasks)
	}
	tid := tasks[0].Task.ID
	h.app.ClaimTask(ctx, verifier, ClaimTaskCommand{TaskID: tid})
	if _, err := h.app.Decide(ctx, verifier, DecideCommand{DecisionID: "d1", TaskID: tid, Outcome: domain.OutcomeRequestDocuments, Reason: domain.ReasonDocumentIllegible}); err != nil {
		t.Fatal(err)
	}
	_, err = h.app.SubmitDocument(ctx, upstream, SubmitDocumentCommand{PartnerID: "p-1", Document: d})
	wantCode(t, err, apperr.KindConflict, "verification.document_previously_rejected")
	if ae, _ := apperr.As(err); ae.Details["rejected_for"] != domain.ReasonDocumentIllegible {
		t.Fatalf("details %+v", ae.Details)
	}
	view, err := h.app.Requirements(ctx, owner, CaseQuery{PartnerID: "p-1"})
	if err != nil || len(view.Due) != 2 || view.Due[1].Reason != domain.ReasonDocumentIllegible || view.Due[1].AppealsRemaining != 2 {
		t.Fatalf("requirements %+v %v", view, err)
	}
}

func TestTimersFireOnceAcrossRestart(t *testing.T) {
	h := newHarness(t)
	h.open(t, nil)
	task := h.companyTaskID(t)
	if _, err := h.app.ClaimTask(ctx, verifier, ClaimTaskCommand{TaskID: task}); err != nil {
		t.Fatal(err)
	}
	h.repo.drain()
	// The verifier disappears; the process restarts before the lease ends.
	later := t0.Add(31 * time.Minute)
	restarted := h.restart(t)
	res, err := restarted.FireDueTimers(ctx, later)
	if err != nil || res.Cases != 1 || res.Events != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if res, _ := restarted.FireDueTimers(ctx, later); res.Cases != 0 {
		t.Fatalf("fired again: %+v", res)
	}
	h.clock.now = later
	if _, err := h.app.ClaimTask(ctx, second, ClaimTaskCommand{TaskID: task}); err != nil {
		t.Fatalf("the freed task must be claimable: %v", err)
	}
	overdue := time.Date(2026, 6, 5, 0, 0, 0, 0, domain.MarketLocation("JP", ""))
	h.repo.drain()
	for range 2 {
		if _, err := h.restart(t).FireDueTimers(ctx, overdue.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if evs := h.repo.drain(); countEvents(evs, "verification.task.overdue") != 1 {
		t.Fatalf("events %v", eventNames(evs))
	}
}

func TestNewRefusesMissingDeps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Policy.AppealLimit = 0
	_, err := New(cfg, Deps{})
	if err == nil || !strings.Contains(err.Error(), "AppealLimit") || !strings.Contains(err.Error(), "missing dependency Cases") {
		t.Fatalf("got %v", err)
	}
}
