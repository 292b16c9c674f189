package outbox

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestAnUnreachableDatabaseIsLoggedOnceByTheFlush: while the database
// cannot be reached, the relay's deletes of published rows fail at every
// flush (a drain's, and a partition's given up, which an instance does for
// every partition when its own session ends); that is one warning for the
// outage, not one per flush.
func TestAnUnreachableDatabaseIsLoggedOnceByTheFlush(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1&sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var buf bytes.Buffer
	r := NewRelay(pool, nil, nil, RelayConfig{BatchSize: 1, FlushInterval: time.Millisecond}, slog.New(slog.NewJSONHandler(&buf, nil)), nil)
	for p := range 3 { // the flushes of a drain, and of partitions given up
		r.sent = []int64{1}
		r.flushIfDue(context.Background())
		r.sent = []int64{1}
		r.GivePartition(p)
	}
	if n := strings.Count(buf.String(), `"level":"WARN"`); n != 1 {
		t.Fatalf("%d warnings for one outage, want 1:\n%s", n, buf.String())
	}
}
