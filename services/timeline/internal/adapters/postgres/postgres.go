// Package postgres stores the timeline in the service's own schema: each
// event once (primary key source + id), in one row that serves the
// timelines of the partners it concerns, the feed and webhooks (a further
// row only for each partner after the first), a batch of events in one
// insert.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/auth"
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

// Recording a batch of events takes, in one transaction (the bus's batch
// transaction, or one of its own):
//
//  1. the registered-scope lock, shared (see lockRegisteredScope);
//  2. in a statement of its own, so that its snapshot sees an endpoint of
//     scope registered committed while 1 waited: whether any endpoint is
//     enabled, and while endpoints of scope registered are enabled, the
//     lock of every partition of the batch (in one order, by lock key, so
//     that two recording transactions never deadlock). One partition's
//     events are then recorded one transaction at a time, so that a
//     partner's registration and another service's concurrent event about
//     it never miss each other's deliveries to the registrant's endpoints
//     (the statements after the lock see what the other committed).
//     Without such endpoints there is nothing to miss, and no lock;
//  3. one insert of every event (each once by source and id; a copy of the
//     ordering columns for each partner after the first) and of the
//     registrants they name;
//
// 1 to 3 go in one round trip. Only when an endpoint is enabled, a second
// one creates the deliveries (recordDeliveries).
const (
	lockRecording  = `SELECT pg_advisory_xact_lock_shared($1, $2)`
	lockPartitions = `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE status = 'enabled'),
	(SELECT count(pg_advisory_xact_lock($1, k.h)) FROM (SELECT DISTINCT hashtext(p) AS h FROM unnest($2::text[]) AS p ORDER BY 1) k
		WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE scope = 'registered' AND status = 'enabled'))`
	insertEvents = `WITH batch AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::bigint[],
		$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
		$17::text[], $18::text[], $19::text[], $20::text[])
		WITH ORDINALITY AS b (source, id, type, subject, time, partition_key, sequence, correlationid, causationid,
			authtype, authid, data, datacontenttype, dataschema, traceparent, dataclassification, extensions,
			partners, registrant_partner, registrant, ord)),
ins AS (
	INSERT INTO events (source, id, type, subject, time, partition_key, sequence, correlationid, causationid,
		authtype, authid, data, datacontenttype, dataschema, traceparent, dataclassification, extensions, partners)
	SELECT source, id, type, subject, time, partition_key, sequence, correlationid, causationid, authtype, authid,
		data::jsonb, datacontenttype, dataschema, traceparent, dataclassification, extensions::jsonb,
		string_to_array(partners, ' ')
	FROM batch ORDER BY ord
	ON CONFLICT (source, id) DO NOTHING
	RETURNING source, id, type, time, sequence, tx, pos, partners),
others AS (INSERT INTO other_partner_events (source, event_id, partner_id, time, sequence, type, tx, pos)
	SELECT ins.source, ins.id, p, ins.time, ins.sequence, ins.type, ins.tx, ins.pos FROM ins, unnest(ins.partners[2:]) AS p),
registrants AS (INSERT INTO partner_registrants (partner_id, principal)
	SELECT DISTINCT ON (b.registrant_partner) b.registrant_partner, b.registrant
	FROM ins JOIN batch b ON b.source = ins.source AND b.id = ins.id
	WHERE b.registrant_partner <> '' ORDER BY b.registrant_partner, b.ord
	ON CONFLICT (partner_id) DO NOTHING
	RETURNING partner_id, principal)
SELECT ARRAY(SELECT source FROM ins), ARRAY(SELECT id FROM ins),
	ARRAY(SELECT partner_id FROM registrants), ARRAY(SELECT principal FROM registrants)`
)

// recordDeliveries creates, claimed until $6, the deliveries of the fresh
// events ($1, $2; $3 the principal each says registered its partner) to
// every enabled endpoint that is to be sent them, and, for each partner
// registered in the batch ($4 by $5), the deliveries to its registrant's
// endpoints of scope registered of the partner's events recorded before
// (the streams are read in parallel: another service's reaction may arrive
// first). It answers the deliveries of the fresh events with their event
// and endpoint, and the others' ids.
const recordDeliveries = `WITH fresh AS (
	SELECT e.source, e.id, e.type, e.authtype, e.authid, e.partners, f.principal
	FROM unnest($1::text[], $2::text[], $3::text[]) AS f (source, id, principal)
	JOIN events e ON e.source = f.source AND e.id = f.id),
own AS (
	SELECT w.id AS endpoint_id, f.source, f.id, f.type FROM fresh f JOIN webhook_endpoints w ON w.status = 'enabled'
	WHERE (cardinality(w.event_types) = 0 OR EXISTS (SELECT 1 FROM unnest(w.event_types) t WHERE starts_with(f.type, t)))
	AND (w.scope = 'all' OR w.consumer = f.principal OR (f.authtype = 'service_account' AND f.authid = w.consumer)
		OR EXISTS (SELECT 1 FROM partner_registrants r WHERE r.partner_id = ANY(f.partners) AND r.principal = w.consumer))),
registered AS (SELECT * FROM unnest($4::text[], $5::text[]) AS r (partner_id, principal)),
earlier AS (
	SELECT w.id AS endpoint_id, x.source, x.id, x.type
	FROM registered r
	JOIN LATERAL (SELECT e.source, e.id, e.type FROM events e WHERE e.partner_id = r.partner_id
		UNION ALL SELECT o.source, o.event_id, o.type FROM other_partner_events o WHERE o.partner_id = r.partner_id) x ON true
	JOIN webhook_endpoints w ON w.status = 'enabled' AND w.scope = 'registered' AND w.consumer = r.principal
	WHERE (cardinality(w.event_types) = 0 OR EXISTS (SELECT 1 FROM unnest(w.event_types) t WHERE starts_with(x.type, t)))
	AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.source = x.source AND f.id = x.id)),
created AS (INSERT INTO webhook_deliveries (id, endpoint_id, event_source, event_id, event_type, next_attempt_at)
	SELECT 'wd_' || gen_random_uuid(), c.endpoint_id, c.source, c.id, c.type, $6::timestamptz
	FROM (SELECT * FROM own UNION SELECT * FROM earlier) c
	ON CONFLICT (endpoint_id, event_source, event_id) DO NOTHING
	RETURNING id, endpoint_id, event_source, event_id)
SELECT c.id, c.endpoint_id, c.event_source, c.event_id,
	EXISTS (SELECT 1 FROM fresh f WHERE f.source = c.event_source AND f.id = c.event_id)
FROM created c`

// Record stores one event (RecordAll of one).
func (s *Store) Record(ctx context.Context, e domain.Event, partners []string, registrant domain.Registrant, claimUntil time.Time) (bool, []app.NewDelivery, error) {
	out, err := s.RecordAll(ctx, []app.Recording{{Event: e, Partners: partners, Registrant: registrant}}, claimUntil)
	if err != nil {
		return false, nil, err
	}
	return out[0].Fresh, out[0].Deliveries, nil
}

// RecordAll implements app.Store: a batch in one or two round trips,
// whatever its size.
func (s *Store) RecordAll(ctx context.Context, recs []app.Recording, claimUntil time.Time) ([]app.Stored, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	var out []app.Stored
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = recordAll(ctx, tx, recs, claimUntil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record events: %w", err)
	}
	return out, nil
}

func recordAll(ctx context.Context, tx pgx.Tx, recs []app.Recording, claimUntil time.Time) ([]app.Stored, error) {
	n := len(recs)
	var (
		sources, ids, types, subjects, keys, corr, caus, authTypes, authIDs  = col(n), col(n), col(n), col(n), col(n), col(n), col(n), col(n), col(n)
		contentTypes, schemas, traces, classes, partners, regPartners, regBy = col(n), col(n), col(n), col(n), col(n), col(n), col(n)
		data, ext                                                            = make([]*string, n), make([]*string, n)
		times                                                                = make([]time.Time, n)
		seqs                                                                 = make([]int64, n)
	)
	for i, r := range recs {
		e := r.Event
		sources[i], ids[i], types[i], subjects[i], times[i], keys[i], seqs[i] = e.Source, e.ID, e.Type, e.Subject, e.Time, e.PartitionKey, int64(e.Sequence)
		corr[i], caus[i], authTypes[i], authIDs[i] = e.CorrelationID, e.CausationID, e.AuthType, e.AuthID
		contentTypes[i], schemas[i], traces[i], classes[i] = e.DataContentType, e.DataSchema, e.TraceParent, e.DataClassification
		if len(e.Data) > 0 {
			d := string(e.Data)
			data[i] = &d
		}
		if len(e.Extensions) > 0 {
			x, _ := json.Marshal(e.Extensions) // strings only
			xs := string(x)
			ext[i] = &xs
		}
		ps := slices.Clone(r.Partners)
		slices.Sort(ps)
		partners[i] = strings.Join(slices.Compact(ps), " ") // partner IDs have no spaces
		regPartners[i], regBy[i] = r.Registrant.PartnerID, r.Registrant.Principal
	}
	var (
		anyEndpoint                   bool
		locked                        int64
		freshSources, freshIDs        []string
		newRegistered, newRegistrants []string
	)
	b := &pgx.Batch{}
	b.Queue(lockRecording, registeredScopeLockClass, registeredScopeLockKey)
	b.Queue(lockPartitions, partitionLockClass, keys).QueryRow(func(row pgx.Row) error { return row.Scan(&anyEndpoint, &locked) })
	b.Queue(insertEvents, sources, ids, types, subjects, times, keys, seqs, corr, caus, authTypes, authIDs, data,
		contentTypes, schemas, traces, classes, ext, partners, regPartners, regBy).QueryRow(func(row pgx.Row) error {
		return row.Scan(&freshSources, &freshIDs, &newRegistered, &newRegistrants)
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	out := make([]app.Stored, n)
	at := map[[2]string]int{} // the first recording of each event
	for i := n - 1; i >= 0; i-- {
		at[[2]string{sources[i], ids[i]}] = i
	}
	principals := make([]string, len(freshIDs))
	for j := range freshIDs {
		i := at[[2]string{freshSources[j], freshIDs[j]}]
		out[i].Fresh = true
		principals[j] = regBy[i]
	}
	if !anyEndpoint || len(freshIDs) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, recordDeliveries, freshSources, freshIDs, principals, newRegistered, newRegistrants, claimUntil)
	if err != nil {
		return nil, fmt.Errorf("create webhook deliveries: %w", err)
	}
	var (
		id, endpoint, source, event string
		own                         bool
	)
	backfill := -1 // the deliveries of earlier events go with a registration
	for i := range recs {
		if out[i].Fresh && recs[i].Registrant.PartnerID != "" {
			backfill = i
			break
		}
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &endpoint, &source, &event, &own}, func() error {
		if own {
			i := at[[2]string{source, event}]
			out[i].Deliveries = append(out[i].Deliveries, app.NewDelivery{ID: id, EndpointID: endpoint})
		} else if backfill >= 0 {
			out[backfill].Deliveries = append(out[backfill].Deliveries, app.NewDelivery{ID: id}) // of another event: loaded when sent
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create webhook deliveries: %w", err)
	}
	return out, nil
}

func col(n int) []string { return make([]string, n) }

// partitionLockClass is the first key of the timeline's per-partition
// advisory locks (the second is the partition key's hash).
const partitionLockClass = 0x7469_6d65 // "time"

// registeredScopeLock are the keys of the lock that recording transactions
// take shared and the creation or enabling of an endpoint of scope
// registered takes exclusively.
const registeredScopeLockClass, registeredScopeLockKey = 0x7768_6b73, 1 // "whks"

// lockRegisteredScope waits until no recording transaction runs and keeps
// new ones waiting until tx ends: an endpoint of scope registered created
// or enabled in tx is seen by every recording transaction that follows,
// and by none that ran before (which then had nothing to serialize).
func lockRegisteredScope(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, registeredScopeLockClass, registeredScopeLockKey)
	return err
}

// RecordDeadLetter implements app.Store.
func (s *Store) RecordDeadLetter(ctx context.Context, e domain.Event, partners []string, timeKnown bool) (int, error) {
	dl := e.DeadLetter
	var times int
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		var data []byte
		if len(e.Data) > 0 {
			data = e.Data
		}
		// A later dead letter of the same event by the same handler (a
		// replay refused again) updates the row; the same one delivered
		// again, or one whose time is not known ($18 false), changes nothing.
		err := tx.QueryRow(ctx, `INSERT INTO dead_letters (service, handler, source, id, code, reason, delivered, type, subject,
			time, partition_key, sequence, correlationid, causationid, authtype, authid, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			ON CONFLICT (service, handler, source, id) DO UPDATE SET code = EXCLUDED.code, reason = EXCLUDED.reason,
				delivered = EXCLUDED.delivered, times = dead_letters.times + 1, last_at = EXCLUDED.time
			WHERE $18 AND EXCLUDED.time > COALESCE(dead_letters.last_at, dead_letters.time)
			RETURNING times`,
			dl.Service, dl.Handler, e.Source, e.ID, dl.Code, dl.Reason, dl.Delivered, e.Type, e.Subject,
			e.Time, e.PartitionKey, int64(e.Sequence), e.CorrelationID, e.CausationID, e.AuthType, e.AuthID, data, timeKnown).Scan(&times)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("insert dead letter: %w", err)
		}
		if times > 1 {
			return nil // indexed under its partners when it was first recorded
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
	return times, err
}

// Page implements app.Store: the partner's events and, when deadLetters,
// its dead letters, merged in timeline order.
func (s *Store) Page(ctx context.Context, partner string, after *domain.Position, typePrefixes []string, limit int, deadLetters bool) ([]domain.Event, error) {
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
	events := strings.ReplaceAll(strings.ReplaceAll(where, "{dl}", "''::text"), "x.event_id", "x.id")
	others := strings.ReplaceAll(where, "{dl}", "''::text")
	dls := ""
	if deadLetters {
		dls = `
			UNION ALL
			(SELECT x.time, x.source, x.sequence, x.event_id, x.dl, x.service, x.handler
				FROM partner_dead_letters x WHERE ` + strings.ReplaceAll(where, "{dl}", "x.dl") + `
				ORDER BY x.time, x.source, x.sequence, x.event_id, x.dl LIMIT $2)`
	}
	// The partner's events (those it is the first partner of, and those it
	// is a further partner of) and its dead letters, each an index range
	// scan in timeline order, merged.
	rows, err := pg.Q(ctx, s.pool).Query(ctx, `WITH entries AS (
			(SELECT x.time, x.source, x.sequence, x.id AS event_id, ''::text AS dl, ''::text AS service, ''::text AS handler
				FROM events x WHERE `+events+`
				ORDER BY x.time, x.source, x.sequence, x.id LIMIT $2)
			UNION ALL
			(SELECT x.time, x.source, x.sequence, x.event_id, ''::text, ''::text, ''::text
				FROM other_partner_events x WHERE `+others+`
				ORDER BY x.time, x.source, x.sequence, x.event_id LIMIT $2)`+dls+`
		)
		SELECT x.source, x.event_id, x.service, x.handler, COALESCE(e.type, d.type), COALESCE(e.subject, d.subject),
			COALESCE(e.time, d.time), COALESCE(e.partition_key, d.partition_key), COALESCE(e.sequence, d.sequence),
			COALESCE(e.correlationid, d.correlationid), COALESCE(e.causationid, d.causationid),
			COALESCE(e.authtype, d.authtype), COALESCE(e.authid, d.authid), COALESCE(e.extensions->>'`+auth.ExtAuthClaims+`', ''),
			CASE WHEN x.dl = '' THEN e.data ELSE d.data END, COALESCE(e.recorded_at, d.recorded_at),
			COALESCE(d.code, ''), COALESCE(d.reason, ''), COALESCE(d.delivered, 0), COALESCE(d.times, 0), d.last_at
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
			claims           string
			dl               domain.DeadLetter
			lastAt           *time.Time
		)
		if err := rows.Scan(&e.Source, &e.ID, &service, &handler, &e.Type, &e.Subject, &e.Time, &e.PartitionKey, &seq,
			&e.CorrelationID, &e.CausationID, &e.AuthType, &e.AuthID, &claims, &data, &e.RecordedAt,
			&dl.Code, &dl.Reason, &dl.Delivered, &dl.Times, &lastAt); err != nil {
			return nil, fmt.Errorf("scan timeline: %w", err)
		}
		if claims != "" { // who may read the actor (the partner's side: app.partnerSide)
			e.Extensions = map[string]string{auth.ExtAuthClaims: claims}
		}
		e.Sequence = uint64(seq)
		if data != nil {
			e.Data = json.RawMessage(data)
		}
		if service != "" {
			dl.Service, dl.Handler = service, handler
			if lastAt != nil {
				dl.LastAt = lastAt.UTC()
			}
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
	rows, err := q.Query(ctx, `SELECT source, count(*) FROM (SELECT source FROM events WHERE partner_id = $1
		UNION ALL SELECT source FROM other_partner_events WHERE partner_id = $1) x GROUP BY source ORDER BY source`, partner)
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
	pruned := map[string]uint64{}
	rows, err = q.Query(ctx, `SELECT source, through FROM pruned WHERE partition_key = $1`, partner)
	if err != nil {
		return nil, fmt.Errorf("read pruned sequences: %w", err)
	}
	for rows.Next() {
		var (
			source  string
			through int64
		)
		if err := rows.Scan(&source, &through); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan pruned sequences: %w", err)
		}
		pruned[source] = uint64(through)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pruned sequences: %w", err)
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
		out[i].LastSequence = pruned[out[i].Source]
		if len(ss) > 0 {
			out[i].LastSequence = max(out[i].LastSequence, ss[len(ss)-1])
		}
		out[i].Gaps, out[i].GapsTruncated = domain.GapsAfter(pruned[out[i].Source], ss, domain.MaxGaps)
	}
	return out, nil
}

// feedHorizon is the newest transaction id whose rows the feed may serve:
// every transaction below the oldest one still running has ended, so no row
// can appear behind a reader's cursor later.
const feedHorizon = `pg_snapshot_xmin(pg_current_snapshot())::text::bigint`

// eventColumns are the columns of an event as the feed reads them (table e).
const eventColumns = `e.source, e.id, e.type, e.subject, e.time, e.partition_key, e.sequence, e.correlationid,
	e.causationid, e.authtype, e.authid, e.data, e.recorded_at, e.datacontenttype, e.dataschema, e.traceparent,
	e.dataclassification, e.extensions, e.tx, e.pos`

func scanEvent(row pgx.CollectableRow) (domain.Event, error) {
	var (
		e         domain.Event
		seq       int64
		data, ext []byte
	)
	if err := row.Scan(&e.Source, &e.ID, &e.Type, &e.Subject, &e.Time, &e.PartitionKey, &seq, &e.CorrelationID,
		&e.CausationID, &e.AuthType, &e.AuthID, &data, &e.RecordedAt, &e.DataContentType, &e.DataSchema, &e.TraceParent,
		&e.DataClassification, &ext, &e.Feed.Tx, &e.Feed.Pos); err != nil {
		return domain.Event{}, err
	}
	e.Sequence = uint64(seq)
	if data != nil {
		e.Data = json.RawMessage(data)
	}
	if ext != nil {
		if err := json.Unmarshal(ext, &e.Extensions); err != nil {
			return domain.Event{}, fmt.Errorf("extensions of %s: %w", e.ID, err)
		}
	}
	return e, nil
}

// Feed implements app.Store.
func (s *Store) Feed(ctx context.Context, q app.FeedQuery) ([]domain.Event, error) {
	args := []any{q.After.Tx, q.After.Pos, q.Limit}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var sql string
	switch {
	case q.Partner != "":
		// The events the partner is the first partner of, and those it is a
		// further partner of, each an index range scan in feed order, merged.
		p := arg(q.Partner)
		var types string
		if len(q.TypePrefixes) > 0 {
			types = ` AND EXISTS (SELECT 1 FROM unnest(` + arg(q.TypePrefixes) + `::text[]) p WHERE starts_with(x.type, p))`
		}
		sql = `(SELECT ` + eventColumns + ` FROM events e WHERE e.partner_id = ` + p + ` AND (e.tx, e.pos) > ($1, $2) AND e.tx < ` + feedHorizon +
			strings.ReplaceAll(types, "x.type", "e.type") + ` ORDER BY e.tx, e.pos LIMIT $3)
			UNION ALL
			(SELECT ` + eventColumns + ` FROM other_partner_events x JOIN events e ON e.source = x.source AND e.id = x.event_id
			WHERE x.partner_id = ` + p + ` AND (x.tx, x.pos) > ($1, $2) AND x.tx < ` + feedHorizon + types + ` ORDER BY x.tx, x.pos LIMIT $3)
			ORDER BY tx, pos LIMIT $3`
	default:
		sql = `SELECT ` + eventColumns + ` FROM events e WHERE (e.tx, e.pos) > ($1, $2) AND e.tx < ` + feedHorizon
		if q.Registrant != "" {
			u := arg(q.Registrant)
			sql += ` AND ((e.authtype = 'service_account' AND e.authid = ` + u + `) OR EXISTS (SELECT 1 FROM partner_registrants r
				WHERE r.partner_id = ANY(e.partners) AND r.principal = ` + u + `))`
		}
		if len(q.TypePrefixes) > 0 {
			sql += ` AND EXISTS (SELECT 1 FROM unnest(` + arg(q.TypePrefixes) + `::text[]) p WHERE starts_with(e.type, p))`
		}
		sql += ` ORDER BY e.tx, e.pos LIMIT $3`
	}
	rows, err := pg.Q(ctx, s.pool).Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("read the feed: %w", err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("read the feed: %w", err)
	}
	return events, nil
}

// RegisteredBy implements app.Store.
func (s *Store) RegisteredBy(ctx context.Context, partner string) (string, error) {
	var principal string
	err := pg.Q(ctx, s.pool).QueryRow(ctx, `SELECT principal FROM partner_registrants WHERE partner_id = $1`, partner).Scan(&principal)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("registrant of %s: %w", partner, err)
	}
	return principal, nil
}

// Prune implements app.Store: up to limit events recorded before cutoff,
// with their further partners' rows (and webhook deliveries), and the dead letters
// recorded before it; the highest sequence deleted per producer and
// partition is kept so that it is not reported as a gap.
func (s *Store) Prune(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int
	err := pg.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, pruneEvents, cutoff, limit).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM partner_dead_letters x USING dead_letters d WHERE d.recorded_at < $1
			AND x.service = d.service AND x.handler = d.handler AND x.source = d.source AND x.event_id = d.id`, cutoff); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM dead_letters WHERE recorded_at < $1`, cutoff)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return n, nil
}

// pruneEvents deletes the oldest expired events and what refers to them in
// one statement (the foreign keys are checked at its end).
const pruneEvents = `WITH expired AS (
	SELECT source, id FROM events WHERE recorded_at < $1 ORDER BY recorded_at LIMIT $2),
others AS (DELETE FROM other_partner_events x USING expired e WHERE x.source = e.source AND x.event_id = e.id),
delivered AS (DELETE FROM webhook_deliveries d USING expired e WHERE d.event_source = e.source AND d.event_id = e.id),
gone AS (DELETE FROM events e USING expired x WHERE e.source = x.source AND e.id = x.id
	RETURNING e.source, e.partition_key, e.sequence),
kept AS (INSERT INTO pruned (source, partition_key, through)
	SELECT source, partition_key, max(sequence) FROM gone WHERE sequence > 0 GROUP BY source, partition_key
	ON CONFLICT (source, partition_key) DO UPDATE SET through = GREATEST(pruned.through, EXCLUDED.through))
SELECT count(*) FROM gone`
