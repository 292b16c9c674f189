package domain

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/normalize"
)

// VersionDraft is the unvalidated input for publishing a version.
type VersionDraft struct {
	ID                 string
	Program            string
	Name               string
	Languages          []string
	Markets            []string // empty: every market
	EffectiveFrom      time.Time
	TextURL            string
	TextSHA256         string
	Policy             string
	ReacceptanceWindow time.Duration // only with requires_reacceptance
}

// VersionState is a version's full state, for repositories and read models.
type VersionState struct {
	ID                 string
	Program            Program
	Name               string
	Languages          []string
	Markets            []Market
	EffectiveFrom      time.Time
	TextURL            string
	TextSHA256         TextHash
	Policy             VersionPolicy
	ReacceptanceWindow time.Duration
	PublishedAt        time.Time
	PublishedBy        string
	RetiredAt          *time.Time
	RetiredBy          string
	// FanOutPending is true from publishing a requires_reacceptance version
	// until every affected partner has its requirement; a crash in between is
	// finished by the due-timer poller.
	FanOutPending bool
}

// Version is one published, immutable text of an agreement. Its terms never
// change after publishing; it can only be retired.
type Version struct {
	s VersionState
	events
}

var (
	versionIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,99}$`)
	languagePattern  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// MaxReacceptanceWindow bounds a version's re-acceptance window: longer is
// a mistake (ten years is already no deadline at all).
const MaxReacceptanceWindow = 10 * 365 * 24 * time.Hour

// PublishVersion validates draft and returns the published version, with an
// AgreementVersionPublished event.
func PublishVersion(d VersionDraft, by string, now time.Time) (*Version, error) {
	var ps problems
	s := VersionState{PublishedAt: serverTime(now), PublishedBy: by}

	s.ID = strings.TrimSpace(d.ID)
	if s.ID == "" {
		ps.add("id", ErrRequired)
	} else if !versionIDPattern.MatchString(s.ID) {
		ps.add("id", ErrInvalidVersionID)
	}
	var err error
	if strings.TrimSpace(d.Program) == "" {
		ps.add("program", ErrRequired)
	} else {
		s.Program, err = ParseProgram(d.Program)
		ps.add("program", err)
	}
	// The name is mailed to every partner the version concerns: one line,
	// no character that hides or reorders what it says.
	s.Name = normalize.Text(d.Name)
	if s.Name == "" {
		ps.add("name", ErrRequired)
	} else if _, bad := normalize.CheckText(s.Name); bad || utf8.RuneCountInString(s.Name) > 200 ||
		strings.ContainsAny(strings.TrimSpace(d.Name), "\r\n") {
		ps.add("name", ErrInvalidName)
	}
	for _, l := range d.Languages {
		l = strings.TrimSpace(l)
		if !languagePattern.MatchString(l) {
			ps.add("languages", ErrInvalidLanguage)
			break
		}
		if !slices.Contains(s.Languages, l) {
			s.Languages = append(s.Languages, l)
		}
	}
	if len(d.Languages) == 0 {
		ps.add("languages", ErrRequired)
	}
	for _, m := range d.Markets {
		mk, err := ParseMarket(m)
		if err != nil {
			ps.add("markets", err)
			break
		}
		if !slices.Contains(s.Markets, mk) {
			s.Markets = append(s.Markets, mk)
		}
	}
	slices.Sort(s.Markets)
	if d.EffectiveFrom.IsZero() {
		ps.add("effective_from", ErrRequired)
	}
	s.EffectiveFrom = serverTime(d.EffectiveFrom)
	s.TextURL = strings.TrimSpace(d.TextURL)
	// Mailed to every partner the version concerns: no character that hides
	// or reorders where the link goes (net/url takes them in a path).
	_, hidden := normalize.CheckText(s.TextURL)
	if s.TextURL == "" {
		ps.add("text_url", ErrRequired)
	} else if u, err := url.Parse(s.TextURL); err != nil || hidden || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || !normalize.URLHost(u.Hostname()) || !normalize.URLPort(u.Port()) {
		ps.add("text_url", ErrInvalidTextURL)
	}
	if strings.TrimSpace(d.TextSHA256) == "" {
		ps.add("text_sha256", ErrRequired)
	} else {
		s.TextSHA256, err = ParseTextHash(d.TextSHA256)
		ps.add("text_sha256", err)
	}
	if strings.TrimSpace(d.Policy) == "" {
		err = ErrRequired
		ps.add("policy", err)
	} else {
		s.Policy, err = ParseVersionPolicy(d.Policy)
		ps.add("policy", err)
	}
	s.ReacceptanceWindow = d.ReacceptanceWindow
	if (s.Policy == PolicyRequiresReacceptance) != (d.ReacceptanceWindow > 0) || d.ReacceptanceWindow < 0 ||
		d.ReacceptanceWindow > MaxReacceptanceWindow {
		if err == nil {
			ps.add("reacceptance_window_seconds", ErrInvalidWindow)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	s.FanOutPending = s.Policy == PolicyRequiresReacceptance
	v := &Version{s: s}
	v.record(AgreementVersionPublished{
		VersionID: s.ID, Program: s.Program, Name: s.Name, Languages: slices.Clone(s.Languages),
		Markets: slices.Clone(s.Markets), EffectiveFrom: s.EffectiveFrom, TextURL: s.TextURL,
		TextSHA256: s.TextSHA256, Policy: s.Policy, ReacceptanceWindow: s.ReacceptanceWindow,
		PublishedAt: s.PublishedAt, PublishedBy: by,
	})
	return v, nil
}

// RestoreVersion rebuilds a version from stored state (repositories only).
func RestoreVersion(s VersionState) *Version {
	s.Languages = slices.Clone(s.Languages)
	s.Markets = slices.Clone(s.Markets)
	return &Version{s: s}
}

// State returns a copy of the version's state.
func (v *Version) State() VersionState {
	s := v.s
	s.Languages = slices.Clone(s.Languages)
	s.Markets = slices.Clone(s.Markets)
	return s
}

// ID returns the version id.
func (v *Version) ID() string { return v.s.ID }

// Program returns the program the agreement belongs to.
func (v *Version) Program() Program { return v.s.Program }

// Name returns the agreement's display name.
func (v *Version) Name() string { return v.s.Name }

// TextSHA256 returns the hash of the exact text.
func (v *Version) TextSHA256() TextHash { return v.s.TextSHA256 }

// EffectiveFrom returns when the version takes effect.
func (v *Version) EffectiveFrom() time.Time { return v.s.EffectiveFrom }

// Policy returns the version policy.
func (v *Version) Policy() VersionPolicy { return v.s.Policy }

// Retired reports whether the version was retired.
func (v *Version) Retired() bool { return v.s.RetiredAt != nil }

// FanOutPending reports whether re-acceptance requirements still have to be
// created for this version.
func (v *Version) FanOutPending() bool { return v.s.FanOutPending }

// SameTerms reports whether o publishes exactly the same terms as v; a
// repeated publish of the same terms is idempotent, anything else is an edit.
func (v *Version) SameTerms(o *Version) bool {
	a, b := v.s, o.s
	return a.ID == b.ID && a.Program == b.Program && a.Name == b.Name &&
		slices.Equal(a.Languages, b.Languages) && slices.Equal(a.Markets, b.Markets) &&
		a.EffectiveFrom.Equal(b.EffectiveFrom) && a.TextURL == b.TextURL &&
		a.TextSHA256 == b.TextSHA256 && a.Policy == b.Policy &&
		a.ReacceptanceWindow == b.ReacceptanceWindow
}

// Retire stops new acceptances of v. Retiring twice is a no-op.
func (v *Version) Retire(by string, now time.Time) {
	if v.Retired() {
		return
	}
	v.s.RetiredAt = ptrTime(serverTime(now))
	v.s.RetiredBy = by
	// Nobody can accept a retired version, so there is nothing left to fan out.
	v.s.FanOutPending = false
	v.record(AgreementVersionRetired{VersionID: v.s.ID, Program: v.s.Program, RetiredAt: *v.s.RetiredAt, RetiredBy: by})
}

// MarkFanOutDone records that every affected partner has its requirement.
func (v *Version) MarkFanOutDone() { v.s.FanOutPending = false }

// CoversMarket reports whether the version applies in market m.
func (v *Version) CoversMarket(m Market) bool {
	return len(v.s.Markets) == 0 || slices.Contains(v.s.Markets, m)
}

// InEffectAt reports whether v was the law of the land at t as far as its own
// dates go: effective, and not yet retired.
func (v *Version) InEffectAt(t time.Time) bool {
	return !v.s.EffectiveFrom.After(t) && (v.s.RetiredAt == nil || v.s.RetiredAt.After(t))
}

// Newer reports whether v supersedes o in time: later effective date, then
// later publication, then id (a total order, so decisions are deterministic).
func (v *Version) Newer(o *Version) bool {
	if !v.s.EffectiveFrom.Equal(o.s.EffectiveFrom) {
		return v.s.EffectiveFrom.After(o.s.EffectiveFrom)
	}
	if !v.s.PublishedAt.Equal(o.s.PublishedAt) {
		return v.s.PublishedAt.After(o.s.PublishedAt)
	}
	return v.s.ID > o.s.ID
}

// ReacceptanceDeadline is when partners affected by a requires_reacceptance
// version must have accepted it: the window counted from when the version
// both exists and is effective.
func (v *Version) ReacceptanceDeadline() time.Time {
	start := v.s.PublishedAt
	if v.s.EffectiveFrom.After(start) {
		start = v.s.EffectiveFrom
	}
	return start.Add(v.s.ReacceptanceWindow)
}

// InEffect picks the version of program in effect in market at t: the newest
// one that is effective and not retired at t. It returns nil when none is.
func InEffect(versions []*Version, program Program, market Market, at time.Time) *Version {
	var best *Version
	for _, v := range versions {
		if v.Program() != program || !v.CoversMarket(market) || !v.InEffectAt(at) {
			continue
		}
		if best == nil || v.Newer(best) {
			best = v
		}
	}
	return best
}
