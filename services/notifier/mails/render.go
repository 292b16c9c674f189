package mails

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

//go:embed all:templates
var embedded embed.FS

// Files are the embedded template files, rooted at templates/.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// ErrUnknownTemplate is returned for a template id without files.
var ErrUnknownTemplate = errors.New("unknown mail template")

// Files of a template directory, per language.
const (
	subjectFile = ".subject.txt"
	textFile    = ".txt"
	htmlFile    = ".html"
	sampleFile  = "sample.yaml"
)

// Rendered is a ready mail: subject, plain text and HTML, each with both
// languages, the first language first.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
	// Languages in the order of the parts (Content-Language).
	Languages []Language
}

// Set is a parsed template directory: every kind of the catalog in both
// languages, the terms and the layout.
type Set struct {
	kinds   map[string]map[Language]*langTemplates
	samples map[string][]byte
	terms   map[Language]*Terms
	text    *texttemplate.Template
	html    *htmltemplate.Template
	bound   sync.Map // boundKey → *langTemplates with the functions bound
}

// boundKey names a language's templates of one mail with the functions of
// one time zone bound.
type boundKey struct {
	lt   *langTemplates
	loc  *time.Location
	zone string
}

type langTemplates struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

var defaultSet = sync.OnceValues(func() (*Set, error) { return Load(Files()) })

// Default is the embedded set, parsed once.
func Default() (*Set, error) { return defaultSet() }

// Load parses a template directory laid out like templates/ (the embedded
// one, or a copy a person edits): it reports every missing, extra or
// unparsable file at once.
func Load(fsys fs.FS) (*Set, error) {
	s := &Set{kinds: map[string]map[Language]*langTemplates{}, samples: map[string][]byte{}, terms: map[Language]*Terms{}}
	var errs []error
	for _, l := range Languages {
		t, err := loadTerms(fsys, l)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.terms[l] = t
	}
	if err := s.loadLayout(fsys); err != nil {
		errs = append(errs, err)
	}
	for _, k := range Kinds {
		s.kinds[k.ID] = map[Language]*langTemplates{}
		for _, l := range Languages {
			lt, err := loadLang(fsys, k.ID, l)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.kinds[k.ID][l] = lt
		}
		if b, err := fs.ReadFile(fsys, path.Join(k.ID, sampleFile)); err != nil {
			errs = append(errs, fmt.Errorf("template %s: %w", k.ID, err))
		} else {
			s.samples[k.ID] = b
		}
	}
	// A directory that no kind names is a template nobody sends: a typo.
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if _, ok := KindOf(e.Name()); e.IsDir() && !ok && e.Name() != "layout" && e.Name() != "terms" {
			errs = append(errs, fmt.Errorf("templates/%s: no mail of the catalog (mails.Kinds) has this id", e.Name()))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func loadLang(fsys fs.FS, id string, l Language) (*langTemplates, error) {
	read := func(suffix string) (string, error) {
		b, err := fs.ReadFile(fsys, path.Join(id, string(l)+suffix))
		if err != nil {
			return "", fmt.Errorf("template %s: %w", id, err)
		}
		return string(b), nil
	}
	subj, err1 := read(subjectFile)
	txt, err2 := read(textFile)
	html, err3 := read(htmlFile)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	name := id + "/" + string(l)
	var lt langTemplates
	var err error
	// Functions are bound per render (their time zone is the partner's);
	// these stand-ins only let the files parse.
	fm := funcs(l, &Terms{}, time.UTC, "")
	if lt.subject, err = texttemplate.New(name + subjectFile).Option("missingkey=error").Funcs(fm).Parse(strings.TrimSpace(subj)); err != nil {
		return nil, err
	}
	if lt.text, err = texttemplate.New(name + textFile).Option("missingkey=error").Funcs(fm).Parse(txt); err != nil {
		return nil, err
	}
	if lt.html, err = htmltemplate.New(name + htmlFile).Option("missingkey=error").Funcs(fm).Parse(html); err != nil {
		return nil, err
	}
	return &lt, nil
}

func (s *Set) loadLayout(fsys fs.FS) error {
	txt, err1 := fs.ReadFile(fsys, "layout/layout.txt")
	html, err2 := fs.ReadFile(fsys, "layout/layout.html")
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("layout: %w", err)
	}
	var err error
	if s.text, err = texttemplate.New("layout.txt").Option("missingkey=error").Parse(string(txt)); err != nil {
		return err
	}
	s.html, err = htmltemplate.New("layout.html").Option("missingkey=error").Parse(string(html))
	return err
}

// IDs lists the template ids of the set (the catalog's).
func (s *Set) IDs() []string {
	out := make([]string, 0, len(Kinds))
	for _, k := range Kinds {
		out = append(out, k.ID)
	}
	return out
}

// Sample is the preview data of a template (its sample.yaml), with example
// links and code filled in.
func (s *Set) Sample(id string) (Data, error) {
	raw, ok := s.samples[id]
	if !ok {
		return Data{}, fmt.Errorf("%w: %s", ErrUnknownTemplate, id)
	}
	return ParseData(raw)
}

// ParseData reads template data from YAML (or JSON), field names as in the
// data's JSON form; links and the code under "links" and "code".
func ParseData(raw []byte) (Data, error) {
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return Data{}, fmt.Errorf("template data: %w", err)
	}
	j, err := json.Marshal(m)
	if err != nil {
		return Data{}, fmt.Errorf("template data: %w", err)
	}
	var d Data
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var wrapper struct {
		Data
		Links map[string]string `json:"links"`
		Code  string            `json:"code"`
	}
	if err := dec.Decode(&wrapper); err != nil {
		return Data{}, fmt.Errorf("template data: %w", err)
	}
	d = wrapper.Data
	d.Code = wrapper.Code
	l := &d.Links
	for k, v := range wrapper.Links {
		dst := map[string]*string{"confirm": &l.Confirm, "dispute": &l.Dispute, "invitation": &l.Invitation, "portal": &l.Portal,
			"documents": &l.Documents, "agreements": &l.Agreements, "relationships": &l.Relationships, "unsubscribe": &l.Unsubscribe,
			"account": &l.Account, "reactivation": &l.Reactivation}[k]
		if dst == nil {
			return Data{}, fmt.Errorf("template data: unknown link %q", k)
		}
		*dst = v
	}
	return d, nil
}

type section struct {
	Lang     Language
	Subject  string
	Body     string
	HTMLBody htmltemplate.HTML
	Footer   string
	// UnsubscribeLabel is the unsubscribe link's text (reminders).
	UnsubscribeLabel string
}

type layoutData struct {
	Subject     string
	Sections    []section
	Category    Category
	Unsubscribe string
}

// Render renders template id with the first language first and the other
// after it, in the subject and in both parts. A reminder gets the
// unsubscribe link (d.Links.Unsubscribe) in its footer; a transactional
// mail says it cannot be unsubscribed.
func (s *Set) Render(id string, first Language, d Data) (Rendered, error) {
	k, ok := KindOf(id)
	byLang := s.kinds[id]
	if !ok || byLang == nil {
		return Rendered{}, fmt.Errorf("%w: %s", ErrUnknownTemplate, id)
	}
	if first != Japanese && first != English {
		first = English
	}
	if k.Category == Reminder && d.Links.Unsubscribe == "" {
		return Rendered{}, fmt.Errorf("render %s: a reminder needs its unsubscribe link", id)
	}
	loc, zones := MarketZone(d.Partner.Market)
	ld := layoutData{Category: k.Category}
	if k.Category == Reminder {
		ld.Unsubscribe = d.Links.Unsubscribe
	}
	var subjects []string
	for _, l := range []Language{first, first.Other()} {
		sec, err := s.renderSection(byLang[l], l, k.Category, d, loc, zones[l])
		if err != nil {
			return Rendered{}, fmt.Errorf("render %s (%s): %w", id, l, err)
		}
		subjects = append(subjects, sec.Subject)
		ld.Sections = append(ld.Sections, sec)
	}
	ld.Subject = strings.Join(subjects, " / ")
	var txt, html bytes.Buffer
	if err := s.text.Execute(&txt, ld); err != nil {
		return Rendered{}, fmt.Errorf("render %s: layout: %w", id, err)
	}
	if err := s.html.Execute(&html, ld); err != nil {
		return Rendered{}, fmt.Errorf("render %s: layout: %w", id, err)
	}
	return Rendered{Subject: ld.Subject, Text: txt.String(), HTML: html.String(), Languages: []Language{first, first.Other()}}, nil
}

// bind is lt with the template functions of language l in time zone loc
// (named zone) bound: cloned once per zone and kept, then executed by every
// render concurrently (templates are safe for that). Cloning per render
// copied every parse tree and escaped the HTML part again for every mail.
func (s *Set) bind(lt *langTemplates, l Language, loc *time.Location, zone string) (*langTemplates, error) {
	k := boundKey{lt: lt, loc: loc, zone: zone}
	if b, ok := s.bound.Load(k); ok {
		return b.(*langTemplates), nil
	}
	fm := funcs(l, s.terms[l], loc, zone)
	subj, err1 := lt.subject.Clone()
	txt, err2 := lt.text.Clone()
	html, err3 := lt.html.Clone()
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	b, _ := s.bound.LoadOrStore(k, &langTemplates{subject: subj.Funcs(fm), text: txt.Funcs(fm), html: html.Funcs(fm)})
	return b.(*langTemplates), nil
}

func (s *Set) renderSection(lt *langTemplates, l Language, c Category, d Data, loc *time.Location, zone string) (section, error) {
	terms := s.terms[l]
	b, err := s.bind(lt, l, loc, zone)
	if err != nil {
		return section{}, err
	}
	var sb, tb, hb bytes.Buffer
	if err := errors.Join(b.subject.Execute(&sb, d), b.text.Execute(&tb, d), b.html.Execute(&hb, d)); err != nil {
		return section{}, err
	}
	footer := terms.Phrases["footer_"+string(c)]
	if footer == "" {
		return section{}, fmt.Errorf("terms/%s.yaml: phrases.footer_%s is missing", l, c)
	}
	return section{Lang: l, Subject: strings.Join(strings.Fields(sb.String()), " "), Body: strings.TrimRight(tb.String(), "\n"),
		HTMLBody: htmltemplate.HTML(hb.String()), Footer: footer, UnsubscribeLabel: terms.Phrases["unsubscribe"]}, nil
}

// Terms is the wording shared by every mail of one language
// (templates/terms/<lang>.yaml).
type Terms struct {
	Documents map[string]string     `yaml:"documents"`
	Reasons   map[string]ReasonTerm `yaml:"reasons"`
	Checks    map[string]string     `yaml:"checks"`
	Roles     map[string]string     `yaml:"roles"`
	Programs  map[string]string     `yaml:"programs"`
	// Standing is the wording of the partner standing reasons
	// (registration's verification_revoked, mfa_noncompliant, inactivity,
	// closed_by_partner, …).
	Standing map[string]StandingTerm `yaml:"standing"`
	// Refusals word agreements' error codes of a pending acceptance that
	// could not be recorded (agreements.no_enrollment, …).
	Refusals map[string]string `yaml:"refusals"`
	// Fields name the profile fields of a profile change
	// (company.address.line1, contact.email, …).
	Fields  map[string]string `yaml:"fields"`
	Phrases map[string]string `yaml:"phrases"`
}

// StandingTerm says what a standing reason means for the partner, what it
// can do about it, and what its lifting means.
type StandingTerm struct {
	What   string `yaml:"what"`
	Cure   string `yaml:"cure"`
	Lifted string `yaml:"lifted"`
}

// ReasonTerm says what a verification reason means and how it is cured.
type ReasonTerm struct {
	What string `yaml:"what"`
	Cure string `yaml:"cure"`
}

// Terms returns the terms of a language.
func (s *Set) Terms(l Language) *Terms { return s.terms[l] }

func loadTerms(fsys fs.FS, l Language) (*Terms, error) {
	b, err := fs.ReadFile(fsys, "terms/"+string(l)+".yaml")
	if err != nil {
		return nil, fmt.Errorf("terms: %w", err)
	}
	var t Terms
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("terms/%s.yaml: %w", l, err)
	}
	return &t, nil
}

// MarketZone is the time zone deadlines are written in for a market, and
// its name per language: Japan time for JP (business days are Japanese
// business days), UTC elsewhere.
func MarketZone(market string) (*time.Location, map[Language]string) {
	if strings.EqualFold(market, "JP") {
		return tokyo(), map[Language]string{Japanese: "日本時間", English: "Japan time, JST"}
	}
	return time.UTC, map[Language]string{Japanese: "協定世界時", English: "UTC"}
}

// tokyo is Japan's zone, read once (time.LoadLocation reads the zoneinfo
// file on every call; the notifier called it for every mail).
var tokyo = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		loc = time.FixedZone("JST", 9*3600) // Japan has no daylight saving time
	}
	return loc
})

var jaWeekdays = []string{"日", "月", "火", "水", "木", "金", "土"}

// funcs are the template functions of language l: terms lookups, and
// dates in loc (named zone).
func funcs(l Language, t *Terms, loc *time.Location, zone string) map[string]any {
	lookup := func(m map[string]string) func(string) string {
		return func(code string) string {
			if v, ok := m[code]; ok && v != "" {
				return v
			}
			return code // a code newer than the terms still says something
		}
	}
	date := func(tm time.Time) string {
		tm = tm.In(loc)
		if l == Japanese {
			return fmt.Sprintf("%d年%d月%d日（%s）", tm.Year(), tm.Month(), tm.Day(), jaWeekdays[tm.Weekday()])
		}
		return tm.Format("Monday, 2 January 2006")
	}
	when := func(tm time.Time) string {
		tm = tm.In(loc)
		if l == Japanese {
			return date(tm) + tm.Format(" 15:04") + "（" + zone + "）"
		}
		return date(tm) + tm.Format(", 15:04 ") + zone
	}
	return map[string]any{
		"doc":     lookup(t.Documents),
		"check":   lookup(t.Checks),
		"role":    lookup(t.Roles),
		"program": lookup(t.Programs),
		"refusal": lookup(t.Refusals),
		"reason": func(code string) string {
			if r, ok := t.Reasons[code]; ok && r.What != "" {
				return r.What
			}
			return code
		},
		"cure": func(code string) string { return t.Reasons[code].Cure },
		// standingWhat, standingCure and standingLifted word a partner
		// standing reason (terms' standing section).
		"standingWhat": func(code string) string {
			if r, ok := t.Standing[code]; ok && r.What != "" {
				return r.What
			}
			return code
		},
		"standingCure": func(code string) string { return t.Standing[code].Cure },
		// field names a profile field; a program's support field
		// (programs.<program>.support.email) is the program's and the
		// field's words; an unknown field, its path.
		"field": func(path string) string {
			if w, ok := t.Fields[path]; ok {
				return w
			}
			if rest, ok := strings.CutPrefix(path, "programs."); ok {
				prog, tail, _ := strings.Cut(rest, ".")
				if w, ok := t.Fields["programs."+tail]; ok {
					name := prog
					if p, ok := t.Programs[prog]; ok {
						name = p
					}
					return name + ": " + w
				}
			}
			return path
		},
		"standingLifted": func(code string) string { return t.Standing[code].Lifted },
		"phrase": func(key string) (string, error) {
			if v, ok := t.Phrases[key]; ok {
				return v, nil
			}
			return "", fmt.Errorf("terms/%s.yaml: phrases.%s is missing", l, key)
		},
		"date": date,
		"when": when,
		// deadline writes an end-of-day deadline (midnight after the last
		// day, as verification's business-day calendar sets it) as 23:59
		// of that last day; deadlineDate writes that last day.
		"deadline":     func(tm time.Time) string { return when(endOfDay(tm, loc)) },
		"deadlineDate": func(tm time.Time) string { return date(endOfDay(tm, loc)) },
		"name":         func(p Party) string { return p.Name(l) },
		"has":          func(list []string, v string) bool { return slices.Contains(list, v) },
		"without": func(list []string, v string) []string {
			return slices.DeleteFunc(slices.Clone(list), func(x string) bool { return x == v })
		},
		// except is list without every element of other.
		"except": func(list, other []string) []string {
			return slices.DeleteFunc(slices.Clone(list), func(x string) bool { return slices.Contains(other, x) })
		},
	}
}

func endOfDay(tm time.Time, loc *time.Location) time.Time {
	if lt := tm.In(loc); lt.Hour() == 0 && lt.Minute() == 0 && lt.Second() == 0 {
		return tm.Add(-time.Minute)
	}
	return tm
}

func hasJapanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return true
		}
	}
	return false
}
