package app

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// FuzzAddProgramsAndLocations: the bodies of POST
// /v1/partners/{id}/enrollments and /locations, validated and normalized as
// AddEnrollment and AddLocation do before they touch the partner, are
// accepted or refused with a precise 4xx — never a 500 or a panic.
func FuzzAddProgramsAndLocations(f *testing.F) {
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"POST /v1/partners/{id}/enrollments": testkit.JSONDecoder(func(in domain.EnrollmentInput) error {
			_, err := domain.NormalizeEnrollment(in, "JP", domain.DefaultPolicy())
			return translate(err, "add enrollment")
		}),
		"POST /v1/partners/{id}/locations": testkit.JSONDecoder(func(in domain.LocationInput) error {
			_, err := domain.NormalizeLocation(in, "JP")
			return translate(err, "add location")
		}),
	},
		`{"program":"indirect_reseller","support":{"website":"https://sakura-tech.co.jp/support","email":"support@sakura-tech.co.jp","phone":"0120-123-456"},"affirmations":{"authority_to_represent":true,"can_provide_support":true}}`,
		`{"program":"partner_network","location_id":"PL-4XRZ-Y13V-GY3"}`, `{"program":"indirect_provider","support":{"email":"help@gmail.com"}}`,
		`{"country":"jp","address":{"line1":"梅田１－１－３","city":"大阪市北区","region":"大阪府","postal_code":"〒530-0001"}}`,
		`{"country":"US","address":{"line1":"1 Main St"}}`, `{"address":{"line1":"\u202e\u0000","region":"ZZ"}}`,
		`{"program":7}`, `{"support":{"fax":1}}`, `{}`, `[]`, `null`, "\xff\xfe")
}
