package domain

import "strings"

// Partner ID prefixes: a global ID names the company, a location ID one of its
// business locations. Transactions, and so relationships, use location IDs.
const (
	GlobalIDPrefix   = "PG-"
	LocationIDPrefix = "PL-"
)

// IsGlobalID reports whether id looks like a global partner ID (PG-…).
func IsGlobalID(id string) bool {
	return len(id) > len(GlobalIDPrefix) && strings.HasPrefix(id, GlobalIDPrefix)
}

// IsLocationID reports whether id looks like a location partner ID (PL-…).
func IsLocationID(id string) bool {
	return len(id) > len(LocationIDPrefix) && strings.HasPrefix(id, LocationIDPrefix)
}
