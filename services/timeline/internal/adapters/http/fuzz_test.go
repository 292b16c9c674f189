package http

import (
	"testing"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/testkit"
	"github.com/partnerhub/onboarding/services/timeline/internal/app"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// FuzzRequestDecoders: every request body of the webhook API is accepted or
// refused with a precise 4xx, never a 500 or a panic; the endpoint rules
// (URL, type filter) run on what decodes.
func FuzzRequestDecoders(f *testing.F) {
	rules := func(url *string, types *[]string) error {
		if url != nil {
			if _, err := domain.CheckEndpointURL(*url, false); err != nil {
				return apperr.Invalid("timeline.invalid_webhook_endpoint", err.Error())
			}
		}
		if types != nil {
			if _, err := domain.NormalizeEventTypes(*types, app.EventDomains); err != nil {
				return apperr.Invalid("timeline.invalid_webhook_endpoint", err.Error())
			}
		}
		return nil
	}
	testkit.FuzzDecoders(f, map[string]testkit.Decoder{
		"POST /v1/webhooks/endpoints":                    testkit.JSONDecoder(func(b createEndpointBody) error { return rules(&b.URL, &b.EventTypes) }),
		"PATCH /v1/webhooks/endpoints/{id}":              testkit.JSONDecoder(func(b updateEndpointBody) error { return rules(b.URL, b.EventTypes) }),
		"POST /v1/webhooks/endpoints/{id}/secret/rotate": testkit.JSONDecoder[rotateBody](nil),
	},
		`{"url":"https://crm.example.com/hooks?token=x","event_types":["registration.","com.partnerhub.verification.case.approved.v1"],"description":"CRM"}`,
		`{"url":"https://10.0.0.1/h"}`, `{"url":"http://[::1]:8080/h"}`, `{"url":"https://u:p@example.com"}`, `{"event_types":["Ä*"]}`,
		`{"previous_secret_expires_in":3600}`, `{"previous_secret_expires_in":1e40}`, `{"event_types":null}`, `[]`, `null`, "\xff")
}
