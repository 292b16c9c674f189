package http

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/httpx"
	"github.com/partnerhub/onboarding/services/notifier/internal/app"
)

// page is one bilingual unsubscribe page, the partner's language first.
type page struct {
	Status     int
	TitleJA    string
	TitleEN    string
	BodyJA     string
	BodyEN     string
	Company    string
	EnglishTop bool
	Form       *form
	ButtonJA   string
	ButtonEN   string
}

type form struct{ Partner, Sig, Reminders string }

var (
	pageAsk = page{Status: http.StatusOK,
		TitleJA: "リマインダーの配信停止", TitleEN: "Stop reminders",
		BodyJA:   "書類の提出期限や未回答の依頼などのリマインダーを停止します。パートナー登録の手続きに関する通知（審査結果、承認、依頼など）は引き続き届きます。",
		BodyEN:   "This stops reminders (documents due soon, requests still unanswered). Notices about your registration (review results, approvals, requests) still arrive.",
		ButtonJA: "リマインダーを停止する", ButtonEN: "Stop reminders"}
	pageStopped = page{Status: http.StatusOK,
		TitleJA: "リマインダーを停止しました", TitleEN: "Reminders stopped",
		BodyJA:   "今後リマインダーはお送りしません。手続きに関する通知は引き続き届きます。再開するには下のボタンを押してください。",
		BodyEN:   "We will not send reminders any more; notices about your registration still arrive. To receive reminders again, press the button below.",
		ButtonJA: "リマインダーを再開する", ButtonEN: "Resume reminders"}
	pageResumed = page{Status: http.StatusOK,
		TitleJA: "リマインダーを再開しました", TitleEN: "Reminders resumed",
		BodyJA:   "今後はリマインダーもお送りします。",
		BodyEN:   "You will receive reminders again.",
		ButtonJA: "リマインダーを停止する", ButtonEN: "Stop reminders"}
	pageInvalid = page{Status: http.StatusNotFound,
		TitleJA: "このリンクは無効です", TitleEN: "This link is not valid",
		BodyJA: "メールのリンクを最後まで正しくコピーしたかご確認ください。",
		BodyEN: "Please check that the whole link from the e-mail was copied."}
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{if .EnglishTop}}en{{else}}ja{{end}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{if .EnglishTop}}{{.TitleEN}}{{else}}{{.TitleJA}}{{end}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.6}section{margin-bottom:2rem}</style>
</head>
<body>
{{if .EnglishTop}}{{template "en" .}}{{template "ja" .}}{{else}}{{template "ja" .}}{{template "en" .}}{{end}}
{{with .Form}}<form method="post" action="unsubscribe"><input type="hidden" name="partner" value="{{.Partner}}"><input type="hidden" name="sig" value="{{.Sig}}"><input type="hidden" name="reminders" value="{{.Reminders}}">
<button type="submit">{{$.ButtonJA}} / {{$.ButtonEN}}</button></form>{{end}}
</body></html>
{{define "ja"}}<section lang="ja"><h1>{{.TitleJA}}</h1>{{with .Company}}<p>{{.}}</p>{{end}}<p>{{.BodyJA}}</p></section>{{end}}
{{define "en"}}<section lang="en"><h1>{{.TitleEN}}</h1>{{with .Company}}<p>{{.}}</p>{{end}}<p>{{.BodyEN}}</p></section>{{end}}
`))

func writePage(w http.ResponseWriter, p page, lang string) {
	p.EnglishTop = lang == "en"
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = pageTmpl.Execute(w, p)
}

// writeOutcome shows the page of a link that is not one; anything else is
// an internal error (a problem document, logged).
func (a API) writeOutcome(w http.ResponseWriter, r *http.Request, err error) {
	if ae, ok := apperr.As(err); ok && ae.Code == app.CodeBadLink {
		writePage(w, pageInvalid, "")
		return
	}
	httpx.WriteError(w, r, err)
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
	p := pageAsk
	f := &form{Partner: ch.PartnerID, Sig: q.Get("sig"), Reminders: "off"}
	if ch.RemindersOff {
		p, f.Reminders = pageStopped, "on"
	}
	p.Company, p.Form = ch.CompanyName, f
	writePage(w, p, ch.Language)
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
	p := pageResumed
	f := &form{Partner: ch.PartnerID, Sig: r.Form.Get("sig"), Reminders: "off"}
	if ch.RemindersOff {
		p, f.Reminders = pageStopped, "on"
	}
	p.Company, p.Form = ch.CompanyName, f
	writePage(w, p, ch.Language)
}
