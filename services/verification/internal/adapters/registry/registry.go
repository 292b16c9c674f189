// Package registry is the RegistryLookup adapter backed by a local data file
// of company register records: an embedded default (fictional Japanese
// companies with valid corporate numbers) or a JSON file given by path.
package registry

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/partnerhub/onboarding/services/verification/internal/domain"
)

//go:embed records.json
var defaultRecords []byte

// Lookup answers register queries from an in-memory copy of the records.
type Lookup struct {
	source   string
	byNumber map[string]domain.RegisterRecord
	byName   map[string]domain.RegisterRecord // market + normalized name
}

// New builds a lookup over records; it refuses duplicate numbers and, for
// JP, corporate numbers whose check digit is wrong.
func New(records []domain.RegisterRecord, source string) (*Lookup, error) {
	l := &Lookup{source: source, byNumber: map[string]domain.RegisterRecord{}, byName: map[string]domain.RegisterRecord{}}
	var errs []error
	for i, r := range records {
		r.Market = strings.ToUpper(r.Market)
		num := digits(r.RegistrationNumber)
		switch {
		case num == "" || r.Name == "":
			errs = append(errs, fmt.Errorf("record %d: registration_number and name are required", i))
			continue
		case r.Market == "JP" && !domain.ValidCorporateNumber(num):
			errs = append(errs, fmt.Errorf("record %d: %s is not a valid corporate number", i, num))
			continue
		}
		if _, dup := l.byNumber[r.Market+num]; dup {
			errs = append(errs, fmt.Errorf("record %d: duplicate registration number %s", i, num))
			continue
		}
		l.byNumber[r.Market+num] = r
		l.byName[r.Market+"|"+domain.NormalizeName(r.Name)] = r
	}
	return l, errors.Join(errs...)
}

// Parse builds a lookup from JSON data (an array of register records).
func Parse(data []byte, source string) (*Lookup, error) {
	var recs []domain.RegisterRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("parse register records %s: %w", source, err)
	}
	return New(recs, source)
}

// Default is the lookup over the embedded records.
func Default() *Lookup {
	l, err := Parse(defaultRecords, "embedded:records.json")
	if err != nil {
		panic(err) // a build defect, caught by tests
	}
	return l
}

// Open loads the records file at path, or the embedded default when path is empty.
func Open(path string) (*Lookup, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read register records: %w", err)
	}
	return Parse(data, "file:"+path)
}

// Lookup finds the register record for q (by registration number, else by
// normalized legal name) and reports what differs from the submitted facts.
func (l *Lookup) Lookup(ctx context.Context, q domain.RegistryQuery) (domain.RegistryMatch, error) {
	if err := ctx.Err(); err != nil {
		return domain.RegistryMatch{}, err
	}
	market := strings.ToUpper(q.Market)
	num := digits(q.RegistrationNumber)
	if num == "" {
		num = digits(q.Facts.RegistrationNumber)
	}
	byName, nameFound := l.byName[market+"|"+domain.NormalizeName(q.Facts.LegalName)]
	m := domain.RegistryMatch{Source: l.source}
	var rec domain.RegisterRecord
	if num != "" {
		var ok bool
		if rec, ok = l.byNumber[market+num]; !ok {
			m.Result = domain.MatchNotFound
			if nameFound {
				m.Record = &byName
				m.Differences = []domain.Difference{{Field: "registration_number", Submitted: q.Facts.RegistrationNumber,
					Register: byName.RegistrationNumber, SubmittedNormalized: num, RegisterNormalized: digits(byName.RegistrationNumber),
					Hint: "the register lists a company of this name under another corporate number"}}
			}
			return m, nil
		}
	} else if !nameFound {
		m.Result = domain.MatchNotFound
		return m, nil
	} else {
		rec = byName
	}
	m.Record = &rec
	m.Differences = compare(q.Facts, rec)
	m.Result = domain.MatchFound
	for _, d := range m.Differences {
		switch {
		case d.Field == "legal_name":
			m.Result = domain.MatchNameMismatch
		case m.Result == domain.MatchFound && d.Field != "status":
			m.Result = domain.MatchAddressMismatch
		}
	}
	return m, nil
}

// compare lists the differences between submitted facts and a record.
func compare(f domain.CompanyFacts, r domain.RegisterRecord) []domain.Difference {
	var out []domain.Difference
	if a, b := domain.NormalizeName(f.LegalName), domain.NormalizeName(r.Name); a != b {
		out = append(out, domain.Difference{Field: "legal_name", Submitted: f.LegalName, Register: r.Name,
			SubmittedNormalized: a, RegisterNormalized: b, Hint: nameHint(a, b)})
	}
	street := f.Address.Line1 + f.Address.Line2
	full := domain.NormalizeAddressPart(f.Address.Prefecture + f.Address.City + street)
	regFull := domain.NormalizeAddressPart(r.Prefecture + r.City + r.Street)
	// Applicants split the address across fields differently; only a
	// difference of the whole is a mismatch, reported per component.
	if full != regFull {
		for _, p := range []struct{ field, sub, reg string }{
			{"prefecture", f.Address.Prefecture, r.Prefecture},
			{"city", f.Address.City, r.City},
			{"street", street, r.Street},
		} {
			a, b := domain.NormalizeAddressPart(p.sub), domain.NormalizeAddressPart(p.reg)
			if a != b {
				out = append(out, domain.Difference{Field: p.field, Submitted: p.sub, Register: p.reg,
					SubmittedNormalized: a, RegisterNormalized: b, Hint: firstDifference(a, b)})
			}
		}
		if len(out) == 0 || out[len(out)-1].Field == "legal_name" {
			out = append(out, domain.Difference{Field: "address", Submitted: f.Address.Prefecture + f.Address.City + street,
				Register: r.Prefecture + r.City + r.Street, SubmittedNormalized: full, RegisterNormalized: regFull, Hint: firstDifference(full, regFull)})
		}
	}
	if a, b := digits(f.Address.PostalCode), digits(r.PostalCode); a != "" && b != "" && a != b {
		out = append(out, domain.Difference{Field: "postal_code", Submitted: f.Address.PostalCode, Register: r.PostalCode,
			SubmittedNormalized: a, RegisterNormalized: b})
	}
	if r.Status != "" && r.Status != "active" {
		out = append(out, domain.Difference{Field: "status", Submitted: "active", Register: r.Status,
			Hint: "the register lists the company as " + r.Status})
	}
	return out
}

var legalForms = []string{"株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "一般社団法人", "一般財団法人"}

func nameHint(a, b string) string {
	strip := func(s string) string {
		for _, f := range legalForms {
			s = strings.ReplaceAll(s, f, "")
		}
		return s
	}
	if strip(a) == strip(b) {
		return "the legal form differs or stands on the other side of the name (株式会社○○ vs ○○株式会社); write it exactly as in the register"
	}
	noPunct := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsPunct(r) || unicode.IsSymbol(r) {
				return -1
			}
			return r
		}, s)
	}
	if noPunct(a) == noPunct(b) {
		return "only punctuation differs; write the name exactly as in the register"
	}
	return firstDifference(a, b)
}

// firstDifference says where two normalized strings part.
func firstDifference(a, b string) string {
	ra, rb := []rune(a), []rune(b)
	i := 0
	for i < len(ra) && i < len(rb) && ra[i] == rb[i] {
		i++
	}
	return fmt.Sprintf("differs from character %d: %q vs register %q", i+1, string(ra[i:]), string(rb[i:]))
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		}
	}
	return b.String()
}
