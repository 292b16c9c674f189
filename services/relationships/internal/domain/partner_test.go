package domain

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

func reg(name string, at time.Time, locs ...string) PartnerRegistration {
	return PartnerRegistration{
		PartnerID: "PG-1", LocationIDs: locs, Market: "JP", LegalName: name,
		Address: Address{Line1: "1-2-3", City: "Tokyo", Country: "JP"}, OccurredAt: at,
	}
}

func TestApplyRegistration(t *testing.T) {
	tests := []struct {
		name        string
		facts       []PartnerRegistration
		wantChanged []bool
		wantName    string
		wantLocs    []string
		wantErr     error
	}{
		{
			name:        "first fact registers",
			facts:       []PartnerRegistration{reg("A株式会社", t0, "PL-1")},
			wantChanged: []bool{true}, wantName: "A株式会社", wantLocs: []string{"PL-1"},
		},
		{
			name:        "replayed fact changes nothing",
			facts:       []PartnerRegistration{reg("A株式会社", t0, "PL-1"), reg("A株式会社", t0, "PL-1")},
			wantChanged: []bool{true, false}, wantName: "A株式会社", wantLocs: []string{"PL-1"},
		},
		{
			name:        "older fact does not overwrite the name but adds locations",
			facts:       []PartnerRegistration{reg("New", t0.Add(time.Hour), "PL-1"), reg("Old", t0, "PL-2")},
			wantChanged: []bool{true, true}, wantName: "New", wantLocs: []string{"PL-1", "PL-2"},
		},
		{
			name:        "newer fact updates the name",
			facts:       []PartnerRegistration{reg("Old", t0, "PL-1"), reg("New", t0.Add(time.Hour))},
			wantChanged: []bool{true, true}, wantName: "New", wantLocs: []string{"PL-1"},
		},
		{
			name: "market can never change",
			facts: []PartnerRegistration{reg("A", t0), func() PartnerRegistration {
				r := reg("A", t0.Add(time.Hour))
				r.Market = "US"
				return r
			}()},
			wantErr: ErrMarketChanged,
		},
		{
			name:    "location id in the wrong form is invalid",
			facts:   []PartnerRegistration{reg("A", t0, "PG-9")},
			wantErr: ErrInvalidPartner,
		},
		{
			name:    "partner id must be global",
			facts:   []PartnerRegistration{func() PartnerRegistration { r := reg("A", t0); r.PartnerID = "PL-1"; return r }()},
			wantErr: ErrInvalidPartner,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Partner
			var err error
			for i, f := range tt.facts {
				var changed bool
				changed, err = p.ApplyRegistration(f)
				if err != nil {
					break
				}
				if i < len(tt.wantChanged) && changed != tt.wantChanged[i] {
					t.Errorf("fact %d: changed = %v, want %v", i, changed, tt.wantChanged[i])
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if p.LegalName != tt.wantName || !slices.Equal(p.LocationIDs, tt.wantLocs) || !p.Registered {
				t.Errorf("partner = %+v", p)
			}
		})
	}
}

func TestApplyEnrollmentStatus(t *testing.T) {
	type fact struct {
		status EnrollmentStatus
		at     time.Time
	}
	tests := []struct {
		name        string
		facts       []fact
		wantChanged []bool
		wantStatus  EnrollmentStatus
	}{
		{"pending then active", []fact{{EnrollmentPendingVerification, t0}, {EnrollmentActive, t0.Add(time.Hour)}}, []bool{true, true}, EnrollmentActive},
		{"replay is a no-op", []fact{{EnrollmentActive, t0}, {EnrollmentActive, t0}}, []bool{true, false}, EnrollmentActive},
		{"stale fact after newer is ignored", []fact{{EnrollmentActive, t0.Add(time.Hour)}, {EnrollmentPendingVerification, t0}}, []bool{true, false}, EnrollmentActive},
		{"a later status after activation applies", []fact{{EnrollmentActive, t0}, {EnrollmentRejected, t0.Add(time.Hour)}}, []bool{true, true}, EnrollmentRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Partner
			for i, f := range tt.facts {
				changed, err := p.ApplyEnrollmentStatus(ProgramIndirectReseller, f.status, f.at)
				if err != nil {
					t.Fatal(err)
				}
				if changed != tt.wantChanged[i] {
					t.Errorf("fact %d: changed = %v, want %v", i, changed, tt.wantChanged[i])
				}
			}
			if got := p.Enrollments[ProgramIndirectReseller].Status; got != tt.wantStatus {
				t.Errorf("status = %s, want %s", got, tt.wantStatus)
			}
		})
	}
}

func TestApplyEnrollmentStatusRejectsUnknowns(t *testing.T) {
	var p Partner
	if _, err := p.ApplyEnrollmentStatus("direct", EnrollmentActive, t0); !errors.Is(err, ErrInvalidPartner) {
		t.Errorf("unknown program: err = %v", err)
	}
	if _, err := p.ApplyEnrollmentStatus(ProgramIndirectProvider, "Active!", t0); !errors.Is(err, ErrInvalidPartner) {
		t.Errorf("unknown status: err = %v", err)
	}
}

func TestActiveInNeedsRegistration(t *testing.T) {
	var p Partner
	if _, err := p.ApplyEnrollmentStatus(ProgramIndirectProvider, EnrollmentActive, t0); err != nil {
		t.Fatal(err)
	}
	if p.ActiveIn(ProgramIndirectProvider) {
		t.Error("enrollment known before registration counted as active")
	}
	if _, err := p.ApplyRegistration(reg("A", t0)); err != nil {
		t.Fatal(err)
	}
	if !p.ActiveIn(ProgramIndirectProvider) {
		t.Error("registered partner with active enrollment not active")
	}
}
