package http

import (
	"net/http"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
)

var (
	pageAsk = httpx.Page{Status: http.StatusOK,
		TitleJA: "リマインダーの配信停止", TitleEN: "Stop reminders",
		BodyJA: "書類の提出期限や未回答の依頼などのリマインダーを停止します。パートナー登録の手続きに関する通知（審査結果、承認、依頼など）は引き続き届きます。",
		BodyEN: "This stops reminders (documents due soon, requests still unanswered). Notices about your registration (review results, approvals, requests) still arrive.",
		Form:   &httpx.PageForm{Action: "unsubscribe", LabelJA: "リマインダーを停止する", LabelEN: "Stop reminders"}}
	pageStopped = httpx.Page{Status: http.StatusOK,
		TitleJA: "リマインダーを停止しました", TitleEN: "Reminders stopped",
		BodyJA: "今後リマインダーはお送りしません。手続きに関する通知は引き続き届きます。再開するには下のボタンを押してください。",
		BodyEN: "We will not send reminders any more; notices about your registration still arrive. To receive reminders again, press the button below.",
		Form:   &httpx.PageForm{Action: "unsubscribe", LabelJA: "リマインダーを再開する", LabelEN: "Resume reminders"}}
	pageResumed = httpx.Page{Status: http.StatusOK,
		TitleJA: "リマインダーを再開しました", TitleEN: "Reminders resumed",
		BodyJA: "今後はリマインダーもお送りします。",
		BodyEN: "You will receive reminders again.",
		Form:   &httpx.PageForm{Action: "unsubscribe", LabelJA: "リマインダーを停止する", LabelEN: "Stop reminders"}}
	pageInvalid = httpx.Page{Status: http.StatusNotFound,
		TitleJA: "このリンクは無効です", TitleEN: "This link is not valid",
		BodyJA: "メールのリンクを最後まで正しくコピーしたかご確認ください。",
		BodyEN: "Please check that the whole link from the e-mail was copied."}
)

func writePage(w http.ResponseWriter, p httpx.Page, lang string) {
	httpx.WritePage(w, p, lang == "en")
}

// writeChoice shows the partner's reminder setting and the button that
// turns it the other way: p when reminders are on, stopped when off.
func writeChoice(w http.ResponseWriter, p httpx.Page, ch app.ReminderChoice, sig string) {
	next := "off"
	if ch.RemindersOff {
		p, next = pageStopped, "on"
	}
	f := *p.Form
	f.Fields = []httpx.PageField{{Name: "partner", Value: ch.PartnerID}, {Name: "sig", Value: sig}, {Name: "reminders", Value: next}}
	p.Form, p.Detail = &f, ch.CompanyName
	writePage(w, p, ch.Language)
}

// writeOutcome shows the page of a link that is not one; anything else is
// the service's own failure, shown as a page too (httpx.WritePageError: 503
// while the database is out of reach, 500, logged).
func (a API) writeOutcome(w http.ResponseWriter, r *http.Request, err error) {
	if ae, ok := apperr.As(err); ok && ae.Code == app.CodeBadLink {
		writePage(w, pageInvalid, "")
		return
	}
	httpx.WritePageError(w, r, err, false)
}

// unsubscribePage is the link in a reminder: it shows the choice and a
// button; opening it (mail scanners do) changes nothing.
func (a API) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ch, err := a.App.Reminders(r.Context(), q.Get("partner"), q.Get("sig"))
	if err != nil {
		a.writeOutcome(w, r, err)
		return
	}
	writeChoice(w, pageAsk, ch, q.Get("sig"))
}

// unsubscribe is the page's button (reminders=off or on, the link's
// partner and signature in the form) or a mail client's RFC 8058 one-click
// POST (the link's query, body List-Unsubscribe=One-Click).
func (a API) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		writePage(w, pageInvalid, "")
		return
	}
	off := r.Form.Get("reminders") != "on"
	if strings.EqualFold(r.PostForm.Get("List-Unsubscribe"), "One-Click") {
		off = true
	}
	ch, err := a.App.SetReminders(r.Context(), r.Form.Get("partner"), r.Form.Get("sig"), off)
	if err != nil {
		a.writeOutcome(w, r, err)
		return
	}
	writeChoice(w, pageResumed, ch, r.Form.Get("sig"))
}
