package app

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/partnerhub/onboarding/services/notifier/internal/domain"
)

//go:embed templates/*
var templateFS embed.FS

// ErrUnknownTemplate is returned for a template id/language without files.
var ErrUnknownTemplate = errors.New("unknown mail template")

// MailData is what the verification templates see.
type MailData struct {
	ContactName string
	ConfirmURL  string
	DisputeURL  string
	Code        string
	ExpiresAt   string // already formatted for the language
}

// Rendered is a ready mail: subject, plain text and HTML parts.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

type tmplSet struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// Renderer renders the embedded templates. Files are named
// "<template id>.<lang>.{subject.txt,txt,html}"; the HTML part goes through
// html/template, so names and links are escaped.
type Renderer struct{ sets map[string]tmplSet }

// NewRenderer parses every embedded template once.
func NewRenderer() (*Renderer, error) {
	r := &Renderer{sets: map[string]tmplSet{}}
	names, err := fs.Glob(templateFS, "templates/*.subject.txt")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		key := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".subject.txt") // id.lang
		read := func(suffix string) (string, error) {
			b, err := templateFS.ReadFile("templates/" + key + suffix)
			return string(b), err
		}
		subj, err1 := read(".subject.txt")
		txt, err2 := read(".txt")
		html, err3 := read(".html")
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("template %s: %w", key, err)
		}
		var s tmplSet
		if s.subject, err = texttemplate.New(key + ".subject").Option("missingkey=error").Parse(strings.TrimSpace(subj)); err != nil {
			return nil, err
		}
		if s.text, err = texttemplate.New(key + ".txt").Option("missingkey=error").Parse(txt); err != nil {
			return nil, err
		}
		if s.html, err = htmltemplate.New(key + ".html").Option("missingkey=error").Parse(html); err != nil {
			return nil, err
		}
		r.sets[key] = s
	}
	return r, nil
}

// Render renders one template in one language.
func (r *Renderer) Render(templateID string, lang domain.Language, data MailData) (Rendered, error) {
	s, ok := r.sets[templateID+"."+string(lang)]
	if !ok {
		return Rendered{}, fmt.Errorf("%w: %s (%s)", ErrUnknownTemplate, templateID, lang)
	}
	var subj, txt, html bytes.Buffer
	if err := errors.Join(s.subject.Execute(&subj, data), s.text.Execute(&txt, data), s.html.Execute(&html, data)); err != nil {
		return Rendered{}, fmt.Errorf("render %s (%s): %w", templateID, lang, err)
	}
	return Rendered{Subject: subj.String(), Text: txt.String(), HTML: html.String()}, nil
}

var jst = time.FixedZone("JST", 9*60*60)

// FormatExpiry writes the deadline the way each language's readers expect:
// Japan time for Japanese, UTC for English.
func FormatExpiry(t time.Time, lang domain.Language) string {
	if lang == domain.LanguageJA {
		return t.In(jst).Format("2006年1月2日 15:04") + "（日本時間）"
	}
	return t.UTC().Format("2 January 2006, 15:04 UTC")
}
