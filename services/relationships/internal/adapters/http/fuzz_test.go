package http

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/testkit"
)

// FuzzRequestDecoders: every request body of the relationships API is
// accepted or refused with a precise 4xx, never a 500 or a panic.
func FuzzRequestDecoders(f *testing.F) {
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"POST /v1/relationship-requests":             testkit.JSONDecoder[createRequestBody](nil),
		"POST /v1/invitation/authorise":              testkit.JSONDecoder[authoriseBody](nil),
		"POST /v1/invitation/decline":                testkit.JSONDecoder[declineBody](nil),
		"POST /v1/invitation/defer":                  testkit.JSONDecoder[deferBody](nil),
		"POST /v1/relationships/{id}/end":            testkit.JSONDecoder[endBody](nil),
		"POST /v1/relationships/{id}/narrow":         testkit.JSONDecoder[rolesBody](nil),
		"POST /v1/relationships/{id}/widen-requests": testkit.JSONDecoder[widenBody](nil),
	}, `{"reseller_location_id":"PL-4XRZ-Y13V-GY3","roles":["billing_reader"],"duration_days":365}`,
		`{"token":"KZ3JQW5V7XN2HD4RT6YB8MCPFA","consent":true}`, `{"reason":"contract ended"}`,
		`{"roles":["support_agent"],"duration_days":90,"auto_extend":true}`, `{"duration_days":-1}`, `{"roles":"x"}`,
		`{"duration_days":1e99}`, `[]`, `null`, "\xff")
}
