package outbox_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/pkg/pg"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

// relayed starts a relay of the registration outbox on a fresh JetStream
// (one stream for the service's subjects) and waits for its first read.
// Its safety poll is a minute away: nothing but a commit or Wake moves it.
func relayed(t *testing.T, conns int32) (*outbox.Relay, jetstream.JetStream, *outbox.Writer, func(w *outbox.Writer, key string)) {
	t.Helper()
	return relayedTraced(t, conns, nil)
}

// relayedTraced is relayed on a pool that reports its statements to tracer.
func relayedTraced(t *testing.T, conns int32, tracer pgx.QueryTracer) (*outbox.Relay, jetstream.JetStream, *outbox.Writer, func(w *outbox.Writer, key string)) {
	t.Helper()
	p := testkit.ServicePool(t, "registration", thingTable, conns, tracer)
	_, js := testkit.JetStream(t, testkit.NATS(t))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "REGISTRATION", Subjects: []string{"registration.>"},
		Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	r := outbox.NewRelay(p, js, nil, outbox.RelayConfig{PollInterval: time.Minute, FlushInterval: time.Second},
		testkit.Log(t), nil)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testkit.Eventually(t, 5*time.Second, func() error {
		if r.Reads() == 0 {
			return fmt.Errorf("no first read")
		}
		return nil
	})
	w := outbox.NewWriter("registration")
	w.RelayOnCommit(r, nil, "registration")
	commit := func(w *outbox.Writer, key string) {
		t.Helper()
		if err := pg.InTx(ctx, p, func(ctx context.Context, tx pgx.Tx) error {
			_, err := w.Append(ctx, tx, draft(key))
			return err
		}); err != nil {
			t.Error(err)
		}
	}
	return r, js, w, commit
}

// published reads the stream: per partition key, the sequences in stream
// order; it waits until there are want messages.
func published(t *testing.T, js jetstream.JetStream, want int) map[string][]int {
	t.Helper()
	ctx := context.Background()
	testkit.Eventually(t, 10*time.Second, func() error {
		s, err := js.Stream(ctx, "REGISTRATION")
		if err != nil {
			return err
		}
		if n := s.CachedInfo().State.Msgs; n != uint64(want) {
			if info, err := s.Info(ctx); err == nil && info.State.Msgs == uint64(want) {
				return nil
			}
			return fmt.Errorf("%d messages on the stream, want %d", n, want)
		}
		return nil
	})
	c, err := js.OrderedConsumer(ctx, "REGISTRATION", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int{}
	for range want {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		seq, err := strconv.Atoi(m.Headers().Get(ce.HSequence))
		if err != nil {
			t.Fatal(err)
		}
		key := m.Headers().Get(ce.HPartitionKey)
		got[key] = append(got[key], seq)
	}
	return got
}

func inOrder(t *testing.T, got map[string][]int, keys ...string) {
	t.Helper()
	for _, k := range keys {
		for i, s := range got[k] {
			if s != i+1 {
				t.Fatalf("%s: sequences on the stream %v, want 1, 2, … once each in order", k, got[k])
			}
		}
	}
}

// The rows a transaction of this instance commits are handed to the relay,
// which publishes them without reading the outbox when their partition's
// order is known (the sequence follows the one it published last, or is 1
// for a partner it has published nothing of).
func TestCommittedRowsArePublishedWithoutAReadOfTheOutbox(t *testing.T) {
	r, js, w, commit := relayed(t, 2)
	reads := r.Reads()
	for i := range 10 {
		commit(w, "p1")
		if i%2 == 0 {
			commit(w, "p2")
		}
	}
	got := published(t, js, 15)
	inOrder(t, got, "p1", "p2")
	if len(got["p1"]) != 10 || len(got["p2"]) != 5 {
		t.Fatalf("published %v, want 10 of p1 and 5 of p2", got)
	}
	if n := r.Reads() - reads; n != 0 {
		t.Fatalf("the relay read the outbox %d times for rows handed over in order, want none", n)
	}
	if r.Published() != 15 {
		t.Fatalf("relay published %d events, want 15", r.Published())
	}
}

// A handed-over row whose predecessor the relay has not published (written
// by another instance, or handed over later) makes the relay read the
// outbox, which publishes both in order; so does a key it does not know.
func TestARowHandedOverOutOfOrderIsReadInOrder(t *testing.T) {
	r, js, w, commit := relayed(t, 2)
	other := outbox.NewWriter("registration") // an instance whose commits do not reach this relay
	other.WakeOnCommit(func() {}, nil, "registration")
	commit(other, "p1") // 1: left in the outbox
	commit(w, "p1")     // 2: handed over, 1 is not published
	got := published(t, js, 2)
	inOrder(t, got, "p1")
	if r.Reads() < 2 {
		t.Fatalf("reads %d: the row out of order was published without reading its predecessor", r.Reads())
	}
	commit(other, "p2") // 1, unknown to the relay
	commit(other, "p2") // 2
	reads := r.Reads()
	commit(w, "p2") // 3: its key unknown here
	got = published(t, js, 5)
	inOrder(t, got, "p1", "p2")
	if r.Reads() == reads {
		t.Fatal("a row of a key the relay does not know was published without a read")
	}
	if r.Published() != 5 {
		t.Fatalf("relay published %d events, want 5 (none twice)", r.Published())
	}
}

// Commits of one partner racing from many goroutines hand their rows over
// in any order; each is published once, and the stream holds the partner's
// sequence in order.
func TestRacingCommitsOfOnePartnerStayInOrder(t *testing.T) {
	r, js, w, commit := relayed(t, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 15 {
				commit(w, "p1")
			}
		})
	}
	wg.Wait()
	got := published(t, js, 120)
	inOrder(t, got, "p1")
	if r.Published() != 120 {
		t.Fatalf("relay published %d events, want 120 (none twice)", r.Published())
	}
	t.Logf("reads of the outbox for 120 racing commits: %d", r.Reads())
}

// A hand-over that comes after a read published its rows and their delete
// (the relay read the outbox between the commit and the hand-over) does not
// publish them again, even a partner's first row.
func TestALateHandOverDoesNotPublishAgain(t *testing.T) {
	r, js, w, commit := relayed(t, 2)
	late := outbox.NewWriter("registration")
	release := outbox.HoldHandOffs(late, r)
	commit(late, "p1") // 1, its hand-over held
	r.Wake()
	published(t, js, 1)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	release()
	commit(w, "p1") // 2
	got := published(t, js, 2)
	inOrder(t, got, "p1")
	testkit.Eventually(t, 5*time.Second, func() error {
		if r.Published() < 2 {
			return fmt.Errorf("relay published %d events", r.Published())
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // a second publish of row 1 would be counted by now
	if r.Published() != 2 {
		t.Fatalf("relay published %d events, want 2: the late hand-over published its row again", r.Published())
	}
}

// TestFlushDeletesInOneRoundTrip: the published rows' delete goes out with
// its BEGIN and COMMIT in one batch.
func TestFlushDeletesInOneRoundTrip(t *testing.T) {
	statements := &testkit.Statements{}
	r, js, w, commit := relayedTraced(t, 2, statements)
	commit(w, "p1")
	published(t, js, 1)
	testkit.Eventually(t, 5*time.Second, func() error {
		if r.Published() < 1 {
			return fmt.Errorf("relay published %d events", r.Published())
		}
		return nil
	})
	statements.Reset()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, sql := range statements.Alone() {
		if strings.HasPrefix(sql, "DELETE FROM outbox") || sql == "begin" || sql == "commit" {
			t.Fatalf("flush sent %q on its own: alone %q, batches %q", sql, statements.Alone(), statements.Batches())
		}
	}
	b := statements.Batches()
	if len(b) != 1 || b[0][0] != "begin" || b[0][len(b[0])-1] != "commit" ||
		!slices.ContainsFunc(b[0], func(sql string) bool { return strings.HasPrefix(sql, "DELETE FROM outbox") }) {
		t.Fatalf("flush: batches %q, want one with BEGIN, the delete and COMMIT", b)
	}
}
