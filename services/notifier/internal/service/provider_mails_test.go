package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	relv1 "github.com/partnerhub/onboarding/pkg/events/relationships/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/notifier/internal/adapters/smtp/smtptest"
)

// TestTheProviderHearsTheAnswer: how a reseller answered a provider's
// request (authorised, declined with its message, deferred, left to expire),
// that the request's mail did not reach the reseller (with why),
// and a relationship the reseller ended (with its reason) or lost to its
// account's closure (never the closure's record) reach the provider's
// contact, naming the reseller, in Japanese then English in both parts. A
// relationship the provider ended itself mails nobody here, and news of
// four days ago (a late or new durable reading the stream's past) is
// recorded as expired, not sent. An answer naming no provider is
// dead-lettered with its code.
func TestTheProviderHearsTheAnswer(t *testing.T) {
	h := start(t, opts{})
	const res, prv, addr = "PG-RES9-0000-001", "PG-PRV9-0000-00C", "ichiro@provider.example.co.jp"
	const message, record = "現在は別の販売代理店と契約しています", "closed_by_operator: 社内メモ"
	h.registered(res, "株式会社ひかりネットワークス", "taro@reseller.example.co.jp")
	h.registered(prv, "株式会社名城インフォテック", addr)
	h.contactsKnown(2)
	now := time.Now().UTC()
	at := func(p relv1.Parties, t time.Time) relv1.Parties { p.OccurredAt = t; return p }
	p := parties(res, prv)
	stale := publish(t, h.js, relv1.TypeRequestAccepted, "", res, relv1.RequestAccepted{Parties: at(p, now.Add(-96*time.Hour)),
		RequestID: "rq-0", Kind: "initial", Roles: []string{"billing_reader"}, AcceptedBy: "radm"})
	// An answer that names no provider cannot be mailed: dead-lettered.
	noProvider := p
	noProvider.ProviderID = ""
	bad := publish(t, h.js, relv1.TypeRequestAccepted, "", res, relv1.RequestAccepted{Parties: noProvider, RequestID: "rq-x", Kind: "initial"})
	publish(t, h.js, relv1.TypeRelationshipEnded, "", res, relv1.RelationshipEnded{Parties: p, EndedBy: relv1.SideProvider,
		EndedBySubject: "padm", Reason: "取引を見直しました", Cause: relv1.EndCauseChosen})
	for _, e := range []struct {
		typ  string
		data any
	}{
		{relv1.TypeRequestAccepted, relv1.RequestAccepted{Parties: p, RequestID: "rq-1", Kind: "initial",
			Roles: []string{"billing_reader", "customer_management"}, AcceptedBy: "radm"}},
		{relv1.TypeRequestDeclined, relv1.RequestDeclined{Parties: p, RequestID: "rq-2", Kind: "widen", DeclinedBy: "radm", Reason: message}},
		{relv1.TypeRequestDeferred, relv1.RequestDeferred{Parties: p, RequestID: "rq-3", DeferredBy: "radm", ExpiresAt: now.Add(10 * 24 * time.Hour)}},
		{relv1.TypeRequestExpired, relv1.RequestExpired{Parties: p, RequestID: "rq-4", Kind: "initial"}},
		{relv1.TypeRequestUndelivered, relv1.RequestUndelivered{Parties: p, RequestID: "rq-5", Kind: "initial",
			TemplateID: "relationships.invitation", Reason: "permanent_error"}},
		{relv1.TypeRelationshipEnded, relv1.RelationshipEnded{Parties: p, EndedBy: relv1.SideReseller, EndedBySubject: "radm",
			Reason: "販売契約を終了しました", Cause: relv1.EndCauseChosen}},
		{relv1.TypeRelationshipEnded, relv1.RelationshipEnded{Parties: p, EndedBy: relv1.SideReseller, EndedBySubject: "ops-1",
			Reason: "the reseller's partner account was closed (" + record + ")", Cause: relv1.EndCauseAccountClosed}},
	} {
		publish(t, h.js, e.typ, "", res, e.data)
	}
	got := h.sent(7)
	links := "https://partners.example.com/partners/" + prv + "/relationships"
	want := []struct {
		subject string
		text    []string
	}{
		{"承認依頼を承認しました", []string{"間接プロバイダー（ディストリビューター）となるための承認依頼", "請求情報の閲覧", "customer management", "authorised your request"}},
		{"承認依頼を辞退しました", []string{"権限を広げる依頼", message, "request for wider access", "Their message (as written)", "no access was granted"}},
		{"回答を保留しました", []string{"まで有効です", "will answer later", "stays open until"}},
		{"期限切れになりました", []string{"回答のないまま", "expired unanswered"}},
		{"メールが届きませんでした", []string{"受信側のメール サーバーがこのアドレスを拒否しました", "招待リンク", "their mail server refused the address",
			"the invitation link you were given", "could not be delivered to the contact of"}},
		{"取引関係が終了しました", []string{"管理者が", "販売契約を終了しました", "ended its relationship with you"}},
		{"取引関係が終了しました", []string{"パートナー アカウントが閉鎖されたため", "because its partner account was closed"}},
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(m smtptest.Parsed) bool {
			if !strings.Contains(m.Subject, w.subject) {
				return false
			}
			for _, s := range w.text {
				if !strings.Contains(m.Text, s) {
					return false
				}
			}
			return true
		})
		if i < 0 {
			t.Errorf("no mail %q with %q among:\n%s", w.subject, w.text, subjects(got))
			continue
		}
		m := got[i]
		got = slices.Delete(got, i, i+1)
		if m.To != addr || !strings.Contains(m.Subject, "株式会社ひかりネットワークス") || !strings.Contains(m.Subject, " / ") ||
			!strings.Contains(m.Text, res) || !strings.Contains(m.Text, "株式会社名城インフォテック") || !strings.Contains(m.HTML, `href="`+links+`"`) ||
			strings.Index(m.HTML, `<section lang="ja">`) > strings.Index(m.HTML, `<section lang="en">`) {
			t.Errorf("%s: to %s, not to the provider about the reseller in both languages:\n%s", m.Subject, m.To, m.Text)
		}
		if strings.Contains(m.Text+m.HTML, record) || strings.Contains(m.Text+m.HTML, "取引を見直しました") {
			t.Errorf("%s: carries a closure's record or the provider's own reason:\n%s", m.Subject, m.Text)
		}
	}
	if len(got) > 0 {
		t.Errorf("mails nobody should have sent:\n%s", subjects(got))
	}
	// The stale answer is on the provider's record, expired; the reseller
	// was mailed nothing.
	var list mailList
	testkit.Eventually(t, 10*time.Second, func() error {
		list = mailList{}
		h.get("/v1/mails?partner_id="+prv, h.operator(), 200, &list)
		var delivered, expired int
		for _, m := range list.Mails {
			switch {
			case m.Status == "delivered":
				delivered++
			case m.ID == stale && m.Status == "failed":
				expired++
			}
		}
		if delivered != 7 || expired != 1 || len(list.Mails) != 8 {
			return fmt.Errorf("provider's mails: %+v", list.Mails)
		}
		return nil
	})
	h.get("/v1/mails?partner_id="+res, h.operator(), 200, &list)
	if len(list.Mails) != 0 {
		t.Fatalf("the reseller was mailed: %+v", list.Mails)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		for _, m := range streamMsgs(t, h.js, bus.DeadLetterStream, "") {
			if m.Header.Get(ce.HID) == bad && m.Header.Get(bus.DLQCode) == "notifier.invalid_request" {
				return nil
			}
		}
		return fmt.Errorf("the answer without a provider is not dead-lettered as notifier.invalid_request")
	})
	if n := len(h.smtp.Messages()); n != 7 {
		t.Fatalf("%d mails sent, want 7", n)
	}
}

func subjects(ms []smtptest.Parsed) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  %s (to %s)\n", m.Subject, m.To)
	}
	return b.String()
}

// TestTheResellerHearsItsProviderEndedIt: a relationship the provider ended,
// or lost to its account's closure, while no access was live reaches the
// reseller's contact (relationship_ended, naming the provider, with its
// message as written when it chose to end it); a pending invitation
// withdrawn by the provider's closure too. When a live grant ended with it
// the access terminated mail tells the reseller, so this one is not sent;
// nor is it for an event from before access_terminated existed.
func TestTheResellerHearsItsProviderEndedIt(t *testing.T) {
	h := start(t, opts{})
	const res, prv, addr = "PG-RES8-0000-003", "PG-PRV8-0000-00E", "taro@reseller8.example.co.jp"
	h.registered(res, "株式会社ひかりネットワークス", addr)
	h.registered(prv, "株式会社名城インフォテック", "ichiro@provider8.example.co.jp")
	h.contactsKnown(2)
	p := parties(res, prv)
	no, yes := false, true
	for _, e := range []relv1.RelationshipEnded{
		{Parties: p, EndedBy: relv1.SideProvider, EndedBySubject: "padm", Reason: "契約期間が満了しました", Cause: relv1.EndCauseChosen, AccessTerminated: &no},
		{Parties: p, EndedBy: relv1.SideProvider, EndedBySubject: "ops-1", Reason: "closed_by_operator: 社内メモ", Cause: relv1.EndCauseAccountClosed,
			AccessTerminated: &no, InvitationWithdrawn: true},
		{Parties: p, EndedBy: relv1.SideProvider, EndedBySubject: "padm", Reason: "live grant", Cause: relv1.EndCauseChosen, AccessTerminated: &yes},
		{Parties: p, EndedBy: relv1.SideProvider, EndedBySubject: "padm", Reason: "before the field", Cause: relv1.EndCauseChosen},
	} {
		publish(t, h.js, relv1.TypeRelationshipEnded, "", res, e)
	}
	h.sent(2)
	time.Sleep(500 * time.Millisecond) // a third mail would have been sent by now
	got := h.sent(2)
	if len(got) != 2 {
		t.Fatalf("%d mails, want 2:\n%s", len(got), subjects(got))
	}
	for _, w := range []struct{ subject, text string }{
		{"株式会社名城インフォテック との取引関係が終了しました", "契約期間が満了しました"},
		{"株式会社名城インフォテック からの招待が取り消されました", "Its invitation link no longer works"},
	} {
		i := slices.IndexFunc(got, func(m smtptest.Parsed) bool {
			return strings.Contains(m.Subject, w.subject) && strings.Contains(m.Text, w.text)
		})
		if i < 0 {
			t.Errorf("no mail %q with %q among:\n%s", w.subject, w.text, subjects(got))
			continue
		}
		if m := got[i]; m.To != addr || !strings.Contains(m.Text, prv) || strings.Contains(m.Text+m.HTML, "社内メモ") ||
			!strings.Contains(m.HTML, `href="https://partners.example.com/partners/`+res+`/relationships"`) {
			t.Errorf("%s: to %s, not to the reseller about the provider, or with a closure's record:\n%s", m.Subject, m.To, m.Text)
		}
	}
}

// TestTheOtherSideHearsAccessHeldAndGivenBack: a grant held because one
// party left good standing is mailed to the other party (the reseller when
// its provider left, the provider when its reseller did), never with the
// reasons; its give-back to the party told of the hold. A give-back that
// does not say whose standing held the grant (a grant held before round 22)
// mails nobody.
func TestTheOtherSideHearsAccessHeldAndGivenBack(t *testing.T) {
	h := start(t, opts{})
	const res, prv, resAddr, prvAddr = "PG-RES7-0000-005", "PG-PRV7-0000-00G", "taro@reseller7.example.co.jp", "ichiro@provider7.example.co.jp"
	h.registered(res, "株式会社ひかりネットワークス", resAddr)
	h.registered(prv, "株式会社名城インフォテック", prvAddr)
	h.contactsKnown(2)
	p := parties(res, prv)
	until := time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC)
	publish(t, h.js, relv1.TypeAccessSuspended, "", res, relv1.AccessSuspended{Parties: p, GrantID: "gr-1", Side: relv1.SideProvider,
		Reasons: []string{"mfa_noncompliant"}})
	publish(t, h.js, relv1.TypeAccessSuspended, "", res, relv1.AccessSuspended{Parties: p, GrantID: "gr-2", Side: relv1.SideReseller,
		Reasons: []string{"verification_revoked"}})
	publish(t, h.js, relv1.TypeAccessReinstated, "", res, relv1.AccessReinstated{Parties: p, GrantID: "gr-2", ExpiresAt: until, Side: relv1.SideReseller})
	publish(t, h.js, relv1.TypeAccessReinstated, "", res, relv1.AccessReinstated{Parties: p, GrantID: "gr-3", ExpiresAt: until})
	h.sent(3)
	time.Sleep(500 * time.Millisecond) // a fourth mail would have been sent by now
	got := h.sent(3)
	if len(got) != 3 {
		t.Fatalf("%d mails, want 3:\n%s", len(got), subjects(got))
	}
	for _, w := range []struct{ to, subject, text, names string }{
		{resAddr, "株式会社名城インフォテック の委任管理者権限を一時停止しました", "its delegated administrator access over your directory has been on hold", prv},
		{prvAddr, "株式会社ひかりネットワークス に対する委任管理者権限を一時停止しました", "your delegated administrator access over its directory has been on hold", res},
		{prvAddr, "株式会社ひかりネットワークス に対する委任管理者権限が再び有効になりました", "Its current term ends on", res},
	} {
		i := slices.IndexFunc(got, func(m smtptest.Parsed) bool {
			return m.To == w.to && strings.Contains(m.Subject, w.subject) && strings.Contains(m.Text, w.text)
		})
		if i < 0 {
			t.Errorf("no mail to %s %q with %q among:\n%s", w.to, w.subject, w.text, subjects(got))
			continue
		}
		m := got[i]
		if !strings.Contains(m.Text, w.names) {
			t.Errorf("%s: does not name the other party %s:\n%s", m.Subject, w.names, m.Text)
		}
		for _, reason := range []string{"mfa", "MFA", "verification_revoked", "revoked", "取り消"} {
			if strings.Contains(m.Text+m.HTML, reason) {
				t.Errorf("%s: tells the other party's reason (%q):\n%s", m.Subject, reason, m.Text)
			}
		}
		// Since round 44 a lapsed program agreement holds a grant too: the
		// words fit both causes (before, "not in good standing").
		if !strings.Contains(m.Text, "do business with us") || strings.Contains(m.Text, "good standing") || strings.Contains(m.Text, "良好な状態") {
			t.Errorf("%s: words that fit a standing hold only:\n%s", m.Subject, m.Text)
		}
	}
}

// TestTheOtherSideHearsRolesTakenOff: a reseller that takes roles off its
// provider's grant tells the provider which roles are gone and which
// remain, and how to get one back; a provider that gives roles up tells the
// reseller (since round 44: before, neither side was mailed, and a provider
// learned of it when an action failed).
func TestTheOtherSideHearsRolesTakenOff(t *testing.T) {
	h := start(t, opts{})
	const res, prv, resAddr, prvAddr = "PG-RES8-0000-003", "PG-PRV8-0000-00E", "taro@reseller8.example.co.jp", "ichiro@provider8.example.co.jp"
	h.registered(res, "株式会社ひかりネットワークス", resAddr)
	h.registered(prv, "株式会社名城インフォテック", prvAddr)
	h.contactsKnown(2)
	p := parties(res, prv)
	publish(t, h.js, relv1.TypeAccessNarrowed, "", res, relv1.AccessNarrowed{Parties: p, GrantID: "gr-1",
		Roles: []string{"customer_management", "support_agent"}, Removed: []string{"helpdesk_admin"}, NarrowedBy: relv1.SideReseller, NarrowedBySubject: "res-admin"})
	publish(t, h.js, relv1.TypeAccessNarrowed, "", res, relv1.AccessNarrowed{Parties: p, GrantID: "gr-2",
		Roles: []string{"support_agent"}, Removed: []string{"customer_management"}, NarrowedBy: relv1.SideProvider, NarrowedBySubject: "prov-admin"})
	got := h.sent(2)
	for _, w := range []struct {
		to, subject string
		texts       []string
	}{
		{prvAddr, "株式会社ひかりネットワークス が貴社の委任管理者権限の一部を削除しました", []string{"Roles removed\n- helpdesk administrator",
			"Roles that remain\n- customer management", "support agent", "request for wider access", res}},
		{resAddr, "株式会社名城インフォテック が委任管理者権限の一部を返上しました", []string{"Roles given up\n- customer management",
			"Roles that remain\n- support agent", "nothing is needed from you", prv}},
	} {
		i := slices.IndexFunc(got, func(m smtptest.Parsed) bool { return m.To == w.to && strings.Contains(m.Subject, w.subject) })
		if i < 0 {
			t.Errorf("no mail to %s %q among:\n%s", w.to, w.subject, subjects(got))
			continue
		}
		for _, text := range w.texts {
			if !strings.Contains(got[i].Text, text) {
				t.Errorf("%s lacks %q:\n%s", w.subject, text, got[i].Text)
			}
		}
	}
}
