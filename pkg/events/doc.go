// Package events is the published language of the backend: for each
// producer, under <producer>/v1, the CloudEvents types it emits and their
// payloads. Consumers import these, never the producer's code. Every type
// has a JSON Schema at schemas/<subject>.json (e.g.
// schemas/registration.application.submitted.v1.json). Additive changes stay
// in v1 and consumers ignore unknown fields; a breaking change is a new v2
// type (in <producer>/v2) published beside v1 until consumers move — unless
// what v1 carries must stop (round 47: a claimant's contact the existing
// partner's side read): then v2 replaces v1 at once, and the consumers read
// both, v1 for the events published before.
package events
