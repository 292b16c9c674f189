package outbox

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/pg"
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
//
// The rows a transaction of this instance wrote are handed to the relay
// when it commits (Writer.RelayOnCommit), and the relay publishes them as
// they are, without reading them back, when it knows that nothing of their
// partition key is before them: a row whose sequence follows the sequence
// this relay published last for its key, or is 1 for a key it has
// published nothing of. A row at or below that last sequence was published
// already (by a read between its commit and its hand-over) and is skipped.
// A row it cannot tell this of (its key's last sequence unknown or further
// behind: a row of another instance, a commit whose hand-over comes later,
// a key the relay forgot) makes it read the outbox, in id order, as it did
// before, and the read publishes that row in its place. A partner's rows
// are written under its sequence row's lock, so their sequences follow
// their commit order.
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
	sentSet   map[int64]bool
	lastFlush time.Time
	// flushAway: the last flush found the database unreachable (logged
	// once; its end is logged too).
	flushAway bool
	// last is, per partition key, the sequence this relay published last
	// (r.mu; forgotten when partitions move, or the least recent key when
	// full: its next row is read from the outbox).
	last *lru.Cache[string, int64]
	// readEpoch is the epoch of the last read that left nothing behind (r.mu).
	readEpoch int64

	hmu    sync.Mutex
	handed []row // handed over by commits, not published yet
	// needRead asks the next drain to read the outbox (Wake, the poll, a
	// handed row out of order or in excess).
	needRead atomic.Bool
	// epoch counts partitions taken and given: rows are published without a
	// read only after a read that left nothing behind in this epoch (a row
	// an older relay wrote without a sequence goes first).
	epoch atomic.Int64

	published atomic.Int64
	reads     atomic.Int64
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
	last, _ := lru.New[string, int64](lastKeys) // only fails for a size ≤ 0
	r := &Relay{pool: pool, js: js, cfg: cfg, log: log, tel: tel, owner: owner,
		wake: make(chan struct{}, 1), running: make(chan struct{}), lastFlush: time.Now(), sent: []int64{},
		sentSet: map[int64]bool{}, last: last, readEpoch: -1}
	r.needRead.Store(true)
	if owner != nil {
		owner.Join(r)
		owner.OnNotify(func(int) { r.Wake() })
	}
	return r
}

// lastKeys is how many partition keys a relay remembers the last published
// sequence of: far more partners than are in flight at once.
const lastKeys = 16384

// maxHanded bounds the rows handed over and not published yet (the relay is
// slow or NATS away): beyond it they are dropped and read from the outbox.
const maxHanded = 10000

// Wake asks the relay to read the outbox now; it never blocks.
func (r *Relay) Wake() {
	r.needRead.Store(true)
	r.signal()
}

func (r *Relay) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// handOff gives the relay the rows a transaction of this instance has
// committed (Queued.Done registers it): they are published without a read
// when their order is known, else read from the outbox.
func (r *Relay) handOff(rows []row) {
	r.hmu.Lock()
	if len(r.handed)+len(rows) > maxHanded {
		r.handed = nil
		r.needRead.Store(true)
	} else {
		r.handed = append(r.handed, rows...)
	}
	r.hmu.Unlock()
	r.signal()
}

func (r *Relay) takeHanded() []row {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	h := r.handed
	r.handed = nil
	return h
}

// TakePartition wakes the relay for a partition it now owns (rows another
// instance left there are published).
func (r *Relay) TakePartition(context.Context, int, bool) {
	r.epoch.Add(1)
	r.Wake()
}

// GivePartition deletes what the relay published before the partition
// goes to another instance, so that little is published twice.
func (r *Relay) GivePartition(int) {
	r.epoch.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last.Purge()
	r.noteFlush(context.Background(), r.flush(context.Background()))
}

// Running is closed once the relay runs.
func (r *Relay) Running() <-chan struct{} { return r.running }

// Published is how many events this relay has published.
func (r *Relay) Published() int64 { return r.published.Load() }

// Reads is how many times this relay has read the outbox table.
func (r *Relay) Reads() int64 { return r.reads.Load() }

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
			r.needRead.Store(true)
		}
		wait := r.cfg.PollInterval
		if r.drain(ctx) && r.unflushed() == 0 {
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
	r.needRead.Store(true)
	return r.drain(ctx)
}

// drain publishes the rows handed over whose order is known, then, when a
// read is due, every row of the owned partitions.
func (r *Relay) drain(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if handed := r.takeHanded(); len(handed) > 0 {
		if err := r.relayHanded(ctx, handed); err != nil {
			if ctx.Err() == nil {
				r.log.Warn("outbox relay: publish failed; will read the outbox", "err", err)
			}
			r.needRead.Store(true)
		}
	}
	if !r.needRead.Swap(false) {
		r.flushIfDue(ctx)
		return ctx.Err() == nil
	}
	epoch := r.epoch.Load()
	failures := 0
	for ctx.Err() == nil {
		n, err := r.relayBatch(ctx)
		if err != nil {
			failures++
			if ctx.Err() == nil {
				r.log.Warn("outbox relay: publish failed; will retry", "err", err, "attempt", failures)
			}
			if failures >= 6 || !sleep(ctx, backoff(failures)) {
				r.needRead.Store(true)
				return false // the poll tries again
			}
			continue
		}
		failures = 0
		if n < r.cfg.BatchSize {
			r.readEpoch = epoch
			break
		}
	}
	r.flushIfDue(ctx)
	return ctx.Err() == nil
}

// flushIfDue deletes the published rows when BatchSize of them wait or
// FlushInterval has passed; r.mu is held.
func (r *Relay) flushIfDue(ctx context.Context) {
	if len(r.sent) >= r.cfg.BatchSize || time.Since(r.lastFlush) >= r.cfg.FlushInterval {
		r.noteFlush(ctx, r.flush(ctx))
	}
}

// noteFlush logs what a flush ended with: a database that cannot be
// reached once per outage (and the first flush that works again), any
// other error every time; r.mu is held.
func (r *Relay) noteFlush(ctx context.Context, err error) {
	switch {
	case err == nil && r.flushAway:
		r.flushAway = false
		r.log.Info("outbox relay: published rows deleted again")
	case err == nil, ctx.Err() != nil, r.flushAway && pg.Unavailable(err):
	default:
		r.flushAway = pg.Unavailable(err)
		r.log.Warn("outbox relay: delete published rows", "err", err)
	}
}

// relayHanded publishes the handed rows whose partition order is known, in
// id order, and asks for a read when any is not; r.mu is held.
func (r *Relay) relayHanded(ctx context.Context, handed []row) error {
	if r.readEpoch != r.epoch.Load() {
		r.needRead.Store(true) // the outbox may hold older rows of theirs
		return nil
	}
	_, parts := r.buckets()
	slices.SortFunc(handed, func(a, b row) int { return cmp.Compare(a.id, b.id) })
	next := map[string]int64{}   // per key, the sequence that may go next
	blocked := map[string]bool{} // keys whose next row is left to the read
	batch := handed[:0]
	for _, x := range handed {
		if r.sentSet[x.id] || x.sequence == nil {
			continue // published by a read already (or not ours to order)
		}
		if !parts[bus.PartitionFor(x.key)] {
			continue // another instance's now: the writer notified it, or it read the partition when it took it
		}
		if blocked[x.key] {
			continue
		}
		want, known := next[x.key]
		if !known {
			if last, ok := r.last.Get(x.key); ok {
				want, known = last+1, true
			}
		}
		switch {
		case known && *x.sequence < want:
			continue // a read published it (and its delete came before this hand-over)
		case known && *x.sequence == want, !known && *x.sequence == 1:
		default:
			blocked[x.key] = true
			r.needRead.Store(true)
			continue
		}
		next[x.key] = *x.sequence + 1
		batch = append(batch, x)
	}
	if len(batch) == 0 {
		return nil
	}
	if err := r.publish(ctx, batch); err != nil {
		return err
	}
	r.markPublished(batch)
	return nil
}

// markPublished records rows as published: deleted at the next flush, kept
// out of reads until then, their sequences the last of their keys.
func (r *Relay) markPublished(batch []row) {
	for _, x := range batch {
		r.sent = append(r.sent, x.id)
		r.sentSet[x.id] = true
		if x.sequence != nil {
			r.last.Add(x.key, *x.sequence)
		}
	}
	r.published.Add(int64(len(batch)))
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
	// A delete lost in a crash only publishes rows again, which the stream
	// drops as duplicates: it need not wait for the WAL. BEGIN, the delete
	// and COMMIT go in one round trip (pg.Begin, pg.SendLast), not three.
	tctx, tx, err := pg.Begin(ctx, r.pool)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // no-op after commit
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL synchronous_commit = off`)
	b.Queue(`DELETE FROM outbox WHERE id = ANY($1)`, r.sent)
	if err := pg.SendLast(tctx, tx, b); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	r.sent = r.sent[:0]
	clear(r.sentSet)
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
	headers  map[string]string // the event's, without ce-sequence
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
	r.reads.Add(1)
	if r.tel != nil {
		r.tel.Outbox.Read()
	}
	rows, err := r.pool.Query(ctx, takeRows, buckets, r.sent, r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("read the outbox: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		var x row
		var headers []byte
		if err := cr.Scan(&x.id, &x.key, &x.sequence, &x.subject, &x.eventID, &headers, &x.payload); err != nil {
			return x, err
		}
		if err := json.Unmarshal(headers, &x.headers); err != nil {
			return x, fmt.Errorf("outbox row %d: headers: %w", x.id, err)
		}
		return x, nil
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
	r.markPublished(batch)
	return read, nil
}

// publish sends every row asynchronously, in id order on one connection (so
// a partner's rows reach the stream in order), and waits for all the acks.
func (r *Relay) publish(ctx context.Context, batch []row) error {
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	types := make([]string, len(batch))
	var spans []func(error)
	for i, x := range batch {
		h := x.headers
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
