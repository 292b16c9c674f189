package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/jobs"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

var errAway = errors.New("the database cannot be reached")

// TestAnOutageIsLoggedOnceAndItsEnd: a job whose dependency is away (a
// transient error) is logged once as a warning, not as an error per run,
// and once more when it runs again; another error is an error every time.
func TestAnOutageIsLoggedOnceAndItsEnd(t *testing.T) {
	var buf testkit.SyncBuffer
	r := jobs.New(slog.New(slog.NewJSONHandler(&buf, nil)))
	r.Transient = func(err error) bool { return errors.Is(err, errAway) }
	var runs atomic.Int32
	failing := errors.New("a bug")
	results := []error{errAway, errAway, errAway, nil, failing, failing, nil}
	done := make(chan struct{})
	if err := r.Add(jobs.Job{Name: "sweep", Every: time.Millisecond, Run: func(context.Context, time.Time) (time.Time, error) {
		n := int(runs.Add(1)) - 1
		if n >= len(results) {
			select {
			case <-done:
			default:
				close(done)
			}
			return time.Time{}, nil
		}
		return time.Time{}, results[n]
	}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = r.Run(ctx); close(stopped) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the job did not get through its results")
	}
	cancel()
	<-stopped

	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got = append(got, rec.Level+" "+rec.Msg)
	}
	want := []string{
		"WARN job waits for what it depends on; tried again with backoff",
		"INFO job runs again",
		"ERROR job failed",
		"ERROR job failed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
