package events_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/onboarding/pkg/contract"
	timelinev1 "github.com/partnerhub/onboarding/pkg/events/timeline/v1"
	"github.com/partnerhub/onboarding/services/timeline/internal/adapters/events"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// TestDisabledNoticeMatchesItsSchema maps a disabled endpoint to its notice
// and validates the payload against schemas/.
func TestDisabledNoticeMatchesItsSchema(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	d := events.DisabledNotice(domain.DisabledEndpoint{EndpointID: "we_0195f3a2-7c1e-7b3a-9d4e-1f2a3b4c5d6e", Consumer: "upstream-portal",
		URL: "https://crm.example.com/hooks", Reason: domain.DisabledPersistentFailure, FailingSince: at.Add(-28 * time.Hour),
		LastDeliveryID: "wd_1", LastStatus: 0, LastError: strings.Repeat("応答なし", 80), Cancelled: 3, DisabledAt: at})
	if d.Type != timelinev1.TypeWebhookEndpointDisabled || d.Subject != "we_0195f3a2-7c1e-7b3a-9d4e-1f2a3b4c5d6e" {
		t.Fatalf("draft %s %s", d.Type, d.Subject)
	}
	contract.MustValidate(t, d.Type, d.Data)
	// Cut at a character: the notice is JSON, and a cut one was a byte that
	// is not UTF-8.
	if e := d.Data.(timelinev1.WebhookEndpointDisabled).LastError; len(e) > 500 || !utf8.ValidString(e) || !strings.HasPrefix(e, "応答なし") {
		t.Errorf("last error of %d bytes: %q", len(e), e)
	}
}
