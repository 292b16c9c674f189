package service_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	regv1 "github.com/partnerhub/onboarding/pkg/events/registration/v1"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// BenchmarkRegistrationEndToEnd measures registrations per second from the
// HTTP submit to the event on JetStream (row + outbox + relay), at several
// concurrencies, beside a raw baseline measured in the same run on the same
// Postgres and NATS: one business insert + one outbox insert per
// transaction, and raw JetStream publishes. Then an open-loop run at a fixed
// rate reports p50/p99. Run with `make bench`.
func BenchmarkRegistrationEndToEnd(b *testing.B) {
	if testing.Short() {
		b.Skip("benchmark needs Postgres and JetStream")
	}
	e := start(b)
	tok := e.token(b, upstream)
	nc, err := nats.Connect(e.nats)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()

	arrived := sync.Map{} // partner id → time the event reached JetStream consumers
	js, _ := jetstream.New(nc)
	cons, err := js.OrderedConsumer(context.Background(), "REGISTRATION", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.AllPartitions(ce.Topic(regv1.TypeApplicationSubmitted))}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		b.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { arrived.Store(m.Headers().Get(ce.HSubject), time.Now()) })
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()

	var seq atomic.Int64
	submit := func() (string, time.Time, error) {
		n := seq.Add(1)
		m := registration()
		c := m["company"].(map[string]any)
		delete(c, "registration_number")
		c["legal_name"] = fmt.Sprintf("株式会社ベンチ%06d", n)
		c["address"].(map[string]any)["line1"] = fmt.Sprintf("丸の内%d-2-3", n)
		t0 := time.Now()
		r := e.do(b, "POST", "/v1/registrations", tok, "application/json", mustJSON(b, m))
		if r.Status != http.StatusCreated {
			return "", t0, fmt.Errorf("status %d: %s", r.Status, r.Body)
		}
		return r.json(b)["partner_id"].(string), t0, nil
	}
	waitAll := func(ids map[string]time.Time) []time.Duration {
		var lat []time.Duration
		deadline := time.Now().Add(60 * time.Second)
		for id, t0 := range ids {
			for {
				if v, ok := arrived.Load(id); ok {
					lat = append(lat, v.(time.Time).Sub(t0))
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("event for %s never arrived", id)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		return lat
	}

	admin, err := pgxpool.New(context.Background(), adminDB(e))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(context.Background(), `CREATE SCHEMA IF NOT EXISTS bench;
		CREATE TABLE IF NOT EXISTS bench.business (id bigserial primary key, data jsonb not null);
		CREATE TABLE IF NOT EXISTS bench.outbox (id bigserial primary key, uuid text, payload json, metadata json, created_at timestamptz default now())`); err != nil {
		b.Fatal(err)
	}
	doc := string(mustJSON(b, registration()))

	const perLevel = 300
	fmt.Fprintf(os.Stdout, "\n%-12s %12s %14s %10s %14s %10s %10s\n", "concurrency", "reg/s", "raw tx/s", "ratio", "raw pub/s", "p50", "p99")
	for _, conc := range []int{1, 4, 16} {
		// Raw transaction baseline at the same concurrency.
		rawTx := rate(perLevel, conc, func() error {
			return pgx.BeginFunc(context.Background(), admin, func(tx pgx.Tx) error {
				if _, err := tx.Exec(context.Background(), `INSERT INTO bench.business (data) VALUES ($1)`, doc); err != nil {
					return err
				}
				_, err := tx.Exec(context.Background(), `INSERT INTO bench.outbox (uuid, payload, metadata) VALUES ($1, $2, '{}')`, ce.NewID(), doc)
				return err
			})
		})
		// Raw JetStream publishes (sync, acked) at the same concurrency.
		rawPub := rate(perLevel, conc, func() error {
			_, err := js.Publish(context.Background(), "registration.bench.raw.v1", []byte(doc))
			return err
		})
		var mu sync.Mutex
		ids := map[string]time.Time{}
		start := time.Now()
		var lastErr error
		var wg sync.WaitGroup
		work := make(chan struct{}, perLevel)
		for range perLevel {
			work <- struct{}{}
		}
		close(work)
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					id, t0, err := submit()
					mu.Lock()
					if err != nil {
						lastErr = err
					} else {
						ids[id] = t0
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if lastErr != nil {
			b.Fatal(lastErr)
		}
		lat := waitAll(ids)
		var last time.Time
		for id := range ids {
			v, _ := arrived.Load(id)
			if t := v.(time.Time); t.After(last) {
				last = t
			}
		}
		regs := float64(perLevel) / last.Sub(start).Seconds()
		p50, p99 := pct(lat, 50), pct(lat, 99)
		fmt.Fprintf(os.Stdout, "%-12d %12.0f %14.0f %9.0f%% %14.0f %10s %10s\n", conc, regs, rawTx, 100*regs/rawTx, rawPub, p50, p99)
		b.ReportMetric(regs, fmt.Sprintf("reg/s@c%d", conc))
		b.ReportMetric(regs/rawTx, fmt.Sprintf("ratio@c%d", conc))
	}

	// Open loop at a fixed rate: latency when the system is not saturated.
	for _, perSec := range []int{200, 500} {
		total := perSec * 2
		interval := time.Second / time.Duration(perSec)
		var mu sync.Mutex
		ids := map[string]time.Time{}
		var wg sync.WaitGroup
		tick := time.NewTicker(interval)
		begin := time.Now()
		for range total {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, t0, err := submit()
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				ids[id] = t0
				mu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
		achieved := float64(total) / time.Since(begin).Seconds()
		lat := waitAll(ids)
		fmt.Fprintf(os.Stdout, "open loop %4d/s (achieved %4.0f/s): p50 %s  p99 %s  max %s\n", perSec, achieved, pct(lat, 50), pct(lat, 99), pct(lat, 100))
		b.ReportMetric(float64(pct(lat, 99).Milliseconds()), fmt.Sprintf("p99_ms@%d/s", perSec))
	}
}

func rate(n, conc int, op func() error) float64 {
	work := make(chan struct{}, n)
	for range n {
		work <- struct{}{}
	}
	close(work)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := op(); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s) - 1) * p / 100
	return s[i].Round(100 * time.Microsecond)
}

func adminDB(e *env) string {
	var db string
	_ = e.svc.Base.Pool.QueryRow(context.Background(), "SELECT current_database()").Scan(&db)
	return testkit.AdminURL()[:len(testkit.AdminURL())-len("postgres?sslmode=disable")] + db + "?sslmode=disable"
}
