package bus_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
)

func TestPermissions(t *testing.T) {
	consumes := []bus.Durable{{Filter: "registration.application.submitted.v1"}, {Filter: "intake.verification.>", Replaces: "intake.verification.decision.v1"}}
	pub, sub := bus.Permissions("email-ownership", consumes)
	tests := []struct {
		name    string
		subject string
		allowed bool
	}{
		{"own stream", "email.ownership.confirmed.v1", true},
		{"own dead letters", "deadletter.email_ownership", true},
		{"JetStream account info", "$JS.API.INFO", true},
		{"stream info of the catalog", "$JS.API.STREAM.INFO.VERIFICATION", true},
		{"own partition durable with its filter", "$JS.API.CONSUMER.CREATE.REGISTRATION.email_ownership__registration_application_submitted_v1_p3.registration.application.submitted.v1.3", true},
		{"own partition durable with another partition's filter", "$JS.API.CONSUMER.CREATE.REGISTRATION.email_ownership__registration_application_submitted_v1_p3.registration.application.submitted.v1.4", false},
		{"own wildcard durable with its filter", "$JS.API.CONSUMER.CREATE.INTAKE.email_ownership__intake_verification_all.intake.verification.>", true},
		{"own wildcard durable with a narrower filter", "$JS.API.CONSUMER.CREATE.INTAKE.email_ownership__intake_verification_all.intake.verification.decision.v1", true},
		{"own durable with another filter", "$JS.API.CONSUMER.CREATE.REGISTRATION.email_ownership__registration_application_submitted_v1_p0.registration.>", false},
		{"own durable info", "$JS.API.CONSUMER.INFO.REGISTRATION.email_ownership__registration_application_submitted_v1_p3", true},
		{"own durable pull", "$JS.API.CONSUMER.MSG.NEXT.INTAKE.email_ownership__intake_verification_all", true},
		{"own durable acks", "$JS.ACK.REGISTRATION.email_ownership__registration_application_submitted_v1_p1.1.7.7.1700000000000000000.0", true},
		{"a partition that does not exist", "$JS.API.CONSUMER.MSG.NEXT.REGISTRATION.email_ownership__registration_application_submitted_v1_p4", false},
		{"another stream", "verification.decision.recorded.v1", false},
		{"intake", "intake.verification.decision.v1", false},
		{"another service's dead letters", "deadletter.verification", false},
		{"stream create", "$JS.API.STREAM.CREATE.EMAIL", false},
		{"stream update", "$JS.API.STREAM.UPDATE.EMAIL", false},
		{"durable without filter in the subject", "$JS.API.CONSUMER.CREATE.REGISTRATION.email_ownership__registration_application_submitted_v1_p0", false},
		{"durable of a filter it does not consume", "$JS.API.CONSUMER.MSG.NEXT.REGISTRATION.email_ownership__registration_partner_activated_v1", false},
		{"the durable its own replaced: info", "$JS.API.CONSUMER.INFO.INTAKE.email_ownership__intake_verification_decision_v1", true},
		{"the durable its own replaced: delete", "$JS.API.CONSUMER.DELETE.INTAKE.email_ownership__intake_verification_decision_v1", true},
		{"the durable its own replaced: no pull", "$JS.API.CONSUMER.MSG.NEXT.INTAKE.email_ownership__intake_verification_decision_v1", false},
		{"the durable its own replaced: no create", "$JS.API.CONSUMER.CREATE.INTAKE.email_ownership__intake_verification_decision_v1.intake.verification.decision.v1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allows(pub, tt.subject); got != tt.allowed {
				t.Errorf("publish %q allowed = %v, want %v (publish = %q)", tt.subject, got, tt.allowed, pub)
			}
		})
	}
	if want := []string{"_INBOX.email-ownership.>"}; !slices.Equal(sub, want) {
		t.Errorf("subscribe = %q, want %q", sub, want)
	}
}

func TestPermissionsIgnoresFiltersOutsideTheCatalog(t *testing.T) {
	pub, _ := bus.Permissions("notifier", []bus.Durable{{Filter: "nowhere.thing.v1"}})
	for _, p := range pub {
		if strings.Contains(p, "nowhere") {
			t.Errorf("granted %q for a filter no stream holds", p)
		}
	}
}

func TestAccountsConfigRendering(t *testing.T) {
	got := bus.AccountsConfig(map[string]bus.UserSpec{
		"b-svc": {PasswordEnv: "NATS_PASSWORD_B_SVC", Publish: []string{"b.>"}},
		"a":     {PasswordEnv: "NATS_PASSWORD_A", Unrestricted: true},
	})
	for _, want := range []string{
		"user: \"a\"\n      password: $NATS_PASSWORD_A\n    }",
		"user: \"b-svc\"\n      password: $NATS_PASSWORD_B_SVC\n      permissions: {\n        publish: { allow: [\n          \"b.>\"\n        ] }\n        subscribe: { allow: [] }",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Index(got, `"a"`) > strings.Index(got, `"b-svc"`) {
		t.Error("users are not sorted")
	}
}

func TestConnectOptionsWithoutUserAreNone(t *testing.T) {
	if opts := (bus.Config{NATSURL: "nats://x"}).ConnectOptions(); len(opts) != 0 {
		t.Errorf("an unauthenticated development config got %d options", len(opts))
	}
}

// allows reports whether a permission list lets subject through, matched as
// the server matches it.
func allows(list []string, subject string) bool {
	for _, p := range list {
		if server.SubjectMatchesFilter(subject, p) {
			return true
		}
	}
	return false
}

// TestBoundIntakeUsers: an outside system with a bus user of its own
// publishes only on its own intake subjects (the type's subject followed by
// its name), the roles' shared users only on the types' subjects; so the
// subject names who published it (IntakePublisher). A bound name that is a
// backend user, or of no external role, is refused.
func TestBoundIntakeUsers(t *testing.T) {
	users, err := bus.DeploymentUsers(nil, map[string]string{"crm-west": bus.UpstreamUser, "kyb-checks": bus.VerifierUser})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, subject string
		allowed       bool
	}{
		{"crm-west", "intake.registration.requested.v1.crm-west", true},
		{"crm-west", "intake.registration.requested.v1", false},
		{"crm-west", "intake.registration.requested.v1.crm-east", false},
		{"crm-west", "intake.verification.decision_submitted.v1.crm-west", false},
		{"kyb-checks", "intake.verification.decision_submitted.v1.kyb-checks", true},
		{"kyb-checks", "intake.verification.decision_submitted.v1", false},
		{"upstream", "intake.registration.requested.v1", true},
		{"upstream", "intake.registration.requested.v1.crm-west", false},
		{"verifier", "intake.verification.decision_submitted.v1", true},
		{"verifier", "intake.verification.decision_submitted.v1.kyb-checks", false},
	}
	for _, tt := range tests {
		if got := allows(users[tt.user].Publish, tt.subject); got != tt.allowed {
			t.Errorf("%s publishing %s: allowed = %v, want %v", tt.user, tt.subject, got, tt.allowed)
		}
	}
	// A bound upstream system reads no answers on NATS: they are every
	// upstream system's (its own come through the feed or webhooks); a
	// bound verifier reads the review queue, which is every verifier's.
	for _, subject := range []string{"$JS.API.STREAM.INFO.REGISTRATION",
		"$JS.API.CONSUMER.MSG.NEXT.REGISTRATION.crm_west__registration_application_submitted_v1_any",
		"$JS.API.CONSUMER.CREATE.REGISTRATION.crm_west__registration_application_rejected_v1_any.registration.application.rejected.v1.*"} {
		if allows(users["crm-west"].Publish, subject) {
			t.Errorf("crm-west may %s: it would read every upstream system's answers", subject)
		}
	}
	if !allows(users["upstream"].Publish, "$JS.API.CONSUMER.MSG.NEXT.REGISTRATION.upstream__registration_application_submitted_v1_any") {
		t.Error("the shared upstream user cannot read the answers")
	}
	if !allows(users["kyb-checks"].Publish, "$JS.API.CONSUMER.MSG.NEXT.VERIFICATION.kyb_checks__verification_task_created_v1_any") {
		t.Error("kyb-checks cannot read the review queue with a durable of its own")
	}
	for subject, want := range map[string]string{
		"intake.registration.requested.v1.crm-west": "crm-west", "intake.registration.requested.v1": "",
		"registration.application.submitted.v1.3": "", "intake.registration.requested.v1.a.b": "",
	} {
		if got := bus.IntakePublisher(subject); got != want {
			t.Errorf("IntakePublisher(%q) = %q, want %q", subject, got, want)
		}
	}
	for _, bad := range []map[string]string{{"registration": bus.UpstreamUser}, {"admin": bus.VerifierUser},
		{"upstream": bus.UpstreamUser}, {"crm": "operator"}, {"Crm": bus.UpstreamUser}} {
		if _, err := bus.DeploymentUsers(nil, bad); err == nil {
			t.Errorf("bound users %v accepted", bad)
		}
	}
}

// TestTheDirectoryNamesTheBusUsers: the directory (pkg/auth, which does
// not import the bus) names the external roles' shared users and the users
// no account may be bound to; they are the bus's.
func TestTheDirectoryNamesTheBusUsers(t *testing.T) {
	if auth.BusRoles[auth.RoleUpstreamSystem] != bus.UpstreamUser || auth.BusRoles[auth.RoleVerifier] != bus.VerifierUser || len(auth.BusRoles) != len(bus.SharedIntake) {
		t.Errorf("auth.BusRoles %v, want upstream_system → %s and verifier → %s", auth.BusRoles, bus.UpstreamUser, bus.VerifierUser)
	}
	for _, u := range []string{bus.AdminUser, bus.UpstreamUser, bus.VerifierUser} {
		if !slices.Contains(auth.ReservedBusUsers, u) {
			t.Errorf("auth.ReservedBusUsers %v lacks %s", auth.ReservedBusUsers, u)
		}
	}
}
