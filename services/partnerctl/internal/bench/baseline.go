package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Baselines are raw ceilings of the same infrastructure, measured in the
// same run (absolute numbers drift with the machine and its neighbours).
type Baselines struct {
	// PgbenchTPS: pgbench, 4 clients, each transaction one business row
	// insert and one outbox row insert, on the private cluster (median of runs).
	PgbenchTPS []float64
	// PgbenchPGCPU is Postgres CPU per pgbench transaction (backends and
	// background processes; pgbench itself not counted).
	PgbenchPGCPU time.Duration
	// JetStream, 512-byte messages on the private nats-server (file store).
	PublishAsync []float64 // msg/s, async publish until every ack is in
	ConsumeAck   []float64 // msg/s, one durable pull consumer acking each message
}

// Median helpers.
func (b Baselines) Pgbench() float64 { return median(b.PgbenchTPS) }
func (b Baselines) Publish() float64 { return median(b.PublishAsync) }
func (b Baselines) Consume() float64 { return median(b.ConsumeAck) }

const baselineDoc = `{"market":"JP","language":"ja","company":{"legal_name":"株式会社ベンチマーク","phone":"+81312345678","website":"https://www.bench.co.jp","address":{"line1":"丸の内1-2-3","city":"千代田区","region":"東京都","postal_code":"100-0005"},"registration_number":{"scheme":"jp_corporate_number","value":"1234567890123"}},"contact":{"first_name":"太郎","last_name":"山田","email":"taro.yamada@bench.co.jp","phone":"+819022223333"},"programs":[{"program":"partner_network"},{"program":"indirect_reseller"}],"affirmations":{"authority_to_represent":true,"consent_to_verification":true,"accept_network_terms":true,"can_provide_support":true}}`

// Pgbench runs the business+outbox transaction baseline runs times for d
// each, in a database of its own, and accounts Postgres's CPU for it.
func Pgbench(ctx context.Context, pg *Postgres, dir string, runs int, d time.Duration, pgProc Proc) (tps []float64, cpuPerTx time.Duration, err error) {
	const db = "pgbench_baseline"
	if err := pg.Exec(ctx, "postgres", "CREATE DATABASE "+db); err != nil {
		return nil, 0, err
	}
	if err := pg.Exec(ctx, db,
		`CREATE TABLE business (id bigserial PRIMARY KEY, data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
		`CREATE TABLE outbox (id bigserial PRIMARY KEY, uuid text NOT NULL, payload json NOT NULL, metadata json NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
	); err != nil {
		return nil, 0, err
	}
	script := filepath.Join(dir, "baseline.sql")
	sql := "BEGIN;\n" +
		"INSERT INTO business (data) VALUES ('" + baselineDoc + "');\n" +
		"INSERT INTO outbox (uuid, payload, metadata) VALUES (gen_random_uuid()::text, '" + baselineDoc + "', '{\"ce-type\":\"com.partnerhub.bench.v1\"}');\n" +
		"COMMIT;\n"
	if err := os.WriteFile(script, []byte(sql), 0o644); err != nil {
		return nil, 0, err
	}
	re := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	txRe := regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)
	var cpu time.Duration
	var txs int64
	for range runs {
		cmd := exec.CommandContext(ctx, filepath.Join(pg.BinDir, "pgbench"), "-n", "-c", "4", "-j", "2",
			"-T", strconv.Itoa(int(d.Seconds())), "-f", script, "-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port), "-U", "postgres", db)
		cmd.Env = environ()
		before := TakeCPU([]Proc{pgProc})
		out, err := cmd.CombinedOutput()
		after := TakeCPU([]Proc{pgProc})
		if err != nil {
			return nil, 0, fmt.Errorf("pgbench: %v\n%s", err, out)
		}
		m, n := re.FindSubmatch(out), txRe.FindSubmatch(out)
		if m == nil || n == nil {
			return nil, 0, fmt.Errorf("pgbench: no tps in output:\n%s", out)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		c, _ := strconv.ParseInt(string(n[1]), 10, 64)
		tps = append(tps, v)
		txs += c
		cpu += after.Sub(before).Total()
	}
	if txs > 0 {
		cpuPerTx = cpu / time.Duration(txs)
	}
	return tps, cpuPerTx, pg.Exec(ctx, "postgres", "DROP DATABASE "+db)
}

// JetStreamBaseline publishes n 512-byte messages asynchronously to a
// stream of its own, then consumes them with a durable pull consumer
// acking each one, runs times; the stream is deleted afterwards.
func JetStreamBaseline(ctx context.Context, url string, n, runs int) (pub, cons []float64, err error) {
	nc, err := nats.Connect(url, nats.Name("bench-baseline"))
	if err != nil {
		return nil, nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, nil, err
	}
	payload := make([]byte, 512)
	_, _ = rand.Read(payload)
	for r := range runs {
		name := "BENCH_RAW_" + strconv.Itoa(r)
		subject := "bench.raw." + strconv.Itoa(r)
		stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage})
		if err != nil {
			return nil, nil, fmt.Errorf("create %s: %w", name, err)
		}
		start := time.Now()
		for range n {
			// A shared machine can hold acks back for longer than the
			// client's default 200 ms stall wait: wait, don't fail the run.
			if _, err := js.PublishAsync(subject, payload, jetstream.WithStallWait(10*time.Second)); err != nil {
				return nil, nil, err
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(2 * time.Minute):
			return nil, nil, errors.New("async publishes not acknowledged within 2 minutes")
		}
		pub = append(pub, float64(n)/time.Since(start).Seconds())
		info, err := stream.Info(ctx)
		if err != nil {
			return nil, nil, err
		}
		if info.State.Msgs != uint64(n) {
			return nil, nil, fmt.Errorf("stream %s holds %d messages after %d acknowledged publishes", name, info.State.Msgs, n)
		}

		c, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "bench_raw", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			return nil, nil, err
		}
		var got atomic.Int64
		done := make(chan struct{})
		start = time.Now()
		cc, err := c.Consume(func(m jetstream.Msg) {
			_ = m.Ack()
			if got.Add(1) == int64(n) {
				close(done)
			}
		}, jetstream.PullMaxMessages(1000))
		if err != nil {
			return nil, nil, err
		}
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			cc.Stop()
			return nil, nil, fmt.Errorf("consumed %d of %d messages in 2 minutes", got.Load(), n)
		}
		cons = append(cons, float64(n)/time.Since(start).Seconds())
		cc.Stop()
		if err := js.DeleteStream(ctx, name); err != nil {
			return nil, nil, err
		}
	}
	return pub, cons, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// joinFloats renders values with format f, space-separated.
func joinFloats(v []float64, f string) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf(f, x)
	}
	return strings.Join(parts, " ")
}
