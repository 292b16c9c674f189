package httpx

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWritePage(t *testing.T) {
	p := Page{Status: 410, TitleJA: "無効", TitleEN: "Gone", BodyJA: "本文", BodyEN: "Body", Detail: `a<b>@example.com`,
		Form: &PageForm{Action: "confirm", Fields: []PageField{{Name: "token", Value: `t&"1`}}, LabelJA: "確認", LabelEN: "Confirm"}}
	for _, en := range []bool{false, true} {
		w := httptest.NewRecorder()
		WritePage(w, p, en)
		body := w.Body.String()
		if w.Code != 410 || w.Header().Get("Referrer-Policy") != "no-referrer" || w.Header().Get("Cache-Control") != "no-store" ||
			!strings.Contains(w.Header().Get("Content-Security-Policy"), "form-action 'self'") {
			t.Fatalf("status %d, headers %v", w.Code, w.Header())
		}
		ja, enAt := strings.Index(body, `<section lang="ja">`), strings.Index(body, `<section lang="en">`)
		if ja < 0 || enAt < 0 || (enAt < ja) != en {
			t.Errorf("english first %v: sections at ja %d, en %d", en, ja, enAt)
		}
		for _, want := range []string{`<form method="post" action="confirm">`, `name="token" value="t&amp;&#34;1"`,
			"a&lt;b&gt;@example.com", "確認 / Confirm"} {
			if !strings.Contains(body, want) {
				t.Errorf("missing %s in\n%s", want, body)
			}
		}
		if strings.Count(body, "a&lt;b&gt;@example.com") != 2 {
			t.Errorf("the detail belongs in both sections:\n%s", body)
		}
	}
}
