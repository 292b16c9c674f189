package httpx

import (
	"html/template"
	"net/http"
)

// Page is what a person sees who opened a link from one of our mails: one
// message in Japanese and English (the reader's language first), an
// optional detail shown in both sections (the address, the company), and
// an optional button. Opening a page changes nothing; only its button's
// POST acts, so that mail scanners following links act on nothing.
type Page struct {
	Status           int
	TitleJA, TitleEN string
	BodyJA, BodyEN   string
	Detail           string
	Form             *PageForm
}

// PageForm is a page's button: a POST of the hidden fields to Action.
type PageForm struct {
	Action           string
	Fields           []PageField
	LabelJA, LabelEN string
}

// PageField is a hidden field of a page's form.
type PageField struct{ Name, Value string }

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{if .EnglishFirst}}en{{else}}ja{{end}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{if .EnglishFirst}}{{.TitleEN}}{{else}}{{.TitleJA}}{{end}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.6}section{margin-bottom:2rem}</style>
</head>
<body>
{{if .EnglishFirst}}{{template "en" .}}{{template "ja" .}}{{else}}{{template "ja" .}}{{template "en" .}}{{end}}
{{with .Form}}<form method="post" action="{{.Action}}">{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}
<button type="submit">{{.LabelJA}} / {{.LabelEN}}</button></form>{{end}}
</body></html>
{{define "ja"}}<section lang="ja"><h1>{{.TitleJA}}</h1><p>{{.BodyJA}}</p>{{with .Detail}}<p><strong class="detail">{{.}}</strong></p>{{end}}</section>{{end}}
{{define "en"}}<section lang="en"><h1>{{.TitleEN}}</h1><p>{{.BodyEN}}</p>{{with .Detail}}<p><strong class="detail">{{.}}</strong></p>{{end}}</section>{{end}}
`))

// WritePage answers with p: no caching, no Referer (links carry tokens), a
// content security policy that allows only the page's own form.
func WritePage(w http.ResponseWriter, p Page, englishFirst bool) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = pageTmpl.Execute(w, struct {
		Page
		EnglishFirst bool
	}{p, englishFirst})
}

// WritePageError answers a page's request that failed for a reason of the
// service's own — it could not reach its database, the request ran past
// its time, a bug — with a page in both languages, not a problem document:
// a person opened a link from a mail. Status, Retry-After and the log line
// are WriteError's.
func WritePageError(w http.ResponseWriter, r *http.Request, err error, englishFirst bool) {
	p, ok := prepareError(w, r, err)
	if !ok {
		return
	}
	page := pageFailed
	if p.Status == http.StatusServiceUnavailable {
		page = pageUnavailable
	}
	page.Status = p.Status
	WritePage(w, page, englishFirst)
}

var (
	pageUnavailable = Page{
		TitleJA: "ただいまご利用いただけません", TitleEN: "Temporarily unavailable",
		BodyJA: "しばらくしてから、メールのリンクをもう一度開いてください。",
		BodyEN: "Please open the link in the e-mail again in a few minutes."}
	pageFailed = Page{
		TitleJA: "エラーが発生しました", TitleEN: "Something went wrong",
		BodyJA: "こちらで記録しました。しばらくしてから、メールのリンクをもう一度開いてください。",
		BodyEN: "It has been logged on our side. Please open the link in the e-mail again later."}
)
