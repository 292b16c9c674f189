package http

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/testkit"
)

// FuzzRequestDecoders: every request body of the agreements API is accepted
// or refused with a precise 4xx, never a 500 or a panic.
func FuzzRequestDecoders(f *testing.F) {
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"POST /v1/agreements/versions":                  testkit.JSONDecoder[publishRequest](nil),
		"POST /v1/partners/{id}/agreements/acceptances": testkit.JSONDecoder[acceptRequest](nil),
	},
		`{"id":"indirect_reseller-2025-07","program":"indirect_reseller","name":"Reseller agreement","languages":["ja","en"],"markets":["JP"],"effective_from":"2026-01-01T00:00:00Z","text_url":"https://example.com/a","text_sha256":"`+"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"+`","policy":"auto_effective","reacceptance_window_seconds":0}`,
		`{"version_id":"indirect_reseller-2025-01","market":"JP","accepted_at":"2026-04-01T09:00:00+09:00"}`,
		`{"accepted_at":"yesterday"}`, `{"reacceptance_window_seconds":1e40}`, `{"languages":"en"}`, `{"markets":[1]}`, `[]`, `null`, "\xff")
}
