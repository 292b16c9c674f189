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
	"strings"

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

// Record implements app.Store: the event and its index rows under every
// partner it concerns, in one statement (the index rows copy the stored
// time, which Postgres keeps in microseconds, so that they sort exactly
// like the event).
func (s *Store) Record(ctx context.Context, e domain.Event, partners []string) (bool, error) {
	var data []byte
	if len(e.Data) > 0 {
		data = e.Data
	}
	if partners == nil {
		partners = []string{}
	}
	var inserted int
	err := pg.Q(ctx, s.pool).QueryRow(ctx, `WITH e AS (
			INSERT INTO events (source, id, type, subject, time, partition_key, sequence,
				correlationid, causationid, authtype, authid, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (source, id) DO NOTHING
			RETURNING source, id, type, time, sequence),
		p AS (
			INSERT INTO partner_events (partner_id, time, source, sequence, event_id, type)
			SELECT partner, e.time, e.source, e.sequence, e.id, e.type FROM e, unnest($13::text[]) AS partner)
		SELECT count(*) FROM e`,
		e.Source, e.ID, e.Type, e.Subject, e.Time, e.PartitionKey, int64(e.Sequence),
		e.CorrelationID, e.CausationID, e.AuthType, e.AuthID, data, partners).Scan(&inserted)
	if err != nil {
		return false, fmt.Errorf("record event: %w", err)
	}
	return inserted == 1, nil
}

// RecordDeadLetter implements app.Store.
func (s *Store) RecordDeadLetter(ctx context.Context, e domain.Event, partners []string) (bool, error) {
	dl := e.DeadLetter
	var fresh bool
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var data []byte
		if len(e.Data) > 0 {
			data = e.Data
		}
		tag, err := tx.Exec(ctx, `INSERT INTO dead_letters (service, handler, source, id, code, reason, delivered, type, subject,
			time, partition_key, sequence, correlationid, causationid, authtype, authid, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			ON CONFLICT (service, handler, source, id) DO NOTHING`,
			dl.Service, dl.Handler, e.Source, e.ID, dl.Code, dl.Reason, dl.Delivered, e.Type, e.Subject,
			e.Time, e.PartitionKey, int64(e.Sequence), e.CorrelationID, e.CausationID, e.AuthType, e.AuthID, data)
		if err != nil {
			return fmt.Errorf("insert dead letter: %w", err)
		}
		if fresh = tag.RowsAffected() == 1; !fresh {
			return nil
		}
		for _, p := range partners {
			if _, err := tx.Exec(ctx, `INSERT INTO partner_dead_letters (partner_id, time, source, sequence, event_id, dl, service, handler, type)
				SELECT $1, time, source, sequence, id, $5, service, handler, type FROM dead_letters
				WHERE service = $2 AND handler = $3 AND source = $4 AND id = $6`,
				p, dl.Service, dl.Handler, e.Source, dl.Key(), e.ID); err != nil {
				return fmt.Errorf("index dead letter under %s: %w", p, err)
			}
		}
		return nil
	})
	return fresh, err
}

// Page implements app.Store: the partner's events and dead letters, merged
// in timeline order.
func (s *Store) Page(ctx context.Context, partner string, after *domain.Position, typePrefixes []string, limit int) ([]domain.Event, error) {
	args := []any{partner, limit}
	where := "x.partner_id = $1"
	if after != nil {
		args = append(args, after.Time, after.Source, int64(after.Sequence), after.ID, after.DeadLetter)
		where += " AND (x.time, x.source, x.sequence, x.event_id, {dl}) > ($3, $4, $5, $6, $7::text)"
	}
	if len(typePrefixes) > 0 {
		args = append(args, typePrefixes)
		where += fmt.Sprintf(" AND EXISTS (SELECT 1 FROM unnest($%d::text[]) p WHERE starts_with(x.type, p))", len(args))
	}
	events := strings.ReplaceAll(where, "{dl}", "''::text")
	deadLetters := strings.ReplaceAll(where, "{dl}", "x.dl")
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `WITH entries AS (
			(SELECT x.time, x.source, x.sequence, x.event_id, ''::text AS dl, ''::text AS service, ''::text AS handler
				FROM partner_events x WHERE `+events+`
				ORDER BY x.time, x.source, x.sequence, x.event_id LIMIT $2)
			UNION ALL
			(SELECT x.time, x.source, x.sequence, x.event_id, x.dl, x.service, x.handler
				FROM partner_dead_letters x WHERE `+deadLetters+`
				ORDER BY x.time, x.source, x.sequence, x.event_id, x.dl LIMIT $2)
		)
		SELECT x.source, x.event_id, x.service, x.handler, COALESCE(e.type, d.type), COALESCE(e.subject, d.subject),
			COALESCE(e.time, d.time), COALESCE(e.partition_key, d.partition_key), COALESCE(e.sequence, d.sequence),
			COALESCE(e.correlationid, d.correlationid), COALESCE(e.causationid, d.causationid),
			COALESCE(e.authtype, d.authtype), COALESCE(e.authid, d.authid),
			CASE WHEN x.dl = '' THEN e.data ELSE d.data END, COALESCE(e.recorded_at, d.recorded_at),
			COALESCE(d.code, ''), COALESCE(d.reason, ''), COALESCE(d.delivered, 0)
		FROM entries x
		LEFT JOIN events e ON x.dl = '' AND e.source = x.source AND e.id = x.event_id
		LEFT JOIN dead_letters d ON x.dl <> '' AND d.service = x.service AND d.handler = x.handler AND d.source = x.source AND d.id = x.event_id
		ORDER BY x.time, x.source, x.sequence, x.event_id, x.dl
		LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("query timeline: %w", err)
	}
	defer rows.Close()
	var out []domain.Event
	for rows.Next() {
		var (
			e                domain.Event
			seq              int64
			data             []byte
			service, handler string
			dl               domain.DeadLetter
		)
		if err := rows.Scan(&e.Source, &e.ID, &service, &handler, &e.Type, &e.Subject, &e.Time, &e.PartitionKey, &seq,
			&e.CorrelationID, &e.CausationID, &e.AuthType, &e.AuthID, &data, &e.RecordedAt,
			&dl.Code, &dl.Reason, &dl.Delivered); err != nil {
			return nil, fmt.Errorf("scan timeline: %w", err)
		}
		e.Sequence = uint64(seq)
		if data != nil {
			e.Data = json.RawMessage(data)
		}
		if service != "" {
			dl.Service, dl.Handler = service, handler
			e.DeadLetter = &dl
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
