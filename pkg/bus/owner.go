package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
)

// rebalancePayload is the notification on the outbox channel that asks
// the other instances for a round now.
const rebalancePayload = "rebalance"

// idleRebalance is the period of the safety round of an instance that owns
// every partition (at least BUS_REBALANCE).
const idleRebalance = 30 * time.Second

// memberSlots bounds the instances of one service that take part in the
// partition assignment (each holds one member slot).
const memberSlots = 64

// Member is a part of an instance that works per partition: the router
// (it consumes the partition's durables) and the outbox relay (it publishes
// the partition's rows).
type Member interface {
	// TakePartition starts working on p. safe says p may come from an
	// instance that died with work of p in flight.
	TakePartition(ctx context.Context, p int, safe bool)
	// GivePartition stops working on p and settles what it holds of it,
	// before another instance takes p.
	GivePartition(p int)
}

// Owner shares a service's partitions among its running instances. Owning
// partition p is a session-level Postgres advisory lock, on a connection
// the owner holds: it ends with the connection, so the partitions of an
// instance that dies are taken over by the others. Each instance also
// holds a member slot; the slots held say how many instances run, and each
// takes ceil(Partitions/instances) partitions, giving back what it holds
// beyond its share. Between rounds the connection listens on the service's
// outbox channel: an instance that writes an event of a partition it does
// not own notifies the owner's relay, and an instance that joins, gives
// partitions back or stops notifies "rebalance", on which the others run a
// round at once. An instance that owns fewer than every partition also runs
// a round every BUS_REBALANCE (an instance that died notified no one, and
// its partitions are free); one that owns them all has nothing to take and
// only gives back when someone joins, so it runs one every idleRebalance
// as a safety net only (an idle stack made a round per service every 2 s).
// Without a pool, the owner owns every partition.
type Owner struct {
	service string
	pool    *pgxpool.Pool
	cfg     Config
	log     *slog.Logger
	class   int64
	channel string

	mu      sync.Mutex
	members []Member
	parts   map[int]*part
	owned   atomic.Uint32 // bit p set: p is owned
	notify  func(p int)
	ready   chan struct{}
	readyOn sync.Once
}

// part is an owned partition: its members start (after a safe wait) in the
// background and stop when it is given back.
type part struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// NewOwner returns the partition owner of service's instance.
func NewOwner(service string, pool *pgxpool.Pool, cfg Config, log *slog.Logger) *Owner {
	return &Owner{service: service, pool: pool, cfg: cfg.withDefaults(), log: log, class: ownerClass(service),
		channel: OutboxChannel(service), parts: map[int]*part{}, ready: make(chan struct{})}
}

// OutboxChannel is the Postgres notification channel of service's outbox.
func OutboxChannel(service string) string {
	return "outbox_" + strconvIdent(service)
}

func strconvIdent(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// ownerClass is the first key of a service's advisory locks.
func ownerClass(service string) int64 {
	return int64(KeyHash("partnerhub-partitions:"+service) & 0x7fffffff)
}

// Join adds a member; call before Run.
func (o *Owner) Join(m Member) {
	o.mu.Lock()
	o.members = append(o.members, m)
	o.mu.Unlock()
}

// OnNotify sets what an outbox notification of partition p does (the
// relay's wake); call before Run.
func (o *Owner) OnNotify(fn func(p int)) { o.notify = fn }

// Owns reports whether this instance owns partition p now.
func (o *Owner) Owns(p int) bool { return o.owned.Load()&(1<<uint(p)) != 0 }

// Owned lists the partitions this instance owns now.
func (o *Owner) Owned() []int {
	var out []int
	bits := o.owned.Load()
	for p := range Partitions {
		if bits&(1<<uint(p)) != 0 {
			out = append(out, p)
		}
	}
	return out
}

// Ready is closed after the first assignment round (the taken partitions'
// members started, unless they wait for deliveries in flight elsewhere).
func (o *Owner) Ready() <-chan struct{} { return o.ready }

// Run assigns partitions until ctx ends, then gives every partition back.
func (o *Owner) Run(ctx context.Context) error {
	defer o.close()
	if o.pool == nil {
		for p := range Partitions {
			o.take(ctx, p, false)
		}
		o.readyOn.Do(func() { close(o.ready) })
		<-ctx.Done()
		return nil
	}
	var conn *pgxpool.Conn
	slot := -1
	release := func() {
		o.drop(o.all()...)
		if conn != nil {
			_ = conn.Conn().Close(context.Background())
			conn.Release()
			conn, slot = nil, -1
		}
	}
	defer func() {
		if conn != nil {
			// Settle what the members hold before the locks go: then the
			// partitions are free, and the other instances take them at once.
			o.drop(o.all()...)
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = conn.Exec(uctx, `SELECT pg_advisory_unlock_all(), pg_notify($1, $2)`, o.channel, rebalancePayload)
			cancel()
			conn.Release()
		}
	}()
	next := time.Now()
	var since time.Time // when the rounds began to fail
	failed := 0         // rounds failed in a row since the session was lost
	away := false       // the last failure was the database's absence
	for ctx.Err() == nil {
		if !time.Now().Before(next) {
			next = time.Now().Add(o.cfg.Rebalance)
			err := func() error {
				if conn == nil {
					c, err := o.pool.Acquire(ctx)
					if err != nil {
						return fmt.Errorf("acquire the partition lock connection: %w", err)
					}
					conn = c
					if _, err := conn.Exec(ctx, `LISTEN `+o.channel); err != nil {
						return err
					}
				}
				joined := slot < 0
				before := len(o.all())
				var err error
				if slot, err = o.round(ctx, conn, slot); err != nil {
					return err
				}
				owned := len(o.all())
				if joined || owned < before {
					// Someone may have partitions to give back to this
					// instance, or may take the ones it gave back.
					if _, err := conn.Exec(ctx, `SELECT pg_notify($1, $2)`, o.channel, rebalancePayload); err != nil {
						return err
					}
				}
				if owned == Partitions {
					next = time.Now().Add(max(o.cfg.Rebalance, idleRebalance))
				}
				return nil
			}()
			switch {
			case err != nil && ctx.Err() == nil:
				// Said once per outage; each round of it at debug level.
				lvl := slog.LevelDebug
				if since.IsZero() {
					since, lvl = time.Now(), slog.LevelWarn
				}
				o.log.Log(ctx, lvl, "partition assignment failed; giving up every partition until the database answers again", "err", err)
				release()
				failed++
				away = pg.Unavailable(err)
				next = time.Now().Add(retryRound(failed, o.cfg.Rebalance))
			case err == nil && !since.IsZero():
				o.log.Info("partitions assigned again", "owned", len(o.all()), "after_ms", time.Since(since).Milliseconds())
				since, failed = time.Time{}, 0
			case err == nil:
				failed = 0
			}
			o.readyOn.Do(func() { close(o.ready) })
		}
		if conn == nil {
			// The round failed, or the connection since: every partition
			// was given up; the next round takes a new connection, as soon
			// as the database answers one again when it was away (within
			// 50 ms of its return, not on the retry schedule: the rows its
			// relay had not published wait for their partitions), at the
			// next round's time otherwise.
			if away && failed <= maxAwaitedRounds && pg.AwaitDatabase(ctx, o.pool, time.Until(next)) {
				next = time.Now()
				continue
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(next)):
			}
			continue
		}
		// Until the next round, wake the relay for rows other instances
		// wrote in partitions this one owns, and come back at once when
		// another instance asks for a round.
		wctx, cancel := context.WithDeadline(ctx, next)
		n, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if n.Payload == rebalancePayload {
				if n.PID != conn.Conn().PgConn().PID() {
					next = time.Now()
				}
			} else if p, perr := strconv.Atoi(n.Payload); perr == nil && o.notify != nil && o.Owns(p) {
				o.notify(p)
			}
		case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		default:
			// Its session is gone (Postgres restarted, failed over, or
			// ended it), with the partition locks: give every partition up
			// and try again soon (retryRound), not after the idle interval.
			o.log.Warn("partition owner connection failed; giving up every partition until the next round", "err", err)
			release()
			failed++
			away = pg.Unavailable(err)
			since = time.Now()
			next = time.Now().Add(retryRound(failed, o.cfg.Rebalance))
		}
	}
	return nil
}

// maxAwaitedRounds bounds the rounds in a row that start as soon as the
// database answers again: a round that keeps failing while new connections
// succeed goes back to the retry schedule.
const maxAwaitedRounds = 5

// retryRound is the wait before the next round after failed rounds in a
// row: databaseRetry's, at most a rebalance interval. A restarted Postgres
// answers again within a second or so, and every partition of the
// instance waits for that round (a whole interval had kept them waiting
// 2 s more).
func retryRound(failed int, rebalance time.Duration) time.Duration {
	return min(databaseRetry(failed), rebalance)
}

// databaseRetry is the wait before the next try after tries in a row
// that found the database away (an owner's round, events held for it):
// 100 ms, doubling, at most maxDatabaseWait. A Postgres that stays away is
// asked once a second; one that answers again is seen within a second.
func databaseRetry(tries int) time.Duration {
	return min(100*time.Millisecond<<min(max(tries, 1)-1, 10), maxDatabaseWait)
}

// maxDatabaseWait bounds the wait between two tries while the database is
// away. At 5 s (events held) and 2 s (an owner's round) a Postgres
// restarted under load, away for about two seconds, was seen a second or
// more after it answered again (README, round 36).
const maxDatabaseWait = time.Second

// round takes or gives back partitions so that this instance owns its
// share; it returns the member slot it holds.
func (o *Owner) round(ctx context.Context, conn *pgxpool.Conn, slot int) (int, error) {
	if slot < 0 {
		for i := range memberSlots {
			var ok bool
			if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1::int, $2::int)`, o.class, 1000+i).Scan(&ok); err != nil {
				return -1, err
			}
			if ok {
				slot = i
				break
			}
		}
		if slot < 0 {
			return -1, errors.New("every member slot is taken: too many instances of this service")
		}
	}
	var members int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid::bigint = $1 AND objid::bigint >= 1000 AND objsubid = 2`, o.class).Scan(&members)
	if err != nil {
		return slot, err
	}
	share := (Partitions + max(members, 1) - 1) / max(members, 1)
	owned := o.all()
	// Give back the highest partitions beyond the share.
	for len(owned) > share {
		p := slices.Max(owned)
		owned = slices.DeleteFunc(owned, func(x int) bool { return x == p })
		o.drop(p)
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1::int, $2::int)`, o.class, p); err != nil {
			return slot, err
		}
	}
	// Take free partitions up to the share, starting where this slot's
	// share would start so that instances rarely race for the same ones.
	for i := 0; i < Partitions && len(owned) < share; i++ {
		p := (slot*share + i) % Partitions
		if slices.Contains(owned, p) {
			continue
		}
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1::int, $2::int)`, o.class, p).Scan(&ok); err != nil {
			return slot, err
		}
		if ok {
			owned = append(owned, p)
			o.take(ctx, p, true)
		}
	}
	return slot, nil
}

func (o *Owner) all() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]int, 0, len(o.parts))
	for p := range o.parts {
		out = append(out, p)
	}
	return out
}

// take makes p owned and starts every member on it.
func (o *Owner) take(ctx context.Context, p int, safe bool) {
	pctx, cancel := context.WithCancel(ctx)
	pt := &part{cancel: cancel, done: make(chan struct{})}
	o.mu.Lock()
	o.parts[p] = pt
	members := slices.Clone(o.members)
	o.mu.Unlock()
	o.setOwned(p, true)
	for _, m := range members {
		m.TakePartition(pctx, p, safe)
	}
	close(pt.done)
}

// drop stops every member on ps and makes them not owned (the locks are
// the caller's).
func (o *Owner) drop(ps ...int) {
	var wg sync.WaitGroup
	for _, p := range ps {
		o.mu.Lock()
		pt := o.parts[p]
		delete(o.parts, p)
		members := slices.Clone(o.members)
		o.mu.Unlock()
		if pt == nil {
			continue
		}
		o.setOwned(p, false)
		pt.cancel()
		<-pt.done
		for _, m := range members {
			wg.Add(1)
			go func() { defer wg.Done(); m.GivePartition(p) }()
		}
	}
	wg.Wait()
	if len(ps) > 0 {
		// Let the server drop the pull requests still waiting for this
		// instance before another one pulls.
		time.Sleep(200 * time.Millisecond)
	}
}

func (o *Owner) setOwned(p int, on bool) {
	for {
		old := o.owned.Load()
		v := old &^ (1 << uint(p))
		if on {
			v = old | 1<<uint(p)
		}
		if o.owned.CompareAndSwap(old, v) {
			return
		}
	}
}

// close gives every partition back.
func (o *Owner) close() { o.drop(o.all()...) }
