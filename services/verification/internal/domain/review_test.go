package domain

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
)

func claimReview(t *testing.T) *Review {
	t.Helper()
	r, err := NewClaimReview("vr-1", "PG-EXISTING", "JP", ClaimContent{ClaimID: "DC-1", DuplicateAttemptID: "DA-1",
		Statement: "we are them", Claimant: ClaimantFacts{LegalName: "（株）サンプル"}}, t0, rules())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReviewLeaseAndOwnPartner(t *testing.T) {
	r := claimReview(t)
	if !r.DueAt.After(t0) {
		t.Fatalf("due %v", r.DueAt)
	}
	if evs := r.PullEvents(); len(evs) != 1 || evs[0].EventName() != "review.opened" {
		t.Fatalf("opening recorded %v", evs)
	}
	if err := r.ClaimFor("v-own", "PG-EXISTING", t0, time.Hour); !errors.Is(err, ErrOwnPartner) {
		t.Fatalf("own partner's verifier: %v", err)
	}
	if err := r.ClaimFor("alice", "", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if evs := r.PullEvents(); len(evs) != 1 || evs[0].EventName() != "duplicate_claim.review_started" {
		t.Fatalf("events %v", evs)
	}
	if err := r.ClaimFor("bob", "", t0.Add(time.Minute), time.Hour); !errors.Is(err, ErrReviewClaimed) {
		t.Fatalf("claimed by another: %v", err)
	}
	// an expired lease no longer protects it; the review starts only once
	if err := r.ClaimFor("bob", "", t0.Add(2*time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	if evs := r.PullEvents(); len(evs) != 0 {
		t.Fatalf("second claim recorded %v", evs)
	}
	if _, err := r.Decide(ReviewDecisionInput{ID: "d1", Verifier: "alice", Outcome: ReviewUpheld}, t0.Add(2*time.Hour)); !errors.Is(err, ErrReviewNotClaimed) {
		t.Fatalf("decision without the lease: %v", err)
	}
}

func TestReviewDecisionRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      ReviewDecisionInput
		wantErr bool
	}{
		{"upheld", ReviewDecisionInput{ID: "d", Outcome: ReviewUpheld}, false},
		{"upheld with a reason", ReviewDecisionInput{ID: "d", Outcome: ReviewUpheld, Reason: "insufficient_evidence"}, true},
		{"refused with a catalog reason", ReviewDecisionInput{ID: "d", Outcome: ReviewRefused, Reason: "insufficient_evidence"}, false},
		{"refused without a reason", ReviewDecisionInput{ID: "d", Outcome: ReviewRefused}, true},
		{"refused with a dispute reason", ReviewDecisionInput{ID: "d", Outcome: ReviewRefused, Reason: "address_belongs_to_contact"}, true},
		{"dismissed is for disputes", ReviewDecisionInput{ID: "d", Outcome: ReviewDismissed, Reason: "insufficient_evidence"}, true},
		{"no decision id", ReviewDecisionInput{Outcome: ReviewUpheld}, true},
		{"a decision id with a zero-width space", ReviewDecisionInput{ID: "d\u200b1", Outcome: ReviewUpheld}, true},
		{"a decision id of 128 characters", ReviewDecisionInput{ID: strings.Repeat("d", 128), Outcome: ReviewUpheld}, false},
		{"a message with a bidi override", ReviewDecisionInput{ID: "d", Outcome: ReviewUpheld, Message: "see \u202etnemucod"}, true},
		{"a message on two lines", ReviewDecisionInput{ID: "d", Outcome: ReviewUpheld, Message: "see the register\nentry of 2026"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := claimReview(t)
			if err := r.ClaimFor("alice", "", t0, time.Hour); err != nil {
				t.Fatal(err)
			}
			r.PullEvents()
			tc.in.Verifier = "alice"
			_, err := r.Decide(tc.in, t0.Add(time.Minute))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidReviewDecision) || r.Status != ReviewOpen || len(r.PullEvents()) != 0 {
					t.Fatalf("a refused decision changed the review: %v %s", err, r.Status)
				}
				return
			}
			evs := r.PullEvents()
			if len(evs) != 1 || evs[0].EventName() != "duplicate_claim."+string(tc.in.Outcome) || r.Status != ReviewDecided {
				t.Fatalf("events %v status %s", evs, r.Status)
			}
			if tc.in.Reason != "" && r.Decision.ReasonText == "" {
				t.Fatal("no reason text")
			}
			// the same decision again is a replay; another is refused
			if replay, err := r.Decide(tc.in, t0.Add(2*time.Minute)); !replay || err != nil {
				t.Fatalf("replay %v %v", replay, err)
			}
			other := tc.in
			other.ID = "d2"
			if _, err := r.Decide(other, t0.Add(2*time.Minute)); !errors.Is(err, ErrReviewClosed) {
				t.Fatalf("second decision: %v", err)
			}
		})
	}
}

func TestDisputeReviewOutcomesAndCancel(t *testing.T) {
	d := DisputeContent{ChallengeID: "ch-1", EnrollmentID: "EN-1", Program: "partner_network", Address: "a@b.jp"}
	r, err := NewDisputeReview("vr-2", "PG-1", "JP", d, t0, rules())
	if err != nil {
		t.Fatal(err)
	}
	if evs := r.PullEvents(); len(evs) != 1 || evs[0].EventName() != "review.opened" {
		t.Fatalf("opening recorded %v", evs)
	}
	if err := r.ClaimFor("alice", "", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if evs := r.PullEvents(); len(evs) != 0 {
		t.Fatalf("a dispute review records no start: %v", evs)
	}
	if _, err := r.Decide(ReviewDecisionInput{ID: "d", Verifier: "alice", Outcome: ReviewDismissed, Reason: "address_belongs_to_contact"}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if evs := r.PullEvents(); len(evs) != 1 || evs[0].EventName() != "email_dispute.dismissed" {
		t.Fatalf("events %v", evs)
	}
	if r.Cancel(t0.Add(time.Hour)) || r.Status != ReviewDecided {
		t.Fatal("a decided review was cancelled")
	}
	r2, _ := NewDisputeReview("vr-3", "PG-1", "JP", d, t0, rules())
	if !r2.Cancel(t0) || r2.Status != ReviewCancelled {
		t.Fatal("an open review was not cancelled")
	}
	if err := r2.ClaimFor("alice", "", t0, time.Hour); !errors.Is(err, ErrReviewClosed) {
		t.Fatalf("claim of a cancelled review: %v", err)
	}
}

// TestReviewReasonsArePublished: the review catalog is the published one.
func TestReviewReasonsArePublished(t *testing.T) {
	for kind, want := range map[ReviewKind][]string{
		ReviewDuplicateClaim: verificationv1.ClaimRefusalReasons, ReviewEmailDispute: verificationv1.DisputeDismissalReasons} {
		var got []string
		for code := range ReviewReasons[kind] {
			got = append(got, string(code))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s reasons %v, published %v", kind, got, want)
		}
	}
}

// TestOneDisputeReviewPerAddress: a second report of the address joins the
// open review; a withdrawn report leaves the others to decide, the last one
// cancels it; the decision names the report still standing.
func TestOneDisputeReviewPerAddress(t *testing.T) {
	first := DisputeContent{ChallengeID: "ch-1", EnrollmentID: "EN-1", Program: "partner_network", Address: "a@b.jp", DisputedAt: t0}
	second := DisputeContent{ChallengeID: "ch-2", EnrollmentID: "EN-2", Program: "cloud_reseller_indirect", Address: "A@b.jp", DisputedAt: t0.Add(time.Minute)}
	r, _ := NewDisputeReview("vr-4", "PG-1", "JP", first, t0, rules())
	r.PullEvents()
	if !r.Gather(second, t0.Add(time.Minute)) || !r.Gather(second, t0.Add(2*time.Minute)) {
		t.Fatal("a second report of the address was not gathered")
	}
	if got := r.Refs(); len(got) != 2 || got[0] != "ch-1" || got[1] != "ch-2" {
		t.Fatalf("refs %v", got)
	}
	if r.Gather(DisputeContent{ChallengeID: "ch-3", EnrollmentID: "EN-3", Address: "other@b.jp"}, t0) {
		t.Fatal("another address was gathered")
	}
	if evs := r.PullEvents(); len(evs) != 0 {
		t.Fatalf("gathering announced %v", evs)
	}
	r.Drop("ch-1", t0.Add(3*time.Minute))
	if r.Status != ReviewOpen || r.Dispute.ChallengeID != "ch-2" || r.Dispute.EnrollmentID != "EN-2" || len(r.Dispute.AlsoReported) != 0 {
		t.Fatalf("after the first report's withdrawal: %s %+v", r.Status, r.Dispute)
	}
	r.Drop("ch-9", t0.Add(3*time.Minute))
	if r.Status != ReviewOpen {
		t.Fatal("a report the review does not hold closed it")
	}
	if err := r.ClaimFor("alice", "", t0.Add(4*time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Decide(ReviewDecisionInput{ID: "d", Verifier: "alice", Outcome: ReviewUpheld}, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if evs := r.PullEvents(); len(evs) != 1 || evs[0].(EmailDisputeDecided).Review.Dispute.ChallengeID != "ch-2" {
		t.Fatalf("decision events %v", evs)
	}
	if r.Gather(DisputeContent{ChallengeID: "ch-5", EnrollmentID: "EN-5", Address: "a@b.jp"}, t0.Add(6*time.Minute)) {
		t.Fatal("a decided review gathered a later report")
	}
	r.Drop("ch-2", t0.Add(7*time.Minute))
	if r.Status != ReviewDecided {
		t.Fatalf("a decided review became %s", r.Status)
	}

	last, _ := NewDisputeReview("vr-5", "PG-1", "JP", first, t0, rules())
	last.Gather(second, t0)
	last.Drop("ch-2", t0.Add(time.Minute))
	if last.Status != ReviewOpen || last.Dispute.ChallengeID != "ch-1" {
		t.Fatalf("after the second report's withdrawal: %s %+v", last.Status, last.Dispute)
	}
	last.Drop("ch-1", t0.Add(2*time.Minute))
	if last.Status != ReviewCancelled {
		t.Fatalf("with no report left the review is %s", last.Status)
	}
}
