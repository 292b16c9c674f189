// Command email-ownership runs the e-mail ownership service.
package main

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/emailownership/internal/service"
)

func main() { platform.Main(service.Name, service.New) }
