package testkit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keptLogLines bounds the log lines a test keeps (the last ones).
const keptLogLines = 2000

// Log returns a logger for the code under test: its records, debug level
// and up, as JSON, are kept in memory (the last keptLogLines) and written
// to the test's output only if the test fails. A test that passes stays
// quiet; one that fails in CI — where it cannot be rerun with a debugger —
// shows what the code said before it failed (a router's partition rounds,
// a relay's retries). Take it before what logs to it starts, so that its
// records from the shutdown are kept too (cleanups run last first).
func Log(tb testing.TB) *slog.Logger {
	tb.Helper()
	w := &lineRing{}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("the log of the code under test (its last %d lines at most):\n%s", keptLogLines, w.String())
		}
	})
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lineRing keeps the last keptLogLines lines written to it.
type lineRing struct {
	mu    sync.Mutex
	lines []string
	next  int // where the next line goes once the ring is full
	part  []byte
}

func (r *lineRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.part = append(r.part, p...)
	for {
		i := bytes.IndexByte(r.part, '\n')
		if i < 0 {
			break
		}
		r.add(string(r.part[:i]))
		r.part = r.part[i+1:]
	}
	return len(p), nil
}

func (r *lineRing) add(line string) {
	if len(r.lines) < keptLogLines {
		r.lines = append(r.lines, line)
		return
	}
	r.lines[r.next] = line
	r.next = (r.next + 1) % keptLogLines
}

// String is the kept lines, oldest first.
func (r *lineRing) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ordered := append(append([]string{}, r.lines[r.next:]...), r.lines[:r.next]...)
	if len(r.part) > 0 {
		ordered = append(ordered, string(r.part))
	}
	return strings.Join(ordered, "\n")
}

// DurablesOnFailure writes, if the test fails, where every durable of the
// streams stood when it ended (delivered, acknowledged, pending, waiting
// pulls): whether an event never reached a durable, was delivered and
// never acknowledged, or waits for a redelivery.
func DurablesOnFailure(tb testing.TB, js jetstream.JetStream, streams ...string) {
	tb.Helper()
	tb.Cleanup(func() {
		if !tb.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var b strings.Builder
		for _, name := range streams {
			st, err := js.Stream(ctx, name)
			if err != nil {
				fmt.Fprintf(&b, "stream %s: %v\n", name, err)
				continue
			}
			fmt.Fprintf(&b, "stream %s: messages %d, last sequence %d\n", name, st.CachedInfo().State.Msgs, st.CachedInfo().State.LastSeq)
			infos := st.ListConsumers(ctx)
			for c := range infos.Info() {
				fmt.Fprintf(&b, "  %s: delivered %d (stream %d), ack floor %d (stream %d), ack pending %d, redelivered %d, pending %d, waiting pulls %d\n",
					c.Name, c.Delivered.Consumer, c.Delivered.Stream, c.AckFloor.Consumer, c.AckFloor.Stream,
					c.NumAckPending, c.NumRedelivered, c.NumPending, c.NumWaiting)
			}
			if err := infos.Err(); err != nil {
				fmt.Fprintf(&b, "  listing its durables: %v\n", err)
			}
		}
		tb.Logf("the durables when the test ended:\n%s", b.String())
	})
}
