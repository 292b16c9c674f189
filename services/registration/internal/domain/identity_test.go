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
