package ids

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
)

func TestParseAcceptsEverySpellingAndAnswersTheCanonicalForm(t *testing.T) {
	id, err := New(Partner, bytes.NewReader(bytes.Repeat([]byte{7, 200, 31, 64, 5}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	loose := strings.ToLower(strings.ReplaceAll(id, "-", ""))
	loose = " " + loose[:2] + "-" + loose[2:5] + " " + loose[5:] + " "
	aliases := id[:3] + strings.NewReplacer("0", "O", "1", "I").Replace(id[3:])
	for _, s := range []string{id, loose, aliases} {
		if got, err := Parse(Partner, s); err != nil || got != id {
			t.Errorf("Parse(%q) = %q, %v; want %q", s, got, err, id)
		}
	}
}

func TestParseRefusesWhatIsNotAnIdentifierOfTheKind(t *testing.T) {
	id, _ := Format(Partner, "1H25YF0SHJ")
	body := []byte(id)
	for i := 3; i < len(body); i++ { // every single-symbol substitution is caught by the check symbol
		if body[i] == '-' {
			continue
		}
		orig := body[i]
		for _, c := range []byte(crockford) {
			if c == orig {
				continue
			}
			body[i] = c
			if _, err := Parse(Partner, string(body)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("substitution %q: %v", body, err)
			}
		}
		body[i] = orig
	}
	for _, bad := range []string{"", "PG", "PG-", "XX-0000-0000-000", "PG-0000-0000", "PG-0000-0000-0000", "PG-UUUU-UUUU-UUU",
		"PG1H25YF0SHJB", "PG-1H25-YF0S-HJ\u00e9", "ＰＧ-1H25-YF0S-HJB"} {
		if _, err := Parse(Partner, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	loc := "PL" + id[2:]
	if _, err := Parse(Partner, loc); !errors.Is(err, ErrWrongKind) {
		t.Errorf("a location ID taken as a global partner ID: %v", err)
	}
}

func TestFieldErrorSaysWhichKindWasExpected(t *testing.T) {
	_, wrong := Parse(Partner, "PL"+must(Format(Partner, "1H25YF0SHJ"))[2:])
	_, bad := Parse(Partner, "PG-XYZ")
	if f := FieldError("path.id", wrong, Partner); f.Field != "path.id" || f.Code != CodeWrongKind || f.Message != "must be a PG-… identifier" {
		t.Errorf("wrong kind: %+v", f)
	}
	if f := FieldError("query.partner", bad, Partner); f.Code != CodeInvalid || !strings.Contains(f.Message, "PG-XXXX-XXXX-XXX") {
		t.Errorf("invalid: %+v", f)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestReadTakesAnyOfItsKinds(t *testing.T) {
	pg := must(Format(Partner, "1H25YF0SHJ"))
	pl := "PL" + pg[2:]
	for _, s := range []string{pg, strings.ToLower(pl)} {
		if got, err := Read(s, "path.id", "x.invalid_id", Partner, Location); err != nil || got != strings.ToUpper(s) {
			t.Errorf("Read(%q) = %q, %v", s, got, err)
		}
	}
	_, err := Read("EN"+pg[2:], "path.id", "x.invalid_id", Partner, Location)
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != apperr.KindInvalid || ae.Code != "x.invalid_id" || len(ae.Fields) != 1 ||
		ae.Fields[0] != (apperr.FieldError{Field: "path.id", Code: CodeWrongKind, Message: "must be a PG-… or PL-… identifier"}) {
		t.Errorf("an enrollment ID: %v %+v", err, ae)
	}
	if f := FieldError("path.id", ErrWrongKind, Enrollment); f.Message != "must be an EN-… identifier" {
		t.Errorf("an enrollment: %q", f.Message)
	}
	_, err = Read("PG-1H25-YF0S-HJ0", "query.partner", "x.invalid_id", Partner)
	if ae, ok := apperr.As(err); !ok || ae.Message != "the identifier is malformed" || ae.Fields[0].Code != CodeInvalid {
		t.Errorf("a wrong check symbol: %v", err)
	}
}

// FuzzParseAnswersACanonicalForm: whatever a caller sends, Parse either
// refuses it or answers the canonical form, which parses to itself.
func FuzzParseAnswersACanonicalForm(f *testing.F) {
	for _, s := range []string{"PG-1H25-YF0S-HJB", "pg-1h25yf0shjb", "PG-1H25-YF0S-HJ0", "PL-OI25-YF0S-HJB", " EN-1H25 YF0S HJB ", "PG-", "ＰＧ-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range []Kind{Partner, Location, Enrollment} {
			id, err := Parse(k, s)
			if err != nil {
				if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrWrongKind) {
					t.Fatalf("Parse(%q): %v", s, err)
				}
				continue
			}
			again, err := Parse(k, id)
			if err != nil || again != id || len(id) != len("PG-1H25-YF0S-HJB") || !strings.HasPrefix(id, string(k)+"-") {
				t.Fatalf("Parse(%q) = %q, which parses to %q, %v", s, id, again, err)
			}
		}
	})
}
