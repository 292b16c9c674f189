package domain

import (
	"errors"
	"testing"
)

func keysOf(t *testing.T, mutate func(*RegistrationInput)) map[IdentityKeyKind]string {
	t.Helper()
	in := validInput()
	rn := *in.Company.RegistrationNumber
	in.Company.RegistrationNumber = &rn
	mutate(&in)
	reg, err := NormalizeRegistration(in, DefaultPolicy(), t0)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	out := map[IdentityKeyKind]string{}
	for _, k := range reg.Normalized.IdentityKeys() {
		out[k.Kind] = k.Value
	}
	return out
}

func TestIdentityKeysSeeThroughSpellingTricks(t *testing.T) {
	base := keysOf(t, func(*RegistrationInput) {})
	if len(base) != 3 {
		t.Fatalf("want 3 keys with a registration number, got %v", base)
	}
	same := []struct {
		name   string
		mutate func(*RegistrationInput)
	}{
		{"trailing half-width space", func(in *RegistrationInput) { in.Company.LegalName = "株式会社テスト商事 " }},
		{"trailing dot", func(in *RegistrationInput) { in.Company.LegalName = "株式会社テスト商事." }},
		{"circled kabu", func(in *RegistrationInput) { in.Company.LegalName = "㈱テスト商事" }},
		{"half-width katakana and space", func(in *RegistrationInput) { in.Company.LegalName = "(株) ﾃｽﾄ商事" }},
		{"block notation", func(in *RegistrationInput) { in.Company.Address.Line1 = "六本木五丁目2番地3" }},
		{"residential notation", func(in *RegistrationInput) { in.Company.Address.Line1 = "六本木5丁目2番3号" }},
		{"prefecture spelled short", func(in *RegistrationInput) { in.Company.Address.Region = "Tokyo" }},
		{"city repeated in line1", func(in *RegistrationInput) { in.Company.Address.Line1 = "港区六本木5-2-3" }},
		{"prefecture in city", func(in *RegistrationInput) { in.Company.Address.City = "東京都港区" }},
		{"postal code without hyphen", func(in *RegistrationInput) { in.Company.Address.PostalCode = "1060032" }},
		{"other building line", func(in *RegistrationInput) { in.Company.Address.Line2 = "" }},
		{"long-vowel mark typed as a minus", func(in *RegistrationInput) {
			in.Company.LegalName = "（株）テスト商事"
		}},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			got := keysOf(t, tt.mutate)
			for kind, v := range base {
				if got[kind] != v {
					t.Errorf("%s: %q != %q", kind, got[kind], v)
				}
			}
		})
	}
	t.Run("legal form on the other side is another name", func(t *testing.T) {
		got := keysOf(t, func(in *RegistrationInput) { in.Company.LegalName = "テスト商事株式会社" })
		if got[KeyNameAddress] == base[KeyNameAddress] || got[KeyNameRegistrationNumber] == base[KeyNameRegistrationNumber] {
			t.Error("name keys must differ")
		}
		if got[KeyRegistrationNumber] != base[KeyRegistrationNumber] {
			t.Error("the registration number alone still identifies the entity")
		}
	})
	t.Run("other address", func(t *testing.T) {
		got := keysOf(t, func(in *RegistrationInput) { in.Company.Address.Line1 = "六本木5-2-4" })
		if got[KeyNameAddress] == base[KeyNameAddress] {
			t.Error("address key must differ")
		}
	})
	t.Run("no registration number", func(t *testing.T) {
		got := keysOf(t, func(in *RegistrationInput) { in.Company.RegistrationNumber = nil })
		if len(got) != 1 || got[KeyNameAddress] != base[KeyNameAddress] {
			t.Errorf("want only name+address, got %v", got)
		}
	})
}

func TestDuplicateError(t *testing.T) {
	err := error(&DuplicateError{MatchedOn: []IdentityKeyKind{KeyNameAddress, KeyNameRegistrationNumber, KeyNameAddress}, ExistingPartnerID: "PG-X"})
	if !errors.Is(err, ErrDuplicateEntity) {
		t.Fatal("DuplicateError must match ErrDuplicateEntity")
	}
	var de *DuplicateError
	errors.As(err, &de)
	got := de.SortedMatchedOn()
	if len(got) != 2 || got[0] != KeyNameAddress || got[1] != KeyNameRegistrationNumber {
		t.Fatalf("SortedMatchedOn = %v", got)
	}
}

// Every class of spelling trick must land on the keys of the original: the
// look-alike, legal-form, kana and per-market region variants below each
// register the same company twice if their keys differ.
func TestIdentityKeysSeeThroughEachClassOfTrick(t *testing.T) {
	type mut = func(*RegistrationInput)
	classes := []struct {
		name     string
		original mut
		tricks   []mut
	}{
		{"long-vowel mark vs hyphen and minus look-alikes",
			func(in *RegistrationInput) { in.Company.LegalName = "株式会社サーバーテック" },
			[]mut{
				func(in *RegistrationInput) { in.Company.LegalName = "株式会社サ－バ－テック" },
				func(in *RegistrationInput) { in.Company.LegalName = "株式会社サ‐バ‐テック" },
				func(in *RegistrationInput) { in.Company.LegalName = "株式会社サ−バ−テック" },
				func(in *RegistrationInput) { in.Company.LegalName = "株式会社サ-バ-テック" },
			}},
		{"Cyrillic and Greek look-alikes",
			func(in *RegistrationInput) { in.Company.LegalName = "Acme Corporation" },
			[]mut{
				func(in *RegistrationInput) { in.Company.LegalName = "Аcme Corporation" },
				func(in *RegistrationInput) { in.Company.LegalName = "Acme Cοrporation" },
			}},
		{"godo kaisha abbreviation",
			func(in *RegistrationInput) { in.Company.LegalName = "合同会社テスト" },
			[]mut{func(in *RegistrationInput) { in.Company.LegalName = "（同）テスト" }}},
		{"circled kabu",
			func(in *RegistrationInput) { in.Company.LegalName = "株式会社テスト" },
			[]mut{func(in *RegistrationInput) { in.Company.LegalName = "㊑テスト" }}},
		{"small and large ke in the address",
			func(in *RegistrationInput) { in.Company.Address.Line1 = "霞ヶ関1-2-3" },
			[]mut{
				func(in *RegistrationInput) { in.Company.Address.Line1 = "霞ケ関1丁目2番3号" },
				func(in *RegistrationInput) { in.Company.Address.Line1 = "霞が関1-2-3" },
			}},
		{"US state by code and by name, ZIP and ZIP+4",
			func(in *RegistrationInput) { usMarket(in) },
			[]mut{
				func(in *RegistrationInput) { usMarket(in); in.Company.Address.Region = "California" },
				func(in *RegistrationInput) { usMarket(in); in.Company.Address.Region = "ca" },
				func(in *RegistrationInput) { usMarket(in); in.Company.Address.PostalCode = "94105-2001" },
			}},
		{"prefecture without its suffix",
			func(in *RegistrationInput) { in.Company.Address.Region = "東京都" },
			[]mut{func(in *RegistrationInput) { in.Company.Address.Region = "東京" }}},
	}
	for _, c := range classes {
		t.Run(c.name, func(t *testing.T) {
			want := keysOf(t, c.original)
			for i, trick := range c.tricks {
				got := keysOf(t, func(in *RegistrationInput) { c.original(in); trick(in) })
				if got[KeyNameAddress] != want[KeyNameAddress] {
					t.Errorf("trick %d: name+address key %q, want %q", i, got[KeyNameAddress], want[KeyNameAddress])
				}
			}
		})
	}
}
