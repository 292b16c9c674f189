// Package verification is the verification service as the deployment sees
// it: its declaration, from which the NATS permissions, accounts.conf and
// the AsyncAPI receive operations are derived (deploy/local/stack).
package verification

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/verification/internal/service"
)

// Declaration is the service's declaration, its handlers unbound.
func Declaration() platform.Declaration { return (&service.Service{}).Declaration() }
