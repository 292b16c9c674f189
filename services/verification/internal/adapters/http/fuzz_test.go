package http

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/testkit"
)

// FuzzRequestDecoders: every request body of the verification API is
// accepted or refused with a precise 4xx, never a 500 or a panic.
func FuzzRequestDecoders(f *testing.F) {
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"POST /v1/verification/tasks/{id}/decisions":        testkit.JSONDecoder[DecisionRequest](nil),
		"POST /v1/verification/partners/{id}/documents":     testkit.JSONDecoder[DocumentRequest](nil),
		"POST /v1/verification/cases/{id}/revocations":      testkit.JSONDecoder[RevocationRequest](nil),
		"POST /v1/verification/cases/{id}/reviews":          testkit.JSONDecoder[ReopenRequest](nil),
		"POST /v1/verification/partners/{id}/domain-proofs": testkit.JSONDecoder[DomainProofRequest](nil),
	}, `{"decision_id":"d-1","outcome":"approve"}`,
		`{"decision_id":"d-2","outcome":"reject","reason":"company_not_found","final":true,"applicant_message":"…"}`,
		`{"decision_id":"d-3","reason":"fraud_suspected"}`,
		`{"note":"reactivated after 19 months"}`, `{"method":"dns_txt"}`, `{"method":["http_well_known"]}`, `{"documents":"x"}`, `{"final":"yes"}`, `[]`, `null`, "\xff")
}
