package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// approvedCase is a case approved by verifier v1 with decision d1.
func approvedCase(t *testing.T) *Case {
	t.Helper()
	c := openCase(t, nil)
	if _, err := c.ConfirmEmailOwnership("enr-pn", "taro@sample.co.jp", t0, t0, rules()); err != nil {
		t.Fatal(err)
	}
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	if _, _, err := decide(c, DecisionInput{ID: "d1", TaskID: id, Verifier: "v1", Outcome: OutcomeApprove}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c.Status != CaseApproved {
		t.Fatalf("status %s", c.Status)
	}
	c.PullEvents()
	return c
}

func TestRevokeApprovedCase(t *testing.T) {
	c := approvedCase(t)
	at := t0.Add(48 * time.Hour)
	in := RevokeInput{DecisionID: "rv1", Revoker: "v2", Reason: "the register entry was forged"}
	rev, replay, err := c.Revoke(in, at)
	if err != nil || replay {
		t.Fatalf("replay=%v err=%v", replay, err)
	}
	want := Revocation{DecisionID: "rv1", RevokedApprovalID: "d1", RevokedBy: "v2", Reason: in.Reason, At: at}
	if rev != want || c.Revocation == nil || *c.Revocation != want {
		t.Fatalf("revocation %+v, case %+v", rev, c.Revocation)
	}
	if c.Status != CaseRevoked || c.SubStatus != "approval_revoked" || !c.UpdatedAt.Equal(at) || !c.Closed() {
		t.Fatalf("case %s/%s updated %v", c.Status, c.SubStatus, c.UpdatedAt)
	}
	evs := c.PullEvents()
	got := find[VerificationRevoked](evs)
	if len(evs) != 1 || len(got) != 1 {
		t.Fatalf("events %v", names(evs))
	}
	if e := got[0]; e.CaseID != "vc-1" || e.PartnerID != "p-1" || e.LocationID != "loc-1" || e.Market != "JP" ||
		e.DecisionID != "rv1" || e.RevokedApprovalID != "d1" || e.Reason != in.Reason || !e.At.Equal(at) {
		t.Fatalf("event %+v", e)
	}

	// The same revocation again is a no-op that reports the recorded one.
	again, replay, err := c.Revoke(in, at.Add(time.Hour))
	if err != nil || !replay || again != want {
		t.Fatalf("replay: %+v replay=%v err=%v", again, replay, err)
	}
	if evs := c.PullEvents(); len(evs) != 0 || !c.UpdatedAt.Equal(at) {
		t.Fatalf("replay recorded %v", names(evs))
	}
	// The same id with other content, or another revocation, is refused.
	if _, _, err := c.Revoke(RevokeInput{DecisionID: "rv1", Revoker: "v2", Reason: "other"}, at); !errors.Is(err, ErrDecisionIDReused) {
		t.Fatalf("reused id: %v", err)
	}
	_, _, err = c.Revoke(RevokeInput{DecisionID: "rv2", Revoker: "v3", Reason: "again"}, at)
	var de *Error
	if !errors.Is(err, ErrCaseAlreadyRevoked) || !errors.As(err, &de) || de.Details["revoked_by_decision"] != "rv1" {
		t.Fatalf("second revocation: %v", err)
	}
	if c.Revocation.DecisionID != "rv1" {
		t.Fatal("a refused revocation replaced the recorded one")
	}

	// The revocation survives the repository's JSON round trip.
	back := c.Clone()
	if back.Status != CaseRevoked || back.Revocation == nil || !back.Revocation.At.Equal(at) {
		t.Fatalf("clone lost the revocation: %s %+v", back.Status, back.Revocation)
	}
	if r := *back.Revocation; r.DecisionID != want.DecisionID || r.RevokedApprovalID != want.RevokedApprovalID || r.RevokedBy != want.RevokedBy || r.Reason != want.Reason {
		t.Fatalf("clone lost the revocation: %s %+v", back.Status, back.Revocation)
	}
}

func TestRevokeRefusals(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name   string
		setup  func(t *testing.T) *Case
		in     RevokeInput
		want   error
		fields []string // field:code expected for invalid input
	}{
		{"pending case", func(t *testing.T) *Case { return openCase(t, nil) },
			RevokeInput{DecisionID: "rv", Revoker: "v2", Reason: "r"}, ErrCaseNotApproved, nil},
		{"rejected case", rejectedCase,
			RevokeInput{DecisionID: "rv", Revoker: "v3", Reason: "r"}, ErrCaseNotApproved, nil},
		{"the approving verifier", approvedCase,
			RevokeInput{DecisionID: "rv", Revoker: "v1", Reason: "r"}, ErrFourEyes, nil},
		{"a verifier of the partner itself", approvedCase,
			RevokeInput{DecisionID: "rv", Revoker: "v2", RevokerPartnerID: "p-1", Reason: "r"}, ErrOwnPartner, nil},
		{"id of a review decision", approvedCase,
			RevokeInput{DecisionID: "d1", Revoker: "v2", Reason: "r"}, ErrDecisionIDReused, nil},
		{"missing fields", approvedCase,
			RevokeInput{Revoker: "v2", Reason: "  "}, ErrInvalidRevocation, []string{"decision_id:field.required", "reason:field.required"}},
		{"too long fields", approvedCase,
			RevokeInput{DecisionID: long(MaxDecisionIDLength + 1), Revoker: "v2", Reason: long(MaxRevocationReasonLength + 1)},
			ErrInvalidRevocation, []string{"decision_id:decision.id_too_long", "reason:too_long"}},
		{"an id that reads as another", approvedCase,
			RevokeInput{DecisionID: "rv-\u202e1", Revoker: "v2", Reason: "r"}, ErrInvalidRevocation, []string{"decision_id:decision.id_invalid_characters"}},
		{"a reason that reads as something else", approvedCase,
			RevokeInput{DecisionID: "rv", Revoker: "v2", Reason: "documents \u202eforged"},
			ErrInvalidRevocation, []string{"reason:invalid_characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.setup(t)
			c.PullEvents()
			before := c.Status
			_, _, err := c.Revoke(tt.in, t0.Add(72*time.Hour))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.fields != nil {
				var de *Error
				errors.As(err, &de)
				var got []string
				for _, f := range de.Fields {
					got = append(got, f.Field+":"+f.Code)
				}
				if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
					t.Fatalf("fields %v, want %v", got, tt.fields)
				}
			}
			if c.Status != before || c.Revocation != nil || len(c.PullEvents()) != 0 {
				t.Fatal("a refused revocation changed the case")
			}
		})
	}
	// The limits themselves are accepted.
	c := approvedCase(t)
	if _, _, err := c.Revoke(RevokeInput{DecisionID: long(MaxDecisionIDLength), Revoker: "v2", Reason: long(MaxRevocationReasonLength)}, t0); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
}

// rejectedCase is a case rejected FINAL by v1 and v2.
func rejectedCase(t *testing.T) *Case {
	t.Helper()
	c := openCase(t, nil)
	id := companyTask(c).ID
	claim(t, c, id, "v1", t0)
	reject := DecisionInput{TaskID: id, Outcome: OutcomeReject, Reason: ReasonFraudSuspected, Mode: ModeFinal}
	p, c1 := reject, reject
	p.ID, p.Verifier = "d1", "v1"
	if _, _, err := decide(c, p, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	claim(t, c, id, "v2", t0.Add(2*time.Minute))
	c1.ID, c1.Verifier = "d2", "v2"
	if _, _, err := decide(c, c1, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c.Status != CaseRejected {
		t.Fatalf("status %s", c.Status)
	}
	return c
}
