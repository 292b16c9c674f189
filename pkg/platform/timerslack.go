package platform

import "time"

// TimerSlack is how late the kernel may fire a service thread's timers so
// that it can coalesce their wake-ups (Linux timer slack, prctl(2)
// PR_SET_TIMERSLACK), unless TIMER_SLACK says otherwise ("0": the kernel's
// default of 50 µs).
//
// Why: while a Go process has work, its runtime's monitor thread (sysmon)
// sleeps 20 µs at a time, and every wake-up is a context switch. On a host
// whose cores the stack shares, a service's work comes in short bursts, each
// one waiting for a core, and the monitor woke through all of that time: a
// profile of whole onboardings put it at 11–17 % of each service's CPU
// (README, "Performance and scaling"). With 4 ms of slack, each of its
// 20 µs sleeps may last up to 4 ms. The runtime has no setting for it, and it starts
// the monitor before any Go code runs, so Main (ExecWithTimerSlack) gives
// the main thread the slack and executes the binary again: the threads of
// the new image, the monitor among them, inherit it.
//
// The price: a timer of the service (a retry delay, a poll, a timeout) may
// fire up to this much late. Nothing on a user's path waits on a timer
// shorter than 50 ms. Against 1 ms, 4 ms took the stack's CPU per
// onboarding another 5–15 % lower (four alternated pairs).
const TimerSlack = 4 * time.Millisecond

// timerSlackEnv names the variable that sets the slack; timerSlackSetEnv,
// set to it in the environment of the image executed with it, keeps that
// image from executing itself again should its threads still lack it.
const (
	timerSlackEnv    = "TIMER_SLACK"
	timerSlackSetEnv = "PARTNERHUB_TIMER_SLACK_SET"
)

// timerSlack is the slack the environment asks for (0: leave the kernel's),
// and false when TIMER_SLACK is not a valid setting (Config.Validate
// reports it: the service stops with ExitConfig).
func timerSlack(getenv func(string) string) (time.Duration, bool) {
	v := getenv(timerSlackEnv)
	if v == "" {
		return TimerSlack, true
	}
	d, err := time.ParseDuration(v)
	if err != nil || !validTimerSlack(d) {
		return 0, false
	}
	return d, true
}

func validTimerSlack(d time.Duration) bool { return d >= 0 && d <= time.Second }
