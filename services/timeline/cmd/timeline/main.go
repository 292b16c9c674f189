// Command timeline runs the partner timeline service: a read model of
// every producer's events, per partner, in order.
package main

import (
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/timeline/internal/service"
)

func main() { platform.Main(service.Name, service.New) }
