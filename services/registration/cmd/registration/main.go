// Command registration runs the registration service: partners, locations,
// program enrollments and their lifecycle.
package main

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/registration/internal/service"
)

func main() { platform.Main(service.Name, service.New) }
