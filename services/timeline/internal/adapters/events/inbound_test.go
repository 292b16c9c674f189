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
	all := append(slices.Clone(events.Filters), events.DeadLetterFilters...)
	if granted := bus.Subscriptions["timeline"]; !slices.Equal(all, granted) {
		t.Errorf("filters %q, bus.Subscriptions[timeline] %q", all, granted)
	}
	if err := bus.CheckConsumes("timeline", all); err != nil {
		t.Error(err)
	}
	// Every other consumer's dead letters, never the timeline's own.
	for user := range bus.Subscriptions {
		if user == bus.VerifierUser {
			continue // an external verifier service: its dead letters are its own
		}
		has := slices.Contains(events.DeadLetterFilters, bus.DeadLetterSubject(user))
		if has != (user != "timeline") {
			t.Errorf("%s consumed: %v", bus.DeadLetterSubject(user), has)
		}
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
