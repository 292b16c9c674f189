package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/telemetry"
)

// Relay moves outbox rows to JetStream.
type Relay struct {
	pool  *pgxpool.Pool
	js    jetstream.JetStream
	cfg   RelayConfig
	log   *slog.Logger
	tel   *telemetry.Telemetry
	class int32
	wake  chan struct{}
	// published counts events this relay published (tests, logs).
	published atomic.Int64
	running   chan struct{}
}

// NewRelay builds the relay of the outbox in schema (the pool's search path).
func NewRelay(pool *pgxpool.Pool, js jetstream.JetStream, schema string, cfg RelayConfig, log *slog.Logger, tel *telemetry.Telemetry) *Relay {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 5 * time.Second
	}
	return &Relay{pool: pool, js: js, cfg: cfg, log: log, tel: tel, class: lockClass(schema),
		wake: make(chan struct{}, 1), running: make(chan struct{})}
}

// Wake asks the relay to look for rows now; it never blocks.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Running is closed once the relay runs.
func (r *Relay) Running() <-chan struct{} { return r.running }

// Published is how many events this relay has published.
func (r *Relay) Published() int64 { return r.published.Load() }

// Run relays until ctx ends: when woken by a commit, and every PollInterval.
func (r *Relay) Run(ctx context.Context) error {
	close(r.running)
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-poll.C:
		}
		r.Drain(ctx)
		if !poll.Stop() {
			select {
			case <-poll.C:
			default:
			}
		}
		poll.Reset(r.cfg.PollInterval)
	}
}

// Drain relays until the outbox is empty (or only holds buckets another
// relay is working on, after a short wait for them), ctx ends or publishing
// fails; it reports whether the outbox was left empty.
func (r *Relay) Drain(ctx context.Context) bool {
	failures, waits := 0, 0
	for ctx.Err() == nil {
		n, busy, err := r.relayBatch(ctx)
		if err != nil {
			failures++
			if ctx.Err() == nil {
				r.log.Warn("outbox relay: publish failed; will retry", "err", err, "attempt", failures)
			}
			if failures >= 6 || !sleep(ctx, backoff(failures)) {
				return false // the poll tries again
			}
			continue
		}
		failures = 0
		switch {
		case n == r.cfg.BatchSize:
			continue // more is waiting
		case busy:
			// What is left is in buckets another relay holds: it publishes
			// them, or releases them in a moment and they are ours.
			if waits++; waits > 100 || !sleep(ctx, 5*time.Millisecond) {
				return false
			}
		default:
			// Rows committed since the batch began woke the relay again.
			return true
		}
	}
	return false
}

// lockBuckets lists the buckets that hold rows (a loose index scan: one
// probe per bucket, however long the backlog) and takes the advisory lock
// of each one no other relay holds.
const lockBuckets = `WITH RECURSIVE b AS (
	(SELECT bucket FROM outbox ORDER BY bucket LIMIT 1)
	UNION ALL
	SELECT (SELECT o.bucket FROM outbox o WHERE o.bucket > b.bucket ORDER BY o.bucket LIMIT 1) FROM b WHERE b.bucket IS NOT NULL
)
SELECT bucket, pg_try_advisory_xact_lock($1, bucket) FROM b WHERE bucket IS NOT NULL`

// legacyBucket holds the rows the old queue had not published when the
// outbox table replaced it: they are published before any other.
const legacyBucket = -1

// takeRows deletes the oldest rows of the locked buckets; the transaction
// commits only once all of them are published.
const takeRows = `DELETE FROM outbox WHERE id IN (
	SELECT id FROM outbox WHERE bucket = ANY($1) ORDER BY id LIMIT $2)
RETURNING id, partition_key, sequence, subject, event_id, headers, payload`

type row struct {
	id       int64
	key      string
	sequence *int64
	subject  string
	eventID  string
	headers  []byte
	payload  []byte
}

// relayBatch publishes one batch and reports how many rows it published
// and whether rows were left in buckets another relay holds.
func (r *Relay) relayBatch(ctx context.Context) (n int, busy bool, err error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit it is a no-op
	// A delete lost in a crash only publishes a row again, which the stream
	// drops as a duplicate Nats-Msg-Id: the relay need not wait for the WAL.
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL synchronous_commit = off`)
	b.Queue(lockBuckets, r.class)
	br := tx.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return 0, false, err
	}
	locked, err := br.Query()
	if err != nil {
		_ = br.Close()
		return 0, false, fmt.Errorf("lock buckets: %w", err)
	}
	type lock struct {
		Bucket int16
		Locked bool
	}
	locks, err := pgx.CollectRows(locked, pgx.RowToStructByPos[lock])
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, false, fmt.Errorf("lock buckets: %w", err)
	}
	var buckets []int16
	for _, l := range locks {
		if l.Bucket == legacyBucket {
			// Rows moved from the old queue go first, whoever their
			// partner: nothing else until they are out.
			if !l.Locked {
				return 0, true, nil
			}
			buckets = []int16{legacyBucket}
			break
		}
		if l.Locked {
			buckets = append(buckets, l.Bucket)
		} else {
			busy = true
		}
	}
	if len(buckets) == 0 {
		return 0, busy, nil
	}
	rows, err := tx.Query(ctx, takeRows, buckets, r.cfg.BatchSize)
	if err != nil {
		return 0, busy, fmt.Errorf("take rows: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		var x row
		err := cr.Scan(&x.id, &x.key, &x.sequence, &x.subject, &x.eventID, &x.headers, &x.payload)
		return x, err
	})
	if err != nil {
		return 0, busy, fmt.Errorf("take rows: %w", err)
	}
	if len(batch) == 0 {
		return 0, busy, nil
	}
	slices.SortFunc(batch, func(a, b row) int { return int(a.id - b.id) })
	if err := r.publish(ctx, batch); err != nil {
		return 0, busy, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, busy, fmt.Errorf("delete published rows: %w", err)
	}
	r.published.Add(int64(len(batch)))
	return len(batch), busy, nil
}

// publish sends every row asynchronously, in id order on one connection (so
// a bucket's rows reach the stream in order), and waits for all the acks.
func (r *Relay) publish(ctx context.Context, batch []row) error {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	types := make([]string, len(batch))
	var spans []func(error)
	for i, x := range batch {
		var h map[string]string
		if err := json.Unmarshal(x.headers, &h); err != nil {
			return fmt.Errorf("outbox row %d: headers: %w", x.id, err)
		}
		if x.sequence != nil {
			h[ce.HSequence] = ce.FormatSequence(uint64(*x.sequence))
		}
		types[i] = h[ce.HType]
		// The partition keeps one partner's events on one consumer (see
		// bus.Partitions).
		subject := bus.PartitionSubject(x.subject, bus.PartitionFor(x.key))
		msg := &nats.Msg{Subject: subject, Data: x.payload, Header: make(nats.Header, len(h)+1)}
		for k, v := range h {
			msg.Header[k] = []string{v} // verbatim: the SDK reads lower-case ce-* names only
		}
		if r.tel != nil && r.tel.Tracing() {
			spans = append(spans, publishSpan(r.tel, subject, x.eventID, h))
		}
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(x.eventID))
		if err != nil {
			r.fail(spans, err)
			return fmt.Errorf("publish %s: %w", x.eventID, err)
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(r.cfg.PublishTimeout)
	defer timeout.Stop()
	var errs []error
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("publish %s: %w", batch[i].eventID, err))
		case <-timeout.C:
			err := fmt.Errorf("no acknowledgement for %d events within %s", len(futures)-i, r.cfg.PublishTimeout)
			r.fail(spans, err)
			return err
		case <-ctx.Done():
			r.fail(spans, ctx.Err())
			return ctx.Err()
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.fail(spans, err)
		return err
	}
	for _, end := range spans {
		end(nil)
	}
	if r.tel != nil {
		for _, t := range types {
			r.tel.Outbox.Published(t)
		}
	}
	return nil
}

func (r *Relay) fail(spans []func(error), err error) {
	for _, end := range spans {
		end(err)
	}
	if r.tel != nil {
		r.tel.Outbox.PublishFailed()
	}
}

func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 6)
	return min(d, 2*time.Second)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
