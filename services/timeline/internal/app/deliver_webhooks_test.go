package app

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// TestARetryWaitsItsDelayAfterTheAttemptEnds: the schedule's delay counts
// from the end of the failed attempt, so a receiver that held a delivery
// until the timeout (10 s) is not tried again the moment it times out
// (the first delay is 5 s); an attempt by hand of a pending delivery
// leaves its next scheduled attempt where it was.
func TestARetryWaitsItsDelayAfterTheAttemptEnds(t *testing.T) {
	w := &Webhooks{Policy: WebhookPolicy{Retry: domain.RetryPolicy{Schedule: domain.DefaultRetrySchedule}}}
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	resume := at.Add(time.Hour)
	out := []Outgoing{
		{Delivery: domain.Delivery{ID: "wd_1", EndpointID: "we_1", Attempts: 0}},
		{Delivery: domain.Delivery{ID: "wd_2", EndpointID: "we_2", Attempts: 3}, Manual: true, Scheduled: 1, ResumeAt: resume},
	}
	timedOut := domain.Attempt{At: at, Error: "timed out", Duration: 10000}
	_, results, _, _ := w.decide(out, []domain.Attempt{timedOut, {At: at, Status: 500, Error: "answered 500", Duration: 3, Manual: true}})
	if r := results[0]; r.State != domain.DeliveryPending || !r.Next.Equal(at.Add(15*time.Second)) {
		t.Errorf("after a timed-out attempt: %s, next %s; want pending 15 s after it began", r.State, r.Next)
	}
	if r := results[1]; r.State != domain.DeliveryPending || !r.Next.Equal(resume) {
		t.Errorf("after a failed attempt by hand: %s, next %s; want pending at %s", r.State, r.Next, resume)
	}
}
