package events_test

import (
	"slices"
	"testing"

	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/events"
)

// The timeline reads every producer stream of the catalog and every other
// service's dead letters (never its own), and skips an unreadable dead
// letter instead of dead-lettering it a second time.
func TestSubscriptionsCoverEveryProducerAndOtherServicesDeadLetters(t *testing.T) {
	var filters []string
	for _, s := range (events.Inbound{}).Subscriptions() {
		filters = append(filters, s.FilterOf())
		dead := slices.Contains(bus.DeadLetterFilters(""), s.FilterOf())
		if dead != s.KeepUndecodable {
			t.Errorf("%s: KeepUndecodable %v", s.FilterOf(), s.KeepUndecodable)
		}
		if s.Type != bus.AnyType || s.Inbox != "" {
			t.Errorf("%s: type %q inbox %q, want every type and no inbox (the store is idempotent)", s.FilterOf(), s.Type, s.Inbox)
		}
	}
	for _, s := range bus.Services() {
		has := slices.Contains(filters, bus.DeadLetterSubject(s))
		if has != (s != "timeline") {
			t.Errorf("%s consumed: %v", bus.DeadLetterSubject(s), has)
		}
	}
	if slices.Contains(filters, bus.DeadLetterSubject("timeline")) {
		t.Error("the timeline reads its own dead letters")
	}
	for _, s := range bus.Catalog {
		if s.Name == "INTAKE" || s.Name == bus.DeadLetterStream {
			continue // requests about no partner yet; dead letters (see README)
		}
		if !slices.ContainsFunc(filters, func(f string) bool { return slices.Contains(s.Subjects, f) }) {
			t.Errorf("stream %s (%v) is not on the timeline", s.Name, s.Subjects)
		}
	}
}
