package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ). It is
// 100 on every Linux the benchmark runs on (x86-64 and arm64 fix it there).
const clockTick = 10 * time.Millisecond

// procStat is what the benchmark reads from /proc/<pid>/stat.
type procStat struct {
	PID, PPID int
	Comm      string
	// CPU times in clock ticks: the process's own (utime, stime) and that of
	// its waited-for children (cutime, cstime) — a postmaster's exited backends.
	UTime, STime, CUTime, CSTime int64
}

// Self is utime+stime, the process's own CPU time.
func (s procStat) Self() time.Duration { return time.Duration(s.UTime+s.STime) * clockTick }

// Children is cutime+cstime, the CPU time of the children it reaped.
func (s procStat) Children() time.Duration { return time.Duration(s.CUTime+s.CSTime) * clockTick }

// parseProcStat parses the contents of /proc/<pid>/stat. The command name
// is in parentheses and may itself hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseProcStat(data []byte) (procStat, error) {
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("proc stat: no command name in %q", truncate(string(data), 80))
	}
	var s procStat
	var err error
	if s.PID, err = strconv.Atoi(strings.TrimSpace(string(data[:open]))); err != nil {
		return procStat{}, fmt.Errorf("proc stat: pid: %w", err)
	}
	s.Comm = string(data[open+1 : end])
	// Fields after the name, numbered as in proc(5) from 3 (state).
	f := strings.Fields(string(data[end+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("proc stat: %d fields after the name, want at least 15", len(f))
	}
	field := func(n int) int64 { // n as numbered in proc(5)
		v, e := strconv.ParseInt(f[n-3], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("proc stat: field %d: %w", n, e)
		}
		return v
	}
	s.PPID = int(field(4))
	s.UTime, s.STime, s.CUTime, s.CSTime = field(14), field(15), field(16), field(17)
	return s, err
}

func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(data)
}

// statusKB returns a "kB" field of /proc/<pid>/status (VmHWM, VmRSS) in bytes.
func statusKB(data []byte, key string) (int64, bool) {
	for _, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		if len(f) > 1 && f[1] == "kB" {
			v *= 1024
		}
		return v, true
	}
	return 0, false
}

// peakRSS is the process's resident high-water mark (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	v, ok := statusKB(data, "VmHWM")
	if !ok {
		return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
	}
	return v, nil
}

// cmdline is the process's argv joined by spaces; a Postgres backend
// rewrites it into its title ("postgres: registration_app onboarding
// 127.0.0.1(5123) idle").
func cmdline(pid int) string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}

// pgCategory names the CPU account of a postmaster child from its title:
// "backend <role>" for a client connection, else the background process
// ("checkpointer", "walwriter", "autovacuum worker", …).
func pgCategory(title string) string {
	t := strings.TrimPrefix(title, "postgres: ")
	if t == title {
		return "other"
	}
	// A cluster_name would come first, followed by ": ".
	for _, bg := range []string{"checkpointer", "background writer", "walwriter", "autovacuum launcher", "autovacuum worker",
		"logical replication launcher", "stats collector", "archiver", "walsender", "walreceiver", "startup", "parallel worker"} {
		if strings.Contains(t, bg) {
			return bg
		}
	}
	f := strings.Fields(t)
	if len(f) >= 3 && strings.Contains(f[2], "(") || len(f) >= 3 && f[2] == "[local]" {
		return "backend " + f[0]
	}
	return "other"
}

// children lists the pids whose parent is ppid.
func children(ppid int) []procStat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procStat
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := readProcStat(pid)
		if err != nil || s.PPID != ppid {
			continue
		}
		out = append(out, s)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// MachineCPU is the machine's cumulative CPU time from /proc/stat's "cpu"
// line: busy (user, nice, system, irq, softirq — guest time is inside user)
// and steal (taken by the hypervisor for other guests). These are sampled
// at each clock tick, so they miss much of many short wake-ups (an idle
// stack's pollers): a rough measure of what else runs, not an exact one.
// Pressure is the CPU pressure stall time (/proc/pressure/cpu "some"):
// how long at least one runnable task waited for a CPU.
type MachineCPU struct {
	Busy, Steal, Pressure time.Duration
}

func parseMachineCPU(data []byte) (MachineCPU, error) {
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return MachineCPU{}, fmt.Errorf("/proc/stat: unexpected first line %q", truncate(line, 80))
	}
	v := make([]int64, 8)
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return MachineCPU{}, fmt.Errorf("/proc/stat: %w", err)
		}
		v[i] = n
	}
	user, nice, system, irq, softirq, steal := v[0], v[1], v[2], v[5], v[6], v[7]
	return MachineCPU{Busy: time.Duration(user+nice+system+irq+softirq) * clockTick, Steal: time.Duration(steal) * clockTick}, nil
}

func readMachineCPU() MachineCPU {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}
	}
	m, _ := parseMachineCPU(data)
	if data, err := os.ReadFile("/proc/pressure/cpu"); err == nil {
		m.Pressure = parsePressureSome(data)
	}
	return m
}

// parsePressureSome returns the "some" line's total (microseconds) of a
// /proc/pressure file.
func parsePressureSome(data []byte) time.Duration {
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "some ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return time.Duration(n) * time.Microsecond
			}
		}
	}
	return 0
}
