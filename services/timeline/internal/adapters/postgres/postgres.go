// Package postgres stores the timeline in the service's own schema: each
// event once (primary key source + id) and one index row per partner it
// concerns, written in one transaction.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the service's goose migrations (run by platform.Start).
var Migrations fs.FS = pg.Migrations(migrationFiles)

// Store implements app.Store.
type Store struct {
	pool *pgxpool.Pool
}

// New returns the timeline store.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

var _ app.Store = (*Store)(nil)

// Record implements app.Store.
func (s *Store) Record(ctx context.Context, e domain.Event, partners []string) (bool, error) {
	var fresh bool
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var data []byte
		if len(e.Data) > 0 {
			data = e.Data
		}
		tag, err := tx.Exec(ctx, `INSERT INTO events (source, id, type, subject, time, partition_key, sequence,
			correlationid, causationid, authtype, authid, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (source, id) DO NOTHING`,
			e.Source, e.ID, e.Type, e.Subject, e.Time, e.PartitionKey, int64(e.Sequence),
			e.CorrelationID, e.CausationID, e.AuthType, e.AuthID, data)
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		if fresh = tag.RowsAffected() == 1; !fresh {
			return nil
		}
		for _, p := range partners {
			// The stored time, not e.Time: Postgres keeps microseconds, and
			// the copy must sort exactly like the event.
			if _, err := tx.Exec(ctx, `INSERT INTO partner_events (partner_id, time, source, sequence, event_id, type)
				SELECT $1, time, source, sequence, id, type FROM events WHERE source = $2 AND id = $3`,
				p, e.Source, e.ID); err != nil {
				return fmt.Errorf("index event under %s: %w", p, err)
			}
		}
		return nil
	})
	return fresh, err
}

// Page implements app.Store.
func (s *Store) Page(ctx context.Context, partner string, after *domain.Position, typePrefixes []string, limit int) ([]domain.Event, error) {
	args := []any{partner, limit}
	where := "pe.partner_id = $1"
	if after != nil {
		args = append(args, after.Time, after.Source, int64(after.Sequence), after.ID)
		where += " AND (pe.time, pe.source, pe.sequence, pe.event_id) > ($3, $4, $5, $6)"
	}
	if len(typePrefixes) > 0 {
		args = append(args, typePrefixes)
		where += fmt.Sprintf(" AND EXISTS (SELECT 1 FROM unnest($%d::text[]) p WHERE starts_with(pe.type, p))", len(args))
	}
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `SELECT e.source, e.id, e.type, e.subject, e.time, e.partition_key, e.sequence,
			e.correlationid, e.causationid, e.authtype, e.authid, e.data, e.recorded_at
		FROM partner_events pe JOIN events e ON e.source = pe.source AND e.id = pe.event_id
		WHERE `+where+`
		ORDER BY pe.time, pe.source, pe.sequence, pe.event_id
		LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("query timeline: %w", err)
	}
	defer rows.Close()
	var out []domain.Event
	for rows.Next() {
		var (
			e    domain.Event
			seq  int64
			data []byte
		)
		if err := rows.Scan(&e.Source, &e.ID, &e.Type, &e.Subject, &e.Time, &e.PartitionKey, &seq,
			&e.CorrelationID, &e.CausationID, &e.AuthType, &e.AuthID, &data, &e.RecordedAt); err != nil {
			return nil, fmt.Errorf("scan timeline: %w", err)
		}
		e.Sequence = uint64(seq)
		if data != nil {
			e.Data = json.RawMessage(data)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Sources implements app.Store: event counts per source from the partner's
// timeline, sequences from the partner's own partition (events about it in
// another partner's partition, e.g. a provider's view of a relationship
// event keyed by the reseller, count but carry no sequence of its own).
func (s *Store) Sources(ctx context.Context, partner string) ([]domain.SourceSummary, error) {
	q := pg.Q(ctx, s.pool)
	rows, err := q.Query(ctx, `SELECT source, count(*) FROM partner_events WHERE partner_id = $1 GROUP BY source ORDER BY source`, partner)
	if err != nil {
		return nil, fmt.Errorf("count timeline sources: %w", err)
	}
	var out []domain.SourceSummary
	index := map[string]int{}
	for rows.Next() {
		var sum domain.SourceSummary
		if err := rows.Scan(&sum.Source, &sum.Events); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan timeline sources: %w", err)
		}
		index[sum.Source] = len(out)
		out = append(out, sum)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count timeline sources: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	rows, err = q.Query(ctx, `SELECT source, sequence FROM events WHERE partition_key = $1 AND sequence > 0 ORDER BY source, sequence`, partner)
	if err != nil {
		return nil, fmt.Errorf("read partition sequences: %w", err)
	}
	seqs := map[string][]uint64{}
	for rows.Next() {
		var (
			source string
			seq    int64
		)
		if err := rows.Scan(&source, &seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan partition sequences: %w", err)
		}
		seqs[source] = append(seqs[source], uint64(seq))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read partition sequences: %w", err)
	}
	for i := range out {
		ss := seqs[out[i].Source]
		if len(ss) > 0 {
			out[i].LastSequence = ss[len(ss)-1]
		}
		out[i].Gaps, out[i].GapsTruncated = domain.Gaps(ss, domain.MaxGaps)
	}
	return out, nil
}
