package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a private cluster: initdb into a directory of the run, the
// postmaster a child of the benchmark (so that it dies with it), default
// durability (fsync, synchronous_commit, full_page_writes on).
type Postgres struct {
	BinDir  string
	DataDir string
	Port    int
	Version string
	// Settings are the -c options the postmaster runs with beyond initdb's.
	Settings []string
	// Env is the environment the postmaster runs with beyond the
	// benchmark's own (environ).
	Env  []string
	proc *process
	cred *syscall.Credential
	bin  string // the postgres binary
	dir  string // its working directory
}

// pgBinDir finds the PostgreSQL binaries: $PG_BIN, else pg_config
// --bindir, else the Debian location of version 15.
func pgBinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	for _, d := range []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"} {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL binaries (initdb, postgres, pgbench): set PG_BIN")
}

// PostgresMalloc is the environment the Postgres that docker-compose.yml
// runs is given, and the private cluster with it (a test holds the two
// equal): glibc's malloc keeps up to 16 MiB of a backend's freed heap
// instead of giving back all above 128 KiB at every free. Postgres frees a
// statement's memory when the statement ends, so a backend shrank its heap
// (brk) and grew it again, page fault by page fault, many times per
// transaction. On a virtual machine where page tables are the hypervisor's
// to change, the shrink's TLB shoot-down and the faults cost about a tenth
// of Postgres' CPU in this benchmark (README, "Performance and scaling",
// round 14). BENCH_PG_MALLOC=default runs the cluster without it.
const PostgresMalloc = "GLIBC_TUNABLES=glibc.malloc.trim_threshold=16777216"

// StartPostgres initialises a cluster under dir and starts it on a free
// port, with extra -c settings after the benchmark's own and env added to
// the postmaster's environment.
func StartPostgres(ctx context.Context, dir string, extra, env []string, logf func(string, ...any)) (*Postgres, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{BinDir: bin, DataDir: filepath.Join(dir, "pgdata"), Env: env}
	// Postgres refuses to run as root: as root, run it as the postgres user.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user to run the cluster as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", p.DataDir, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = p.sysProcAttr()
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if p.Port, err = freePort(); err != nil {
		return nil, err
	}
	// Bench settings: everything that decides durability and per-transaction
	// cost stays at its default (fsync, synchronous_commit, wal_sync_method,
	// full_page_writes, shared_buffers 128MB, max_connections 100); only the
	// checkpoint distance and interval grow so that no timed checkpoint lands
	// in a measurement window, and the log stays quiet.
	p.Settings = []string{
		"listen_addresses=127.0.0.1", "port=" + strconv.Itoa(p.Port), "unix_socket_directories=" + dir,
		"max_connections=100", "fsync=on", "synchronous_commit=on",
		"checkpoint_timeout=30min", "max_wal_size=4GB",
		"log_min_messages=warning", "log_checkpoints=off", "logging_collector=off",
	}
	p.Settings = append(p.Settings, extra...)
	args := []string{"-D", p.DataDir}
	for _, s := range p.Settings {
		args = append(args, "-c", s)
	}
	p.bin, p.dir = filepath.Join(bin, "postgres"), dir
	if err := p.start(ctx, args); err != nil {
		return nil, err
	}
	logf("postgres %s: private cluster on 127.0.0.1:%d (%s)", p.Version, p.Port, p.DataDir)
	return p, nil
}

// start starts the postmaster with args and waits until it answers.
func (p *Postgres) start(ctx context.Context, args []string) error {
	var err error
	p.proc, err = startProcess("postgres", p.bin, args, environ(p.Env...), p.dir, p.sysProcAttr())
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err == nil {
			err = conn.QueryRow(ctx, "SHOW server_version").Scan(&p.Version)
			conn.Close(ctx)
			if err == nil {
				return nil
			}
		}
		select {
		case <-p.proc.done:
			return fmt.Errorf("postgres exited at start: %v\n%s", p.proc.err, tail(p.proc.log.String(), 3000))
		default:
		}
		if time.Now().After(deadline) {
			p.Stop()
			return fmt.Errorf("postgres not ready within 30s: %v\n%s", err, tail(p.proc.log.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Restart stops the cluster — SIGTERM: a fast shutdown (SIGINT); SIGKILL:
// a crash, which for a postmaster is an immediate shutdown (SIGQUIT: it
// kills its backends, no checkpoint; a killed postmaster would leave its
// backends holding the shared memory, and none could start) — and starts
// it again with the same settings, recovering from the WAL after a crash.
// It returns when the old postmaster exited and whether the signal alone
// ended it.
func (p *Postgres) Restart(ctx context.Context, sig syscall.Signal) (stopped time.Time, graceful bool, err error) {
	old := p.proc
	stop := syscall.SIGINT
	if sig == syscall.SIGKILL {
		stop = syscall.SIGQUIT
	}
	graceful = old.stop(stop, 20*time.Second)
	stopped = time.Now()
	err = p.start(ctx, old.cmd.Args[1:])
	if p.proc != old {
		p.proc.log.continues(old.log)
	}
	return stopped, graceful, err
}

func (p *Postgres) sysProcAttr() *syscall.SysProcAttr {
	// SIGQUIT is an immediate shutdown: the postmaster kills its backends.
	return &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGQUIT}
}

// PID is the postmaster's process id.
func (p *Postgres) PID() int { return p.proc.cmd.Process.Pid }

// URL is the superuser DSN of database db.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// Exec runs statements as the superuser in database db.
func (p *Postgres) Exec(ctx context.Context, db string, sql ...string) error {
	conn, err := pgx.Connect(ctx, p.URL(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", truncate(s, 60), err)
		}
	}
	return nil
}

// Log is the server's output so far.
func (p *Postgres) Log() string { return p.proc.log.String() }

// Stop shuts the cluster down fast (SIGINT: roll back and disconnect), then
// immediately (SIGQUIT), then kills it.
func (p *Postgres) Stop() {
	if p == nil || p.proc == nil {
		return
	}
	p.proc.stop(syscall.SIGINT, 15*time.Second)
}
