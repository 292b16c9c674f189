package app

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// FuzzRequestProfileChange: a profile change body, decoded as POST
// /v1/partners/{id}/profile-changes decodes it, then merged, validated and
// normalized by an approved partner as RequestProfileChange does before the
// duplicate check, is accepted or refused with a precise 4xx
// (registration.invalid_input with a code per field, market_immutable, or
// the decoder's request.* code) — never a 500 or a panic.
func FuzzRequestProfileChange(f *testing.F) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	reg, err := domain.NormalizeRegistration(input(), domain.DefaultPolicy(), now)
	if err != nil {
		f.Fatal(err)
	}
	partner := domain.NewPartner(reg, &seqIDs{}, "upstream", now)
	if _, err := partner.ApproveVerification(now, now); err != nil {
		f.Fatal(err)
	}
	snapshot := partner.Snapshot()
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"POST /v1/partners/{id}/profile-changes": testkit.JSONDecoder(func(in domain.ProfileChangeInput) error {
			p, err := domain.RehydratePartner(snapshot)
			if err != nil {
				return err
			}
			_, err = p.RequestProfileChange(in, domain.DefaultPolicy(), "admin", now)
			return translate(err, "profile change")
		}),
	},
		`{"contact":{"first_name":"花子","last_name":"佐藤","email":"Hanako@Test-Shoji.co.jp","phone":"090-1111-2222"}}`,
		`{"address":{"line1":"芝浦３－４－１","city":"港区","region":"東京","postal_code":"〒108-0023"},"legal_name":"テスト商事（株）"}`,
		`{"website":"例え.jp","phone":"03-1234-5678 内線12","registration_number":{"scheme":"duns","value":"12-345-6789"}}`,
		`{"registration_number":{}}`, `{"support":[{"program":"indirect_reseller","support":{"website":"x","email":"info@gmail.com"}},{"program":"partner_network"}]}`,
		`{"market":"US"}`, `{"market":"jp","phone":"０３－１２３４－５６７８"}`, `{"legal_name":"\u200b"}`, `{}`, `[]`, `null`, "\xff")
}
