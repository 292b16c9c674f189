package domain

import (
	"testing"
	"time"
)

func mustAccept(t *testing.T, p *Partner, v *Version, supersedes *Acceptance) *Acceptance {
	t.Helper()
	a, err := RecordAcceptance(AcceptanceInput{
		ID: "A-" + v.ID(), Partner: p, Version: v, Acceptor: Acceptor{UserID: "U1", Role: "partner_admin"},
		Supersedes: supersedes, Channel: ChannelAPI,
	}, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("RecordAcceptance: %v", err)
	}
	return a
}

func TestRecordAcceptanceRules(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	future := now.Add(time.Hour)
	slightlyAhead := now.Add(ClockSkewTolerance / 2)
	tests := []struct {
		name    string
		outcome VerificationOutcome
		mutV    func(*VersionDraft)
		mutIn   func(*AcceptanceInput)
		want    error
	}{
		{"approved", VerificationApproved, nil, nil, nil},
		{"before approval", VerificationPending, nil, nil, ErrVerificationNotApproved},
		{"rejected", VerificationRejected, nil, nil, ErrVerificationNotApproved},
		{"revoked", VerificationRevoked, nil, nil, ErrVerificationRevoked},
		{"client time in the future", VerificationApproved, nil, func(in *AcceptanceInput) { in.ClientAcceptedAt = &future }, ErrAcceptedAtInFuture},
		{"client time within skew", VerificationApproved, nil, func(in *AcceptanceInput) { in.ClientAcceptedAt = &slightlyAhead }, nil},
		{"event time in the future", VerificationApproved, nil, func(in *AcceptanceInput) { in.AcceptedAt = future }, ErrAcceptedAtInFuture},
		{"wrong market version", VerificationApproved, func(d *VersionDraft) { d.Markets = []string{"US"} }, nil, ErrVersionNotForMarket},
		{"program not enrolled", VerificationApproved, func(d *VersionDraft) { d.Program = "indirect_provider" }, nil, ErrNotEnrolled},
		{"no acceptor", VerificationApproved, nil, func(in *AcceptanceInput) { in.Acceptor.UserID = "" }, ErrInvalidAcceptor},
		{"unregistered partner", VerificationApproved, nil, func(in *AcceptanceInput) { in.Partner = NewPartner("P1") }, ErrPartnerNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := AcceptanceInput{
				ID: "A1", Partner: registeredPartner(t, tt.outcome), Version: mustVersion(t, tt.mutV),
				Acceptor: Acceptor{UserID: "U1", Name: "Hanako", Email: "h@example.co.jp", Role: "partner_admin"},
				ClientIP: "192.0.2.1", UserAgent: "ua", Channel: ChannelAPI,
			}
			if tt.mutIn != nil {
				tt.mutIn(&in)
			}
			a, err := RecordAcceptance(in, now)
			assertIs(t, err, tt.want)
			if err != nil {
				return
			}
			s := a.State()
			if !s.AcceptedAt.Equal(now) || s.VerificationDecisionID != "D1" || s.EnrollmentID != "E1" ||
				s.TextSHA256 != in.Version.TextSHA256() || s.Market != "JP" || s.LocationID != "L1" || s.ClientIP != "192.0.2.1" {
				t.Fatalf("record = %+v", s)
			}
			evs := a.PullEvents()
			if e, ok := evs[0].(AcceptanceRecorded); len(evs) != 1 || !ok || e.AcceptanceID != "A1" || e.EnrollmentID != "E1" || e.VersionID != in.Version.ID() {
				t.Fatalf("events = %+v", evs)
			}
		})
	}
}

func TestRecordAcceptanceRetired(t *testing.T) {
	p := registeredPartner(t, VerificationApproved)
	v := mustVersion(t, nil)
	v.Retire("op", t0.Add(time.Hour))
	in := AcceptanceInput{ID: "A1", Partner: p, Version: v, Acceptor: Acceptor{UserID: "U1"}}
	_, err := RecordAcceptance(in, t0.Add(2*time.Hour))
	assertIs(t, err, ErrVersionRetired)
	// An affirmation made before the retirement still names the version.
	in.AcceptedAt = t0.Add(30 * time.Minute)
	_, err = RecordAcceptance(in, t0.Add(2*time.Hour))
	assertIs(t, err, nil)
}

func TestEffectiveDateIsTheLaterOfAcceptanceAndVersion(t *testing.T) {
	p := registeredPartner(t, VerificationApproved)
	later := t0.Add(10 * 24 * time.Hour)
	v := mustVersion(t, func(d *VersionDraft) { d.EffectiveFrom = later })
	a := mustAccept(t, p, v, nil)
	if !a.State().EffectiveAt.Equal(later) {
		t.Fatalf("effective = %v, want %v", a.State().EffectiveAt, later)
	}
}

func TestDecideAcceptance(t *testing.T) {
	p := registeredPartner(t, VerificationApproved)
	v1 := mustVersion(t, func(d *VersionDraft) { d.ID = "rv1" })
	auto := mustVersion(t, func(d *VersionDraft) { d.ID = "rv2"; d.EffectiveFrom = t0.Add(time.Hour) })
	reacc := mustVersion(t, func(d *VersionDraft) {
		d.ID, d.EffectiveFrom = "rv3", t0.Add(2*time.Hour)
		d.Policy, d.ReacceptanceWindow = "requires_reacceptance", time.Hour
	})
	autoAfter := mustVersion(t, func(d *VersionDraft) { d.ID = "rv4"; d.EffectiveFrom = t0.Add(3 * time.Hour) })
	cur := mustAccept(t, p, v1, nil)
	curOn3 := mustAccept(t, p, reacc, nil)
	tests := []struct {
		name      string
		current   *Acceptance
		currentV  *Version
		requested *Version
		open      []*Version
		want      Outcome
	}{
		{"first acceptance", nil, nil, v1, nil, OutcomeRecord},
		{"same version", cur, v1, v1, nil, OutcomeSameVersion},
		{"auto_effective carries over", cur, v1, auto, nil, OutcomeCarriedOver},
		{"requires_reacceptance supersedes", cur, v1, reacc, nil, OutcomeSupersede},
		{"older version keeps the current", curOn3, reacc, v1, nil, OutcomeCarriedOver},
		{"auto version newer than an open requirement supersedes", cur, v1, autoAfter, []*Version{reacc}, OutcomeSupersede},
		{"auto version older than the open requirement carries over", cur, v1, auto, []*Version{reacc}, OutcomeCarriedOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecideAcceptance(tt.current, tt.currentV, tt.requested, tt.open); got != tt.want {
				t.Fatalf("outcome = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCurrentOf(t *testing.T) {
	a := RestoreAcceptance(AcceptanceState{ID: "A1"})
	b := RestoreAcceptance(AcceptanceState{ID: "A2", SupersedesID: "A1"})
	c := RestoreAcceptance(AcceptanceState{ID: "N1"})
	got := CurrentOf([]*Acceptance{a, b, c})
	if len(got) != 2 || got[0].ID() != "A2" || got[1].ID() != "N1" {
		t.Fatalf("current = %v", got)
	}
}
