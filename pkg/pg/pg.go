// Package pg gives each service its own Postgres schema, reached through its
// own runtime login role that holds DML rights on that schema only. A second,
// non-login owner role owns the schema and runs the migrations, so the
// runtime role can change no DDL. Provisioning is idempotent and runs at
// start-up when an administrator DSN is configured (development, CI, a
// Kubernetes init job); production can pre-provision and leave it empty.
package pg

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// Config locates the database of one service.
type Config struct {
	// AdminURL is a superuser DSN used only to provision and migrate. Empty:
	// assume provisioning was done elsewhere.
	AdminURL string `env:"ADMIN_URL" envDefault:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"`
	// URL is the runtime DSN. Empty: AdminURL with the runtime role as user
	// and Database as database (trust or .pgpass must authenticate it).
	URL       string `env:"URL"`
	Database  string `env:"DB" envDefault:"onboarding"`
	Schema    string `env:"SCHEMA"`     // default: the service name
	AppRole   string `env:"APP_ROLE"`   // default: <schema>_app
	OwnerRole string `env:"OWNER_ROLE"` // default: <schema>_owner
	MaxConns  int32  `env:"MAX_CONNS" envDefault:"6"`
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// WithDefaults fills the names derived from the service name.
func (c Config) WithDefaults(service string) Config {
	if c.Schema == "" {
		c.Schema = strings.ReplaceAll(service, "-", "_")
	}
	if c.AppRole == "" {
		c.AppRole = c.Schema + "_app"
	}
	if c.OwnerRole == "" {
		c.OwnerRole = c.Schema + "_owner"
	}
	return c
}

// Validate lists every problem with c.
func (c Config) Validate() error {
	var errs []error
	if !identRe.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("POSTGRES_DB %q must be a lower-case SQL identifier", c.Database))
	}
	// Empty names default from the service name (WithDefaults).
	for name, v := range map[string]string{"POSTGRES_SCHEMA": c.Schema,
		"POSTGRES_APP_ROLE": c.AppRole, "POSTGRES_OWNER_ROLE": c.OwnerRole} {
		if v != "" && !identRe.MatchString(v) {
			errs = append(errs, fmt.Errorf("%s %q must be a lower-case SQL identifier", name, v))
		}
	}
	if c.AdminURL == "" && c.URL == "" {
		errs = append(errs, errors.New("POSTGRES_URL or POSTGRES_ADMIN_URL must be set"))
	}
	for name, v := range map[string]string{"POSTGRES_ADMIN_URL": c.AdminURL, "POSTGRES_URL": c.URL} {
		if v == "" {
			continue
		}
		if _, err := pgx.ParseConfig(v); err != nil {
			errs = append(errs, fmt.Errorf("%s is not a valid DSN: %v", name, redactErr(err)))
		}
	}
	if c.MaxConns < 1 {
		errs = append(errs, errors.New("POSTGRES_MAX_CONNS must be at least 1"))
	}
	return errors.Join(errs...)
}

// redactErr keeps passwords out of logs: pgx parse errors can echo the DSN.
func redactErr(err error) string {
	return regexp.MustCompile(`://[^@/]*@`).ReplaceAllString(err.Error(), "://***@")
}

// RuntimeURL is the DSN the service connects with.
func (c Config) RuntimeURL() (string, error) {
	if c.URL != "" {
		return c.URL, nil
	}
	return withUserAndDB(c.AdminURL, c.AppRole, c.Database)
}

func withUserAndDB(dsn, user, db string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("POSTGRES_ADMIN_URL must be a postgres:// URL to derive other DSNs")
	}
	if user != "" {
		u.User = url.User(user)
	}
	u.Path = "/" + db
	return u.String(), nil
}

func quote(ident string) string { return pgx.Identifier{ident}.Sanitize() }

// Provision creates (if missing) the database, the owner and runtime roles,
// and the schema, with least-privilege grants, then runs the platform and
// service migrations as the owner role. Several services may provision the
// same database at once: an advisory lock serialises them.
func Provision(ctx context.Context, c Config, migrations fs.FS, log *slog.Logger) error {
	if c.AdminURL == "" {
		return nil
	}
	admin, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		return fmt.Errorf("connect as administrator: %w", err)
	}
	defer admin.Close(context.Background())

	lockKey := int64(fnv64("partnerhub-provision:" + c.Database))
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("take provisioning lock: %w", err)
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", c.Database).Scan(&exists); err != nil {
		return fmt.Errorf("look up database: %w", err)
	}
	if !exists {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+quote(c.Database)); err != nil && !isCode(err, "42P04") {
			return fmt.Errorf("create database %s: %w", c.Database, err)
		}
		log.Info("created database", "database", c.Database)
	}
	for _, r := range []struct {
		name  string
		login bool
	}{{c.OwnerRole, false}, {c.AppRole, true}} {
		opt := "NOLOGIN"
		if r.login {
			opt = "LOGIN"
		}
		stmt := fmt.Sprintf(`DO $$ BEGIN CREATE ROLE %s %s NOSUPERUSER NOCREATEDB NOCREATEROLE;
			EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`, quote(r.name), opt)
		if _, err := admin.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("create role %s: %w", r.name, err)
		}
	}

	dbURL, err := withUserAndDB(c.AdminURL, "", c.Database)
	if err != nil {
		return err
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to %s as administrator: %w", c.Database, err)
	}
	defer db.Close(context.Background())
	s, app, owner := quote(c.Schema), quote(c.AppRole), quote(c.OwnerRole)
	stmts := []string{
		"REVOKE ALL ON DATABASE " + quote(c.Database) + " FROM PUBLIC",
		"REVOKE ALL ON SCHEMA public FROM PUBLIC",
		"GRANT CONNECT ON DATABASE " + quote(c.Database) + " TO " + app,
		"CREATE SCHEMA IF NOT EXISTS " + s + " AUTHORIZATION " + owner,
		"REVOKE ALL ON SCHEMA " + s + " FROM PUBLIC",
		"GRANT USAGE ON SCHEMA " + s + " TO " + app,
		// Tables the owner creates are usable by the runtime role; a migration
		// may revoke more on a table (e.g. append-only evidence).
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA " + s + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + app,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + owner + " IN SCHEMA " + s + " GRANT USAGE, SELECT ON SEQUENCES TO " + app,
		"ALTER ROLE " + app + " IN DATABASE " + quote(c.Database) + " SET search_path = " + s,
	}
	for _, stmt := range stmts {
		if _, err := db.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("provision %q: %w", stmt, err)
		}
	}
	return Migrate(ctx, dbURL, c, migrations, log)
}

// Migrate runs the platform migrations (outbox, inbox, sequences, timers) and
// then the service's own, each with its own version table in the schema, as
// the owner role.
func Migrate(ctx context.Context, adminDBURL string, c Config, migrations fs.FS, log *slog.Logger) error {
	cc, err := pgx.ParseConfig(adminDBURL)
	if err != nil {
		return err
	}
	setup := "SET ROLE " + quote(c.OwnerRole) + "; SET search_path = " + quote(c.Schema)
	sqldb := stdlib.OpenDB(*cc, stdlib.OptionAfterConnect(func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, setup)
		return err
	}))
	defer sqldb.Close()
	sqldb.SetMaxOpenConns(1)

	platform, err := fs.Sub(platformMigrations, "migrations")
	if err != nil {
		return err
	}
	if err := migrate(ctx, sqldb, platform, "platform_db_version", log); err != nil {
		return fmt.Errorf("platform migrations: %w", err)
	}
	if migrations != nil {
		if err := migrate(ctx, sqldb, migrations, "goose_db_version", log); err != nil {
			return fmt.Errorf("service migrations: %w", err)
		}
	}
	return nil
}

//go:embed migrations/*.sql
var platformMigrations embed.FS

func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, table string, log *slog.Logger) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName(table), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return err
	}
	for _, r := range results {
		log.Info("applied migration", "table", table, "source", r.Source.Path, "duration_ms", r.Duration.Milliseconds())
	}
	return nil
}

// Connect opens the runtime pool of the service, pinned to its schema.
func Connect(ctx context.Context, c Config) (*pgxpool.Pool, error) {
	return ConnectWith(ctx, c, c.MaxConns, nil)
}

// ConnectWith is Connect with its own size and extra session settings.
func ConnectWith(ctx context.Context, c Config, maxConns int32, params map[string]string) (*pgxpool.Pool, error) {
	dsn, err := c.RuntimeURL()
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse runtime DSN: %v", redactErr(err))
	}
	pc.MaxConns = maxConns
	// Connections opened under load are given back after a minute idle:
	// a resting service holds at most one.
	pc.MinConns = 0
	pc.MaxConnIdleTime = time.Minute
	pc.ShouldPing = CheckConnections
	for k, v := range params {
		pc.ConnConfig.RuntimeParams[k] = v
	}
	pc.ConnConfig.RuntimeParams["search_path"] = c.Schema
	pc.ConnConfig.RuntimeParams["application_name"] = c.Schema
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect as %s: %w", c.AppRole, err)
	}
	return pool, nil
}

type txKey struct{}

// WithTx returns ctx carrying tx, so that repositories called with it join
// tx instead of opening their own (e.g. an event handler's inbox write and
// the use case's changes commit together).
func WithTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFrom returns the transaction carried by ctx, if any.
func TxFrom(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	return tx, ok
}

// Querier reads rows: a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	// SendBatch sends reads that do not depend on each other in one round trip.
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Q is the transaction carried by ctx, or else pool: reads inside an event
// handler's inbox transaction see that transaction's own writes. A read on
// pool waits, as a transaction does, for a database it cannot reach yet
// (DatabaseHold).
func Q(ctx context.Context, pool *pgxpool.Pool) Querier {
	if tx, ok := TxFrom(ctx); ok {
		return tx
	}
	return heldPool{pool}
}

// heldPool is a pool whose reads go again, within DatabaseHold, when they
// could not reach the database: no connection could be made, or nothing
// of the read was sent.
type heldPool struct{ pool *pgxpool.Pool }

// unsent reports an error of a call that sent nothing to the database.
func unsent(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.SafeToRetry(err)
}

func (p heldPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return heldRow{ctx: ctx, pool: p.pool, sql: sql, args: args}
}

func (p heldPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	h := hold{pool: p.pool}
	for {
		rows, err := p.pool.Query(ctx, sql, args...)
		if err == nil || !unsent(err) || !h.again(ctx, err, false) {
			noteIfUnavailable(err)
			return rows, err
		}
	}
}

func (p heldPool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	h := hold{pool: p.pool}
	c, err := h.acquire(ctx)
	if err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	return releasing{BatchResults: c.SendBatch(ctx, b), conn: c}
}

// heldRow runs its query when scanned, as pgx's pool does.
type heldRow struct {
	ctx  context.Context
	pool *pgxpool.Pool
	sql  string
	args []any
}

func (r heldRow) Scan(dest ...any) error {
	h := hold{pool: r.pool}
	for {
		err := r.pool.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
		if err == nil || !unsent(err) || !h.again(r.ctx, err, false) {
			noteIfUnavailable(err)
			return err
		}
	}
}

// releasing gives its connection back when its batch's results are closed.
type releasing struct {
	pgx.BatchResults
	conn *pgxpool.Conn
}

func (r releasing) Close() error {
	err := r.BatchResults.Close()
	r.conn.Release()
	return err
}

// InTx runs fn in the transaction carried by ctx, or in a new one that it
// commits (rolling back on error). fn gets a ctx carrying the transaction.
// Functions registered with AfterCommit during fn run once the new
// transaction has committed.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if tx, ok := TxFrom(ctx); ok {
		return fn(ctx, tx)
	}
	hooks := &commitHooks{}
	// BEGIN goes out with the first statement (lazyTx): one round trip fewer.
	err := pgx.BeginFunc(ctx, lazyBeginner{pool}, func(tx pgx.Tx) error {
		ctx := hooks.into(WithTx(ctx, tx))
		if err := fn(ctx, tx); err != nil {
			return err
		}
		return hooks.flush(ctx)
	})
	if err != nil {
		return err
	}
	hooks.run()
	return nil
}

// Begin starts a transaction for a caller that manages it itself (the bus
// runs a batch of deliveries in one): the returned ctx carries it, and
// Commit commits it and then runs what AfterCommit registered.
// BEGIN goes out with the transaction's first statement (lazyTx), so Begin
// itself sends nothing and does not fail today; the error is kept for callers.
func Begin(ctx context.Context, pool *pgxpool.Pool) (context.Context, *Tx, error) {
	lazy := beginLazy(pool)
	t := &Tx{Tx: lazy, lazy: lazy, hooks: &commitHooks{}}
	return t.hooks.into(WithTx(ctx, t.Tx)), t, nil
}

// Tx is a transaction begun with Begin.
type Tx struct {
	pgx.Tx
	lazy  *lazyTx
	hooks *commitHooks
}

// Ahead queues b's statements to go out with the transaction's first
// statement, right after BEGIN and in the same round trip. Their callbacks
// run before that statement's results are read; when one fails, that
// statement fails with its error (having run: the caller rolls back). The
// bus claims a batch's inbox rows this way, without a round trip of their
// own. Queue them before the first statement; SendAhead sends them if none
// has gone out yet.
func (t *Tx) Ahead(b *pgx.Batch) {
	t.lazy.ahead = append(t.lazy.ahead, b.QueuedQueries...)
}

// SendAhead sends what Ahead queued, if it has not gone out yet (with
// BEGIN, in one round trip), and returns the first error of its callbacks.
func (t *Tx) SendAhead(ctx context.Context) error {
	l := t.lazy
	if len(l.ahead) == 0 {
		return nil
	}
	if l.real == nil {
		return l.sendFirst(ctx, nil).Close()
	}
	return l.sendAhead(ctx, l.real)
}

// Commit sends what Ahead queued if nothing went out yet, writes what
// Defer deferred, commits and runs the after-commit functions. When the
// statements sent ahead or the deferred writes fail, it rolls back and
// returns their error.
func (t *Tx) Commit(ctx context.Context) error {
	if err := t.SendAhead(ctx); err != nil {
		_ = t.Tx.Rollback(ctx)
		return err
	}
	if err := t.hooks.flush(t.hooks.into(WithTx(ctx, t.Tx))); err != nil {
		_ = t.Tx.Rollback(ctx)
		return err
	}
	if err := t.Tx.Commit(ctx); err != nil {
		return err
	}
	t.hooks.run()
	return nil
}

// SendLast queues b's statements to go out with the COMMIT of tx, in the
// same round trip, when tx is a transaction this package began (InTx,
// Begin, or TxFrom's in one) and nothing else is sent on it before it
// commits; anything sent on it before that sends b first, so a later read
// sees b's writes. On any other transaction (a savepoint of Nested) b is
// sent at once. It is for a transaction's final writes whose results
// nothing needs before the commit: a statement of b that fails stops the
// COMMIT (the commit returns its error and rolls back), but b's callbacks
// run while the commit's answer is read, before the functions AfterCommit
// registered, and cannot refuse it: a batch whose callback decides whether
// the transaction may commit (a row found to belong to someone else) must
// be sent with SendBatch. It saves the round trip of the COMMIT, pgx having
// no way to send one with other statements. A read whose answer is needed
// only after the transaction's next statement may go the same way: it goes
// out in that statement's round trip, and its callback runs before that
// statement's own results are read (the notifier's contact read with the
// mail's insert).
func SendLast(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if l, ok := tx.(*lazyTx); ok && !l.closed {
		l.queueLast(b.QueuedQueries)
		return nil
	}
	if t, ok := tx.(*Tx); ok && !t.lazy.closed {
		t.lazy.queueLast(b.QueuedQueries)
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// Nested runs fn in a savepoint of the transaction carried by ctx: when fn
// fails, its statements and its after-commit functions are undone and the
// outer transaction goes on. Without a transaction in ctx it is InTx.
func Nested(ctx context.Context, pool *pgxpool.Pool, fn func(ctx context.Context, tx pgx.Tx) error) error {
	outer, ok := TxFrom(ctx)
	if !ok {
		return InTx(ctx, pool, fn)
	}
	sp, err := outer.Begin(ctx)
	if err != nil {
		return err
	}
	parent, _ := ctx.Value(hooksKey{}).(*commitHooks)
	hooks := &commitHooks{parent: parent}
	if err := fn(hooks.into(WithTx(ctx, sp)), sp); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rerr))
		}
		return err
	}
	if parent == nil { // no commit of ours to defer to: written now
		if err := hooks.flush(hooks.into(WithTx(ctx, sp))); err != nil {
			_ = sp.Rollback(ctx)
			return err
		}
	}
	if err := sp.Commit(ctx); err != nil {
		return err
	}
	if parent != nil {
		parent.adopt(hooks)
	} else {
		hooks.run()
	}
	return nil
}

// AfterCommit runs fn once the transaction carried by ctx has committed,
// and never if it rolls back: how a write wakes the worker that acts on it
// (the outbox relay, a job) without a polling tick. Outside a transaction
// begun by InTx, Begin or Nested, fn runs at once.
func AfterCommit(ctx context.Context, fn func()) {
	if h, ok := ctx.Value(hooksKey{}).(*commitHooks); ok {
		h.add(fn)
		return
	}
	fn()
}

type hooksKey struct{}

type commitHooks struct {
	mu       sync.Mutex
	fns      []func()
	deferred []deferred // in the order of their first item
	// values are the transaction's own (SetTxValue); parent is the
	// transaction a savepoint's hooks belong to (Nested), nil otherwise.
	values map[any]any
	parent *commitHooks
}

// SetTxValue keeps v under key for the rest of the transaction carried by
// ctx (begun by InTx, Begin or Nested), for TxValue to find: what the
// transaction learnt that only it can change, e.g. a row it holds locked
// FOR UPDATE as it last wrote it, so that a later step of the same
// transaction need not read the row again. A savepoint's values are
// dropped when it rolls back and become its transaction's when it is
// released. Without such a transaction it keeps nothing. Keeping nil
// forgets the key for the rest of the transaction (its savepoint's
// transaction too, should the savepoint be released): TxValue then finds
// nil, which callers take as nothing kept.
func SetTxValue(ctx context.Context, key, v any) {
	h, ok := ctx.Value(hooksKey{}).(*commitHooks)
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.values == nil {
		h.values = map[any]any{}
	}
	h.values[key] = v
}

// TxValue is the value SetTxValue kept under key in the transaction carried
// by ctx (in a savepoint: its own, else its transaction's).
func TxValue(ctx context.Context, key any) (any, bool) {
	h, _ := ctx.Value(hooksKey{}).(*commitHooks)
	for ; h != nil; h = h.parent {
		h.mu.Lock()
		v, ok := h.values[key]
		h.mu.Unlock()
		if ok {
			return v, true
		}
	}
	return nil, false
}

// Defer adds item to the batch that key names in the transaction carried
// by ctx, and hands the whole batch, in the order added, to one call of
// flush just before the transaction commits (Begin's Commit, InTx): how a
// handler of the bus, which runs a batch of deliveries in one transaction,
// writes their rows in one statement instead of one each. flush runs in
// the transaction (its ctx carries it; AfterCommit works in it); its error
// fails the commit, which then rolls back. Deferred items are not yet
// written: reads in the transaction do not see them. In a savepoint
// (Nested) they are the savepoint's, undone with it. Without a transaction
// begun by InTx, Begin or Nested, flush runs at once with item alone.
func Defer[T any](ctx context.Context, key any, item T, flush func(ctx context.Context, items []T) error) error {
	h, ok := ctx.Value(hooksKey{}).(*commitHooks)
	if !ok {
		return flush(ctx, []T{item})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.deferred {
		if b, ok := d.(*batch[T]); ok && b.key == key {
			b.items = append(b.items, item)
			return nil
		}
	}
	h.deferred = append(h.deferred, &batch[T]{key: key, items: []T{item}, flush: flush})
	return nil
}

// deferred is a batch of Defer.
type deferred interface {
	write(ctx context.Context) error
	// absorb appends other's items when it is a batch of the same key.
	absorb(other deferred) bool
}

type batch[T any] struct {
	key   any
	items []T
	flush func(ctx context.Context, items []T) error
}

func (b *batch[T]) write(ctx context.Context) error { return b.flush(ctx, b.items) }

func (b *batch[T]) absorb(other deferred) bool {
	o, ok := other.(*batch[T])
	if !ok || o.key != b.key {
		return false
	}
	b.items = append(b.items, o.items...)
	return true
}

// flush writes the deferred batches (and those their writing defers).
func (h *commitHooks) flush(ctx context.Context) error {
	for {
		h.mu.Lock()
		ds := h.deferred
		h.deferred = nil
		h.mu.Unlock()
		if len(ds) == 0 {
			return nil
		}
		for _, d := range ds {
			if err := d.write(ctx); err != nil {
				return err
			}
		}
	}
}

func (h *commitHooks) into(ctx context.Context) context.Context {
	return context.WithValue(ctx, hooksKey{}, h)
}

func (h *commitHooks) add(fn func()) {
	h.mu.Lock()
	h.fns = append(h.fns, fn)
	h.mu.Unlock()
}

func (h *commitHooks) adopt(child *commitHooks) {
	child.mu.Lock()
	fns, ds, values := child.fns, child.deferred, child.values
	child.mu.Unlock()
	h.mu.Lock()
	h.fns = append(h.fns, fns...)
	for k, v := range values {
		if h.values == nil {
			h.values = map[any]any{}
		}
		h.values[k] = v
	}
next:
	for _, d := range ds {
		for _, mine := range h.deferred {
			if mine.absorb(d) {
				continue next
			}
		}
		h.deferred = append(h.deferred, d)
	}
	h.mu.Unlock()
}

func (h *commitHooks) run() {
	h.mu.Lock()
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// IsUniqueViolation reports a unique-constraint violation, with its name.
func IsUniqueViolation(err error) (constraint string, ok bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

func fnv64(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64() >> 1
}

// Migrations is the "migrations" directory of a service's embedded files
// (//go:embed migrations/*.sql), as Provision takes it. A missing directory
// is a programming error and panics at start-up.
func Migrations(embedded fs.FS) fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(fmt.Sprintf("pg: embedded migrations: %v", err))
	}
	return sub
}

// Unavailable reports an error that says the database cannot serve now but
// may soon: it refused or lost the connection, has no connection slot left,
// is starting up or shutting down, or the wait for a pooled connection ran
// out. Callers answer 503 with Retry-After (HTTP) or redeliver later
// (events), never a bare 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53300", pe.Code == "53400", // too many connections, configuration limit exceeded
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin shutdown, crash shutdown, cannot connect now
			strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}
