package pg

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// A database found unreachable is watched by one goroutine per pool, which
// tries a connection every awayPoll until one is made. Whoever waits for
// the database — a transaction's first round trip or a read (DatabaseHold),
// a partition owner's next round (AwaitDatabase) — waits for that watch,
// not on a schedule of its own: they go again within awayPoll of the
// database's return, and a restarting database is asked for one
// connection per pool and awayPoll, however many requests wait.
const (
	awayPoll  = 50 * time.Millisecond
	awayWatch = 30 * time.Second // a watch ends after this long; the next waiter starts another
)

// watches holds the watch of each pool whose database is being waited for.
var watches sync.Map // *pgxpool.Pool → *watch

type watch struct{ back chan struct{} } // closed when the database answers (or the watch ends)

func watchFor(pool *pgxpool.Pool) *watch {
	w := &watch{back: make(chan struct{})}
	if old, loaded := watches.LoadOrStore(pool, w); loaded {
		return old.(*watch)
	}
	noteUnavailable() // the pool checks the connections it hands out: those a restart closed are not "back"
	go w.run(pool)
	return w
}

func (w *watch) run(pool *pgxpool.Pool) {
	defer func() {
		watches.CompareAndDelete(pool, w)
		close(w.back)
	}()
	for end := time.Now().Add(awayWatch); time.Now().Before(end); time.Sleep(awayPoll) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pool.Acquire(ctx)
		cancel()
		if err == nil {
			c.Release()
			return
		}
		if !unreachable(err) { // a closed pool, a full one: not the database's absence
			return
		}
		noteUnavailable()
	}
}

// AwaitDatabase waits until pool's database answers a new connection again,
// at most within (or until ctx ends), and reports whether it did. For a
// caller that found the database unreachable (pg.Unavailable).
func AwaitDatabase(ctx context.Context, pool *pgxpool.Pool, within time.Duration) bool {
	if within <= 0 {
		return false
	}
	w := watchFor(pool)
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-w.back:
		return ctx.Err() == nil
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}
