package platform

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestAServiceRunsOnOneProcessorUnlessGOMAXPROCSIsSet(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	prevGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prevGC) })

	runtime.GOMAXPROCS(2)
	TuneRuntime(func(string) string { return "2" })
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS set in the environment: want it left at 2, got %d", got)
	}
	TuneRuntime(func(k string) string { return "" })
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS unset: want 1 processor, got %d", got)
	}
}

func TestAServiceCollectsGarbageAtGCPercentUnlessGOGCIsSet(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	prevProcs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prevProcs) })

	TuneRuntime(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set in the environment: want the collector left at 100, got %d", got)
	}
	TuneRuntime(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != GCPercent {
		t.Errorf("GOGC unset: want %d, got %d", GCPercent, got)
	}
	attrs := runtimeAttrs()
	if len(attrs) < 4 || attrs[0] != "gomaxprocs" || attrs[2] != "gogc" {
		t.Errorf("runtime log attributes %v", attrs)
	}
	// Outside a container there is no limit to keep under; in one, the
	// limit is MemoryLimitRatio of the container's.
	if limit := debug.SetMemoryLimit(-1); limit <= 0 || (limit != math.MaxInt64 && limit < 1<<20) {
		t.Errorf("memory limit %d", limit)
	}
}
