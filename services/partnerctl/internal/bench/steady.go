package bench

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// A load point should measure the stack, not the machine catching up with
// what the benchmark's own set-up left behind. Two things did, found by
// tracing the stalls in which every commit of every service waited 60–190 ms
// at once, every 5 s (the kernel's periodic writeback):
//
//   - the set-up's dirty pages: seven freshly built binaries, initdb (run
//     with --no-sync), CREATE DATABASE and the migrations are written back
//     about 30 s after they were dirtied (vm.dirty_expire_centisecs), in
//     bursts of tens of megabytes that the WAL's fdatasync queues behind;
//   - the WAL's segment files: a fresh cluster has none to recycle, so every
//     16 MB of WAL a backend creates and zero-fills the next segment
//     (a synchronous 16 MB write) while holding the WAL write lock. A
//     server in service recycles the segments of its past checkpoints and
//     creates none.
//
// Steady brings the private cluster to a server's steady state before the
// measurements: it writes segments WAL segments' worth of WAL and
// checkpoints, so the checkpoint recycles them as the segments to come,
// then flushes every dirty page of the machine (sync). Nothing of what
// decides durability or a transaction's cost changes.
func (p *Postgres) Steady(ctx context.Context, segments int) (ready int, took time.Duration, err error) {
	start := time.Now()
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_wal (n int)`); err != nil {
		return 0, 0, fmt.Errorf("prepare WAL: %w", err)
	}
	for i := 0; i < segments; i++ {
		// A switch needs WAL written since the last one.
		if _, err := conn.Exec(ctx, `INSERT INTO bench_wal VALUES (1)`); err != nil {
			return 0, 0, fmt.Errorf("prepare WAL: %w", err)
		}
		if _, err := conn.Exec(ctx, `SELECT pg_switch_wal()`); err != nil {
			return 0, 0, fmt.Errorf("prepare WAL: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `DROP TABLE bench_wal`); err != nil {
		return 0, 0, fmt.Errorf("prepare WAL: %w", err)
	}
	if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
		return 0, 0, fmt.Errorf("checkpoint: %w", err)
	}
	// The segments after the one being written: recycled, ready to use.
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_ls_waldir()
		WHERE name ~ '^[0-9A-F]{24}$' AND name > pg_walfile_name(pg_current_wal_lsn())`).Scan(&ready)
	if err != nil {
		return 0, 0, fmt.Errorf("count WAL segments: %w", err)
	}
	syscall.Sync()
	return ready, time.Since(start), nil
}
