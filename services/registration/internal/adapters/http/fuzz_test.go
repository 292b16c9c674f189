package http

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// FuzzRequestDecoders: the bodies of PUT …/market, PUT …/location, POST
// /v1/duplicate-claims and the standing routes (compliance hold, closure,
// security requirements) are accepted or refused with a precise 4xx, never
// a 500 or a panic (POST /v1/registrations: app.FuzzSubmitRegistration).
func FuzzRequestDecoders(f *testing.F) {
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"PUT /v1/partners/{id}/market":                              testkit.JSONDecoder[marketBody](nil),
		"PUT /v1/partners/{id}/enrollments/{program}/location":      testkit.JSONDecoder[locationBody](nil),
		"POST /v1/duplicate-claims":                                 testkit.JSONDecoder[claimBody](nil),
		"PUT /v1/partners/{id}/compliance-hold":                     testkit.JSONDecoder[note](nil),
		"POST /v1/partners/{id}/closure":                            testkit.JSONDecoder[note](nil),
		"PUT /v1/partners/{id}/security-requirements":               testkit.JSONDecoder[securityReportBody](nil),
		"POST /v1/partners/{id}/profile-changes":                    testkit.JSONDecoder[domain.ProfileChangeInput](nil),
		"POST /v1/partners/{id}/profile-changes/{number}/decisions": testkit.JSONDecoder[profileDecisionBody](nil),
	}, `{"market":"US"}`, `{"location_id":"PL-4XRZ-Y13V-GY3"}`, `{"duplicate_attempt_id":"DA-YP66-636E-FQQ","statement":"we are the company"}`,
		`{"note":"sanctions screening hit"}`,
		`{"status":"compliant","mfa_enforced_users_percent":100,"mfa_requests_percent":99.5,"measured_at":"2026-11-30T00:00:00Z"}`,
		`{"contact":{"first_name":"花子","last_name":"山田","email":"hanako@test-shoji.co.jp","phone":"090-1234-5678"},"support":[{"program":"indirect_reseller","support":{"website":"x.jp","email":"s@x.jp"}}]}`,
		`{"check":"company","outcome":"failed","reason":"old address"}`, `{"support":{"program":1}}`,
		`{"mfa_requests_percent":"all"}`, `{"measured_at":"yesterday"}`, `{"market":1}`, `{"statement":"\u0000"}`, `{"x":{"y":[1,2]}}`, `[]`, `null`, `{"market":"JP"} {}`, "\xff")
}
