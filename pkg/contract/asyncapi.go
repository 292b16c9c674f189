package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/outbox"
)

// AsyncAPIFile is where the AsyncAPI document lives, beside the payload
// schemas it references: schemas/asyncapi.yaml.
const AsyncAPIFile = "asyncapi.yaml"

// AsyncAPI renders the AsyncAPI 3.0.0 document of the bus from the code
// that decides it, so that it cannot drift:
//   - channels: one per event type (the NATS subject, ce.Topic), in the
//     stream of bus.Catalog that holds it, plus the dead-letter channel;
//   - messages: one per type, binary-mode CloudEvents headers and the
//     payload $ref to schemas/<topic>.json (title and description from it);
//   - send operations: every bus user whose publish permissions
//     (bus.DeploymentUsers) cover the subject;
//   - receive operations: every bus user whose durables match it (consumes:
//     the filters of each service's declaration and of the external users,
//     which the server enforces).
//
// types are the full CloudEvents types (pkg/events constants); schemaDir
// holds their schemas.
func AsyncAPI(types []string, consumes map[string][]bus.Durable, schemaDir string) ([]byte, error) {
	types = append([]string(nil), types...)
	sort.Strings(types)
	users, err := bus.DeploymentUsers(consumes, nil) // the roles' shared users; bound ones are the deployment's
	if err != nil {
		return nil, err
	}
	userNames := make([]string, 0, len(users))
	for n := range users {
		userNames = append(userNames, n)
	}
	sort.Strings(userNames)

	channels := omap{}
	messages := omap{}
	operations := omap{}
	for _, typ := range types {
		topic := ce.Topic(typ)
		stream, err := bus.StreamFor(topic)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", typ, err)
		}
		schemaFile := topic + ".json"
		title, description, err := schemaSummary(filepath.Join(schemaDir, schemaFile))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", typ, err)
		}
		var senders []string
		for _, u := range userNames {
			if !users[u].Unrestricted && matchesAny(users[u].Publish, topic) {
				senders = append(senders, u)
			}
		}
		if len(senders) == 0 {
			return nil, fmt.Errorf("%s: no bus user may publish %s", typ, topic)
		}
		fromService := stream.Producer == senders[0] && len(senders) == 1
		headers := omap{"allOf", []any{
			ref("#/components/schemas/" + headerSchema(fromService)),
			omap{
				"type", "object",
				"properties", typeHeaders(typ, stream, fromService),
			},
		}}
		messages = append(messages, topic, omap{
			"name", title,
			"title", typ,
			"summary", description,
			"contentType", ce.JSON,
			"headers", headers,
			"payload", ref("./" + schemaFile),
			"correlationId", ref("#/components/correlationIds/correlationId"),
			"traits", []any{ref("#/components/messageTraits/cloudEvent")},
		})
		// A service's events are published per partition (the subject's
		// fifth token); intake events on the bare topic.
		subject, channel := topic, omap{"address", topic}
		if fromService {
			subject = bus.PartitionSubject(topic, 0)
			channel = omap{"address", topic + ".{partition}", "parameters", omap{"partition", omap{
				"description", fmt.Sprintf("A hash of the partition key (the partner) modulo %d: one partner's events are on one partition, in order. Subscribe to %s for all.", bus.Partitions, bus.AllPartitions(topic)),
				"enum", partitionEnum(),
			}}}
		}
		about := fmt.Sprintf("%s on stream %s (published by %s).", typ, stream.Name, strings.Join(senders, ", "))
		if !fromService {
			about += fmt.Sprintf(" An outside system with a bus user of its own (a directory account's bus_user) publishes on %s instead, and only there; the accounts bound to it are taken only from there.", bus.IntakeSubject(typ, "<bus user>"))
		}
		channels = append(channels, topic, append(channel,
			"title", title,
			"description", about,
			"messages", omap{topic, ref("#/components/messages/" + topic)},
			"x-jetstream-stream", stream.Name,
		))
		for _, u := range senders {
			operations = append(operations, u+".send."+topic, omap{
				"action", "send",
				"channel", ref("#/channels/" + topic),
				"summary", fmt.Sprintf("%s publishes %s.", u, title),
				"messages", []any{ref("#/channels/" + topic + "/messages/" + topic)},
				"tags", []any{omap{"name", u}},
			})
		}
		for _, u := range sortedKeys(consumes) {
			for _, d := range consumes[u] {
				if !server.SubjectMatchesFilter(subject, d.Receives()) {
					continue
				}
				names, filters := d.Names(u)
				how := fmt.Sprintf("Durable %s on stream %s, filter %s", names[0], stream.Name, filters[0])
				if d.Partitioned() {
					how = fmt.Sprintf("One durable per partition, %s … %s on stream %s, filters %s … %s, each pulled by the one instance that owns the partition",
						names[0], names[len(names)-1], stream.Name, filters[0], filters[len(filters)-1])
				}
				operations = append(operations, u+".receive."+topic, omap{
					"action", "receive",
					"channel", ref("#/channels/" + topic),
					"summary", fmt.Sprintf("%s consumes %s.", u, title),
					"description", how + "; explicit ack, redelivery with backoff, poison messages dead-lettered.",
					"messages", []any{ref("#/channels/" + topic + "/messages/" + topic)},
					"tags", []any{omap{"name", u}},
					"x-jetstream-durable", bus.DurableName(u, d.Filter),
					"x-jetstream-filter", d.Filter,
					"x-jetstream-partitioned", d.Partitioned(),
				})
			}
		}
	}

	// Dead letters: every service user may publish on its own subject.
	var dlqSenders, dlqTokens []string
	for _, u := range userNames {
		if subj := bus.DeadLetterSubject(u); !users[u].Unrestricted && contains(users[u].Publish, subj) {
			dlqSenders = append(dlqSenders, u)
			dlqTokens = append(dlqTokens, strings.TrimPrefix(subj, "deadletter."))
		}
	}
	channels = append(channels, "deadletter", omap{
		"address", "deadletter.{service}",
		"title", "Dead letters",
		"description", "Poisoned messages of each consumer (stream " + bus.DeadLetterStream + "): the original headers and body plus the dlq-* headers. Replay republishes them to dlq-subject.",
		"parameters", omap{"service", omap{
			"description", "The consuming service, '-' written as '_'.",
			"enum", toAny(dlqTokens),
		}},
		"messages", omap{"deadLetter", ref("#/components/messages/deadLetter")},
		"x-jetstream-stream", bus.DeadLetterStream,
	})
	messages = append(messages, "deadLetter", omap{
		"name", "DeadLetter",
		"title", "Dead letter",
		"summary", "An event a consumer gave up on, with why.",
		"contentType", ce.JSON,
		"headers", ref("#/components/schemas/deadLetterHeaders"),
		"payload", omap{"description", "The original event's data, unchanged."},
	})
	for _, u := range dlqSenders {
		operations = append(operations, u+".send.deadletter", omap{
			"action", "send",
			"channel", ref("#/channels/deadletter"),
			"summary", u + " dead-letters what it cannot handle on " + bus.DeadLetterSubject(u) + ".",
			"messages", []any{ref("#/channels/deadletter/messages/deadLetter")},
			"tags", []any{omap{"name", u}},
		})
	}
	// Readers that show other consumers' dead letters (the timeline) have
	// a durable per dead-letter subject.
	for _, u := range sortedKeys(consumes) {
		for _, d := range consumes[u] {
			filter := d.Filter
			if s, err := bus.StreamFor(filter); err != nil || s.Name != bus.DeadLetterStream {
				continue
			}
			operations = append(operations, u+".receive."+filter, omap{
				"action", "receive",
				"channel", ref("#/channels/deadletter"),
				"summary", fmt.Sprintf("%s consumes the dead letters on %s.", u, filter),
				"description", fmt.Sprintf("Durable %s on stream %s, filter %s; explicit ack, redelivery with backoff.",
					bus.DurableName(u, filter), bus.DeadLetterStream, filter),
				"messages", []any{ref("#/channels/deadletter/messages/deadLetter")},
				"tags", []any{omap{"name", u}},
				"x-jetstream-durable", bus.DurableName(u, filter),
				"x-jetstream-filter", filter,
			})
		}
	}
	operations = append(operations, bus.AdminUser+".receive.deadletter", omap{
		"action", "receive",
		"channel", ref("#/channels/deadletter"),
		"summary", "Operators list and replay dead letters (partnerctl deadletters list|replay, as the admin user).",
		"messages", []any{ref("#/channels/deadletter/messages/deadLetter")},
		"tags", []any{omap{"name", bus.AdminUser}},
	})

	doc := omap{
		"asyncapi", "3.0.0",
		"info", omap{
			"title", "Partner onboarding events",
			"version", "1.0.0",
			"description", "Every CloudEvent on the NATS JetStream bus of the partner onboarding backend, in binary content mode " +
				"(lower-case ce-* headers, JSON body). Generated by contract.AsyncAPI from pkg/events, pkg/bus " +
				"(stream catalog, publish permissions, durable subscriptions) and schemas/; do not edit: run\n" +
				"  cd deploy/local && go test ./stack -run TestAsyncAPIDocument -update\n" +
				"A breaking payload change is a new v2 type (see pkg/contract/compat.go).",
		},
		"defaultContentType", ce.JSON,
		"servers", omap{
			"local", omap{
				"host", "127.0.0.1:4222",
				"protocol", "nats",
				"description", "Development: NATS_URL defaults to nats://127.0.0.1:4222 in every service and partnerctl, where make run starts an embedded JetStream; without NATS_USER no authorization.",
			},
			"cluster", omap{
				"host", "{host}",
				"protocol", "nats",
				"description", "A JetStream cluster (R3 streams); each service connects as its own bus user (NATS_USER, NATS_PASSWORD) with inbox prefix _INBOX.<user>.",
				"variables", omap{"host", omap{"default", "nats:4222", "description", "Any server of the cluster (NATS_URL lists several)."}},
				"security", []any{ref("#/components/securitySchemes/busUser")},
			},
		},
		"channels", channels,
		"operations", operations,
		"components", omap{
			"messages", messages,
			"schemas", omap{
				"cloudEventHeaders", cloudEventHeaders(),
				"outboxEventHeaders", omap{
					"description", "An event written through a service's transactional outbox: every attribute and extension is set.",
					"allOf", []any{
						ref("#/components/schemas/cloudEventHeaders"),
						omap{"required", toAny([]string{
							ce.HSubject, ce.HTime, ce.HDataContentType, ce.HDataSchema, ce.HPartitionKey,
							ce.HSequence, ce.HCorrelationID, "Nats-Msg-Id",
						})},
					},
				},
				"deadLetterHeaders", omap{
					"allOf", []any{
						ref("#/components/schemas/cloudEventHeaders"),
						omap{
							"type", "object",
							"required", toAny([]string{bus.DLQCode, bus.DLQReason, bus.DLQService, bus.DLQSubject, bus.DLQDelivered, bus.DLQTime}),
							"properties", omap{
								bus.DLQCode, omap{"type", "string", "description", "Stable reason code, e.g. cloudevent.schema_violation."},
								bus.DLQReason, omap{"type", "string", "description", "Human-readable reason."},
								bus.DLQService, omap{"type", "string", "description", "The consumer that gave up."},
								bus.DLQHandler, omap{"type", "string", "description", "The consumer's handler (its durable)."},
								bus.DLQSubject, omap{"type", "string", "description", "Where the original was published: replay target."},
								bus.DLQDelivered, omap{"type", "string", "pattern", "^[0-9]+$", "description", "Deliveries before giving up."},
								bus.DLQTime, omap{"type", "string", "format", "date-time"},
							},
						},
					},
				},
			},
			"securitySchemes", omap{
				"busUser", omap{"type", "userPassword", "description", "One NATS user per service (deploy/nats/accounts.conf, generated from pkg/bus/permissions.go)."},
			},
			"correlationIds", omap{
				"correlationId", omap{"description", "The correlation id carried from the first cause.", "location", "$message.header#/" + ce.HCorrelationID},
			},
			"messageTraits", omap{
				"cloudEvent", omap{
					"description", "CloudEvents 1.0 binary content mode over NATS.",
					"externalDocs", omap{"url", "https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/nats-protocol-binding.md"},
				},
			},
		},
	}
	var buf bytes.Buffer
	buf.WriteString("# Generated by contract.AsyncAPI (pkg/contract/asyncapi.go); do not edit. Regenerate with\n" +
		"#   cd deploy/local && go test ./stack -run TestAsyncAPIDocument -update\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func headerSchema(fromService bool) string {
	if fromService {
		return "outboxEventHeaders"
	}
	return "cloudEventHeaders"
}

// typeHeaders pins the attributes that are fixed for one type.
func typeHeaders(typ string, stream bus.Stream, fromService bool) omap {
	h := omap{ce.HType, omap{"const", typ}}
	if fromService {
		h = append(h,
			ce.HSource, omap{"const", "/services/" + stream.Producer},
			ce.HDataSchema, omap{"const", outbox.SchemaURL(typ)},
		)
	}
	return h
}

func cloudEventHeaders() omap {
	str := func(desc string, more ...any) omap {
		return append(omap{"type", "string", "description", desc}, more...)
	}
	return omap{
		"type", "object",
		"required", toAny([]string{ce.HSpecVersion, ce.HID, ce.HSource, ce.HType}),
		"properties", omap{
			ce.HSpecVersion, str("CloudEvents spec version.", "const", ce.SpecVersion),
			ce.HID, str("Event id (UUIDv7 for our services); unique per source.", "maxLength", 512),
			ce.HSource, str("/services/<name> for our services; the upstream system or verifier otherwise.", "maxLength", 512),
			ce.HType, str("com.partnerhub.<service>.<entity>.<fact>.v<major>; the NATS subject is the type without com.partnerhub.", "maxLength", 512),
			ce.HSubject, str("The aggregate: usually the global partner id.", "maxLength", 512),
			ce.HTime, str("When it happened.", "format", "date-time"),
			ce.HDataContentType, str("Media type of the body.", "const", ce.JSON),
			ce.HDataSchema, str("The payload schema: "+outbox.SchemaBaseURL+"<subject>.json.", "format", "uri"),
			ce.HPartitionKey, str("Extension: ordering key, = subject."),
			ce.HSequence, str("Extension: gap-free sequence per partition key, zero-padded.", "pattern", fmt.Sprintf("^[0-9]{%d}$", ce.SequenceWidth)),
			ce.HCorrelationID, str("Extension: id of the first event or request of the chain."),
			ce.HCausationID, str("Extension: id of the event or request that caused this one."),
			ce.HTraceParent, str("Extension: W3C trace context of the cause.", "pattern", "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"),
			ce.HAuthType, str("Extension: kind of actor.", "enum", []any{"user", "service_account"}),
			ce.HAuthID, str("Extension: the actor's subject (never a token). The partner's side reads it (feed, timelines, webhooks) only when the actor is of the partner's side (ce-authclaims) or one of our services."),
			ce.HeaderPrefix + auth.ExtAuthClaims, str(`Extension: the roles the actor acted in, a JSON object, e.g. {"roles":["operator"]} (never a credential; absent for our services reacting to each other's events and on events published before round 48).`),
			ce.HDataClassification, str("Extension: restricted when the body carries sealed personal data.", "enum", []any{"restricted"}),
			"Nats-Msg-Id", str("JetStream de-duplication id: the CloudEvent id."),
		},
	}
}

func schemaSummary(path string) (title, description string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	var s struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	if s.Title == "" || s.Description == "" {
		return "", "", fmt.Errorf("%s needs a title and a description", path)
	}
	return s.Title, s.Description, nil
}

func partitionEnum() []any {
	out := make([]any, bus.Partitions)
	for p := range bus.Partitions {
		out[p] = fmt.Sprint(p)
	}
	return out
}

func matchesAny(filters []string, subject string) bool {
	for _, f := range filters {
		if server.SubjectMatchesFilter(subject, f) {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func toAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

func ref(to string) omap { return omap{"$ref", to} }

// omap is a YAML mapping that keeps its keys in order: alternating keys
// (strings) and values.
type omap []any

func (o omap) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(o); i += 2 {
		k := &yaml.Node{}
		k.SetString(o[i].(string))
		v := &yaml.Node{}
		if err := v.Encode(o[i+1]); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, k, v)
	}
	return n, nil
}
