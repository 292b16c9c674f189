// Package stack is the whole backend as the deployment sees it: every
// service's declaration (platform.Declaration, declared once in the
// service's wiring) and what is derived from them, so that nothing is
// listed twice: the bus users and their NATS permissions (accounts.conf),
// and the receive operations of the AsyncAPI document.
package stack

import (
	"slices"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/platform"
	"github.com/partnerhub/onboarding/services/agreements"
	"github.com/partnerhub/onboarding/services/emailownership"
	"github.com/partnerhub/onboarding/services/notifier"
	"github.com/partnerhub/onboarding/services/registration"
	"github.com/partnerhub/onboarding/services/relationships"
	"github.com/partnerhub/onboarding/services/timeline"
	"github.com/partnerhub/onboarding/services/verification"
)

// Declarations are the services of the backend, in start order.
func Declarations() []platform.Declaration {
	return []platform.Declaration{
		registration.Declaration(),
		emailownership.Declaration(),
		verification.Declaration(),
		agreements.Declaration(),
		relationships.Declaration(),
		notifier.Declaration(),
		timeline.Declaration(),
	}
}

// ServiceConsumes maps each service to the subject filters of its durables.
func ServiceConsumes() map[string][]bus.Durable {
	out := map[string][]bus.Durable{}
	for _, d := range Declarations() {
		out[d.Name] = d.Consumes()
	}
	return out
}

// Consumes maps every bus user that consumes to its filters: the services
// (from their declarations) and the external users (bus.ExternalSubscriptions).
func Consumes() map[string][]bus.Durable {
	out := ServiceConsumes()
	for user, filters := range bus.ExternalSubscriptions {
		for _, f := range filters {
			out[user] = append(out[user], bus.Durable{Filter: f, Shared: true})
		}
	}
	return out
}

// Users are the bus users of deploy/nats/accounts.conf: those of a
// deployment whose directory is the development one.
func Users() map[string]bus.UserSpec {
	users, err := UsersFor(auth.DevDirectory())
	if err != nil {
		panic(err) // the development directory binds a backend user: a programming error
	}
	return users
}

// UsersFor are the bus users of a deployment whose directory is d, with
// their permissions: the services', the roles' shared users, and a user of
// its own for each bus_user bound in d.
func UsersFor(d *auth.Directory) (map[string]bus.UserSpec, error) {
	return bus.DeploymentUsers(ServiceConsumes(), d.BusUsers())
}

// AccountsConfig is deploy/nats/accounts.conf.
func AccountsConfig() string { return bus.AccountsConfig(Users()) }

// AccountsConfigFor is the accounts.conf of a deployment whose directory
// is d (`go run ./deploy/local accounts principals.json`).
func AccountsConfigFor(d *auth.Directory) (string, error) {
	users, err := UsersFor(d)
	if err != nil {
		return "", err
	}
	return bus.AccountsConfig(users), nil
}

// Readers are the read models: services that consume every type of the
// producer streams through catch-all subscriptions (they may also produce,
// as the timeline produces its webhook notices).
func Readers() []string {
	var out []string
	for _, d := range Declarations() {
		if slices.ContainsFunc(d.Subscriptions, func(s bus.Subscription) bool { return s.Type == bus.AnyType }) {
			out = append(out, d.Name)
		}
	}
	return out
}
