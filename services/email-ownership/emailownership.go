// Package emailownership is the e-mail ownership service as the deployment
// sees it: its declaration, from which the NATS permissions, accounts.conf
// and the AsyncAPI receive operations are derived (deploy/local/stack).
package emailownership

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/emailownership/internal/service"
)

// Declaration is the service's declaration, its handlers unbound.
func Declaration() platform.Declaration { return (&service.Service{}).Declaration() }
