// Command relationships runs the provider relationships service.
package main

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/relationships/internal/service"
)

func main() { platform.Main(service.Name, service.New) }
