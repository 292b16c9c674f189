// Command verification runs the verification service: cases with three
// checks per registration, review tasks for verifier services, decisions,
// documents and SLA timers.
package main

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/verification/internal/service"
)

func main() { platform.Main(service.Name, service.New) }
