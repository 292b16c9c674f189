package bus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// memberSlots bounds the instances of one service that take part in the
// partition assignment (each holds one member slot).
const memberSlots = 64

// own shares the partitions of the partitioned subscriptions with the other
// instances of the service until ctx ends, and pulls the durables of the
// partitions it owns. Ownership is a session-level Postgres advisory lock
// per partition, on a connection held for it: it ends with the connection,
// so the partitions of an instance that dies are taken over by the others.
// Each instance also holds a member slot; the slots held say how many
// instances run, and each takes ceil(Partitions/instances) partitions,
// giving back what it holds beyond its share.
func (r *Router) own(ctx context.Context, subs []*subscription) error {
	if len(subs) == 0 {
		return nil
	}
	o := &owner{r: r, subs: subs, class: ownerClass(r.service), parts: map[int]*part{}}
	defer o.close()
	if r.pool == nil {
		// No database to coordinate through: a single instance owns all.
		for p := range Partitions {
			o.take(ctx, p, false)
		}
		close(r.firstRound)
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(r.cfg.Rebalance)
	defer t.Stop()
	first := true
	for {
		if err := o.round(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("partition assignment failed; giving up every partition until the database answers again", "err", err)
			o.reset()
		}
		if first {
			close(r.firstRound)
			first = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ownerClass is the first key of a service's advisory locks.
func ownerClass(service string) int64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte("partnerhub-partitions:" + service))
	return int64(h.Sum32() & 0x7fffffff)
}

type owner struct {
	r     *Router
	subs  []*subscription
	class int64
	conn  *pgxpool.Conn
	slot  int
	mu    sync.Mutex
	parts map[int]*part
}

// part is an owned partition: its pulls start (after a safe wait) in the
// background and stop when it is given back.
type part struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// round takes or gives back partitions so that this instance owns its share.
func (o *owner) round(ctx context.Context) error {
	if o.conn == nil {
		conn, err := o.r.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("acquire the partition lock connection: %w", err)
		}
		o.conn, o.slot = conn, -1
	}
	if o.slot < 0 {
		for i := range memberSlots {
			var ok bool
			if err := o.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1::int, $2::int)`, o.class, 1000+i).Scan(&ok); err != nil {
				return err
			}
			if ok {
				o.slot = i
				break
			}
		}
		if o.slot < 0 {
			return errors.New("every member slot is taken: too many instances of this service")
		}
	}
	var members int
	err := o.conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid::bigint = $1 AND objid::bigint >= 1000 AND objsubid = 2`, o.class).Scan(&members)
	if err != nil {
		return err
	}
	share := (Partitions + max(members, 1) - 1) / max(members, 1)
	o.mu.Lock()
	owned := make([]int, 0, len(o.parts))
	for p := range o.parts {
		owned = append(owned, p)
	}
	o.mu.Unlock()
	// Give back the highest partitions beyond the share.
	for len(owned) > share {
		hi := 0
		for i, p := range owned {
			if p > owned[hi] {
				hi = i
			}
		}
		p := owned[hi]
		owned = append(owned[:hi], owned[hi+1:]...)
		if err := o.give(ctx, p); err != nil {
			return err
		}
	}
	// Take free partitions up to the share, starting where this slot's
	// share would start so that instances rarely race for the same ones.
	for i := 0; i < Partitions && len(owned) < share; i++ {
		p := (o.slot*share + i) % Partitions
		o.mu.Lock()
		_, mine := o.parts[p]
		o.mu.Unlock()
		if mine {
			continue
		}
		var ok bool
		if err := o.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1::int, $2::int)`, o.class, p).Scan(&ok); err != nil {
			return err
		}
		if ok {
			owned = append(owned, p)
			o.take(ctx, p, true)
		}
	}
	return nil
}

// take starts pulling partition p of every subscription: at once when no
// durable of p has unacknowledged deliveries, so that readiness means
// consuming; otherwise (an instance died holding them) in the background
// after the ack wait, when they are due again, so that they are handled
// before anything newer of the same partners.
func (o *owner) take(ctx context.Context, p int, safe bool) {
	pctx, cancel := context.WithCancel(ctx)
	pt := &part{cancel: cancel, done: make(chan struct{})}
	o.mu.Lock()
	o.parts[p] = pt
	o.r.owned.Store(int32(len(o.parts)))
	o.mu.Unlock()
	pull := func() {
		for _, s := range o.subs {
			if err := s.pull(pctx, p); err != nil && pctx.Err() == nil {
				o.r.log.Error("cannot pull a partition", "durable", s.durable, "partition", p, "err", err)
			}
		}
	}
	if !safe || !o.inFlight(pctx, p) {
		pull()
		close(pt.done)
		return
	}
	go func() {
		defer close(pt.done)
		o.r.log.Info("took over a partition with deliveries in flight; waiting for them to come back", "partition", p)
		select {
		case <-pctx.Done():
			return
		case <-time.After(o.r.cfg.AckWait + 500*time.Millisecond):
		}
		pull()
	}()
}

// inFlight reports whether a durable of partition p has deliveries not
// acknowledged yet.
func (o *owner) inFlight(ctx context.Context, p int) bool {
	for _, s := range o.subs {
		name, filter := s.names(p)
		st, err := StreamFor(filter)
		if err != nil {
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := o.r.js.Consumer(ictx, st.Name, name)
		if err == nil {
			var info *jetstream.ConsumerInfo
			if info, err = c.Info(ictx); err == nil && info.NumAckPending > 0 {
				cancel()
				return true
			}
		}
		cancel()
	}
	return false
}

// give stops pulling partition p, lets what is held of it settle, and
// unlocks it for another instance.
func (o *owner) give(ctx context.Context, p int) error {
	o.drop(p)
	if o.conn == nil {
		return nil
	}
	_, err := o.conn.Exec(ctx, `SELECT pg_advisory_unlock($1::int, $2::int)`, o.class, p)
	return err
}

// drop stops partition p without touching its lock.
func (o *owner) drop(p int) {
	o.mu.Lock()
	pt := o.parts[p]
	delete(o.parts, p)
	o.r.owned.Store(int32(len(o.parts)))
	o.mu.Unlock()
	if pt == nil {
		return
	}
	pt.cancel()
	<-pt.done
	var wg sync.WaitGroup
	for _, s := range o.subs {
		wg.Add(1)
		go func() { defer wg.Done(); s.unpull(p) }()
	}
	wg.Wait()
	// Let the server drop the pull requests still waiting for this
	// instance before another one pulls.
	time.Sleep(200 * time.Millisecond)
}

// reset gives up every partition after the lock connection failed: the
// locks may be gone already.
func (o *owner) reset() {
	o.mu.Lock()
	var ps []int
	for p := range o.parts {
		ps = append(ps, p)
	}
	o.mu.Unlock()
	for _, p := range ps {
		o.drop(p)
	}
	if o.conn != nil {
		_ = o.conn.Conn().Close(context.Background())
		o.conn.Release()
		o.conn = nil
	}
}

// close gives back every partition and the member slot.
func (o *owner) close() {
	o.mu.Lock()
	var ps []int
	for p := range o.parts {
		ps = append(ps, p)
	}
	o.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); o.drop(p) }()
	}
	wg.Wait()
	if o.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = o.conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
		cancel()
		o.conn.Release()
		o.conn = nil
	}
}
