package bus

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/pkg/ce"
)

// The bus users of a deployment. Every service connects as a user named
// after itself (NATS_USER) with its own password (NATS_PASSWORD); the NATS
// servers read each password from NATS_PASSWORD_<USER> (see PasswordEnv).
const (
	// AdminUser provisions the stream catalog and replays dead letters: it
	// is the only unrestricted user.
	AdminUser = "admin"
	// UpstreamUser is the sign-up portal / CRM / distributor integration:
	// it may only publish intake registrations.
	UpstreamUser = "upstream"
	// VerifierUser is a verifier service: it consumes review tasks and may
	// only publish intake verification decisions.
	VerifierUser = "verifier"
)

// Intake subjects of the external roles' shared users: the event type's
// subject (intake.registration.requested.v1). An outside system with a bus
// user of its own publishes on that subject followed by its user's name
// (intake.registration.requested.v1.crm-west; see BoundIntake), and only
// there: the services then know which system published (IntakePublisher)
// and take only the directory accounts bound to it.
const (
	UpstreamIntake = "intake.registration.*.*"
	VerifierIntake = "intake.verification.*.*"
)

// SharedIntake is the intake of each external role's shared user.
var SharedIntake = map[string]string{UpstreamUser: UpstreamIntake, VerifierUser: VerifierIntake}

// BoundIntake is the intake subject filter of bound bus user user, of the
// external role role (UpstreamUser or VerifierUser).
func BoundIntake(role, user string) string { return SharedIntake[role] + "." + user }

// IntakeSubject is the subject an event of intake type typ is published
// on by bus user publisher ("" for a role's shared user).
func IntakeSubject(typ, publisher string) string {
	if publisher == "" {
		return ce.Topic(typ)
	}
	return ce.Topic(typ) + "." + publisher
}

// IntakePublisher is the bus user an intake subject names
// (intake.<…>.<…>.<…>.<user>), or "" (the shared subjects, and any other).
func IntakePublisher(subject string) string {
	t := strings.Split(subject, ".")
	if len(t) != 5 || t[0] != "intake" {
		return ""
	}
	return t[4]
}

// ExternalSubscriptions lists, per external bus user, the subject filters
// it consumes with a durable (one durable per filter, named
// DurableName(user, filter), e.g. upstream__registration_application_submitted_v1_any):
// an upstream system reads the answers to its intake registrations, a
// verifier its review tasks and the refusals of its decisions. The services' own come from their
// declarations (platform.Declaration.Subscriptions).
var ExternalSubscriptions = map[string][]string{
	UpstreamUser: {
		AllPartitions("registration.application.submitted.v1"),
		AllPartitions("registration.application.rejected.v1"),
	},
	VerifierUser: {
		AllPartitions("verification.task.created.v1"),
		AllPartitions("verification.task.released.v1"),
		AllPartitions("verification.decision.refused.v1"),
	},
}

// BoundSubscriptions lists, per role, what a bus user of its own (an
// outside system bound to it in the directory) may read on NATS. A
// verifier service reads what the shared verifier user reads: the review
// queue is every verifier's. An upstream system reads nothing: the answers
// on REGISTRATION are every upstream system's, each carrying a partner's
// registration, so a system bound for isolation reads its own through the
// event feed or webhooks, which show it only its partners' and its intake's
// rejections (given the shared upstream user's credentials too, it reads
// every answer on NATS, as an unbound system does).
var BoundSubscriptions = map[string][]string{
	VerifierUser: ExternalSubscriptions[VerifierUser],
}

// externalDurables are an external user's filters: one shared durable each.
func externalDurables(filters []string) []Durable {
	out := make([]Durable, len(filters))
	for i, f := range filters {
		out[i] = Durable{Filter: f, Shared: true}
	}
	return out
}

// Services are the bus users that are services of this backend: every
// producer of the catalog and every reader. A reader consumes but owns no
// stream (it publishes only its dead letters).
func Services(readers ...string) []string {
	var out []string
	for _, s := range Catalog {
		if userName.MatchString(s.Producer) {
			out = append(out, s.Producer)
		}
	}
	return append(out, readers...)
}

// ProducerFilters are the subjects of every service's stream: what a read
// model of the whole bus consumes (not intake: its events are answered by
// events of their own; not dead letters: see DeadLetterFilters).
func ProducerFilters() []string {
	var out []string
	for _, s := range Catalog {
		if userName.MatchString(s.Producer) {
			out = append(out, s.Subjects...)
		}
	}
	return out
}

// DeadLetterFilters are the dead-letter subjects of every producing
// service but except: a reader never reads its own dead letters (one it
// could not read would come back to it forever).
func DeadLetterFilters(except string) []string {
	var out []string
	for _, s := range Services() {
		if s != except {
			out = append(out, DeadLetterSubject(s))
		}
	}
	return out
}

// UserSpec is one NATS user: its password (by environment variable) and
// what it may publish and subscribe. An Unrestricted user has no
// permissions block.
type UserSpec struct {
	PasswordEnv  string
	Publish      []string
	Subscribe    []string
	Unrestricted bool
}

var userName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// PasswordEnv is the environment variable of the NATS server holding the
// password of user, e.g. NATS_PASSWORD_EMAIL_OWNERSHIP.
func PasswordEnv(user string) string {
	return "NATS_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
}

// InboxPrefix is the reply-subject prefix of user's connections. A private
// prefix is what keeps the reply channel least-privilege: with the shared
// `_INBOX.>` any user could subscribe to every other user's pulled messages
// and publish acks.
func InboxPrefix(user string) string { return "_INBOX." + user }

// Permissions is what service may publish and subscribe: its own stream's
// subjects, its dead-letter subject, stream info for the catalog, its own
// durables on the filters it consumes (create, info, pull, ack) and replies
// on its private inbox. Streams are provisioned by AdminUser, never by a
// service: stream create/update would let a service re-point another
// stream (sources with subject transforms) and forge its events. Filters
// outside the catalog grant nothing.
func Permissions(service string, consumes []Durable) (publish, subscribe []string) {
	for _, s := range Catalog {
		if s.Producer == service {
			publish = append(publish, s.Subjects...)
		}
	}
	publish = append(publish, DeadLetterSubject(service), "$JS.API.INFO")
	for _, s := range Catalog {
		publish = append(publish, "$JS.API.STREAM.INFO."+s.Name)
	}
	publish = append(publish, consumerPermissions(service, consumes, true)...)
	return dedupe(publish), []string{InboxPrefix(service) + ".>"}
}

// consumerPermissions lets user create (with the filter in the subject, so
// the server checks the body's filter against it), inspect, pull from and
// ack its own durables (every partition's of a partitioned one). The plain
// CONSUMER.CREATE.<stream>.<durable> form is left out on purpose: its
// filter lives only in the body. With canDelete, user may also delete them:
// a service's router moves a durable it finds in the other storage (see
// BUS_DURABLES) by deleting it and creating it again from its ack floor,
// and reads and deletes a durable one of its own replaced (Replaces).
func consumerPermissions(user string, durables []Durable, canDelete bool) []string {
	var out []string
	for _, d := range durables {
		s, err := StreamFor(d.Filter)
		if err != nil {
			continue
		}
		names, filters := d.Names(user)
		for i, name := range names {
			out = append(out,
				fmt.Sprintf("$JS.API.CONSUMER.CREATE.%s.%s.%s", s.Name, name, filters[i]),
				fmt.Sprintf("$JS.API.CONSUMER.INFO.%s.%s", s.Name, name),
				fmt.Sprintf("$JS.API.CONSUMER.MSG.NEXT.%s.%s", s.Name, name),
				fmt.Sprintf("$JS.ACK.%s.%s.>", s.Name, name),
			)
			if canDelete {
				out = append(out, fmt.Sprintf("$JS.API.CONSUMER.DELETE.%s.%s", s.Name, name))
			}
		}
		if d.Replaces == "" || !canDelete {
			continue
		}
		// The durable it took over: read where it stood, then deleted.
		old, _ := Durable{Filter: d.Replaces, Shared: d.Shared}.Names(user)
		for _, name := range old {
			out = append(out,
				fmt.Sprintf("$JS.API.CONSUMER.INFO.%s.%s", s.Name, name),
				fmt.Sprintf("$JS.API.CONSUMER.DELETE.%s.%s", s.Name, name))
		}
	}
	return out
}

// ServiceUser is the UserSpec of a service consuming the given filters.
func ServiceUser(service string, consumes []Durable) UserSpec {
	pub, sub := Permissions(service, consumes)
	return UserSpec{PasswordEnv: PasswordEnv(service), Publish: pub, Subscribe: sub}
}

// IntakeUser is an external publisher (upstream system or verifier
// service) that may publish only on intake (with JetStream publish acks on
// its private inbox) and consume its own durables (ExternalDurable). It may
// read the INTAKE stream's info and that of the streams it consumes: the
// official CloudEvents SDK's sender and receiver look their stream up
// before they publish or subscribe (and try to create it when the lookup
// fails, which the user may not).
func IntakeUser(user, intake string, consumes []string) UserSpec {
	pub := []string{intake, "$JS.API.STREAM.INFO.INTAKE"}
	pub = append(pub, consumerPermissions(user, externalDurables(consumes), false)...)
	for _, f := range consumes {
		if s, err := StreamFor(f); err == nil {
			pub = append(pub, "$JS.API.STREAM.INFO."+s.Name)
		}
	}
	return UserSpec{PasswordEnv: PasswordEnv(user), Publish: dedupe(pub), Subscribe: []string{InboxPrefix(user) + ".>"}}
}

// ExternalDurable is the durable name an external user consumes filter
// with (one of its ExternalSubscriptions): the only consumer its
// permissions let it create, read and acknowledge.
func ExternalDurable(user, filter string) string { return DurableName(user, filter) }

// DeploymentUsers are the users of deploy/nats/accounts.conf: every
// service with the filters its declaration consumes (consumes, by service
// name; entries of the external users are theirs, ExternalSubscriptions),
// the upstream and verifier roles' shared users, the outside systems'
// own users (bound: user → its role's shared user, from the directory's
// bus_user bindings) and the admin. A bound user publishes only on its
// own intake subject and reads the role's answers with durables of its
// own.
func DeploymentUsers(consumes map[string][]Durable, bound map[string]string) (map[string]UserSpec, error) {
	users := map[string]UserSpec{
		AdminUser:    {PasswordEnv: PasswordEnv(AdminUser), Unrestricted: true},
		UpstreamUser: IntakeUser(UpstreamUser, UpstreamIntake, ExternalSubscriptions[UpstreamUser]),
		VerifierUser: IntakeUser(VerifierUser, VerifierIntake, ExternalSubscriptions[VerifierUser]),
	}
	services := Services()
	for service := range consumes {
		services = append(services, service)
	}
	for user, role := range bound {
		switch _, ok := SharedIntake[role]; {
		case !ok:
			return nil, fmt.Errorf("bus user %q: role %q is not an external role (upstream, verifier)", user, role)
		case !userName.MatchString(user):
			return nil, fmt.Errorf("bus user %q: not a valid user name", user)
		case user == AdminUser || slices.Contains(services, user) || users[user].PasswordEnv != "":
			return nil, fmt.Errorf("bus user %q is a user of the backend itself", user)
		}
		users[user] = IntakeUser(user, BoundIntake(role, user), BoundSubscriptions[role])
	}
	for service, filters := range consumes {
		if _, external := users[service]; !external {
			users[service] = ServiceUser(service, filters)
		}
	}
	for _, s := range Services() {
		if _, ok := users[s]; !ok {
			users[s] = ServiceUser(s, nil)
		}
	}
	return users, nil
}

// AccountsConfig renders users as a nats-server `authorization` block,
// sorted by user name so that the output is stable. Passwords are `$VAR`
// references resolved from the server's environment.
func AccountsConfig(users map[string]UserSpec) string {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(`# Generated by bus.AccountsConfig (pkg/bus/permissions.go); do not edit:
# change a service's declaration or the roles and run
#   cd deploy/local && go test ./stack -run TestCommittedAccountsConfig -update
# Per-user bus permissions: each service publishes only its own stream's
# subjects and its dead-letter subject, uses the JetStream API only for its
# own durables, and reads replies only on its private inbox (clients set
# the inbox prefix _INBOX.<user>). Streams are provisioned by the admin.
# Every password comes from the server's environment (NATS_PASSWORD_<USER>).
authorization {
  users = [
`)
	for _, n := range names {
		u := users[n]
		fmt.Fprintf(&b, "    {\n      user: %q\n      password: $%s\n", n, u.PasswordEnv)
		if !u.Unrestricted {
			b.WriteString("      permissions: {\n")
			writeList(&b, "publish", u.Publish)
			writeList(&b, "subscribe", u.Subscribe)
			b.WriteString("      }\n")
		}
		b.WriteString("    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}

// writeList renders an allow list; an empty one denies everything (an
// absent one would allow everything).
func writeList(b *strings.Builder, name string, subjects []string) {
	fmt.Fprintf(b, "        %s: { allow: [", name)
	if len(subjects) == 0 {
		b.WriteString("] }\n")
		return
	}
	b.WriteString("\n")
	for _, s := range subjects {
		fmt.Fprintf(b, "          %q\n", s)
	}
	b.WriteString("        ] }\n")
}

// PrepareStreams provisions the catalog when the connection may (no NATS
// user: development without authorization; or the admin) and otherwise
// waits, polling stream info, until the admin has provisioned every catalog
// stream or ctx ends.
func PrepareStreams(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	if cfg.NATSUser == "" || cfg.NATSUser == AdminUser {
		return EnsureStreams(ctx, js, cfg.Replicas)
	}
	for {
		missing := missingStreams(ctx, js)
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("streams %s not provisioned (the admin user provisions them): %w",
				strings.Join(missing, ", "), ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func missingStreams(ctx context.Context, js jetstream.JetStream) []string {
	var missing []string
	for _, s := range Catalog {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.Stream(ictx, s.Name)
		cancel()
		if err != nil {
			missing = append(missing, s.Name)
		}
	}
	return missing
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
