package app

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/pkg/page"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// PartnerFinder reads the partners that match a search (the Postgres
// repository).
type PartnerFinder interface {
	// FindPartners returns up to q.Limit partners matching q, newest first
	// (created_at, then id, both descending), after q.After when set.
	FindPartners(ctx context.Context, q PartnerQuery) ([]domain.PartnerSnapshot, error)
}

// PartnerQuery is a validated partner search. Empty members do not filter.
type PartnerQuery struct {
	// Name is a fragment of the normalized legal name (pkg/normalize's
	// LegalName: width, spaces, legal forms expanded); NameKey the same
	// fragment as a match key (LegalNameKey: look-alikes, case and
	// punctuation folded). A partner matches either.
	Name, NameKey string
	// RegistrationNumber is the number's digits (any scheme).
	RegistrationNumber      string
	Status, Market, Program string
	CreatedFrom, CreatedTo  time.Time // created_at in [from, to)
	UpdatedFrom, UpdatedTo  time.Time // updated_at in [from, to)
	After                   *PartnerCursor
	Limit                   int
}

// PartnerCursor is a place in the newest-first order of partners.
type PartnerCursor struct {
	CreatedAt time.Time `json:"c"`
	ID        string    `json:"i"`
}

// Limits of a page of partners.
const (
	DefaultPartnerPage = 50
	MaxPartnerPage     = 200
)

// Error codes of the partner search: invalid parameters are 422
// apperr.CodeInvalidQueryParameter, as in every service, each field with
// CodeInvalidSearch (a page size out of bounds: apperr.CodeLimitOutOfRange);
// an unknown cursor is CodeInvalidCursor (start again from the first page).
const (
	CodeInvalidSearch = "registration.invalid_search"
	CodeInvalidCursor = "registration.invalid_cursor"
)

// SearchPartners is an operator's partner search as sent: query parameters,
// validated by the use case.
type SearchPartners struct {
	Name, RegistrationNumber, Status, Market, Program string
	CreatedAfter, CreatedBefore                       string // RFC 3339; after inclusive, before exclusive
	UpdatedAfter, UpdatedBefore                       string
	After, Limit                                      string
}

// PartnerPage is one page of a partner search.
type PartnerPage struct {
	Partners []PartnerView
	// Next is the cursor of the following page; empty on the last one.
	Next string
}

var marketParam = regexp.MustCompile(`^[A-Z]{2}$`)

// SearchPartners lists the partners matching q for an operator, newest
// first, one page at a time: a stable order (created_at, then id) that
// partners registered meanwhile do not disturb (they come before the
// first page). Statuses and programs are matched as written, so that
// values added later need no change here.
func (a *App) SearchPartners(ctx context.Context, p auth.Principal, q SearchPartners) (PartnerPage, error) {
	if err := p.Require(auth.RoleOperator); err != nil {
		return PartnerPage{}, err
	}
	query, err := validateSearch(q)
	if err != nil {
		return PartnerPage{}, err
	}
	limit := query.Limit
	query.Limit++
	found, err := a.Finder.FindPartners(ctx, query)
	if err != nil {
		return PartnerPage{}, fmt.Errorf("search partners: %w", err)
	}
	page := PartnerPage{Partners: make([]PartnerView, 0, min(len(found), limit))}
	for i, s := range found {
		if i == limit {
			last := found[limit-1]
			page.Next = encodeCursor(PartnerCursor{CreatedAt: last.CreatedAt, ID: string(last.ID)})
			break
		}
		page.Partners = append(page.Partners, partnerView(s))
	}
	return page, nil
}

func validateSearch(q SearchPartners) (PartnerQuery, error) {
	var out PartnerQuery
	var fields []apperr.FieldError
	bad := func(param, message string) {
		fields = append(fields, apperr.FieldError{Field: "query." + param, Code: CodeInvalidSearch, Message: message})
	}
	if q.Name != "" {
		out.Name, out.NameKey = normalize.LegalName(q.Name), normalize.LegalNameKey(q.Name)
		if out.Name == "" {
			bad("name", "the name has no letters or digits")
		}
	}
	if q.RegistrationNumber != "" {
		digits, ok := normalize.Digits(q.RegistrationNumber)
		if !ok {
			bad("registration_number", "a registration number is digits (spaces and hyphens are ignored)")
		}
		out.RegistrationNumber = digits
	}
	// A status or program that no partner can have matches nothing: refused,
	// so that a typo (status=actve) is not read as "none".
	if q.Status != "" && !domain.PartnerStatus(q.Status).Valid() {
		bad("status", fmt.Sprintf("one of %v", domain.PartnerStatuses))
	}
	if q.Program != "" && !domain.Program(q.Program).Valid() {
		bad("program", fmt.Sprintf("one of %s, %s or %s", domain.ProgramPartnerNetwork, domain.ProgramIndirectReseller, domain.ProgramIndirectProvider))
	}
	out.Status, out.Program = q.Status, q.Program
	if q.Market != "" && !marketParam.MatchString(q.Market) {
		bad("market", "an ISO 3166-1 alpha-2 code such as JP")
	}
	out.Market = q.Market
	for _, c := range []struct {
		param, value string
		dst          *time.Time
	}{{"created_after", q.CreatedAfter, &out.CreatedFrom}, {"created_before", q.CreatedBefore, &out.CreatedTo},
		{"updated_after", q.UpdatedAfter, &out.UpdatedFrom}, {"updated_before", q.UpdatedBefore, &out.UpdatedTo}} {
		if c.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, c.value)
		if err != nil {
			bad(c.param, "an RFC 3339 time such as 2026-03-01T00:00:00Z")
			continue
		}
		*c.dst = t.UTC()
	}
	if !out.CreatedFrom.IsZero() && !out.CreatedTo.IsZero() && !out.CreatedFrom.Before(out.CreatedTo) {
		bad("created_before", "created_before must be later than created_after")
	}
	if !out.UpdatedFrom.IsZero() && !out.UpdatedTo.IsZero() && !out.UpdatedFrom.Before(out.UpdatedTo) {
		bad("updated_before", "updated_before must be later than updated_after")
	}
	limit, fe := apperr.ParseLimit(q.Limit, DefaultPartnerPage, MaxPartnerPage)
	if fe != nil {
		fields = append(fields, *fe)
	}
	out.Limit = limit
	if len(fields) > 0 {
		return PartnerQuery{}, apperr.Invalid(apperr.CodeInvalidQueryParameter, "the search has invalid parameters; see fields", fields...)
	}
	if q.After != "" {
		c, ok := decodeCursor(q.After)
		if !ok {
			return PartnerQuery{}, page.InvalidAfter(CodeInvalidCursor)
		}
		out.After = &c
	}
	return out, nil
}

func encodeCursor(c PartnerCursor) string { return page.Encode(c) }

func decodeCursor(s string) (PartnerCursor, bool) {
	var c PartnerCursor
	if !page.Decode(s, &c) || c.CreatedAt.IsZero() {
		return PartnerCursor{}, false
	}
	if _, err := domain.ParsePartnerID(c.ID); err != nil {
		return PartnerCursor{}, false
	}
	return c, true
}
