// Command notifier runs the reference notifier.
package main

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/notifier/internal/service"
)

func main() { platform.Main(service.Name, service.New) }
