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

	"github.com/partnerhub/onboarding/pkg/normalize"
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
		num, _ := normalize.Digits(r.RegistrationNumber)
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
		l.byName[r.Market+"|"+normalize.RegisterName(r.Name)] = r
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
	submitted := q.Facts.Normalize(market)
	num, _ := normalize.Digits(q.RegistrationNumber)
	if num == "" {
		num = submitted.RegistrationNumber
	}
	byName, nameFound := l.byName[market+"|"+normalize.RegisterName(submitted.LegalName)]
	m := domain.RegistryMatch{Source: l.source}
	var rec domain.RegisterRecord
	if num != "" {
		var ok bool
		if rec, ok = l.byNumber[market+num]; !ok {
			m.Result = domain.MatchNotFound
			if nameFound {
				m.Record = &byName
				m.Differences = []domain.Difference{{Field: "registration_number", Submitted: q.Facts.RegistrationNumber,
					Register: byName.RegistrationNumber, SubmittedNormalized: num, RegisterNormalized: digitsOf(byName.RegistrationNumber),
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
	m.Differences = compare(market, q.Facts, submitted, rec)
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

// compare lists the differences between the submitted facts (n, their
// normalized form) and a record, reducing both to the keys of pkg/normalize.
func compare(market string, f domain.CompanyFacts, n domain.NormalizedFacts, r domain.RegisterRecord) []domain.Difference {
	reg := domain.CompanyFacts{LegalName: r.Name, RegistrationNumber: r.RegistrationNumber,
		Address: domain.Address{Prefecture: r.Prefecture, City: r.City, Line1: r.Street, PostalCode: r.PostalCode}}.Normalize(market)
	var out []domain.Difference
	if a, b := normalize.RegisterName(n.LegalName), normalize.RegisterName(reg.LegalName); a != b {
		out = append(out, domain.Difference{Field: "legal_name", Submitted: f.LegalName, Register: r.Name,
			SubmittedNormalized: a, RegisterNormalized: b, Hint: nameHint(a, b)})
	}
	street := f.Address.Line1 + f.Address.Line2
	full := normalize.AddressLineKey(n.Prefecture + n.City + n.Street)
	regFull := normalize.AddressLineKey(reg.Prefecture + reg.City + reg.Street)
	// Applicants split the address across fields differently; only a
	// difference of the whole is a mismatch, reported per component.
	if full != regFull {
		for _, p := range []struct{ field, sub, reg, subN, regN string }{
			{"prefecture", f.Address.Prefecture, r.Prefecture, n.Prefecture, reg.Prefecture},
			{"city", f.Address.City, r.City, n.City, reg.City},
			{"street", street, r.Street, n.Street, reg.Street},
		} {
			a, b := normalize.AddressLineKey(p.subN), normalize.AddressLineKey(p.regN)
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
	_, a, aok := normalize.PostalCode(market, n.PostalCode)
	_, b, bok := normalize.PostalCode(market, reg.PostalCode)
	if aok && bok && a != b {
		out = append(out, domain.Difference{Field: "postal_code", Submitted: f.Address.PostalCode, Register: r.PostalCode,
			SubmittedNormalized: a, RegisterNormalized: b})
	}
	if r.Status != "" && r.Status != "active" {
		out = append(out, domain.Difference{Field: "status", Submitted: "active", Register: r.Status,
			Hint: "the register lists the company as " + r.Status})
	}
	return out
}

func nameHint(a, b string) string {
	strip := func(s string) string {
		for _, f := range normalize.LegalForms() {
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

func digitsOf(s string) string {
	d, _ := normalize.Digits(s)
	return d
}
