package main

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/testkit"
)

// slowWriter writes to w as slowly as a terminal can: the process's output
// is still in the pipe when it exits.
type slowWriter struct{ w io.Writer }

func (s slowWriter) Write(p []byte) (int, error) {
	time.Sleep(20 * time.Microsecond)
	return s.w.Write(p)
}

// TestStartKeepsTheLastLines: a service's last lines ("stopped") are
// written as it exits; start's channel closes only once they were copied.
// Waiting for the process before reading its pipe to the end lost them.
func TestStartKeepsTheLastLines(t *testing.T) {
	for i := range 3 {
		var out testkit.SyncBuffer
		cmd := exec.Command("sh", "-c", `seq 1 300; echo stopped`) // 1 kB: all of it in the pipe at once
		done, err := start(cmd, "svc", slowWriter{&out})
		if err != nil {
			t.Fatal(err)
		}
		<-done
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 301 || lines[len(lines)-1] != fmt.Sprintf("%-15s | stopped", "svc") {
			t.Fatalf("run %d: %d lines, the last %q", i, len(lines), lines[len(lines)-1])
		}
	}
}
