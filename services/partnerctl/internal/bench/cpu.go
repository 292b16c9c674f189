package bench

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Proc is a process of the stack whose CPU the benchmark accounts for.
type Proc struct {
	Group string // account name: the service, "nats-server", "postgres"
	PID   int
	// Tree counts the children too: reaped ones through cutime/cstime, live
	// ones by reading them (the postmaster and its backends).
	Tree bool
}

// CPUSnapshot is the cumulative CPU time of every account at one moment.
type CPUSnapshot struct {
	At      time.Time
	Machine MachineCPU    // the whole machine, every process
	Self    time.Duration // the benchmark process (driver, sink, observer)
	Groups  map[string]time.Duration
	// Tree holds, per tree root's group, the live children: pid → CPU so far
	// (own and reaped) and category, to split a tree's delta by category.
	Tree map[string]map[int]childCPU
	// IO holds, per group that is not a tree, its system calls so far.
	IO map[string]ioCount
	// Missing lists processes that could not be read (exited).
	Missing []string
}

// ioCount is a process's read and write system calls (/proc/<pid>/io syscr,
// syscw). Every round trip of a service to Postgres or NATS costs it a
// write and at least one read, so the counts follow its round trips, and
// vary far less from run to run than CPU does.
type ioCount struct{ Reads, Writes int64 }

func (c ioCount) sub(b ioCount) ioCount { return ioCount{c.Reads - b.Reads, c.Writes - b.Writes} }

// readIO reads pid's system call counts.
func readIO(pid int) (ioCount, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "io"))
	if err != nil {
		return ioCount{}, false
	}
	return parseIO(data)
}

func parseIO(data []byte) (ioCount, bool) {
	r, okr := statusKB(data, "syscr")
	w, okw := statusKB(data, "syscw")
	return ioCount{r, w}, okr && okw
}

type childCPU struct {
	CPU      time.Duration
	Category string
}

// TakeCPU reads /proc for every process of procs.
func TakeCPU(procs []Proc) CPUSnapshot {
	s := CPUSnapshot{At: time.Now(), Machine: readMachineCPU(), Groups: map[string]time.Duration{}, Tree: map[string]map[int]childCPU{},
		IO: map[string]ioCount{}}
	if self, err := readProcStat(os.Getpid()); err == nil {
		s.Self = self.Self()
	}
	for _, p := range procs {
		st, err := readProcStat(p.PID)
		if err != nil {
			s.Missing = append(s.Missing, p.Group)
			continue
		}
		cpu := st.Self()
		if p.Tree {
			cpu += st.Children()
			kids := map[int]childCPU{}
			for _, c := range children(p.PID) {
				cc := c.Self() + c.Children()
				kids[c.PID] = childCPU{CPU: cc, Category: pgCategory(cmdline(c.PID))}
				cpu += cc
			}
			s.Tree[p.Group] = kids
		} else if io, ok := readIO(p.PID); ok {
			s.IO[p.Group] = io
		}
		s.Groups[p.Group] += cpu
	}
	return s
}

// CPUUsage is the CPU spent between two snapshots.
type CPUUsage struct {
	Wall time.Duration
	// Machine is every process's CPU on the machine, Steal what the
	// hypervisor gave other guests, Driver the benchmark process's own.
	Machine, Steal, Driver time.Duration
	// Pressure is how long some runnable task waited for a CPU (PSI).
	Pressure time.Duration
	Groups   map[string]time.Duration
	// Categories splits a tree group (postgres) by child category; the
	// root's own time and that of children that exited in the window are
	// "postmaster+exited".
	Categories map[string]map[string]time.Duration
	// IO is the system calls of the groups that are not trees.
	IO map[string]ioCount
}

// Syscalls sums the system calls of groups.
func (u CPUUsage) Syscalls(groups ...string) ioCount {
	var t ioCount
	for _, g := range groups {
		t.Reads += u.IO[g].Reads
		t.Writes += u.IO[g].Writes
	}
	return t
}

// Total is the CPU time of every group.
func (u CPUUsage) Total() time.Duration {
	var t time.Duration
	for _, v := range u.Groups {
		t += v
	}
	return t
}

// Cores is the average number of cores group used (all groups when group is "").
func (u CPUUsage) Cores(group string) float64 {
	if u.Wall <= 0 {
		return 0
	}
	v := u.Total()
	if group != "" {
		v = u.Groups[group]
	}
	return v.Seconds() / u.Wall.Seconds()
}

// Others is the CPU of every process on the machine that is neither the
// stack nor the benchmark: other people's work, which makes figures noisy.
// Rough: the machine's figure is tick-sampled (see MachineCPU).
func (u CPUUsage) Others() time.Duration { return max(u.Machine-u.Total()-u.Driver, 0) }

// SortedGroups lists the groups by name.
func (u CPUUsage) SortedGroups() []string { return slices.Sorted(maps.Keys(u.Groups)) }

// Sub is the usage from earlier snapshot b to s.
func (s CPUSnapshot) Sub(b CPUSnapshot) CPUUsage {
	u := CPUUsage{Wall: s.At.Sub(b.At), Machine: s.Machine.Busy - b.Machine.Busy, Steal: s.Machine.Steal - b.Machine.Steal,
		Driver: s.Self - b.Self, Pressure: s.Machine.Pressure - b.Machine.Pressure, Groups: map[string]time.Duration{}, Categories: map[string]map[string]time.Duration{},
		IO: map[string]ioCount{}}
	for g, v := range s.Groups {
		if old, ok := b.Groups[g]; ok {
			u.Groups[g] = v - old
		}
	}
	for g, v := range s.IO {
		if old, ok := b.IO[g]; ok {
			u.IO[g] = v.sub(old)
		}
	}
	for g, kids := range s.Tree {
		before, ok := b.Tree[g]
		if !ok {
			continue
		}
		cats := map[string]time.Duration{}
		var live time.Duration
		for pid, c := range kids {
			d := c.CPU
			if old, ok := before[pid]; ok {
				d -= old.CPU
			}
			cats[c.Category] += d
			live += d
		}
		// The rest: the root itself, and children that exited (their whole
		// time moved into the root's cutime/cstime, minus what they had
		// before the window, which the first snapshot counted as live).
		cats["postmaster+exited"] = u.Groups[g] - live
		u.Categories[g] = cats
	}
	return u
}
