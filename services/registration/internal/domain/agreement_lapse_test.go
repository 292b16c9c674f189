package domain

import (
	"testing"
	"time"
)

// activeReseller is an approved partner whose reseller enrollment accepted
// version v2025 of its agreement (acceptance AC-1), with its location.
func activeReseller(t *testing.T) (*Partner, LocationID) {
	t.Helper()
	p := newTestPartner(t, network, reseller)
	if _, err := p.ApproveVerification(t0, t0); err != nil {
		t.Fatal(err)
	}
	loc := p.Locations()[0].ID
	if _, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AC-1", "v2025", t0); err != nil {
		t.Fatal(err)
	}
	p.PullEvents()
	return p, loc
}

// TestALapsedAgreementQualifiesTheEnrollmentAgain: a new version of the
// reseller agreement not accepted by its deadline takes the agreement from
// the active enrollment (qualified again, one status event with the
// reason); the acceptance of that version makes it active again. News
// overtaken by that acceptance, a replay, and an acceptance of the version
// before the news change nothing.
func TestALapsedAgreementQualifiesTheEnrollmentAgain(t *testing.T) {
	p, loc := activeReseller(t)
	due, at := t0.Add(30*24*time.Hour), t0.Add(30*24*time.Hour+time.Minute)

	// Asked to accept the new version by due: shown, nothing moves.
	if changed, err := p.RequireReacceptance(ProgramIndirectReseller, "v2026", due, t0, t0); err != nil || !changed {
		t.Fatalf("require: %v %v", changed, err)
	}
	if e, _ := p.Enrollment(ProgramIndirectReseller); e.Status != EnrollmentActive || e.AgreementDue == nil || e.AgreementDue.VersionID != "v2026" {
		t.Fatalf("enrollment while the version is due: %+v", e)
	}
	if changed, _ := p.RequireReacceptance(ProgramIndirectReseller, "v2026", due, t0, t0); changed || len(p.PullEvents()) != 0 {
		t.Fatal("a replay of the requirement changed the partner")
	}

	changed, err := p.LapseAgreement(ProgramIndirectReseller, "v2026", due, at, at)
	if err != nil || !changed {
		t.Fatalf("lapse: %v %v", changed, err)
	}
	e, _ := p.Enrollment(ProgramIndirectReseller)
	if e.Status != EnrollmentQualified || e.AgreementID != "" || e.AgreementLapsed == nil || e.AgreementLapsed.VersionID != "v2026" ||
		!e.AgreementLapsed.DueBy.Equal(due) || e.AgreementDue != nil {
		t.Fatalf("enrollment after the lapse: %+v", e)
	}
	evs := p.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	if c := evs[0].(EnrollmentStatusChanged); c.From != EnrollmentActive || c.To != EnrollmentQualified || c.Reason != ReasonReacceptanceOverdue {
		t.Fatalf("status event %+v", c)
	}
	if changed, _ := p.LapseAgreement(ProgramIndirectReseller, "v2026", due, at, at); changed || len(p.PullEvents()) != 0 {
		t.Fatal("a replay of the lapse changed the partner")
	}
	if e, _ := p.Enrollment(ProgramPartnerNetwork); e.Status != EnrollmentActive {
		t.Fatalf("the membership: %+v", e)
	}

	if changed, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AC-2", "v2026", at.Add(time.Hour)); err != nil || !changed {
		t.Fatalf("accept the new version: %v %v", changed, err)
	}
	e, _ = p.Enrollment(ProgramIndirectReseller)
	if e.Status != EnrollmentActive || e.AgreementID != "AC-2" || e.AgreementVersion != "v2026" || e.AgreementLapsed != nil {
		t.Fatalf("enrollment after the new acceptance: %+v", e)
	}
	p.PullEvents()
	// The same news again (another requirement's, or late): the version is accepted.
	if changed, _ := p.LapseAgreement(ProgramIndirectReseller, "v2026", due, at, at.Add(2*time.Hour)); changed {
		t.Fatal("news overtaken by the acceptance of its version took the agreement")
	}
}

// TestAReacceptanceBeforeTheNewsKeepsTheEnrollmentActive: the partner
// accepted the new version (recorded on the active enrollment, nothing
// moves); news of that version being overdue, come on another durable
// after it, leaves the enrollment active.
func TestAReacceptanceBeforeTheNewsKeepsTheEnrollmentActive(t *testing.T) {
	p, loc := activeReseller(t)
	if _, err := p.RequireReacceptance(ProgramIndirectReseller, "v2026", t0.Add(48*time.Hour), t0, t0); err != nil {
		t.Fatal(err)
	}
	if changed, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AC-2", "v2026", t0.Add(time.Hour)); err != nil || !changed {
		t.Fatalf("re-accept: %v %v", changed, err)
	}
	if e, _ := p.Enrollment(ProgramIndirectReseller); e.AgreementDue != nil {
		t.Fatalf("the version accepted is still due: %+v", e.AgreementDue)
	}
	if evs := p.PullEvents(); len(evs) != 0 {
		t.Fatalf("a re-acceptance moved the enrollment: %+v", evs)
	}
	if e, _ := p.Enrollment(ProgramIndirectReseller); e.AgreementID != "AC-2" || e.AgreementVersion != "v2026" {
		t.Fatalf("the re-acceptance is not recorded: %+v", e)
	}
	if changed, _ := p.LapseAgreement(ProgramIndirectReseller, "v2026", t0, t0, t0.Add(2*time.Hour)); changed {
		t.Fatal("the news took the agreement the partner accepted")
	}
	if changed, _ := p.RequireReacceptance(ProgramIndirectReseller, "v2026", t0, t0, t0.Add(2*time.Hour)); changed {
		t.Fatal("the request to accept a version the partner accepted is shown")
	}
	if e, _ := p.Enrollment(ProgramIndirectReseller); e.Status != EnrollmentActive {
		t.Fatalf("enrollment %+v", e)
	}
}

// TestAnEnrollmentAddedLaterTakesTheAgreementAsItIs: the program's agreement
// binds the company, so an enrollment added at another location takes it
// with its version and the version due; once it lapsed, the new enrollment
// has none and says why (before round 44 only the acceptance id was copied).
func TestAnEnrollmentAddedLaterTakesTheAgreementAsItIs(t *testing.T) {
	p, _ := activeReseller(t)
	ids := &seqIDs{n: 100}
	osaka, err := p.AddLocation(osakaOffice(t), ids, "admin-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	due := t0.Add(30 * 24 * time.Hour)
	if _, err := p.RequireReacceptance(ProgramIndirectReseller, "v2026", due, t0, t0); err != nil {
		t.Fatal(err)
	}
	e, err := p.AddEnrollment(resellerRequest(t), osaka.ID, ids, "admin-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if e.AgreementID != "AC-1" || e.AgreementVersion != "v2025" || e.AgreementDue == nil || e.AgreementDue.VersionID != "v2026" {
		t.Fatalf("an enrollment added while a version is due: %+v", e)
	}

	q, _ := activeReseller(t)
	kobe, err := q.AddLocation(osakaOffice(t), ids, "admin-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.LapseAgreement(ProgramIndirectReseller, "v2026", due, due, due); err != nil {
		t.Fatal(err)
	}
	e, err = q.AddEnrollment(resellerRequest(t), kobe.ID, ids, "admin-1", due)
	if err != nil {
		t.Fatal(err)
	}
	if e.AgreementID != "" || e.AgreementLapsed == nil || e.AgreementLapsed.VersionID != "v2026" {
		t.Fatalf("an enrollment added after the lapse: %+v", e)
	}
}

// TestARetiredVersionGivesTheLapsedAgreementBack: agreements cancels the
// re-acceptance of a version it retired. The enrollment that lapsed for it
// has its earlier acceptance back and is active again (one status event);
// one only asked to accept it no longer shows it due; a closed partner's
// lapse stays; a replay changes nothing (before round 45 the enrollment
// stayed qualified for good, asking for a version nobody can accept).
func TestARetiredVersionGivesTheLapsedAgreementBack(t *testing.T) {
	p, _ := activeReseller(t)
	due, at := t0.Add(30*24*time.Hour), t0.Add(30*24*time.Hour+time.Minute)
	if _, err := p.LapseAgreement(ProgramIndirectReseller, "v2026", due, at, at); err != nil {
		t.Fatal(err)
	}
	p.PullEvents()
	closed := p.Snapshot()

	later := at.Add(time.Hour)
	if changed, err := p.WithdrawReacceptance(ProgramIndirectReseller, "v2026", "AC-1", true, later); err != nil || !changed {
		t.Fatalf("withdraw: %v %v", changed, err)
	}
	e, _ := p.Enrollment(ProgramIndirectReseller)
	if e.Status != EnrollmentActive || e.AgreementID != "AC-1" || e.AgreementVersion != "v2025" || e.AgreementLapsed != nil || e.AgreementDue != nil {
		t.Fatalf("enrollment after the withdrawal: %+v", e)
	}
	evs := p.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	if c := evs[0].(EnrollmentStatusChanged); c.From != EnrollmentQualified || c.To != EnrollmentActive || c.Reason != ReasonReacceptanceCancelled || c.AgreementID != "AC-1" {
		t.Fatalf("status event %+v", c)
	}
	if changed, _ := p.WithdrawReacceptance(ProgramIndirectReseller, "v2026", "AC-1", true, later); changed || len(p.PullEvents()) != 0 {
		t.Fatal("a replay of the withdrawal changed the partner")
	}

	// Only due: no longer shown, nothing moves.
	if _, err := p.RequireReacceptance(ProgramIndirectReseller, "v2027", due.Add(time.Hour), later, later); err != nil {
		t.Fatal(err)
	}
	if changed, _ := p.WithdrawReacceptance(ProgramIndirectReseller, "v2027", "AC-1", true, later); !changed || len(p.PullEvents()) != 0 {
		t.Fatal("the withdrawal of a version due did not clear it, or moved the enrollment")
	}
	if e, _ := p.Enrollment(ProgramIndirectReseller); e.AgreementDue != nil || e.Status != EnrollmentActive {
		t.Fatalf("enrollment: %+v", e)
	}

	// A closed partner's withdrawal (restore off) leaves the lapse.
	c, err := RehydratePartner(closed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WithdrawReacceptance(ProgramIndirectReseller, "v2026", "AC-1", false, later); err != nil {
		t.Fatal(err)
	}
	if e, _ := c.Enrollment(ProgramIndirectReseller); e.Status != EnrollmentQualified || e.AgreementLapsed == nil || len(c.PullEvents()) != 0 {
		t.Fatalf("closed partner's enrollment: %+v", e)
	}
}

// TestANewerVersionAfterTheLapseIsShownDue: the reseller let version v2026
// lapse, and a newer version v2027 is published (agreements asks the lapsed
// partner too). Before round 46 the lapsed enrollment ignored the news:
// accepting v2026, as its requirements said, made it active with v2027
// nowhere shown, until v2027's lapse qualified it again. Now v2027 is due on
// the lapsed enrollment: accepting v2026 leaves it due (and its lapse shows
// v2027 overdue); accepting v2027 clears both.
func TestANewerVersionAfterTheLapseIsShownDue(t *testing.T) {
	lapsed := func(t *testing.T) (*Partner, LocationID, time.Time) {
		p, loc := activeReseller(t)
		due := t0.Add(30 * 24 * time.Hour)
		p.RequireReacceptance(ProgramIndirectReseller, "v2026", due, t0, t0)
		if _, err := p.LapseAgreement(ProgramIndirectReseller, "v2026", due, due, due); err != nil {
			t.Fatal(err)
		}
		later := due.Add(30 * 24 * time.Hour)
		if changed, err := p.RequireReacceptance(ProgramIndirectReseller, "v2027", later, due.Add(time.Hour), due.Add(time.Hour)); err != nil || !changed {
			t.Fatalf("require the newer version: %v %v", changed, err)
		}
		e, _ := p.Enrollment(ProgramIndirectReseller)
		if e.Status != EnrollmentQualified || e.AgreementLapsed == nil || e.AgreementLapsed.VersionID != "v2026" ||
			e.AgreementDue == nil || e.AgreementDue.VersionID != "v2027" {
			t.Fatalf("the lapsed enrollment after the newer version: %+v", e)
		}
		if changed, _ := p.RequireReacceptance(ProgramIndirectReseller, "v2026", due, t0, due.Add(2*time.Hour)); changed {
			t.Fatal("the lapsed version's requirement again changed the enrollment")
		}
		p.PullEvents()
		return p, loc, later
	}
	t.Run("the lapsed version accepted", func(t *testing.T) {
		p, loc, later := lapsed(t)
		if _, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AC-2", "v2026", later.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if e, _ := p.Enrollment(ProgramIndirectReseller); e.Status != EnrollmentActive || e.AgreementDue == nil || e.AgreementDue.VersionID != "v2027" {
			t.Fatalf("active again: %+v", e)
		}
		if changed, _ := p.LapseAgreement(ProgramIndirectReseller, "v2027", later, later, later); !changed {
			t.Fatal("the newer version's lapse changed nothing")
		}
		if e, _ := p.Enrollment(ProgramIndirectReseller); e.Status != EnrollmentQualified || e.AgreementLapsed.VersionID != "v2027" || e.AgreementDue != nil {
			t.Fatalf("after the newer lapse: %+v", e)
		}
	})
	t.Run("the lapse of the newer version while still lapsed", func(t *testing.T) {
		p, _, later := lapsed(t)
		if changed, _ := p.LapseAgreement(ProgramIndirectReseller, "v2027", later, later, later); !changed {
			t.Fatal("the newer version's lapse changed nothing")
		}
		e, _ := p.Enrollment(ProgramIndirectReseller)
		if e.Status != EnrollmentQualified || e.AgreementLapsed.VersionID != "v2027" || e.AgreementLapsed.PriorAgreementID != "AC-1" || e.AgreementDue != nil {
			t.Fatalf("after the newer lapse: %+v", e)
		}
		if evs := p.PullEvents(); len(evs) != 0 {
			t.Fatalf("events %+v", evs)
		}
	})
	t.Run("the newer version accepted", func(t *testing.T) {
		p, loc, later := lapsed(t)
		if _, err := p.AcceptAgreement(ProgramIndirectReseller, loc, "AC-3", "v2027", later.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if e, _ := p.Enrollment(ProgramIndirectReseller); e.Status != EnrollmentActive || e.AgreementLapsed != nil || e.AgreementDue != nil {
			t.Fatalf("active: %+v", e)
		}
	})
}
