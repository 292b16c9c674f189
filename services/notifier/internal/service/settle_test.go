package service_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	emailv1 "github.com/partnerhub/onboarding/pkg/events/email/v1"
	registrationv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	verificationv1 "github.com/partnerhub/onboarding/pkg/events/verification/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// TestNewsWaitsForItsStateToSettle: with MAIL_SETTLE, a standing change or
// an access hold is mailed once its state has settled. A compliance hold
// placed and lifted within it, and a provider's access put on hold and
// given back, mail nobody: both mails are recorded suppressed, the first
// superseded, the second without net change. A suspension that gains a
// second reason meanwhile is one mail, when the first would have gone,
// telling the change from active with both reasons; the first is
// superseded. Found from outside: an operator toggling a hold 60 times in
// 15 s sent the partner 60 mails and its provider 60 more.
func TestNewsWaitsForItsStateToSettle(t *testing.T) {
	const settle = 1500 * time.Millisecond
	h := start(t, opts{settle: settle})
	const flap, steady, prv = "PG-F1AP-0000-0A4", "PG-STDY-0000-0BJ", "PG-PRVF-0000-0C8"
	const flapAddr, steadyAddr, prvAddr = "kenji@flap.example.co.jp", "yumi@steady.example.co.jp", "ichiro@provider-f.example.co.jp"
	h.registered(flap, "株式会社ゆらぎ商事", flapAddr)
	h.registered(steady, "株式会社しずか産業", steadyAddr)
	h.registered(prv, "株式会社名城インフォテック", prvAddr)
	h.contactsKnown(3)

	start := time.Now()
	seq := map[string]uint64{}
	standing := func(p string, ch registrationv1.PartnerStandingChanged) {
		ch.PartnerID, ch.ChangedAt, ch.ChangedBy = p, time.Now().UTC(), "ops-1"
		seq[p]++
		publishSeq(t, h, registrationv1.TypePartnerStandingChanged, p, seq[p], ch)
	}
	standing(flap, registrationv1.PartnerStandingChanged{From: "active", To: "suspended", Reasons: []string{"compliance_hold"},
		Added: []string{"compliance_hold"}, Lifted: []string{}})
	standing(steady, registrationv1.PartnerStandingChanged{From: "active", To: "suspended", Reasons: []string{"compliance_hold"},
		Added: []string{"compliance_hold"}, Lifted: []string{}})
	standing(flap, registrationv1.PartnerStandingChanged{From: "suspended", To: "active", Reasons: []string{},
		Added: []string{}, Lifted: []string{"compliance_hold"}})
	standing(steady, registrationv1.PartnerStandingChanged{From: "suspended", To: "suspended",
		Reasons: []string{"compliance_hold", "verification_revoked"}, Added: []string{"verification_revoked"}, Lifted: []string{}})

	// The reseller's access held and given back ten times: two event
	// types, two durables, so the provider's mails are recorded in any
	// order — here the order is scrambled on purpose.
	p := parties(flap, prv)
	type access struct {
		typ  string
		seq  uint64
		data any
	}
	var flips []access
	for i := range 10 {
		flips = append(flips,
			access{relv1.TypeAccessSuspended, uint64(10 + 2*i), relv1.AccessSuspended{Parties: p, GrantID: "gr-f", Side: relv1.SideReseller,
				Reasons: []string{"compliance_hold"}}},
			access{relv1.TypeAccessReinstated, uint64(11 + 2*i), relv1.AccessReinstated{Parties: p, GrantID: "gr-f", Side: relv1.SideReseller,
				ExpiresAt: time.Now().Add(365 * 24 * time.Hour).UTC()}})
	}
	for _, i := range []int{1, 0, 3, 5, 2, 4, 7, 9, 11, 6, 8, 10, 13, 12, 19, 15, 14, 17, 16, 18} {
		publishSeq(t, h, flips[i].typ, flap, flips[i].seq, flips[i].data)
	}

	h.sent(1)
	if since := time.Since(start); since < settle-200*time.Millisecond {
		t.Errorf("the first mail went %v after the first change, before its state settled (%v)", since, settle)
	}
	time.Sleep(settle) // any other mail would have gone by now
	got := h.sent(1)
	if len(got) != 1 {
		t.Fatalf("%d mails, want the steady partner's one:\n%s", len(got), subjects(got))
	}
	m := got[0]
	if m.To != steadyAddr || !strings.Contains(m.Subject, "パートナー アカウントが停止されました") {
		t.Fatalf("the mail is %q to %s, want the steady partner's suspension", m.Subject, m.To)
	}
	for _, w := range []string{"コンプライアンス上の理由", "compliance hold", "verification", "株式会社しずか産業"} {
		if !strings.Contains(m.Text, w) {
			t.Errorf("the folded suspension does not tell %q:\n%s", w, m.Text)
		}
	}
	if strings.Contains(m.Subject, "追加") || strings.Contains(m.Text, "Still in force") {
		t.Errorf("the folded suspension reads as a second change, not one from active:\n%s", m.Text)
	}

	// However the ten pairs arrived, every one of them was given up.
	given := h.mailStates(prv)
	for _, m := range given {
		if !strings.Contains(m, " suppressed ") {
			t.Errorf("the provider's mail %s went or waits", m)
		}
	}
	if len(given) != 20 {
		t.Errorf("the provider has %d mails, want the 20 flips recorded", len(given))
	}
	for p, want := range map[string][]string{
		flap:   {"registration.standing_changed suppressed no_net_change", "registration.standing_changed suppressed superseded"},
		steady: {"registration.standing_changed delivered ", "registration.standing_changed suppressed superseded"},
	} {
		if got := h.mailStates(p); !slices.Equal(got, want) {
			t.Errorf("%s's mails:\n  %s\nwant\n  %s", p, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
}

// publishSeq publishes an event of partner p with its sequence on p's
// partition, as the producers' outboxes do.
func publishSeq(t *testing.T, h *harness, typ, p string, seq uint64, data any) {
	t.Helper()
	body, _ := json.Marshal(data)
	m := nats.NewMsg(testkit.Subject(typ, p))
	for k, v := range map[string]string{ce.HSpecVersion: "1.0", ce.HID: ce.NewID(), ce.HSource: bus.OwnerSource(ce.Topic(typ)),
		ce.HType: typ, ce.HSubject: p, ce.HDataContentType: "application/json", ce.HPartitionKey: p, ce.HSequence: ce.FormatSequence(seq)} {
		m.Header[k] = []string{v}
	}
	m.Header[nats.MsgIdHdr] = []string{ce.NewID()}
	m.Data = body
	if _, err := h.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// TestNewsOfAnEndedRelationshipIsNotSent: the provider's access held while
// the reseller's standing settles, then the reseller ends the
// relationship: the provider hears that it ended, at once, and never that
// its access was on hold — that news waiting is superseded.
func TestNewsOfAnEndedRelationshipIsNotSent(t *testing.T) {
	const settle = time.Second
	h := start(t, opts{settle: settle})
	const res, prv, prvAddr = "PG-STDY-0000-0BJ", "PG-PRVF-0000-0C8", "ichiro@provider-f.example.co.jp"
	h.registered(res, "株式会社しずか産業", "yumi@steady.example.co.jp")
	h.registered(prv, "株式会社名城インフォテック", prvAddr)
	h.contactsKnown(2)
	p := parties(res, prv)
	publishSeq(t, h, relv1.TypeAccessSuspended, res, 5, relv1.AccessSuspended{Parties: p, GrantID: "gr-e", Side: relv1.SideReseller,
		Reasons: []string{"compliance_hold"}})
	h.onlyMail(prv, "pending")
	publishSeq(t, h, relv1.TypeRelationshipEnded, res, 6, relv1.RelationshipEnded{Parties: p, EndedBy: relv1.SideReseller,
		EndedBySubject: "admin-1", Cause: relv1.EndCauseChosen, Reason: "取引終了"})
	h.sent(1)
	time.Sleep(settle + 500*time.Millisecond) // the held news would have gone by now
	if got := h.sent(1); len(got) != 1 || got[0].To != prvAddr || strings.Contains(got[0].Subject, "一時停止") {
		t.Fatalf("the provider was mailed:\n%s", subjects(got))
	}
	want := []string{"relationships.access_suspended suppressed superseded", "relationships.relationship_ended delivered "}
	if states := h.mailStates(prv); !slices.Equal(states, want) {
		t.Errorf("the provider's mails: %v, want %v", states, want)
	}
}

// TestARestoredChallengeWaitsForTheStandingToSettle: a confirmation mail
// of a challenge restored because the partner is active again (reason
// reinstated) waits MAIL_SETTLE; a hold placed again meanwhile cancels the
// challenge and gives its mail up unsent, and only the next restored
// challenge's mail goes — one link, not one per lift. Found from outside:
// a compliance hold placed and lifted five times while a new contact
// address awaited its confirmation sent that address six links.
func TestARestoredChallengeWaitsForTheStandingToSettle(t *testing.T) {
	const settle = time.Second
	h := start(t, opts{settle: settle})
	first := h.request("ch-restored-1", time.Now().Add(time.Hour))
	first.Reason = emailv1.ReasonReinstated
	publishSeq(t, h, emailv1.TypeVerificationMailRequested, first.PartnerID, 7, first)
	h.onlyMail(first.PartnerID, "pending")
	publishSeq(t, h, emailv1.TypeChallengeCancelled, first.PartnerID, 8, emailv1.ChallengeCancelled{PartnerID: first.PartnerID,
		EnrollmentID: first.EnrollmentID, Program: first.Program, ChallengeID: first.ChallengeID, Standing: "suspended",
		CancelledAt: time.Now().UTC()})
	h.onlyMail(first.PartnerID, "failed")
	second := h.request("ch-restored-2", time.Now().Add(time.Hour))
	second.Reason = emailv1.ReasonReinstated
	start := time.Now()
	publishSeq(t, h, emailv1.TypeVerificationMailRequested, second.PartnerID, 10, second)
	h.sent(1)
	if since := time.Since(start); since < settle-200*time.Millisecond {
		t.Errorf("the restored challenge's mail went %v after its request, before the standing settled (%v)", since, settle)
	}
	time.Sleep(300 * time.Millisecond)
	if got := h.sent(1); len(got) != 1 || !strings.Contains(got[0].Text, "042917") {
		t.Fatalf("%d mails, want the second challenge's only:\n%s", len(got), subjects(got))
	}
	if want, states := []string{"email_ownership.verify.v1 delivered ", "email_ownership.verify.v1 failed "}, h.mailStates(first.PartnerID); !slices.Equal(states, want) {
		t.Errorf("the mails: %v, want %v", states, want)
	}
}

// TestAReopenedReviewFollowsTheStandingMail: a review re-opened right after
// the revocation that suspended the partner is mailed after the standing
// mail, which waits MAIL_SETTLE: the partner reads "suspended" before
// "your review was re-opened", not the other way round (as on make run).
func TestAReopenedReviewFollowsTheStandingMail(t *testing.T) {
	const settle = time.Second
	h := start(t, opts{settle: settle})
	const p, addr = "PG-RE0P-0000-1SE", "jiro@reopen-order.example.co.jp"
	h.registered(p, "株式会社じゅんばん工業", addr)
	h.contactsKnown(1)
	publishSeq(t, h, registrationv1.TypePartnerStandingChanged, p, 5, registrationv1.PartnerStandingChanged{PartnerID: p,
		From: "active", To: "suspended", Reasons: []string{"verification_revoked"}, Added: []string{"verification_revoked"},
		Lifted: []string{}, ChangedBy: "verification", ChangedAt: time.Now().UTC()})
	time.Sleep(200 * time.Millisecond)
	publishSeq(t, h, verificationv1.TypeCaseReopened, p, 6, verificationv1.CaseReopened{CaseID: "vc-ORDER", PartnerID: p,
		From: "revoked", Reason: verificationv1.ReopenedForRevocation, TaskID: "vc-ORDER-t2", ReopenedBy: "reviewer-b",
		ReopenedAt: time.Now().UTC()})
	got := h.sent(2)
	if len(got) != 2 || strings.Contains(got[0].Subject, "審査再開") || !strings.Contains(got[1].Subject, "審査再開") {
		t.Fatalf("mails in this order, want the standing mail first:\n%s", subjects(got))
	}
}
