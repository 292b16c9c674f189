// Command agreements runs the agreements service: versioned agreements,
// acceptance gated on verification, append-only acceptance records.
package main

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/agreements/internal/service"
)

func main() { platform.Main(service.Name, service.New) }
