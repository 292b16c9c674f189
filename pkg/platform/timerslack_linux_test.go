package platform

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const slackHelperEnv = "PLATFORM_TIMER_SLACK_HELPER"

// helperSlacks runs TestTimerSlackHelper in a process of its own with env
// added and returns the timer slacks of that process' threads, and whether
// it executed itself again.
func helperSlacks(t *testing.T, env ...string) ([]int64, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTimerSlackHelper$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), slackHelperEnv+"=1"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	return parseSlacks(t, string(out)), strings.Contains(string(out), "executed again: true")
}

func parseSlacks(t *testing.T, out string) []int64 {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "slacks:")
		if !ok {
			continue
		}
		var slacks []int64
		for _, f := range strings.Fields(rest) {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				t.Fatalf("helper line %q: %v", line, err)
			}
			slacks = append(slacks, n)
		}
		return slacks
	}
	t.Fatalf("helper printed no slacks:\n%s", out)
	return nil
}

// helperFromSlackThread starts the helper from a thread that has the slack
// already, as a launcher that has it starts a service.
func helperFromSlackThread(t *testing.T, slack time.Duration) ([]int64, bool) {
	t.Helper()
	type result struct {
		out []byte
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine: its slack goes with it
		if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack.Nanoseconds()), 0, 0, 0); err != nil {
			done <- result{err: err}
			return
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestTimerSlackHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), slackHelperEnv+"=1", "TIMER_SLACK="+slack.String())
		out, err := cmd.CombinedOutput()
		done <- result{out, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("helper: %v\n%s", r.err, r.out)
	}
	return parseSlacks(t, string(r.out)), strings.Contains(string(r.out), "executed again: true")
}

// TestTimerSlackHelper is the process helperSlacks starts: what Main does
// first, then the slack of every thread.
func TestTimerSlackHelper(t *testing.T) {
	if os.Getenv(slackHelperEnv) != "1" {
		t.Skip("the process TestEveryThreadOfAServiceRunsWithTheTimerSlack starts")
	}
	if err := ExecWithTimerSlack(os.Getenv, os.Environ()); err != nil {
		fmt.Println("error:", err)
	}
	slacks, err := threadTimerSlacks()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("executed again:", os.Getenv(timerSlackSetEnv) != "")
	fmt.Print("slacks:")
	for _, s := range slacks {
		fmt.Print(" ", s)
	}
	fmt.Println()
}

// The runtime's monitor thread starts before any Go code runs; it has the
// slack only because the binary was executed again with it. Giving the
// calling thread the slack without that leaves the monitor (and the other
// threads) at the kernel's default, and this test fails.
func TestEveryThreadOfAServiceRunsWithTheTimerSlack(t *testing.T) {
	own, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Skipf("no timer slack here: %v", err)
	}
	def, _ := strconv.ParseInt(strings.TrimSpace(string(own)), 10, 64)
	check := func(name string, slacks []int64, executed bool, want int64, wantExecuted bool) {
		t.Helper()
		if len(slacks) < 3 { // main thread, sysmon, at least one more
			t.Fatalf("%s: %d threads seen, want at least 3", name, len(slacks))
		}
		for _, s := range slacks {
			if s != want {
				t.Fatalf("%s: thread slacks %v, want every one %d", name, slacks, want)
			}
		}
		if executed != wantExecuted {
			t.Fatalf("%s: executed again %v, want %v", name, executed, wantExecuted)
		}
	}
	slacks, executed := helperSlacks(t)
	check("default", slacks, executed, TimerSlack.Nanoseconds(), true)
	slacks, executed = helperSlacks(t, "TIMER_SLACK=5ms")
	check("TIMER_SLACK=5ms", slacks, executed, (5 * time.Millisecond).Nanoseconds(), true)
	slacks, executed = helperSlacks(t, "TIMER_SLACK=0")
	check("TIMER_SLACK=0", slacks, executed, def, false)
	// Started by a process that has it (the development launcher): no
	// second start.
	slacks, executed = helperFromSlackThread(t, 2*time.Millisecond)
	check("inherited", slacks, executed, (2 * time.Millisecond).Nanoseconds(), false)
}

func TestTimerSlackSetting(t *testing.T) {
	for v, want := range map[string]time.Duration{"": TimerSlack, "0": 0, "200us": 200 * time.Microsecond, "1s": time.Second} {
		got, ok := timerSlack(func(string) string { return v })
		if !ok || got != want {
			t.Errorf("TIMER_SLACK=%q: %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"1", "-1ms", "2s", "soon"} {
		if _, ok := timerSlack(func(string) string { return v }); ok {
			t.Errorf("TIMER_SLACK=%q accepted", v)
		}
	}
}
