package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
)

// PGStats reads the cluster's counters over one connection to the
// "postgres" database, so that its own (read-only) transactions count
// neither as the bench database's commits nor as xids.
type PGStats struct {
	mu   sync.Mutex
	conn *pgx.Conn
	db   string
	// dbConn is a connection to the bench database itself, for its table
	// statistics (two read-only transactions per window).
	dbConn *pgx.Conn
	dbURL  string
}

// PGCounters are the cluster's cumulative counters at one moment.
type PGCounters struct {
	At time.Time
	// NextXID is pg_snapshot_xmax(pg_current_snapshot()): the next
	// transaction id to assign. Reading it assigns none, so its growth is
	// exactly the number of write transactions.
	NextXID   uint64
	Commits   int64 // pg_stat_database.xact_commit of the bench database (read-only transactions too)
	Rollbacks int64
	WALBytes  int64 // pg_current_wal_lsn() as a byte position
}

// Connections counts the bench database's client backends.
type Connections struct {
	Total  int
	ByRole map[string]int
}

// OpenPGStats connects to the cluster at url (a "postgres" database DSN);
// dbURL is the superuser DSN of the bench database db.
func OpenPGStats(ctx context.Context, url, dbURL, db string) (*PGStats, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	return &PGStats{conn: conn, db: db, dbURL: dbURL}, nil
}

// Close closes the connections.
func (p *PGStats) Close() {
	_ = p.conn.Close(context.Background())
	if p.dbConn != nil {
		_ = p.dbConn.Close(context.Background())
	}
}

// RowWrites are a table's cumulative row writes.
type RowWrites struct{ Ins, Upd, Del, HotUpd int64 }

// Total is inserts, updates and deletes.
func (r RowWrites) Total() int64 { return r.Ins + r.Upd + r.Del }

// TableWrites reads every table's row writes in the bench database
// (pg_stat_user_tables, "schema.table"; flushed like the commit counters).
func (p *PGStats) TableWrites(ctx context.Context) (map[string]RowWrites, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dbConn == nil {
		c, err := pgx.Connect(ctx, p.dbURL)
		if err != nil {
			return nil, err
		}
		p.dbConn = c
	}
	rows, err := p.dbConn.Query(ctx, `SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd FROM pg_stat_user_tables`)
	if err != nil {
		return nil, err
	}
	out := map[string]RowWrites{}
	for rows.Next() {
		var name string
		var w RowWrites
		if err := rows.Scan(&name, &w.Ins, &w.Upd, &w.Del, &w.HotUpd); err != nil {
			return nil, err
		}
		out[name] = w
	}
	return out, rows.Err()
}

// Statement is one normalised statement of pg_stat_statements.
type Statement struct {
	Role   string
	Query  string
	Calls  int64
	TimeMS float64 // total execution time
	Rows   int64
}

// EnableStatements creates pg_stat_statements (the cluster must preload it)
// and empties it.
func (p *PGStats) EnableStatements(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	return err
}

// ResetStatements empties pg_stat_statements.
func (p *PGStats) ResetStatements(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := p.conn.Exec(ctx, `SELECT pg_stat_statements_reset()`)
	return err
}

// Statements returns the bench database's statements since the last reset.
func (p *PGStats) Statements(ctx context.Context) ([]Statement, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rows, err := p.conn.Query(ctx, `SELECT r.rolname, s.query, s.calls, s.total_exec_time, s.rows
		FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = $1 ORDER BY s.calls DESC`, p.db)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Statement, error) {
		var s Statement
		err := r.Scan(&s.Role, &s.Query, &s.Calls, &s.TimeMS, &s.Rows)
		return s, err
	})
}

// Counters reads the counters. The commit counters come from the cumulative
// statistics, which backends flush when idle, at most once a second: read
// them a couple of seconds after the load stopped.
func (p *PGStats) Counters(ctx context.Context) (PGCounters, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := PGCounters{At: time.Now()}
	err := p.conn.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
		coalesce((SELECT xact_commit FROM pg_stat_database WHERE datname = $1), 0),
		coalesce((SELECT xact_rollback FROM pg_stat_database WHERE datname = $1), 0),
		(pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`, p.db).Scan(&c.NextXID, &c.Commits, &c.Rollbacks, &c.WALBytes)
	return c, err
}

// Connections counts the client backends connected to the bench database.
func (p *PGStats) Connections(ctx context.Context) (Connections, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// The benchmark's own connection to the bench database is not the stack's.
	own := uint32(0)
	if p.dbConn != nil {
		own = p.dbConn.PgConn().PID()
	}
	rows, err := p.conn.Query(ctx, `SELECT coalesce(usename, ''), count(*) FROM pg_stat_activity
		WHERE datname = $1 AND backend_type = 'client backend' AND pid <> $2 GROUP BY 1`, p.db, int64(own))
	if err != nil {
		return Connections{}, err
	}
	c := Connections{ByRole: map[string]int{}}
	for rows.Next() {
		var role string
		var n int
		if err := rows.Scan(&role, &n); err != nil {
			return c, err
		}
		c.ByRole[role] = n
		c.Total += n
	}
	return c, rows.Err()
}

// SamplePeakConnections samples Connections every interval until ctx ends
// and returns the largest total seen (with its split by role).
func (p *PGStats) SamplePeakConnections(ctx context.Context, interval time.Duration) <-chan Connections {
	out := make(chan Connections, 1)
	go func() {
		var peak Connections
		t := time.NewTicker(interval)
		defer t.Stop()
		// The query must not see ctx end: pgx closes a connection whose
		// query is cancelled mid-flight, and this one is shared with every
		// later counter read (the run then failed with "conn closed" when
		// the load ended during a slow sample on a busy machine).
		qctx := context.WithoutCancel(ctx)
		for {
			c, err := p.Connections(qctx)
			if err == nil && c.Total > peak.Total {
				peak = c
			}
			select {
			case <-ctx.Done():
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// StreamTotals sums, over every stream but the excluded ones, the messages
// ever stored (last sequence: deletions and retention do not lower it).
func StreamTotals(ctx context.Context, js jetstream.JetStream, exclude ...string) (total uint64, per map[string]uint64, err error) {
	per = map[string]uint64{}
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		skip := false
		for _, x := range exclude {
			skip = skip || x == name
		}
		if skip {
			continue
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			return 0, nil, fmt.Errorf("stream %s: %w", name, err)
		}
		st := s.CachedInfo().State
		per[name] = st.LastSeq
		total += st.LastSeq
	}
	return total, per, names.Err()
}
