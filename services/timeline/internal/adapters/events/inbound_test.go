package events_test

import (
	"slices"
	"testing"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/events"
)

// The durables the timeline creates are exactly those its bus user may
// use, and cover every producer stream of the catalog.
func TestFiltersAreGrantedAndCoverEveryProducer(t *testing.T) {
	if granted := bus.Subscriptions["timeline"]; !slices.Equal(events.Filters, granted) {
		t.Errorf("filters %q, bus.Subscriptions[timeline] %q", events.Filters, granted)
	}
	if err := bus.CheckConsumes("timeline", events.Filters); err != nil {
		t.Error(err)
	}
	for _, s := range bus.Catalog {
		if s.Name == "INTAKE" || s.Name == bus.DeadLetterStream {
			continue // requests about no partner yet; dead letters (see README)
		}
		if !slices.ContainsFunc(events.Filters, func(f string) bool { return slices.Contains(s.Subjects, f) }) {
			t.Errorf("stream %s (%v) is not on the timeline", s.Name, s.Subjects)
		}
	}
}
