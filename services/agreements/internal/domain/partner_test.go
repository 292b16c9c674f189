package domain

import (
	"testing"
	"time"
)

func TestRegisterMergesAndKeepsMarket(t *testing.T) {
	p := NewPartner("P1")
	reg := Registration{PartnerID: "P1", LocationID: "L1", Market: "jp", Programs: []string{"partner_network"}, RegisteredAt: t0}
	changed, err := p.Register(reg)
	if err != nil || !changed {
		t.Fatalf("first Register = %v, %v", changed, err)
	}
	if changed, err := p.Register(reg); err != nil || changed {
		t.Fatalf("replayed Register = %v, %v; want unchanged", changed, err)
	}
	if p.Enrolled(ProgramIndirectReseller) {
		t.Fatal("not enrolled yet")
	}
	more := reg
	more.Enrollments = map[string]string{"indirect_reseller": "E9"}
	if changed, err := p.Register(more); err != nil || !changed {
		t.Fatalf("Register adding an enrollment = %v, %v", changed, err)
	}
	if !p.Enrolled(ProgramIndirectReseller) || p.EnrollmentID(ProgramIndirectReseller) != "E9" || !p.Enrolled(ProgramPartnerNetwork) {
		t.Fatalf("state = %+v", p.State())
	}
	other := reg
	other.Market = "US"
	if _, err := p.Register(other); err != ErrMarketChanged {
		t.Fatalf("market change err = %v", err)
	}
	moved := reg
	moved.LocationID = "L2"
	if _, err := p.Register(moved); err != ErrLocationChanged {
		t.Fatalf("location change err = %v", err)
	}
	if p.Market() != "JP" {
		t.Fatalf("market = %s", p.Market())
	}
}

func TestRegisterValidation(t *testing.T) {
	tests := []struct {
		name string
		reg  Registration
		want error
	}{
		{"no location", Registration{Market: "JP"}, ErrInvalidLocationID},
		{"bad market", Registration{LocationID: "L", Market: "Japan"}, ErrInvalidMarket},
		{"bad program", Registration{LocationID: "L", Market: "JP", Programs: []string{"X"}}, ErrInvalidProgram},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPartner("P").Register(tt.reg)
			assertIs(t, err, tt.want)
		})
	}
}

func TestApplyVerificationOrdering(t *testing.T) {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name      string
		decisions []VerificationDecision
		applied   []bool
		want      VerificationOutcome
	}{
		{"approve", []VerificationDecision{{"D1", VerificationApproved, at(1)}}, []bool{true}, VerificationApproved},
		{"replay is a no-op", []VerificationDecision{{"D1", VerificationApproved, at(1)}, {"D1", VerificationApproved, at(1)}}, []bool{true, false}, VerificationApproved},
		{"revocation after approval", []VerificationDecision{{"D1", VerificationApproved, at(1)}, {"D2", VerificationRevoked, at(2)}}, []bool{true, true}, VerificationRevoked},
		{"late older approval does not undo revocation", []VerificationDecision{{"D2", VerificationRevoked, at(2)}, {"D1", VerificationApproved, at(1)}}, []bool{true, false}, VerificationRevoked},
		{"reject", []VerificationDecision{{"D1", VerificationRejected, at(1)}}, []bool{true}, VerificationRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPartner("P1")
			for i, d := range tt.decisions {
				applied, err := p.ApplyVerification(d, nil)
				if err != nil || applied != tt.applied[i] {
					t.Fatalf("decision %d: applied = %v, %v; want %v", i, applied, err, tt.applied[i])
				}
			}
			if got := p.Verification().Outcome; got != tt.want {
				t.Fatalf("outcome = %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []VerificationDecision{{"", VerificationApproved, t0}, {"D", "maybe", t0}, {"D", VerificationApproved, time.Time{}}} {
		if _, err := NewPartner("P").ApplyVerification(bad, nil); err != ErrInvalidDecision {
			t.Errorf("ApplyVerification(%+v) = %v", bad, err)
		}
	}
}

func TestRevocationSuspendsAndApprovalReinstates(t *testing.T) {
	p := registeredPartner(t, VerificationApproved)
	p.PullEvents()
	reseller := mustAccept(t, p, mustVersion(t, nil), nil)
	network := RestoreAcceptance(AcceptanceState{ID: "N1", PartnerID: "P1", LocationID: "L1", Program: ProgramPartnerNetwork, Market: "JP"})
	current := []*Acceptance{reseller, network}

	if _, err := p.ApplyVerification(VerificationDecision{"D2", VerificationRevoked, t0.Add(time.Hour)}, current); err != nil {
		t.Fatal(err)
	}
	evs := p.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %+v; want one suspension (the network agreement is not gated)", evs)
	}
	s, ok := evs[0].(AcceptanceSuspended)
	if !ok || s.AcceptanceID != reseller.ID() || s.DecisionID != "D2" || s.Outcome != string(VerificationRevoked) {
		t.Fatalf("event = %+v", evs[0])
	}
	if _, err := p.ApplyVerification(VerificationDecision{"D3", VerificationApproved, t0.Add(2 * time.Hour)}, current); err != nil {
		t.Fatal(err)
	}
	evs = p.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %+v", evs)
	}
	if r, ok := evs[0].(AcceptanceReinstated); !ok || r.AcceptanceID != reseller.ID() || r.DecisionID != "D3" {
		t.Fatalf("event = %+v", evs[0])
	}
}
