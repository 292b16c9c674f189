package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Durables kept in memory.
//
// JetStream rewrites a file-backed durable's state (a temporary file, then a
// rename) up to ten times a second while it has deliveries or acks; with
// some fifty busy durables in a loaded stack, that was 45 % of nats-server's
// CPU. A durable held in the servers' memory writes nothing, but a restart
// of every server holding it loses it. So the router keeps each durable's
// position in the service's own database: every FloorInterval it copies the
// ack floor (the stream sequence below which everything is acknowledged) of
// each durable that settled messages since the last copy into bus_floors,
// and when a durable is missing, at start or after the server lost it, it
// creates it again from its floor + 1. The messages between the copied floor
// and the lost one are delivered again; the inbox (or the handler's own
// idempotency) makes them no-ops, and the dead-letter publish is
// deduplicated by its message id. A stream created anew (its creation time
// differs from the one recorded) starts from its beginning.
//
// A cluster keeps its durables' definitions on disk: after a restart of
// all its servers a memory durable is there again, from its deliver
// policy. The router finds it behind its recorded floor (at start, or when
// its pull fails) and creates it again from the floor.
//
// A durable found on file is moved to memory from its own ack floor.
// Without a pool there is nowhere to keep floors: the router keeps its
// durables on file.

// StorageMemory and StorageFile are the values of BUS_DURABLES.
const (
	StorageMemory = "memory"
	StorageFile   = "file"
)

// pulled is one durable this instance pulls from (or did): its consumer,
// its pull and whether it settled messages since its floor was last copied.
type pulled struct {
	name, stream string
	created      time.Time // the stream's creation time
	ctx          context.Context
	cons         jetstream.Consumer
	cc           jetstream.ConsumeContext
	settled      atomic.Bool
	checking     atomic.Bool
	// giving: the partition is being given up; what the client still
	// buffers of it is handed back (Nak) instead of handled, once the pull
	// is closed (kept in back until then; see unpull).
	giving atomic.Bool
	backMu sync.Mutex
	back   []jetstream.Msg
	backed bool // back was handed back: the pull should receive nothing more
	// redelivered, for a partition taken over from an instance that died,
	// puts its first redeliveries back in stream order.
	redelivered *redelivered
}

// keepBack keeps m, received while the partition is given up, to hand it
// back once the pull is closed; false once that was done.
func (pl *pulled) keepBack(m jetstream.Msg) bool {
	pl.backMu.Lock()
	defer pl.backMu.Unlock()
	if pl.backed {
		return false
	}
	pl.back = append(pl.back, m)
	return true
}

// takeBack returns what keepBack kept, each message once (its latest
// delivery), in stream order, and keeps nothing more.
func (pl *pulled) takeBack() []jetstream.Msg {
	pl.backMu.Lock()
	kept := pl.back
	pl.back, pl.backed = nil, true
	pl.backMu.Unlock()
	return latestInOrder(kept)
}

// floors is the router's record of the durables it pulls from.
type floors struct {
	mu      sync.Mutex
	tracked map[string]*pulled // by durable name; entries stay (bounded by the durables)
	// atStart are the floors recorded, read in one query before the router
	// creates its durables (one query instead of one per durable created
	// at start); once it runs, a lost durable's floor is read afresh.
	atStart  map[string]recorded
	prepared atomic.Bool
	// retiring are the replaced durables being deleted (see retire).
	retiring map[string]bool
}

type recorded struct{ floor, created int64 }

// Prepare reads the recorded ack floors for the durables Run creates (Run
// does it when Prepare was not called): the platform calls it before it
// starts the other users of the pool, so that the query needs no
// connection of its own. A failure is logged; each durable then reads its
// floor when it is created.
func (r *Router) Prepare(ctx context.Context) {
	if !r.memory() || r.fl.prepared.Swap(true) {
		return
	}
	if err := r.loadFloors(ctx); err != nil {
		r.log.Warn("cannot read the durables' ack floors at start; reading each when needed", "err", err)
	}
}

// loadFloors reads every recorded floor for the durables created at start.
func (r *Router) loadFloors(ctx context.Context) error {
	rows, err := r.pool.Query(ctx, `SELECT durable, floor, stream_created FROM bus_floors`)
	if err != nil {
		return fmt.Errorf("read ack floors: %w", err)
	}
	m := map[string]recorded{}
	var name string
	var rec recorded
	if _, err := pgx.ForEachRow(rows, []any{&name, &rec.floor, &rec.created}, func() error {
		m[name] = rec
		return nil
	}); err != nil {
		return fmt.Errorf("read ack floors: %w", err)
	}
	r.fl.mu.Lock()
	r.fl.atStart = m
	r.fl.mu.Unlock()
	return nil
}

// memory reports whether the router keeps its durables in memory.
func (r *Router) memory() bool {
	return r.pool != nil && r.cfg.Durables == StorageMemory
}

const upsertFloorsSQL = `INSERT INTO bus_floors (durable, stream, stream_created, floor)
	SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
	ON CONFLICT (durable) DO UPDATE SET
		floor = CASE WHEN bus_floors.stream_created = excluded.stream_created
			THEN greatest(bus_floors.floor, excluded.floor) ELSE excluded.floor END,
		stream = excluded.stream, stream_created = excluded.stream_created, updated_at = now()`

// recordFloors copies the ack floors of the durables that settled messages
// since the last round into bus_floors, in one statement. A durable the
// server no longer has is created again.
func (r *Router) recordFloors(ctx context.Context) error {
	r.fl.mu.Lock()
	var due []*pulled
	for _, p := range r.fl.tracked {
		if p.settled.Swap(false) {
			due = append(due, p)
		}
	}
	r.fl.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	var names, streams []string
	var created, floor []int64
	for i, p := range due {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := p.cons.Info(ictx)
		cancel()
		if err != nil {
			p.settled.Store(true) // try again next round
			if errors.Is(err, jetstream.ErrConsumerNotFound) {
				r.lost(p)
				continue
			}
			// The server is away: the others wait for the next round
			// rather than for a timeout each.
			for _, rest := range due[i+1:] {
				rest.settled.Store(true)
			}
			break
		}
		names = append(names, p.name)
		streams = append(streams, p.stream)
		created = append(created, p.created.UnixNano())
		floor = append(floor, int64(info.AckFloor.Stream))
	}
	if len(names) == 0 {
		return nil
	}
	if _, err := r.pool.Exec(ctx, upsertFloorsSQL, names, streams, created, floor); err != nil {
		for _, p := range due {
			p.settled.Store(true)
		}
		return fmt.Errorf("record ack floors: %w", err)
	}
	r.obs.floorsRecorded(len(names))
	return nil
}

// keepFloors records floors every FloorInterval until ctx ends.
func (r *Router) keepFloors(ctx context.Context) {
	t := time.NewTicker(r.cfg.FloorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.recordFloors(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("cannot record the durables' ack floors; trying again", "err", err)
			}
		}
	}
}

// floorOf is the recorded ack floor of durable name on a stream created at
// created; 0 when none is recorded or the stream was created anew since.
func (r *Router) floorOf(ctx context.Context, name string, created time.Time) (uint64, error) {
	var floor, at int64
	r.fl.mu.Lock()
	start := r.fl.atStart
	r.fl.mu.Unlock()
	if start != nil && !r.isRun.Load() {
		rec := start[name]
		if rec.created != created.UnixNano() || rec.floor < 0 {
			return 0, nil
		}
		return uint64(rec.floor), nil
	}
	err := r.pool.QueryRow(ctx, `SELECT floor, stream_created FROM bus_floors WHERE durable = $1`, name).Scan(&floor, &at)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, nil
		}
		return 0, fmt.Errorf("ack floor of %s: %w", name, err)
	}
	if at != created.UnixNano() || floor < 0 {
		return 0, nil
	}
	return uint64(floor), nil
}

// durable creates or updates durable name with filter, in memory or on
// file as configured (see the comment at the top); a new one that took
// over the durable named replaced (see Subscription.Replaces) starts where
// that one stood, and that one is deleted once this one exists.
func (r *Router) durable(ctx context.Context, name, filter, replaced string) (jetstream.Consumer, time.Time, error) {
	c, created, err := r.ensureDurable(ctx, name, filter, replaced)
	if err == nil && replaced != "" {
		r.retire(ctx, c.CachedInfo().Stream, replaced, name)
	}
	return c, created, err
}

// ensureDurable creates or updates durable name with filter (never
// deleting it but to move it, or to create it again from its floor).
func (r *Router) ensureDurable(ctx context.Context, name, filter, replaced string) (jetstream.Consumer, time.Time, error) {
	st, err := StreamFor(filter)
	if err != nil {
		return nil, time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := r.js.Stream(ctx, st.Name)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("stream %s for %s: %w", st.Name, filter, err)
	}
	created := stream.CachedInfo().Created
	cfg := jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		// The router dead-letters at MaxDeliver (an awaiting event a few
		// deliveries later); the server bound is a safety net a little above.
		MaxDeliver:    r.maxDeliver(true) + 2,
		MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MemoryStorage: r.memory(),
	}
	for attempt := 0; attempt < 3; attempt++ {
		c, err := stream.Consumer(ctx, name)
		var from uint64 // the ack floor to create it from
		took := false   // from is the replaced durable's
		switch {
		case err == nil:
			info := c.CachedInfo()
			behind := false
			if r.memory() && info.Config.MemoryStorage {
				rec, err := r.floorOf(ctx, name, created)
				if err != nil {
					return nil, created, err
				}
				if behind = rec > info.AckFloor.Stream; behind {
					from = rec
				}
			}
			if behind {
				// A cluster keeps its durables' definitions on disk but a
				// memory durable's state in memory: after a restart of all
				// its servers, it starts again from its deliver policy.
				if err := stream.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
					return nil, created, fmt.Errorf("durable %s behind its recorded ack floor: %w", name, err)
				}
				r.obs.recreated()
				r.log.Warn("a durable stood behind its recorded ack floor (its servers restarted it); creating it again from the floor",
					"durable", name, "server_floor", info.AckFloor.Stream, "recorded_floor", from)
			} else if info.Config.MemoryStorage == cfg.MemoryStorage {
				// The start position cannot change; the rest (ack wait,
				// deliveries) follows the configuration.
				cfg.DeliverPolicy, cfg.OptStartSeq = info.Config.DeliverPolicy, info.Config.OptStartSeq
				c, err = stream.CreateOrUpdateConsumer(ctx, cfg)
				if err != nil {
					return nil, created, fmt.Errorf("durable %s: %w", name, err)
				}
				return c, created, nil
			} else {
				// Moved between file and memory from where it stands.
				from = info.AckFloor.Stream
				if err := stream.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
					return nil, created, fmt.Errorf("move durable %s to %s: %w", name, storageName(cfg.MemoryStorage), err)
				}
				r.log.Info("moved a durable", "durable", name, "to", storageName(cfg.MemoryStorage), "from_stream_seq", from+1)
			}
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			if r.memory() {
				if from, err = r.floorOf(ctx, name, created); err != nil {
					return nil, created, err
				}
			}
			if from == 0 && replaced != "" {
				if from, err = r.replacedFloor(ctx, stream, replaced, created); err != nil {
					return nil, created, err
				}
				took = from > 0
			}
		default:
			return nil, created, fmt.Errorf("durable %s: %w", name, err)
		}
		create := cfg
		if from > 0 {
			create.DeliverPolicy, create.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from+1
		}
		c, err = stream.CreateConsumer(ctx, create)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			continue // another instance created it first: take it as it is
		}
		if err != nil {
			return nil, created, fmt.Errorf("durable %s: %w", name, err)
		}
		switch {
		case took:
			r.log.Info("created a durable where the durable it replaces stood", "durable", name, "replaces", replaced, "from_stream_seq", from+1)
		case from > 0:
			r.log.Info("created a durable from its ack floor", "durable", name, "from_stream_seq", from+1)
		}
		return c, created, nil
	}
	return nil, created, fmt.Errorf("durable %s: created and deleted concurrently, giving up", name)
}

// replacedFloor is the ack floor of the durable name another one replaces:
// the server's, or the one recorded, whichever is further (a memory
// durable's servers may have lost it, and a recorded floor lags); 0 when
// neither knows it.
func (r *Router) replacedFloor(ctx context.Context, stream jetstream.Stream, name string, created time.Time) (uint64, error) {
	var floor uint64
	c, err := stream.Consumer(ctx, name)
	switch {
	case err == nil:
		floor = c.CachedInfo().AckFloor.Stream
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	default:
		return 0, fmt.Errorf("replaced durable %s: %w", name, err)
	}
	if r.memory() {
		rec, err := r.floorOf(ctx, name, created)
		if err != nil {
			return 0, err
		}
		floor = max(floor, rec)
	}
	return floor, nil
}

// copyFloorSQL gives the durable that replaced another the other's
// recorded floor, unless it has its own: until its first floor is copied,
// a loss of the new durable would otherwise send it back to the stream's
// beginning. The replaced durable's row stays: an instance of the service's
// previous version that still pulls from it (a rolling upgrade) creates it
// again from there, not from the beginning, should the servers lose it.
const copyFloorSQL = `INSERT INTO bus_floors (durable, stream, stream_created, floor)
	SELECT $2, stream, stream_created, floor FROM bus_floors WHERE durable = $1
	ON CONFLICT (durable) DO NOTHING`

// retire deletes the durable name, which the durable by of this router
// replaced, once no instance pulls from it any more (one of the service's
// previous version still may, in a rolling upgrade: deleted under it, it
// would create it again): checked now and then, backing off, until it is
// gone or ctx ends.
func (r *Router) retire(ctx context.Context, stream, name, by string) {
	if r.pool != nil {
		if _, err := r.pool.Exec(ctx, copyFloorSQL, name, by); err != nil {
			r.log.Warn("cannot give a durable the recorded ack floor of the one it replaced", "durable", by, "err", err)
		}
	}
	r.fl.mu.Lock()
	if r.fl.retiring == nil {
		r.fl.retiring = map[string]bool{}
	}
	busy := r.fl.retiring[name]
	r.fl.retiring[name] = true
	r.fl.mu.Unlock()
	if busy {
		return
	}
	if r.retireOnce(ctx, stream, name) {
		r.fl.mu.Lock()
		delete(r.fl.retiring, name)
		r.fl.mu.Unlock()
		return
	}
	go func() {
		defer func() {
			r.fl.mu.Lock()
			delete(r.fl.retiring, name)
			r.fl.mu.Unlock()
		}()
		for attempt := 1; ; attempt++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(r.cfg.Rebalance<<min(attempt, 5), time.Minute)):
			}
			if r.retireOnce(ctx, stream, name) {
				return
			}
		}
	}()
}

// retireOnce deletes the replaced durable name if no instance pulls from
// it; it reports whether the durable is gone.
func (r *Router) retireOnce(ctx context.Context, stream, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := r.js.Consumer(ctx, stream, name)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return true
	case err != nil:
		r.log.Warn("cannot read a durable another one replaced; trying again", "durable", name, "err", err)
		return false
	case c.CachedInfo().NumWaiting > 0:
		r.log.Info("a durable another one replaced is still pulled from (an instance of the previous version?); deleting it once it is not",
			"durable", name)
		return false
	}
	switch err := r.js.DeleteConsumer(ctx, stream, name); {
	case err == nil:
		r.log.Info("deleted a durable another one replaced", "durable", name)
		return true
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return true
	default:
		r.log.Warn("cannot delete a durable another one replaced; trying again", "durable", name, "err", err)
		return false
	}
}

func storageName(memory bool) string {
	if memory {
		return StorageMemory
	}
	return StorageFile
}

// lostDurable reports whether a pull's error may mean its durable is gone
// (a server restart loses durables held in memory).
func lostDurable(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoHeartbeat) ||
		errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound)
}

// lost checks, once at a time per durable, whether p's durable still
// exists, and when it does not, starts pulling again from a durable created
// from its recorded floor (retrying while the server is unavailable).
func (r *Router) lost(p *pulled) {
	if !p.checking.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer p.checking.Store(false)
		for attempt := 0; p.ctx.Err() == nil; attempt++ {
			if attempt > 0 {
				select {
				case <-p.ctx.Done():
					return
				case <-time.After(min(250*time.Millisecond<<min(attempt, 5), 5*time.Second)):
				}
			}
			ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
			c, err := r.js.Consumer(ctx, p.stream, p.name)
			if err == nil {
				rec, ferr := r.floorOf(ctx, p.name, p.created)
				cancel()
				if ferr != nil {
					continue
				}
				if rec <= c.CachedInfo().AckFloor.Stream {
					return // still there: a passing error
				}
				// Restarted from its deliver policy (a cluster restarted):
				// pulled again, it is created again from its floor (and
				// counted there).
				if r.repull(p) {
					return
				}
				continue
			}
			cancel()
			if !errors.Is(err, jetstream.ErrConsumerNotFound) {
				continue // the server is not back yet
			}
			r.obs.recreated()
			r.log.Warn("the server lost a durable; creating it again from its recorded ack floor", "durable", p.name)
			if r.repull(p) {
				return
			}
		}
	}()
}

// reconnected checks, once the connection is back, that the server still
// has every durable this instance pulls from: a restarted server lost those
// held in memory, and an idle pull would only notice when its heartbeats
// went missing, a minute and more later (an idle stack's durables came
// back 70 s after a restart of its server).
func (r *Router) reconnected() {
	if !r.memory() {
		r.log.Info("NATS connection back")
		return
	}
	r.fl.mu.Lock()
	ps := make([]*pulled, 0, len(r.fl.tracked))
	for _, p := range r.fl.tracked {
		if p.ctx.Err() == nil {
			ps = append(ps, p)
		}
	}
	r.fl.mu.Unlock()
	r.log.Info("NATS connection back; checking that the server still has the durables", "durables", len(ps))
	for _, p := range ps {
		r.lost(p)
	}
}

// repull replaces the pull of p, if it is still current, by one from a new
// durable; it reports whether that is done (or no longer needed).
func (r *Router) repull(p *pulled) bool {
	for _, f := range r.order {
		s := r.subs[f]
		s.mu.Lock()
		part := -2
		for n, cur := range s.pulls {
			if cur == p {
				part = n
			}
		}
		s.mu.Unlock()
		if part == -2 {
			continue
		}
		p.cc.Stop()
		err := s.pullAgain(p.ctx, part, p, false)
		if err != nil && p.ctx.Err() == nil {
			r.log.Warn("cannot create a lost durable again yet", "durable", p.name, "err", err)
			return false
		}
		return true
	}
	return true // no longer pulled
}

// latestInOrder orders ms by stream sequence, each message once: its
// latest delivery (a message may have been received again after a hand
// back). Messages without metadata keep their place at the end.
func latestInOrder(ms []jetstream.Msg) []jetstream.Msg {
	type entry struct {
		m         jetstream.Msg
		seq, dlvd uint64
	}
	var (
		bySeq []entry
		other []jetstream.Msg
	)
	for _, m := range ms {
		md, err := m.Metadata()
		if err != nil {
			other = append(other, m)
			continue
		}
		i := slices.IndexFunc(bySeq, func(e entry) bool { return e.seq == md.Sequence.Stream })
		switch {
		case i < 0:
			bySeq = append(bySeq, entry{m, md.Sequence.Stream, md.NumDelivered})
		case md.NumDelivered >= bySeq[i].dlvd:
			bySeq[i] = entry{m, md.Sequence.Stream, md.NumDelivered}
		}
	}
	slices.SortFunc(bySeq, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]jetstream.Msg, 0, len(bySeq)+len(other))
	for _, e := range bySeq {
		out = append(out, e.m)
	}
	return append(out, other...)
}
