package platform

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExecWithTimerSlack gives the process' threads the slack that getenv asks
// for (TIMER_SLACK, default TimerSlack): when they do not all have it yet,
// it sets it on this thread and executes the binary again, whose threads
// all inherit it (see TimerSlack). It returns when there is nothing to do,
// or with the reason it could not, and the process then goes on as it is.
// A process started by one that has the slack already has it (a thread's
// slack passes to the processes it starts), and is not executed again.
func ExecWithTimerSlack(getenv func(string) string, environ []string) error {
	slack, ok := timerSlack(getenv)
	if !ok || slack == 0 {
		return nil // an invalid setting stops the service at its configuration
	}
	want := slack.Nanoseconds()
	slacks, err := threadTimerSlacks()
	if err == nil && !slices.ContainsFunc(slacks, func(s int64) bool { return s != want }) {
		return nil
	}
	mark := strconv.FormatInt(want, 10)
	if getenv(timerSlackSetEnv) == mark {
		if err != nil {
			return nil // executed with it; /proc cannot show it
		}
		return errors.New("timer slack: executed with it, yet not every thread has it")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("timer slack: %w", err)
	}
	// The slack is a thread's; exec keeps the calling thread's, and every
	// thread of the new image is created from it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(want), 0, 0, 0); err != nil {
		return fmt.Errorf("timer slack: prctl: %w", err)
	}
	env := slices.DeleteFunc(slices.Clone(environ), func(kv string) bool { return strings.HasPrefix(kv, timerSlackSetEnv+"=") })
	err = syscall.Exec(exe, os.Args, append(env, timerSlackSetEnv+"="+mark))
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 0, 0, 0, 0) // back to the default
	return fmt.Errorf("timer slack: exec %s: %w", exe, err)
}

// threadTimerSlacks are the timer slacks of the process' threads, in
// nanoseconds and in no order (for its start-up log line and tests).
func threadTimerSlacks() ([]int64, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + t.Name() + "/timerslack_ns")
		if err != nil {
			continue // the thread has exited
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
