// Package inbox makes consumers idempotent: a handler records the (source,
// id) of each event it processes in its own schema, in the same transaction
// as its effects, and the bus acknowledges only after that commits.
package inbox

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Key is one event as one handler processes it.
type Key struct {
	Handler string // the subscription's inbox name
	Source  string
	ID      string
	Type    string
	// Digest, when set, is the event's content (Digest): an event whose id
	// was processed before with another digest is Reused, not Processed.
	// Left empty, a repeated id is Processed whatever its content.
	Digest []byte
}

// Digest is the content of an event as Key.Digest compares it: its type
// and data.
func Digest(eventType string, data []byte) []byte {
	h := sha256.New()
	h.Write([]byte(eventType))
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}

// Claimed is what a claim found of one key.
type Claimed uint8

const (
	// Processed: the event was processed before (a redelivery); its
	// handler must do nothing.
	Processed Claimed = iota
	// Fresh: first seen; its handler runs in the claiming transaction.
	Fresh
	// Reused: the id was processed before with other content (Key.Digest)
	// — a publisher reused it —, and this content was not seen under it
	// before: its answer is owed once (the claim recorded it).
	Reused
)

func (k Key) compare(o Key) int {
	return cmp.Or(cmp.Compare(k.Handler, o.Handler), cmp.Compare(k.Source, o.Source), cmp.Compare(k.ID, o.ID))
}

// claimSQL records a batch's keys, in the order given, and returns those
// that were fresh.
const claimSQL = `INSERT INTO inbox (handler, source, event_id, event_type)
	SELECT handler, source, event_id, event_type
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS k(handler, source, event_id, event_type, n)
	ORDER BY n
	ON CONFLICT DO NOTHING
	RETURNING handler, source, event_id, NULL::bytea, false`

// claimDigestSQL is claimSQL for keys with digests: it also records, under
// handler#digest, each key whose content differs from the first its id was
// claimed with — the inbox row's digest, or when the id is new the first
// of the batch's — (a row written before digests were kept has none, and
// matches any), and returns those rows that were new with their digest,
// as reused. Every part reads the inbox as it was before the statement.
const claimDigestSQL = `WITH k AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) WITH ORDINALITY AS k(handler, source, event_id, event_type, digest, n)),
	firsts AS (
		SELECT DISTINCT ON (k.handler, k.source, k.event_id) k.handler, k.source, k.event_id,
			CASE WHEN i.event_id IS NULL THEN k.digest ELSE i.digest END AS digest
		FROM k LEFT JOIN inbox i ON i.handler = k.handler AND i.source = k.source AND i.event_id = k.event_id
		ORDER BY k.handler, k.source, k.event_id, k.n),
	fresh AS (INSERT INTO inbox (handler, source, event_id, event_type, digest)
		SELECT handler, source, event_id, event_type, digest FROM k ORDER BY n
		ON CONFLICT DO NOTHING
		RETURNING handler, source, event_id),
	reused AS (INSERT INTO inbox (handler, source, event_id, event_type, digest)
		SELECT k.handler || '#' || encode(k.digest, 'hex'), k.source, k.event_id, k.event_type, k.digest
		FROM k JOIN firsts f ON f.handler = k.handler AND f.source = k.source AND f.event_id = k.event_id
		WHERE k.digest IS NOT NULL AND f.digest IS NOT NULL AND f.digest <> k.digest
		ORDER BY k.n
		ON CONFLICT DO NOTHING
		RETURNING split_part(handler, '#', 1) AS handler, source, event_id, digest)
	SELECT handler, source, event_id, NULL::bytea, false FROM fresh
	UNION ALL SELECT handler, source, event_id, digest, true FROM reused`

// Claim records keys as processed within tx, all in one statement, and
// reports for each what it found (Claimed). A key already processed, or
// repeated earlier in keys, is Processed: its handler must then do nothing.
//
// A batch of deliveries claims its events before any handler runs: one
// statement for the batch instead of one per event. The rows go in key
// order, so two transactions claiming the same redelivered events wait for
// each other instead of deadlocking.
func Claim(ctx context.Context, tx pgx.Tx, keys []Key) ([]Claimed, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	sql, a := statement(keys)
	rows, err := tx.Query(ctx, sql, a...)
	if err != nil {
		return nil, fmt.Errorf("inbox claim of %d events: %w", len(keys), err)
	}
	return claimed(rows, keys)
}

// QueueClaim is Claim as a statement queued on b: when its result is read,
// done gets what was found (and its error is the batch's).
func QueueClaim(b *pgx.Batch, keys []Key, done func([]Claimed) error) {
	sql, a := statement(keys)
	b.Queue(sql, a...).Query(func(rows pgx.Rows) error {
		c, err := claimed(rows, keys)
		if err != nil {
			return err
		}
		return done(c)
	})
}

// statement is the claim's SQL and arguments: claimDigestSQL when a key
// has a digest.
func statement(keys []Key) (string, []any) {
	if slices.ContainsFunc(keys, func(k Key) bool { return len(k.Digest) > 0 }) {
		return claimDigestSQL, args(keys, true)
	}
	return claimSQL, args(keys, false)
}

// args are the claim's arrays, in key order (with the digests' when
// digests is set).
func args(keys []Key, digests bool) []any {
	sorted := slices.Clone(keys)
	// Stable: of an id given twice with two contents, the first given is
	// the one recorded as fresh, as claimed() reads it.
	slices.SortStableFunc(sorted, Key.compare)
	cols := [4][]string{}
	var ds [][]byte
	for _, k := range sorted {
		cols[0] = append(cols[0], k.Handler)
		cols[1] = append(cols[1], k.Source)
		cols[2] = append(cols[2], k.ID)
		cols[3] = append(cols[3], k.Type)
		if digests {
			ds = append(ds, k.Digest)
		}
	}
	if digests {
		return []any{cols[0], cols[1], cols[2], cols[3], ds}
	}
	return []any{cols[0], cols[1], cols[2], cols[3]}
}

// claimed reads the fresh and reused keys from rows and tells, for each of
// keys, what was found.
func claimed(rows pgx.Rows, keys []Key) ([]Claimed, error) {
	type id struct{ handler, source, id string }
	type content struct {
		id
		digest string
	}
	fresh := make(map[id]bool, len(keys))
	reused := map[content]bool{} // owed an answer, until given
	var (
		k       id
		digest  []byte
		isReuse bool
	)
	_, err := pgx.ForEachRow(rows, []any{&k.handler, &k.source, &k.id, &digest, &isReuse}, func() error {
		if isReuse {
			reused[content{k, string(digest)}] = true
		} else {
			fresh[k] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inbox claim of %d events: %w", len(keys), err)
	}
	out := make([]Claimed, len(keys))
	for i, key := range keys {
		k := id{key.Handler, key.Source, key.ID}
		c := content{k, string(key.Digest)}
		switch {
		case fresh[k]:
			out[i] = Fresh
			delete(fresh, k) // a repeat later in keys is Processed
		case reused[c]:
			out[i] = Reused
			delete(reused, c)
		default:
			out[i] = Processed // processed before, or a repeat earlier in keys
		}
	}
	return out, nil
}
