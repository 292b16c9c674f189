package bus

import (
	"slices"
	"testing"
	"time"
)

// TestGatherTakesOnlyTheUrgentPartnersLingeringEvents: an urgent event
// takes its own partner's lingering events along (held ones first, then in
// arrival order), every other urgent event goes too, and other partners'
// lingering events wait; a stopping subscription's events never wait.
func TestGatherTakesOnlyTheUrgentPartnersLingeringEvents(t *testing.T) {
	lingering := &subscription{linger: time.Second}
	urgent := &subscription{}
	stopping := &subscription{linger: time.Second}
	stopping.stopped.Store(true)
	ev := func(s *subscription, key string, n int) queued {
		return queued{s: s, key: key, at: time.Unix(int64(n), 0)}
	}
	names := func(qs []queued) []string {
		var out []string
		for _, q := range qs {
			out = append(out, q.key+"@"+q.at.Format("05"))
		}
		return out
	}
	held := []queued{ev(lingering, "A", 1), ev(lingering, "B", 2), ev(lingering, "A", 3)}
	arrived := []queued{ev(lingering, "C", 4), ev(urgent, "A", 5), ev(lingering, "A", 6), ev(urgent, "D", 7), ev(stopping, "E", 8)}
	now, wait := gather(held, arrived)
	if want := []string{"A@01", "A@03", "A@05", "A@06", "D@07", "E@08"}; !slices.Equal(names(now), want) {
		t.Errorf("now %v, want %v", names(now), want)
	}
	if want := []string{"B@02", "C@04"}; !slices.Equal(names(wait), want) {
		t.Errorf("wait %v, want %v", names(wait), want)
	}
	if d := deadline(wait); !d.Equal(time.Unix(3, 0)) {
		t.Errorf("deadline %v, want the first waiting event's arrival + its linger", d)
	}

	now, wait = gather(nil, []queued{ev(lingering, "A", 1), ev(lingering, "B", 2)})
	if len(now) != 0 || len(wait) != 2 {
		t.Errorf("lingering events alone: now %v, wait %v", names(now), names(wait))
	}
}
