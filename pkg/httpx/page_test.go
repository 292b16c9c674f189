package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/partnerhub/onboarding/pkg/apperr"
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

// TestWritePageErrorShowsAPage: a page's request that fails for a reason
// of the service's own is answered with a page in both languages, not a
// problem document a person cannot read: 503 with Retry-After while the
// database is out of reach, 500 for the rest; nothing when the client went
// away.
func TestWritePageErrorShowsAPage(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		want   string
	}{
		{fmt.Errorf("preview link: %w", &pgconn.PgError{Code: "57P01"}), 503, "Temporarily unavailable"},
		{errors.New("bug"), 500, "Something went wrong"},
	} {
		w := httptest.NewRecorder()
		WritePageError(w, httptest.NewRequest("GET", "/confirm?token=x", nil), c.err, false)
		body := w.Body.String()
		if w.Code != c.status || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(body, c.want) ||
			!strings.Contains(body, `<section lang="ja">`) || (c.status == 503) != (w.Header().Get("Retry-After") != "") {
			t.Errorf("%v: %d %v\n%s", c.err, w.Code, w.Header(), body)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	WritePageError(w, httptest.NewRequest("GET", "/confirm", nil).WithContext(ctx), fmt.Errorf("preview: %w", context.Canceled), false)
	if w.Code != StatusClientClosed || w.Body.Len() != 0 {
		t.Errorf("client gone: %d %q", w.Code, w.Body)
	}
}

// A database that went away under a use case is a 503 with Retry-After and
// the stable code, also when the use case wrapped the error as its own
// internal one; a coded answer is kept, and an internal error is a 500.
func TestADatabaseAwayIsA503HoweverItWasWrapped(t *testing.T) {
	eof := fmt.Errorf("load acceptance: read key: %w", io.ErrUnexpectedEOF)
	for _, c := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"bare", eof, 503, CodeUnavailable},
		{"wrapped as the service's internal error", &apperr.Error{Kind: apperr.KindInternal, Code: "agreements.internal", Message: "load acceptance", Err: eof}, 503, CodeUnavailable},
		{"a coded answer stays", apperr.Conflict("agreements.not_yet", "x"), 409, "agreements.not_yet"},
		{"an internal error", &apperr.Error{Kind: apperr.KindInternal, Code: "agreements.internal", Message: "bug", Err: errors.New("bug")}, 500, "agreements.internal"},
	} {
		w := httptest.NewRecorder()
		WriteError(w, httptest.NewRequest("POST", "/v1/x", nil), c.err)
		var p Problem
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != c.status || p.Code != c.code || (c.status == 503) != (w.Header().Get("Retry-After") != "") {
			t.Errorf("%s: %d %s %v", c.name, w.Code, w.Body, w.Header())
		}
		// A database away is retried after a second, as a starting
		// service's held request is (before: 2 s, most of a Postgres
		// restart's cost to a request in flight).
		if c.status == 503 && w.Header().Get("Retry-After") != "1" {
			t.Errorf("%s: Retry-After %q, want 1", c.name, w.Header().Get("Retry-After"))
		}
	}
}
