package domain

import (
	"strings"
	"testing"
	"time"
)

func TestPublishVersionValidation(t *testing.T) {
	tests := []struct {
		name  string
		mut   func(*VersionDraft)
		field string
		want  error
	}{
		{"valid", func(*VersionDraft) {}, "", nil},
		{"hash too short", func(d *VersionDraft) { d.TextSHA256 = strings.Repeat("a", 63) }, "text_sha256", ErrInvalidTextHash},
		{"hash not hex", func(d *VersionDraft) { d.TextSHA256 = strings.Repeat("g", 64) }, "text_sha256", ErrInvalidTextHash},
		{"hash missing", func(d *VersionDraft) { d.TextSHA256 = "" }, "text_sha256", ErrRequired},
		{"bad id", func(d *VersionDraft) { d.ID = "A B" }, "id", ErrInvalidVersionID},
		{"no id", func(d *VersionDraft) { d.ID = "" }, "id", ErrRequired},
		{"no program", func(d *VersionDraft) { d.Program = " " }, "program", ErrRequired},
		{"no text url", func(d *VersionDraft) { d.TextURL = "" }, "text_url", ErrRequired},
		{"no policy", func(d *VersionDraft) { d.Policy = "" }, "policy", ErrRequired},
		{"bad program", func(d *VersionDraft) { d.Program = "Reseller!" }, "program", ErrInvalidProgram},
		{"no name", func(d *VersionDraft) { d.Name = " " }, "name", ErrRequired},
		{"no languages", func(d *VersionDraft) { d.Languages = nil }, "languages", ErrRequired},
		{"bad language", func(d *VersionDraft) { d.Languages = []string{"english"} }, "languages", ErrInvalidLanguage},
		{"bad market", func(d *VersionDraft) { d.Markets = []string{"JPN"} }, "markets", ErrInvalidMarket},
		{"no effective date", func(d *VersionDraft) { d.EffectiveFrom = time.Time{} }, "effective_from", ErrRequired},
		{"relative url", func(d *VersionDraft) { d.TextURL = "/texts/r.md" }, "text_url", ErrInvalidTextURL},
		{"ftp url", func(d *VersionDraft) { d.TextURL = "ftp://example.test/r.md" }, "text_url", ErrInvalidTextURL},
		{"url port out of range", func(d *VersionDraft) { d.TextURL = "https://example.test:99999/r.md" }, "text_url", ErrInvalidTextURL},
		{"url host with a bidi override", func(d *VersionDraft) { d.TextURL = "https://exa\u202emple.test/r.md" }, "text_url", ErrInvalidTextURL},
		{"url path with a bidi override", func(d *VersionDraft) { d.TextURL = "https://example.test/\u202edm.r" }, "text_url", ErrInvalidTextURL},
		{"url path with a zero-width space", func(d *VersionDraft) { d.TextURL = "https://example.test/r\u200b.md" }, "text_url", ErrInvalidTextURL},
		{"url with credentials", func(d *VersionDraft) { d.TextURL = "https://user:pw@example.test/r.md" }, "text_url", ErrInvalidTextURL},
		{"name with a bidi override", func(d *VersionDraft) { d.Name = "Agr\u202eeement" }, "name", ErrInvalidName},
		{"name on two lines", func(d *VersionDraft) { d.Name = "Partner\nAgreement" }, "name", ErrInvalidName},
		{"name with a zero-width space", func(d *VersionDraft) { d.Name = "Partner\u200bAgreement" }, "name", ErrInvalidName},
		{"window over ten years", func(d *VersionDraft) {
			d.Policy = "requires_reacceptance"
			d.ReacceptanceWindow = MaxReacceptanceWindow + time.Second
		}, "reacceptance_window_seconds", ErrInvalidWindow},
		{"bad policy", func(d *VersionDraft) { d.Policy = "sometimes" }, "policy", ErrInvalidPolicy},
		{"reacceptance without window", func(d *VersionDraft) { d.Policy = "requires_reacceptance" }, "reacceptance_window_seconds", ErrInvalidWindow},
		{"auto with window", func(d *VersionDraft) { d.ReacceptanceWindow = time.Hour }, "reacceptance_window_seconds", ErrInvalidWindow},
		{"reacceptance with window", func(d *VersionDraft) {
			d.Policy = "requires_reacceptance"
			d.ReacceptanceWindow = 30 * 24 * time.Hour
		}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDraft()
			tt.mut(&d)
			v, err := PublishVersion(d, "op-1", t0)
			assertIs(t, err, tt.want)
			if tt.want != nil {
				ve := err.(*ValidationError)
				if len(ve.Problems) != 1 || ve.Problems[0].Field != tt.field {
					t.Fatalf("problems = %+v, want one on %s", ve.Problems, tt.field)
				}
				return
			}
			evs := v.PullEvents()
			if len(evs) != 1 || evs[0].(AgreementVersionPublished).VersionID != d.ID {
				t.Fatalf("events = %+v", evs)
			}
		})
	}
}

func TestPublishVersionNormalises(t *testing.T) {
	v := mustVersion(t, func(d *VersionDraft) {
		d.TextSHA256 = strings.Repeat("AB", 32)
		d.Markets = []string{"us", "jp", "JP"}
	})
	s := v.State()
	if s.TextSHA256 != TextHash(strings.Repeat("ab", 32)) {
		t.Errorf("hash = %s, want lower case", s.TextSHA256)
	}
	if len(s.Markets) != 2 || s.Markets[0] != "JP" || s.Markets[1] != "US" {
		t.Errorf("markets = %v", s.Markets)
	}
	if !v.CoversMarket("US") || v.CoversMarket("DE") {
		t.Error("CoversMarket wrong")
	}
	if all := mustVersion(t, func(d *VersionDraft) { d.Markets = nil }); !all.CoversMarket("DE") {
		t.Error("a version without markets must cover every market")
	}
}

func TestRetireOnce(t *testing.T) {
	v := mustVersion(t, nil)
	v.Retire("op-2", t0.Add(time.Hour))
	v.Retire("op-3", t0.Add(2*time.Hour))
	evs := v.PullEvents()
	if len(evs) != 1 {
		t.Fatalf("events = %d, want 1", len(evs))
	}
	if s := v.State(); !v.Retired() || s.RetiredBy != "op-2" || !s.RetiredAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("state = %+v", s)
	}
}

func TestSameTerms(t *testing.T) {
	a := mustVersion(t, nil)
	b, _ := PublishVersion(validDraft(), "op-2", t0.Add(time.Hour)) // other publisher and time: same terms
	c := mustVersion(t, func(d *VersionDraft) { d.TextSHA256 = strings.Repeat("cd", 32) })
	if !a.SameTerms(b) {
		t.Error("same draft must have the same terms")
	}
	if a.SameTerms(c) {
		t.Error("another text hash must differ")
	}
}

func TestInEffect(t *testing.T) {
	v1 := mustVersion(t, func(d *VersionDraft) { d.ID = "rv1"; d.EffectiveFrom = t0 })
	v2 := mustVersion(t, func(d *VersionDraft) { d.ID = "rv2"; d.EffectiveFrom = t0.Add(48 * time.Hour) })
	us := mustVersion(t, func(d *VersionDraft) { d.ID = "rus"; d.Markets = []string{"US"}; d.EffectiveFrom = t0.Add(time.Hour) })
	retired := mustVersion(t, func(d *VersionDraft) { d.ID = "old"; d.EffectiveFrom = t0.Add(-time.Hour) })
	retired.Retire("op", t0.Add(-time.Minute))
	all := []*Version{v1, v2, us, retired}
	tests := []struct {
		name   string
		market Market
		at     time.Time
		want   string
	}{
		{"before any", "JP", t0.Add(-2 * time.Hour), ""},
		{"retired one was in effect before it was retired", "JP", t0.Add(-30 * time.Minute), "old"},
		{"first", "JP", t0.Add(24 * time.Hour), "rv1"},
		{"newer takes over", "JP", t0.Add(49 * time.Hour), "rv2"},
		{"other market only sees its own", "US", t0.Add(2 * time.Hour), "rus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := InEffect(all, ProgramIndirectReseller, tt.market, tt.at)
			id := ""
			if got != nil {
				id = got.ID()
			}
			if id != tt.want {
				t.Fatalf("InEffect = %q, want %q", id, tt.want)
			}
		})
	}
}

func TestReacceptanceDeadline(t *testing.T) {
	v := mustVersion(t, func(d *VersionDraft) {
		d.Policy, d.ReacceptanceWindow = "requires_reacceptance", 24*time.Hour
		d.EffectiveFrom = t0.Add(72 * time.Hour) // effective after publication: count from then
	})
	if got, want := v.ReacceptanceDeadline(), t0.Add(96*time.Hour); !got.Equal(want) {
		t.Fatalf("deadline = %v, want %v", got, want)
	}
	if !v.FanOutPending() {
		t.Fatal("a requires_reacceptance version starts with a pending fan-out")
	}
}

func TestSeedVersions(t *testing.T) {
	seeds := SeedVersions()
	if len(seeds) != 3 {
		t.Fatalf("seeds = %d", len(seeds))
	}
	for _, d := range seeds {
		v, err := PublishVersion(d, "seed", t0)
		if err != nil {
			t.Fatalf("seed %s: %v", d.ID, err)
		}
		text, _ := SeedText(d.ID)
		if v.TextSHA256() != HashText(text) || len(text) == 0 {
			t.Fatalf("seed %s hash does not match its text", d.ID)
		}
	}
}
