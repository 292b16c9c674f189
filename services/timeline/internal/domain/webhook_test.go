package domain_test

import (
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

func TestEndpointRules(t *testing.T) {
	for _, tt := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://crm.example.com/hooks?token=x", false, true},
		{"http://crm.example.com/hooks", false, false},
		{"http://127.0.0.1:9000/hooks", true, true},
		{"https://10.1.2.3/hooks", false, false},
		{"https://169.254.169.254/latest", false, false},
		{"https://[::1]/h", false, false},
		{"https://100.64.0.1/h", false, false},
		{"https://u:p@example.com/h", false, false},
		{"https://example.com/h#frag", false, false},
		{"/relative", false, false},
		{"mailto:x@example.com", false, false},
		{"https://example.com:99999/h", true, false},
		{"https://example.com:0/h", true, false},
		{"https://example.com:8443/h", false, true},
		{"https://example.com\u202e/h", true, false},
		{"https://example.com/\u202ekooh", true, false},
		{"https://example.com/h?\u200bx=1", true, false},
		{"https://exa mple.com/h", true, false},
		{"https://bücher.example/h", false, false},
		{"https://xn--bcher-kva.example/h", false, true},
		{"https://crm-1.example.com./h", false, true},
		{"https://-bad.example.com/h", false, false},
		{"http://localhost:8080/h", true, true},
	} {
		if _, err := domain.CheckEndpointURL(tt.url, tt.insecure); (err == nil) != tt.ok {
			t.Errorf("CheckEndpointURL(%q, %v) = %v, want ok %v", tt.url, tt.insecure, err, tt.ok)
		}
	}
	if got := domain.DisplayURL("https://crm.example.com:8443/hooks?token=secret"); got != "https://crm.example.com:8443/hooks" {
		t.Errorf("DisplayURL = %q", got)
	}
	domains := []string{"registration", "email", "verification"}
	types, err := domain.NormalizeEventTypes([]string{"registration.*", "com.partnerhub.verification.case.approved.v1", "registration.", "regis"}, domains)
	if want := []string{"com.partnerhub.regis", "com.partnerhub.registration.", "com.partnerhub.verification.case.approved.v1"}; err != nil || !slices.Equal(types, want) {
		t.Errorf("NormalizeEventTypes = %v, %v; want %v", types, err, want)
	}
	// "registraton." and "nope." matched no event: a webhook that would never be called
	for _, bad := range [][]string{{""}, {"Registration."}, {"a b"}, {"ｒegistration."}, {"registraton."}, {"nope."}, {"com.partnerhub"}, {"intake."}} {
		if _, err := domain.NormalizeEventTypes(bad, domains); err == nil {
			t.Errorf("NormalizeEventTypes(%q) accepted", bad)
		}
	}
	if !domain.MatchesType(nil, "com.partnerhub.x.v1") || !domain.MatchesType(types, "com.partnerhub.registration.partner.activated.v1") ||
		domain.MatchesType(types, "com.partnerhub.email.ownership.confirmed.v1") {
		t.Error("MatchesType")
	}
}

func TestRetryScheduleAndPersistentFailure(t *testing.T) {
	p := domain.RetryPolicy{Schedule: domain.DefaultRetrySchedule}
	var total time.Duration
	for n := 1; ; n++ {
		d, ok := p.Next(n)
		if !ok {
			if n != 8 {
				t.Errorf("retries ran out after attempt %d, want 8 attempts in all", n)
			}
			break
		}
		total += d
	}
	if total < 27*time.Hour || total > 29*time.Hour {
		t.Errorf("first to last attempt %s, want about 28 h", total)
	}
	first := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		since time.Time
		want  bool
	}{{time.Time{}, false}, {first, true}, {first.Add(-time.Hour), true}, {first.Add(time.Hour), false}} {
		if got := domain.PersistentlyFailing(tt.since, first); got != tt.want {
			t.Errorf("PersistentlyFailing(%v) = %v", tt.since, got)
		}
	}
}

func TestSecretsAndCursors(t *testing.T) {
	s := domain.NewSecret()
	key, err := domain.SecretKey(s)
	if err != nil || len(key) != domain.SecretBytes || s == domain.NewSecret() {
		t.Fatalf("secret %q: key %d bytes, %v", s, len(key), err)
	}
	if _, err := domain.SecretKey("not-a-secret"); err == nil {
		t.Error("a foreign secret was accepted")
	}
	d := domain.Delivery{ID: "wd_1", CreatedAt: time.Date(2026, 3, 1, 0, 0, 0, 123000, time.UTC)}
	got, err := domain.ParseDeliveryCursor(domain.DeliveryCursor(d))
	if err != nil || got.ID != d.ID || !got.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("cursor round trip: %+v %v", got, err)
	}
	if _, err := domain.ParseDeliveryCursor("eyJ4IjoxfQ"); err == nil {
		t.Error("a foreign cursor was accepted")
	}
}
