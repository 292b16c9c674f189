package app

import (
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/registration/internal/domain"
)

// FuzzSubmitRegistration: a registration body, decoded as POST
// /v1/registrations and the intake event decode it, then validated and
// normalized as SubmitRegistration does before it touches the database, is
// accepted or refused with a precise 4xx (registration.invalid_input and a
// code per field, or the decoder's request.* code) — never a 500 or a panic.
func FuzzSubmitRegistration(f *testing.F) {
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"POST /v1/registrations": testkit.JSONDecoder(func(in domain.RegistrationInput) error {
			_, err := domain.NormalizeRegistration(in, domain.DefaultPolicy(), now)
			return translate(err, "submit registration")
		}),
	},
		`{"market":"JP","company":{"legal_name":"（株）さくらテック","address":{"line1":"西新宿2-8-1","city":"新宿区","region":"東京都","postal_code":"163-8001"},"phone":"03-5321-1111","website":"https://sakura-tech.co.jp","registration_number":{"scheme":"jp_corporate_number","value":"7000012050002"}},"contact":{"first_name":"花子","last_name":"佐藤","email":"hanako.sato@sakura-tech.co.jp","phone":"090-1111-2222"},"programs":[{"program":"partner_network"},{"program":"indirect_reseller","support":{"website":"https://sakura-tech.co.jp/support","email":"support@sakura-tech.co.jp"}}],"affirmations":{"authority_to_represent":true,"consent_to_verification":true,"accept_network_terms":true,"can_provide_support":true}}`,
		`{"market":"US","company":{"legal_name":"Аcme Corporation","address":{"line1":"1 Market St","city":"San Francisco","region":"California","postal_code":"94105-1234"},"phone":"+1 415 555 2671 ext. 9","website":"例え.jp"},"contact":{"first_name":"Jane","last_name":"Doe","email":"jane@例え.jp","phone":"(415) 555-2672"},"programs":[{"program":"partner_network"}],"affirmations":{"authority_to_represent":true,"consent_to_verification":true,"accept_network_terms":true}}`,
		`{"market":"JP","company":{"legal_name":"㊑テスト\u200b\u202e😀","address":{"line1":"霞ヶ関1-2-3","city":"千代田区","region":"Kyoto-fu","postal_code":"〒100-0013"}}}`,
		`{"market":"JP","company":{"address":{"county":"x"}}}`, `{"programs":[{"program":"x","support":{"fax":1}}]}`,
		`{"market":7}`, `{"company":{"legal_name":"\u0000"}}`, `{}`, `[]`, `null`, "\xff\xfe")
}
