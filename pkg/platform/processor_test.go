package platform

import (
	"runtime"
	"testing"
)

func TestAServiceRunsOnOneProcessorUnlessGOMAXPROCSIsSet(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })

	runtime.GOMAXPROCS(2)
	OneProcessor(func(string) string { return "2" })
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS set in the environment: want it left at 2, got %d", got)
	}
	OneProcessor(func(k string) string { return "" })
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS unset: want 1 processor, got %d", got)
	}
}
