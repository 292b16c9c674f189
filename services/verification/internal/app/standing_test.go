package app

import (
	"errors"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

var opsUser = auth.Principal{Kind: auth.KindUser, Subject: "ops-1", Roles: []auth.Role{auth.RoleOperator}}

func TestProveDomainThroughTheApp(t *testing.T) {
	h := newHarness(t)
	h.reg.match.Record = nil
	res := h.open(t, nil)
	c, _ := h.app.GetCase(ctx, opsUser, CaseQuery{CaseID: res.CaseID})
	if c.Check(domain.CheckEmployment).State != domain.StateActionRequired || c.DomainProof == nil {
		t.Fatalf("employment %s proof %+v", c.Check(domain.CheckEmployment).State, c.DomainProof)
	}
	_, err := h.app.ProveDomain(ctx, stranger, ProveDomainCommand{PartnerID: "p-1", Method: "dns_txt"})
	wantCode(t, err, apperr.KindNotFound, "verification.case_not_found")
	_, err = h.app.ProveDomain(ctx, verifier, ProveDomainCommand{PartnerID: "p-1", Method: "dns_txt"})
	wantCode(t, err, apperr.KindForbidden, "auth.role_required")
	_, err = h.app.ProveDomain(ctx, owner, ProveDomainCommand{PartnerID: "p-1", Method: "dns_txt"})
	wantCode(t, err, apperr.KindConflict, "verification.domain_proof_not_found")
	h.proofs.err = errors.New("resolver down")
	_, err = h.app.ProveDomain(ctx, owner, ProveDomainCommand{PartnerID: "p-1", Method: "dns_txt"})
	wantCode(t, err, apperr.KindUnavailable, "verification.domain_proof_lookup_failed")
	h.proofs.err = nil
	h.proofs.found = map[string][]string{c.DomainProof.URL(): {c.DomainProof.Value()}}
	got, err := h.app.ProveDomain(ctx, owner, ProveDomainCommand{PartnerID: "p-1", Method: "http_well_known"})
	if err != nil {
		t.Fatal(err)
	}
	if emp := got.Check(domain.CheckEmployment); emp.State != domain.StatePassed || emp.Evidence.Kind != domain.EvidenceHTTPWellKnown {
		t.Fatalf("employment %+v", emp)
	}
}

// TestProveDomainRefusesAnUnknownMethodFirst: a request naming neither
// method is wrong whatever the case awaits — 422 at the field, not 409
// no_documents_due for a case whose employment check awaits nothing.
func TestProveDomainRefusesAnUnknownMethodFirst(t *testing.T) {
	h := newHarness(t)
	res := h.open(t, nil)
	if c, _ := h.app.GetCase(ctx, opsUser, CaseQuery{CaseID: res.CaseID}); c.Check(domain.CheckEmployment).State != domain.StatePassed {
		t.Fatalf("employment %s: the test needs a check that awaits nothing", c.Check(domain.CheckEmployment).State)
	}
	_, err := h.app.ProveDomain(ctx, owner, ProveDomainCommand{PartnerID: "p-1", Method: "ftp"})
	wantCode(t, err, apperr.KindInvalid, "verification.invalid_domain_proof")
	_, err = h.app.ProveDomain(ctx, owner, ProveDomainCommand{PartnerID: "p-1", Method: "dns_txt"})
	wantCode(t, err, apperr.KindConflict, "verification.no_documents_due")
}

func TestReopenReviewAndReactivation(t *testing.T) {
	h := newHarness(t)
	res := h.open(t, nil)
	_, err := h.app.ReopenReview(ctx, verifier, ReopenReviewCommand{CaseID: res.CaseID, Note: " "})
	wantCode(t, err, apperr.KindInvalid, "verification.invalid_review")
	_, err = h.app.ReopenReview(ctx, owner, ReopenReviewCommand{CaseID: res.CaseID, Note: "x"})
	wantCode(t, err, apperr.KindForbidden, "auth.role_required")
	// A pending case: nothing to reopen, nothing changes.
	if c, err := h.app.ReopenReview(ctx, verifier, ReopenReviewCommand{CaseID: res.CaseID, Note: "x"}); err != nil || c.Status != domain.CasePending {
		t.Fatalf("pending: %v", err)
	}
	// Registration's reactivation with a review re-opens an approved case.
	if err := h.repo.Update(ctx, res.CaseID, func(c *domain.Case) error { c.Status = domain.CaseApproved; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.app.ApplyStandingChanged(ctx, StandingChanged{PartnerID: "p-1", Added: []string{"compliance_hold"}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := h.app.GetCase(ctx, opsUser, CaseQuery{CaseID: res.CaseID}); c.Status != domain.CaseApproved {
		t.Fatalf("a hold needs no review: %s", c.Status)
	}
	if err := h.app.ApplyStandingChanged(ctx, StandingChanged{PartnerID: "p-1", Added: []string{"reverification_required"}}); err != nil {
		t.Fatal(err)
	}
	c, _ := h.app.GetCase(ctx, opsUser, CaseQuery{CaseID: res.CaseID})
	if c.Status != domain.CasePending || c.Check(domain.CheckCompany).State != domain.StateInReview {
		t.Fatalf("after reactivation: %s %s", c.Status, c.Check(domain.CheckCompany).State)
	}
}
