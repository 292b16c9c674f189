package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/registration/internal/app"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

var _ app.PartnerFinder = (*Repository)(nil)

// FindPartners implements app.PartnerFinder: one statement, filters
// combined with AND, newest first.
func (r *Repository) FindPartners(ctx context.Context, q app.PartnerQuery) ([]domain.PartnerSnapshot, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Name != "" {
		cond := "p.legal_name ILIKE " + arg("%"+likeEscape(q.Name)+"%")
		if q.NameKey != "" {
			cond += " OR p.snapshot #>> '{registration,normalized,company,legal_name_key}' LIKE " + arg("%"+likeEscape(q.NameKey)+"%")
		}
		where = append(where, "("+cond+")")
	}
	if q.RegistrationNumber != "" {
		where = append(where, "p.snapshot #>> '{registration,normalized,company,registration_number,value}' = "+arg(q.RegistrationNumber))
	}
	if q.Status != "" {
		where = append(where, "p.status = "+arg(q.Status))
	}
	if q.Market != "" {
		where = append(where, "p.market = "+arg(q.Market))
	}
	if q.Program != "" {
		where = append(where, "EXISTS (SELECT 1 FROM enrollments e WHERE e.partner_id = p.id AND e.program = "+arg(q.Program)+")")
	}
	for _, c := range []struct {
		expr string
		set  bool
		v    any
	}{
		{"p.created_at >= ", !q.CreatedFrom.IsZero(), q.CreatedFrom}, {"p.created_at < ", !q.CreatedTo.IsZero(), q.CreatedTo},
		{"p.updated_at >= ", !q.UpdatedFrom.IsZero(), q.UpdatedFrom}, {"p.updated_at < ", !q.UpdatedTo.IsZero(), q.UpdatedTo},
	} {
		if c.set {
			where = append(where, c.expr+arg(c.v))
		}
	}
	if q.After != nil {
		where = append(where, "(p.created_at, p.id) < ("+arg(q.After.CreatedAt)+", "+arg(q.After.ID)+")")
	}
	sql := "SELECT p.snapshot, p.last_activity_at FROM partners p"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY p.created_at DESC, p.id DESC LIMIT " + arg(q.Limit)
	rows, err := pg.Q(ctx, r.pool).Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("search partners: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.PartnerSnapshot, error) {
		var data []byte
		var last time.Time
		if err := row.Scan(&data, &last); err != nil {
			return domain.PartnerSnapshot{}, err
		}
		p, err := rehydrate(data, last)
		if err != nil {
			return domain.PartnerSnapshot{}, err
		}
		return p.Snapshot(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("search partners: %w", err)
	}
	return out, nil
}

// likeEscape makes s match itself in a LIKE pattern (backslash is the
// default escape character).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
