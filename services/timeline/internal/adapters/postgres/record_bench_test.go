package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/postgres"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// backendCPU is the CPU time of the pool's Postgres backends (from /proc:
// this machine's Postgres).
func backendCPU(b *testing.B, p *pgxpool.Pool) time.Duration {
	rows, err := p.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
	var d time.Duration
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		d += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return d
}

// BenchmarkRecord records events one transaction each (the dearest case of
// the router) and reports the Postgres CPU per event.
func BenchmarkRecord(b *testing.B) {
	ctx := context.Background()
	p := pool(b)
	s := postgres.New(p)
	const n = 2000
	before := backendCPU(b, p)
	start := time.Now()
	for i := range n {
		e := ev("/services/registration", uint64(i+1), t0)
		e.ID = fmt.Sprintf("e-%d", i)
		e.Subject, e.PartitionKey = fmt.Sprintf("PG-B%d", i%100), fmt.Sprintf("PG-B%d", i%100)
		if err := pg.InTx(ctx, p, func(ctx context.Context, _ pgx.Tx) error {
			_, _, err := s.Record(ctx, e, []string{e.Subject}, domain.Registrant{}, time.Now())
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((backendCPU(b, p)-before).Microseconds())/n, "pg_cpu_us/event")
	b.ReportMetric(float64(time.Since(start).Microseconds())/n, "wall_us/event")
}
