package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
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

// Relay moves outbox rows to JetStream: the rows of the partitions this
// instance owns (bus.Owner), so that one relay at a time publishes a
// partner's events, in commit order, while the relays of other instances
// publish other partitions.
//
// A batch is read without a transaction, published asynchronously and
// remembered; published rows are deleted in one statement about once per
// FlushInterval (and before a partition is given back), not one
// transaction per batch. A crash before the delete publishes those rows
// again, which JetStream drops as duplicates of the same Nats-Msg-Id.
type Relay struct {
	pool  *pgxpool.Pool
	js    jetstream.JetStream
	cfg   RelayConfig
	log   *slog.Logger
	tel   *telemetry.Telemetry
	owner *bus.Owner
	wake  chan struct{}

	mu        sync.Mutex // one drain or flush at a time
	sent      []int64    // published, not deleted yet
	lastFlush time.Time

	published atomic.Int64
	running   chan struct{}
}

// NewRelay builds the relay of the outbox the pool's search path reaches,
// publishing the partitions owner assigns (every partition when nil).
func NewRelay(pool *pgxpool.Pool, js jetstream.JetStream, owner *bus.Owner, cfg RelayConfig, log *slog.Logger, tel *telemetry.Telemetry) *Relay {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 5 * time.Second
	}
	r := &Relay{pool: pool, js: js, cfg: cfg, log: log, tel: tel, owner: owner,
		wake: make(chan struct{}, 1), running: make(chan struct{}), lastFlush: time.Now(), sent: []int64{}}
	if owner != nil {
		owner.Join(r)
		owner.OnNotify(func(int) { r.Wake() })
	}
	return r
}

// Wake asks the relay to look for rows now; it never blocks.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// TakePartition wakes the relay for a partition it now owns (rows another
// instance left there are published).
func (r *Relay) TakePartition(context.Context, int, bool) { r.Wake() }

// GivePartition deletes what the relay published before the partition
// goes to another instance, so that little is published twice.
func (r *Relay) GivePartition(int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.flush(context.Background()); err != nil {
		r.log.Warn("outbox relay: delete published rows", "err", err)
	}
}

// Running is closed once the relay runs.
func (r *Relay) Running() <-chan struct{} { return r.running }

// Published is how many events this relay has published.
func (r *Relay) Published() int64 { return r.published.Load() }

// idlePolls is how many PollIntervals a relay whose last drain succeeded
// (and left no published row to delete) waits before its safety poll:
// every row is woken for (by its own commit, an owner notification from
// another instance, or a partition taken over), so the poll only catches
// what nothing woke it for, and an idle stack made one query per service
// every PollInterval (2 s) for it. After a failed drain, or while published
// rows wait for their delete, it polls every PollInterval.
const idlePolls = 15

// Run relays until ctx ends: when woken by a commit, and every PollInterval
// after a failed drain (idlePolls of them after one that succeeded).
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
		wait := r.cfg.PollInterval
		if r.Drain(ctx) && r.unflushed() == 0 {
			wait *= idlePolls
		}
		if !poll.Stop() {
			select {
			case <-poll.C:
			default:
			}
		}
		poll.Reset(wait)
	}
}

// unflushed is how many published rows wait for their delete.
func (r *Relay) unflushed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

// Drain publishes every row of the owned partitions, and deletes the
// published rows when they are due (or ctx is ending: flush); it reports
// whether nothing was left unpublished.
func (r *Relay) Drain(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	failures := 0
	for ctx.Err() == nil {
		n, err := r.relayBatch(ctx)
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
		if n < r.cfg.BatchSize {
			break
		}
	}
	if len(r.sent) >= r.cfg.BatchSize || time.Since(r.lastFlush) >= r.cfg.FlushInterval {
		if err := r.flush(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("outbox relay: delete published rows", "err", err)
		}
	}
	return ctx.Err() == nil
}

// Flush deletes every published row now (at shutdown, after the last Drain).
func (r *Relay) Flush(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flush(ctx)
}

// flush deletes the published rows; r.mu is held.
func (r *Relay) flush(ctx context.Context) error {
	r.lastFlush = time.Now()
	if len(r.sent) == 0 {
		return nil
	}
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after commit
	// A delete lost in a crash only publishes rows again, which the stream
	// drops as duplicates: it need not wait for the WAL.
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL synchronous_commit = off`)
	b.Queue(`DELETE FROM outbox WHERE id = ANY($1)`, r.sent)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	r.sent = r.sent[:0]
	return nil
}

// takeRows reads the oldest unpublished rows of the owned buckets, and of
// bucket -1: the rows the old queue had not published when the outbox
// table replaced it (published first, having the lowest ids, by the owner
// of their partition, filtered below).
const takeRows = `SELECT id, partition_key, sequence, subject, event_id, headers, payload FROM outbox
WHERE (bucket = ANY($1) OR bucket = -1) AND NOT (id = ANY($2::bigint[]))
ORDER BY id LIMIT $3`

type row struct {
	id       int64
	key      string
	sequence *int64
	subject  string
	eventID  string
	headers  []byte
	payload  []byte
}

// buckets are the outbox buckets of the owned partitions.
func (r *Relay) buckets() ([]int16, map[int]bool) {
	parts := map[int]bool{}
	if r.owner == nil {
		for p := range bus.Partitions {
			parts[p] = true
		}
	} else {
		for _, p := range r.owner.Owned() {
			parts[p] = true
		}
	}
	var out []int16
	for b := range Buckets {
		if parts[b%bus.Partitions] {
			out = append(out, int16(b))
		}
	}
	return out, parts
}

// relayBatch publishes one batch and reports how many rows it read.
func (r *Relay) relayBatch(ctx context.Context) (int, error) {
	buckets, parts := r.buckets()
	if len(buckets) == 0 {
		return 0, nil
	}
	rows, err := r.pool.Query(ctx, takeRows, buckets, r.sent, r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("read the outbox: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		var x row
		err := cr.Scan(&x.id, &x.key, &x.sequence, &x.subject, &x.eventID, &x.headers, &x.payload)
		return x, err
	})
	if err != nil {
		return 0, fmt.Errorf("read the outbox: %w", err)
	}
	read := len(batch)
	// A legacy row of a partition another instance owns is theirs.
	batch = slices.DeleteFunc(batch, func(x row) bool { return !parts[bus.PartitionFor(x.key)] })
	if len(batch) == 0 {
		return read, nil
	}
	if err := r.publish(ctx, batch); err != nil {
		return 0, err
	}
	for _, x := range batch {
		r.sent = append(r.sent, x.id)
	}
	r.published.Add(int64(len(batch)))
	return read, nil
}

// publish sends every row asynchronously, in id order on one connection (so
// a partner's rows reach the stream in order), and waits for all the acks.
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
