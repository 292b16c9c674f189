package events

import (
	timelinev1 "github.com/partnerhub/onboarding/pkg/events/timeline/v1"
	"github.com/partnerhub/onboarding/pkg/normalize"
	"github.com/partnerhub/onboarding/pkg/outbox"
	"github.com/partnerhub/onboarding/services/timeline/internal/domain"
)

// maxLastError bounds the last error a notice carries.
const maxLastError = 500

// DisabledNotice is the event announcing that the dispatcher disabled an
// endpoint: its subject and partition are the endpoint.
func DisabledNotice(d domain.DisabledEndpoint) outbox.Draft {
	lastError := normalize.Clip(d.LastError, maxLastError)
	return outbox.Draft{Type: timelinev1.TypeWebhookEndpointDisabled, Subject: d.EndpointID, Data: timelinev1.WebhookEndpointDisabled{
		EndpointID: d.EndpointID, Consumer: d.Consumer, URL: d.URL, Reason: d.Reason, FailingSince: d.FailingSince.UTC(),
		LastDeliveryID: d.LastDeliveryID, LastStatus: d.LastStatus, LastError: lastError, Cancelled: d.Cancelled,
		DisabledAt: d.DisabledAt.UTC(),
	}}
}
