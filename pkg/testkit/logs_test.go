package testkit

import (
	"fmt"
	"strings"
	"testing"
)

// recordingTB is a test whose failure, cleanups and output are the
// caller's to drive and read.
type recordingTB struct {
	testing.TB
	failed   bool
	cleanups []func()
	out      strings.Builder
}

func (r *recordingTB) Helper()                 {}
func (r *recordingTB) Failed() bool            { return r.failed }
func (r *recordingTB) Cleanup(f func())        { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Logf(f string, a ...any) { fmt.Fprintf(&r.out, f, a...) }

func (r *recordingTB) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestAFailedTestShowsTheLastLogLinesOfTheCodeUnderTest(t *testing.T) {
	tb := &recordingTB{TB: t}
	log := Log(tb)
	for i := range keptLogLines + 5 {
		log.Debug("round", "n", i)
	}
	tb.failed = true
	tb.end()
	lines := strings.Split(tb.out.String(), "\n")[1:] // after the heading
	if len(lines) != keptLogLines {
		t.Fatalf("%d lines shown, want the last %d", len(lines), keptLogLines)
	}
	if !strings.Contains(lines[0], `"n":5}`) || !strings.Contains(lines[len(lines)-1], fmt.Sprintf(`"n":%d}`, keptLogLines+4)) {
		t.Fatalf("not the last lines, oldest first: %s … %s", lines[0], lines[len(lines)-1])
	}
}

func TestAPassingTestShowsNoLogLines(t *testing.T) {
	tb := &recordingTB{TB: t}
	Log(tb).Warn("partition owner connection failed")
	tb.end()
	if tb.out.Len() != 0 {
		t.Fatalf("a passing test showed %q", tb.out.String())
	}
}
