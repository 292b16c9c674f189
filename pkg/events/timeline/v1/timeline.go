// Package timelinev1 is what the timeline publishes on the TIMELINE
// stream: notices about the webhook endpoints it delivers to. Subject and
// partitionkey are the endpoint's id (we_…). No payload carries a secret
// or an endpoint URL's query (where integrators put tokens).
package timelinev1

import "time"

// Event types.
const (
	TypeWebhookEndpointDisabled = "com.partnerhub.timeline.webhook_endpoint.disabled.v1"
)

// Reasons of WebhookEndpointDisabled.
const (
	// ReasonPersistentFailure: a delivery used up every retry and the
	// endpoint had not succeeded since that delivery's first attempt.
	ReasonPersistentFailure = "persistent_failure"
)

// WebhookEndpointDisabled: the timeline stopped delivering to an endpoint.
// Events recorded while it is disabled are not sent to it (the consumer
// reads them from the event feed); enabling it again resumes deliveries.
type WebhookEndpointDisabled struct {
	EndpointID string `json:"endpoint_id"`
	// Consumer is the principal the endpoint delivers for.
	Consumer string `json:"consumer"`
	// URL is where deliveries went: scheme, host and path only.
	URL          string    `json:"url"`
	Reason       string    `json:"reason"`
	FailingSince time.Time `json:"failing_since"`
	// LastDeliveryID is the delivery that used up its retries.
	LastDeliveryID string `json:"last_delivery_id"`
	// LastStatus is its last HTTP status (0: no answer).
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error"`
	// Cancelled counts the deliveries still due that will not be sent.
	Cancelled  int       `json:"cancelled"`
	DisabledAt time.Time `json:"disabled_at"`
}
