package testkit

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CompressesWithLZ4 fails tb unless each column of table (in the pool's
// schema) is set to compress with LZ4 — on a server built with LZ4; on one
// without it the migrations keep pglz and there is nothing to check.
func CompressesWithLZ4(tb testing.TB, pool *pgxpool.Pool, table string, columns ...string) {
	tb.Helper()
	ctx := context.Background()
	var lz4 bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_settings
		WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals))`).Scan(&lz4); err != nil {
		tb.Fatal(err)
	}
	if !lz4 {
		tb.Logf("this PostgreSQL has no LZ4: %s keeps pglz", table)
		return
	}
	for _, c := range columns {
		var method string
		if err := pool.QueryRow(ctx, `SELECT attcompression::text FROM pg_attribute
			WHERE attrelid = $1::regclass AND attname = $2`, table, c).Scan(&method); err != nil {
			tb.Fatalf("%s.%s: %v", table, c, err)
		}
		if method != "l" {
			tb.Errorf("%s.%s compresses with %q, want lz4 (\"l\")", table, c, method)
		}
	}
}
