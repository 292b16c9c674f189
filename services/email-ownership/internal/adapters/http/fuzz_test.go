package http

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/testkit"
)

// FuzzRequestDecoders: every request body of the e-mail ownership API is
// accepted or refused with a precise 4xx, never a 500 or a panic.
func FuzzRequestDecoders(f *testing.F) {
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"POST /v1/enrollments/{id}/confirm-code": testkit.JSONDecoder[confirmCodeRequest](nil),
		"POST /v1/resend":                        testkit.JSONDecoder[resendRequest](nil),
	}, `{"code":"482913"}`, `{"enrollment_id":"EN-4XRZ-Y13V-GY3"}`, `{"email":"hanako.sato@sakura-tech.co.jp"}`,
		`{"code":482913}`, `{"email":"\u0000"}`, `{"enrollment_id":"x","email":"y","z":1}`, `[]`, `null`, "\xff")
}
