package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

func sample() domain.CompanyFacts {
	return domain.CompanyFacts{
		LegalName:          "（株）サンプル商事",
		Address:            domain.Address{Prefecture: "東京都", City: "千代田区", Line1: "丸の内5-2-3", PostalCode: "100-0005"},
		RegistrationNumber: "9010401123456",
	}
}

func fields(ds []domain.Difference) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Field)
	}
	return out
}

func TestLookup(t *testing.T) {
	l := Default()
	tests := []struct {
		name   string
		mut    func(*domain.CompanyFacts)
		result domain.MatchResult
		diffs  string
	}{
		{"exact match through normalization", nil, domain.MatchFound, ""},
		{"match by name without number", func(f *domain.CompanyFacts) { f.RegistrationNumber = "" }, domain.MatchFound, ""},
		{"address split differently", func(f *domain.CompanyFacts) {
			f.Address.City = ""
			f.Address.Line1 = "千代田区丸の内５丁目２番地３"
		}, domain.MatchFound, ""},
		{"legal form on the other side", func(f *domain.CompanyFacts) { f.LegalName = "サンプル商事株式会社" }, domain.MatchNameMismatch, "legal_name"},
		{"street differs", func(f *domain.CompanyFacts) { f.Address.Line1 = "丸の内5-2-4" }, domain.MatchAddressMismatch, "street"},
		{"postal code differs", func(f *domain.CompanyFacts) { f.Address.PostalCode = "100-0006" }, domain.MatchAddressMismatch, "postal_code"},
		{"name and address differ", func(f *domain.CompanyFacts) {
			f.LegalName = "株式会社サンプル商店"
			f.Address.City = "中央区"
		}, domain.MatchNameMismatch, "legal_name,city"},
		{"unknown number", func(f *domain.CompanyFacts) { f.RegistrationNumber = "7000012050002" }, domain.MatchNotFound, "registration_number"},
		{"unknown company", func(f *domain.CompanyFacts) {
			f.RegistrationNumber = ""
			f.LegalName = "株式会社どこにもない"
		}, domain.MatchNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sample()
			if tt.mut != nil {
				tt.mut(&f)
			}
			m, err := l.Lookup(context.Background(), domain.RegistryQuery{Market: "JP", Facts: f})
			if err != nil {
				t.Fatal(err)
			}
			if m.Result != tt.result || strings.Join(fields(m.Differences), ",") != tt.diffs {
				t.Fatalf("got %s %v, want %s %s", m.Result, fields(m.Differences), tt.result, tt.diffs)
			}
			if tt.result != domain.MatchNotFound && (m.Record == nil || m.Record.RegistrationNumber != "9010401123456") {
				t.Fatalf("record %+v", m.Record)
			}
		})
	}
}

func TestDifferenceNamesWhatDiffers(t *testing.T) {
	f := sample()
	f.LegalName = "サンプル商事株式会社"
	f.Address.Line1 = "丸の内5-2-4"
	m, _ := Default().Lookup(context.Background(), domain.RegistryQuery{Market: "JP", Facts: f})
	name, street := m.Differences[0], m.Differences[1]
	if name.Register != "株式会社サンプル商事" || !strings.Contains(name.Hint, "legal form") {
		t.Fatalf("name difference %+v", name)
	}
	if street.SubmittedNormalized != "丸の内5-2-4" || street.RegisterNormalized != "丸の内5-2-3" || !strings.Contains(street.Hint, "character 8") {
		t.Fatalf("street difference %+v", street)
	}
}

func TestClosedCompanyIsReported(t *testing.T) {
	f := domain.CompanyFacts{LegalName: "株式会社横浜ベイシステム", Address: domain.Address{Prefecture: "神奈川県", City: "横浜市中区", Line1: "日本大通1番地"}}
	m, _ := Default().Lookup(context.Background(), domain.RegistryQuery{Market: "JP", Facts: f})
	if m.Result != domain.MatchFound || strings.Join(fields(m.Differences), ",") != "status" {
		t.Fatalf("got %s %v", m.Result, fields(m.Differences))
	}
}

func TestOtherMarketIsNotFound(t *testing.T) {
	m, _ := Default().Lookup(context.Background(), domain.RegistryQuery{Market: "US", Facts: sample()})
	if m.Result != domain.MatchNotFound {
		t.Fatalf("got %s", m.Result)
	}
}

func TestEmbeddedRecordsAreValid(t *testing.T) {
	l := Default()
	if len(l.byNumber) < 10 {
		t.Fatalf("only %d records", len(l.byNumber))
	}
	for n := range l.byNumber {
		if !domain.ValidCorporateNumber(strings.TrimPrefix(n, "JP")) {
			t.Errorf("%s has a bad check digit", n)
		}
	}
}

func TestOpenOverrideAndValidation(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`[{"market":"JP","registration_number":"7000012050002","name":"国税庁","prefecture":"東京都","city":"千代田区","street":"霞が関３丁目１番１号"}]`), 0o600)
	l, err := Open(good)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := l.Lookup(context.Background(), domain.RegistryQuery{Market: "JP", Facts: domain.CompanyFacts{LegalName: "国税庁",
		Address: domain.Address{Prefecture: "東京都", City: "千代田区", Line1: "霞が関3-1-1"}}})
	if m.Result != domain.MatchFound || !strings.HasPrefix(m.Source, "file:") {
		t.Fatalf("override: %+v", m)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"market":"JP","registration_number":"8000012050002","name":"x"}]`), 0o600)
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "not a valid corporate number") {
		t.Fatalf("bad check digit: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file must fail")
	}
}
