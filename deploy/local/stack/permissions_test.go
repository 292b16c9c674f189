package stack_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partnerhub/onboarding/deploy/local/stack"
	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/ce"
	"github.com/partnerhub/onboarding/pkg/natsembed"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

const committedAccounts = "../../nats/accounts.conf"

func TestDeploymentUsers(t *testing.T) {
	users := stack.Users()
	for _, s := range bus.Catalog[1 : len(bus.Catalog)-1] {
		if _, ok := users[s.Producer]; !ok {
			t.Errorf("no bus user for producer %s", s.Producer)
		}
	}
	tests := []struct {
		user    string
		subject string
		allowed bool
	}{
		{bus.UpstreamUser, "intake.registration.requested.v1", true},
		{bus.UpstreamUser, "intake.verification.decision.v1", false},
		{bus.UpstreamUser, "registration.application.submitted.v1", false},
		{bus.UpstreamUser, "$JS.API.STREAM.INFO.INTAKE", true}, // the SDK's sender looks its stream up
		{bus.UpstreamUser, "$JS.API.STREAM.INFO.REGISTRATION", true},
		{bus.UpstreamUser, "$JS.API.STREAM.INFO.VERIFICATION", false},
		{bus.UpstreamUser, "$JS.API.CONSUMER.MSG.NEXT.REGISTRATION.upstream__registration_application_submitted_v1_any", true},
		{bus.UpstreamUser, "$JS.API.CONSUMER.CREATE.REGISTRATION.upstream__registration_application_rejected_v1_any.registration.application.rejected.v1.*", true},
		{bus.UpstreamUser, "$JS.API.CONSUMER.CREATE.REGISTRATION.upstream__registration_all.registration.>", false},
		{bus.UpstreamUser, "$JS.API.CONSUMER.CREATE.REGISTRATION", false}, // no ephemeral consumers: their filter is only in the body
		{bus.VerifierUser, "intake.verification.decision.v1", true},
		{bus.VerifierUser, "intake.registration.requested.v1", false},
		{bus.VerifierUser, "verification.decision.recorded.v1", false},
		{bus.VerifierUser, "$JS.API.CONSUMER.MSG.NEXT.VERIFICATION.verifier__verification_task_created_v1_any", true},
		{"verification", "verification.case.approved.v1", true},
		{"verification", "email.ownership.confirmed.v1", false},
		{"verification", "$JS.API.CONSUMER.MSG.NEXT.INTAKE.verification__intake_verification_all", true},
		{"timeline", "deadletter.timeline", true},
		{"timeline", "registration.application.submitted.v1", false},
		{"timeline", "relationships.access.granted.v1", false},
		{"timeline", "$JS.API.CONSUMER.CREATE.REGISTRATION.timeline__registration_all.registration.>", true},
		{"timeline", "$JS.API.CONSUMER.MSG.NEXT.NOTIFIER.timeline__notifier_all", true},
		{"timeline", "$JS.API.CONSUMER.MSG.NEXT.INTAKE.timeline__intake_all", false},
		{"timeline", "$JS.API.CONSUMER.CREATE.REGISTRATION.registration__registration_all.registration.>", false},
	}
	for _, tt := range tests {
		if got := allows(users[tt.user].Publish, tt.subject); got != tt.allowed {
			t.Errorf("%s may publish %q = %v, want %v", tt.user, tt.subject, got, tt.allowed)
		}
	}
	if !users[bus.AdminUser].Unrestricted {
		t.Error("the admin must be unrestricted: it provisions the streams")
	}
	for name, u := range users {
		if name != bus.AdminUser && u.Unrestricted {
			t.Errorf("%s is unrestricted", name)
		}
		if u.PasswordEnv != bus.PasswordEnv(name) {
			t.Errorf("%s password env = %q", name, u.PasswordEnv)
		}
	}
	for user, durables := range stack.Consumes() {
		for _, d := range durables {
			if _, err := bus.StreamFor(d.Filter); err != nil {
				f := d.Filter
				t.Errorf("%s consumes %s: %v", user, f, err)
			}
		}
	}
}

// TestCommittedAccountsConfig keeps deploy/nats/accounts.conf equal to the
// declarations' (-update rewrites it).
func TestCommittedAccountsConfig(t *testing.T) {
	want := stack.AccountsConfig()
	if *update {
		if err := os.WriteFile(committedAccounts, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(committedAccounts)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s drifted from bus.AccountsConfig; run cd deploy/local && go test ./stack -run TestCommittedAccountsConfig -update", committedAccounts)
	}
}

// busServer runs a JetStream server configured by the committed
// accounts.conf (included as the cluster config includes it), with a random
// password per user in the environment.
func busServer(t *testing.T) (url string, passwords map[string]string) {
	dir := t.TempDir()
	passwords = map[string]string{}
	for name, u := range stack.Users() {
		passwords[name] = "pw-" + testkit.RandomID(8)
		t.Setenv(u.PasswordEnv, passwords[name])
	}
	accounts, err := os.ReadFile(committedAccounts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts.conf"), accounts, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "server.conf")
	body := fmt.Sprintf("jetstream { store_dir: %q }\ninclude ./accounts.conf\n", filepath.Join(dir, "js"))
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("the committed accounts.conf does not load: %v", err)
	}
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	s, err := natsembed.StartWithOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL(), passwords
}

// violations records the asynchronous errors of a connection: a denied
// publish or subscribe is only reported that way.
type violations struct {
	mu   sync.Mutex
	errs []error
}

func (v *violations) handler(_ *nats.Conn, _ *nats.Subscription, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, err)
}

// await waits for a permissions violation naming subject.
func (v *violations) await(t *testing.T, subject string) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, func() error {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, err := range v.errs {
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
				return nil
			}
		}
		return fmt.Errorf("no permissions violation for %q among %v", subject, v.errs)
	})
}

type busUser struct {
	name string
	nc   *nats.Conn
	js   jetstream.JetStream
	v    *violations
	cfg  bus.Config
}

func connectAs(t *testing.T, url, user, password string) *busUser {
	t.Helper()
	u := &busUser{name: user, v: &violations{}, cfg: routerConfig(url, user, password)}
	nc, err := bus.Connect(url, user+"-test", append(u.cfg.ConnectOptions(), nats.ErrorHandler(u.v.handler))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	u.nc = nc
	if u.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return u
}

func routerConfig(url, user, password string) bus.Config {
	return bus.Config{NATSURL: url, NATSUser: user, NATSPassword: password, Replicas: 1, MaxDeliver: 3,
		AckWait: 5 * time.Second, NakBase: 20 * time.Millisecond, NakMax: 100 * time.Millisecond, Prefetch: 4}
}

// denied is the deadline of a request the server drops: NATS answers a
// permissions violation asynchronously, the request itself times out.
const denied = time.Second

func TestBusUsersOnAServerWithTheCommittedConfig(t *testing.T) {
	url, pw := busServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, bad := range []string{"", "wrong"} {
		if nc, err := bus.Connect(url, "intruder", bus.Config{NATSUser: "registration", NATSPassword: bad}.ConnectOptions()...); err == nil {
			nc.Close()
			t.Fatalf("connected with password %q", bad)
		}
	}

	// A service cannot provision streams; it waits for the admin.
	email := connectAs(t, url, "email-ownership", pw["email-ownership"])
	early, cancelEarly := context.WithTimeout(ctx, 300*time.Millisecond)
	if err := bus.PrepareStreams(early, email.js, email.cfg); err == nil {
		t.Fatal("a service saw the streams before anyone provisioned them")
	}
	cancelEarly()
	admin := connectAs(t, url, bus.AdminUser, pw[bus.AdminUser])
	if err := bus.PrepareStreams(ctx, admin.js, admin.cfg); err != nil {
		t.Fatalf("the admin provisions the catalog: %v", err)
	}

	t.Run("every service prepares, creates its durables, publishes its events and dead letters", func(t *testing.T) {
		for _, s := range bus.Catalog {
			if _, ok := stack.Consumes()[s.Producer]; !ok {
				continue
			}
			u := connectAs(t, url, s.Producer, pw[s.Producer])
			if err := bus.PrepareStreams(ctx, u.js, u.cfg); err != nil {
				t.Fatalf("%s: %v", u.name, err)
			}
			for _, d := range stack.Consumes()[u.name] {
				names, filters := d.Names(u.name)
				for i := range names {
					createDurable(ctx, t, u, names[i], filters[i])
				}
			}
			publishOK(ctx, t, u, bus.PartitionSubject(strings.TrimSuffix(s.Subjects[0], ">")+"test.happened.v1", testPartition), s.Name)
			publishOK(ctx, t, u, bus.DeadLetterSubject(u.name), bus.DeadLetterStream)
		}
	})

	t.Run("a service consumes and acks through the real router; its dead letters land", func(t *testing.T) {
		registration := connectAs(t, url, "registration", pw["registration"])
		pub := registration.js
		rel := connectAs(t, url, "relationships", pw["relationships"])
		router := startRouter(t, rel.cfg)
		got := make(chan ce.Event, 1)
		router.On("com.partnerhub.registration.application.submitted.v1", func(_ context.Context, ev ce.Event) error {
			got <- ev
			return nil
		})
		router.On("com.partnerhub.registration.enrollment.status_changed.v1", func(context.Context, ce.Event) error {
			return apperr.Invalid("test.refused", "refused on purpose")
		})
		runRouter(t, router)

		ok := publishEvent(t, pub, "com.partnerhub.registration.application.submitted.v1")
		refused := publishEvent(t, pub, "com.partnerhub.registration.enrollment.status_changed.v1")
		select {
		case ev := <-got:
			if ev.ID != ok {
				t.Fatalf("handled %s, want %s", ev.ID, ok)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("relationships' router did not receive the event")
		}
		durable := bus.PartitionDurable("relationships", "registration.application.submitted.v1", testPartition)
		testkit.Eventually(t, 10*time.Second, func() error {
			c, err := admin.js.Consumer(ctx, "REGISTRATION", durable)
			if err != nil {
				return err
			}
			info, err := c.Info(ctx)
			if err != nil {
				return err
			}
			if info.AckFloor.Consumer < 1 || info.NumAckPending != 0 {
				return fmt.Errorf("not acked: ack floor %d, pending %d", info.AckFloor.Consumer, info.NumAckPending)
			}
			return nil
		})
		testkit.Eventually(t, 10*time.Second, func() error {
			dl, err := admin.js.Stream(ctx, bus.DeadLetterStream)
			if err != nil {
				return err
			}
			m, err := dl.GetLastMsgForSubject(ctx, bus.DeadLetterSubject("relationships"))
			if err != nil {
				return err
			}
			if m.Header.Get(ce.HID) != refused || m.Header.Get(bus.DLQCode) != "test.refused" {
				return fmt.Errorf("last dead letter is %s (%s)", m.Header.Get(ce.HID), m.Header.Get(bus.DLQCode))
			}
			return nil
		})
	})

	t.Run("a reader consumes every type of a stream through wildcard durables and publishes only dead letters", func(t *testing.T) {
		registration := connectAs(t, url, "registration", pw["registration"])
		pub := registration.js
		timeline := connectAs(t, url, "timeline", pw["timeline"])
		router := startRouter(t, timeline.cfg)
		got := make(chan ce.Event, 64)
		for _, d := range stack.Consumes()["timeline"] {
			// As the timeline itself: a dead letter is kept even when it is
			// no CloudEvent (else an earlier subtest's garbled dead letter
			// would be dead-lettered again, racing the one asserted below).
			router.Add(bus.Subscription{Type: bus.AnyType, Filter: d.Filter, Shared: true,
				KeepUndecodable: strings.HasPrefix(d.Filter, "deadletter."),
				Handle: func(_ context.Context, ev ce.Event) error {
					got <- ev
					return nil
				}})
		}
		runRouter(t, router)
		// A type no handler names reaches the catch-all instead of the
		// dead letters; a message that is no CloudEvent is dead-lettered.
		// (The stream's earlier events of other subtests arrive first.)
		unknown := publishEvent(t, pub, "com.partnerhub.registration.brand_new.fact.v1")
		timeout := time.After(10 * time.Second)
		for seen := false; !seen; {
			select {
			case ev := <-got:
				seen = ev.ID == unknown && ev.Type == "com.partnerhub.registration.brand_new.fact.v1"
			case <-timeout:
				t.Fatal("the catch-all handler did not receive the unknown type")
			}
		}
		publishOK(ctx, t, registration, bus.PartitionSubject("registration.test.garbled.v1", testPartition), "REGISTRATION")
		testkit.Eventually(t, 10*time.Second, func() error {
			dl, err := admin.js.Stream(ctx, bus.DeadLetterStream)
			if err != nil {
				return err
			}
			m, err := dl.GetLastMsgForSubject(ctx, bus.DeadLetterSubject("timeline"))
			if err != nil {
				return err
			}
			if m.Header.Get(bus.DLQCode) != ce.CodeMissingSpecVersion || m.Header.Get(bus.DLQSubject) != bus.PartitionSubject("registration.test.garbled.v1", testPartition) {
				return fmt.Errorf("last dead letter: code %s subject %s", m.Header.Get(bus.DLQCode), m.Header.Get(bus.DLQSubject))
			}
			return nil
		})
		publishDenied(ctx, t, timeline, admin, bus.PartitionSubject("registration.partner.forged.v1", testPartition), "REGISTRATION")
	})

	t.Run("a verifier consumes review tasks and publishes decisions on intake only", func(t *testing.T) {
		verification := connectAs(t, url, "verification", pw["verification"])
		publishOK(ctx, t, verification, bus.PartitionSubject("verification.task.created.v1", 3), "VERIFICATION")
		verifier := connectAs(t, url, bus.VerifierUser, pw[bus.VerifierUser])
		c := createDurable(ctx, t, verifier, bus.DurableName(bus.VerifierUser, bus.AllPartitions("verification.task.created.v1")), bus.AllPartitions("verification.task.created.v1"))
		batch, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for m := range batch.Messages() {
			n++
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
		if n != 1 || batch.Error() != nil {
			t.Fatalf("fetched %d review tasks (%v)", n, batch.Error())
		}
		publishOK(ctx, t, verifier, "intake.verification.decision_submitted.v1", "INTAKE")
		publishDenied(ctx, t, verifier, admin, "intake.registration.forged.v1", "INTAKE")
	})

	t.Run("email-ownership cannot publish a verification event", func(t *testing.T) {
		publishDenied(ctx, t, email, admin, bus.PartitionSubject("verification.decision.recorded.v1", testPartition), "VERIFICATION")
	})

	t.Run("an upstream system publishes intake registrations only", func(t *testing.T) {
		upstream := connectAs(t, url, bus.UpstreamUser, pw[bus.UpstreamUser])
		publishOK(ctx, t, upstream, "intake.registration.requested.v1", "INTAKE")
		publishDenied(ctx, t, upstream, admin, bus.PartitionSubject("registration.application.forged.v1", testPartition), "REGISTRATION")
		publishDenied(ctx, t, upstream, admin, "intake.verification.decision.forged.v1", "INTAKE")
	})

	t.Run("a service cannot create, pull from or ack another service's durable", func(t *testing.T) {
		foreign := bus.DurableName("verification", "email.ownership.confirmed.v1")
		dctx, cancel := context.WithTimeout(ctx, denied)
		defer cancel()
		_, err := email.js.CreateOrUpdateConsumer(dctx, "EMAIL", jetstream.ConsumerConfig{
			Durable: foreign, FilterSubject: "email.ownership.confirmed.v1", AckPolicy: jetstream.AckExplicitPolicy,
		})
		if err == nil {
			t.Fatal("email-ownership created verification's durable")
		}
		email.v.await(t, "$JS.API.CONSUMER.CREATE.EMAIL."+foreign+".email.ownership.confirmed.v1")

		// Even a durable that exists (made by its owner) cannot be pulled.
		next := "$JS.API.CONSUMER.MSG.NEXT.EMAIL." + foreign
		if _, err := email.nc.Request(next, []byte(`{"batch":1}`), denied); err == nil {
			t.Fatal("email-ownership pulled from verification's durable")
		}
		email.v.await(t, next)
		ack := "$JS.ACK.EMAIL." + foreign + ".1.1.1.1.0"
		if err := email.nc.Publish(ack, nil); err != nil {
			t.Fatal(err)
		}
		email.v.await(t, ack)
	})

	t.Run("a service cannot reconfigure streams", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, denied)
		defer cancel()
		cfg := bus.StreamConfig(bus.Catalog[4], 1)
		cfg.Sources = []*jetstream.StreamSource{{Name: "EMAIL", SubjectTransforms: []jetstream.SubjectTransformConfig{
			{Source: "email.>", Destination: "verification.decision.recorded.v1"}}}}
		if _, err := email.js.UpdateStream(dctx, cfg); err == nil {
			t.Fatal("email-ownership re-pointed the VERIFICATION stream")
		}
		email.v.await(t, "$JS.API.STREAM.UPDATE.VERIFICATION")
	})

	t.Run("a service cannot listen to other subjects or other users' inboxes", func(t *testing.T) {
		for _, subject := range []string{"_INBOX.>", "_INBOX.registration.>", "verification.>", "$JS.ACK.>"} {
			if _, err := email.nc.SubscribeSync(subject); err != nil {
				t.Fatal(err)
			}
			email.v.await(t, subject)
		}
	})
}

func createDurable(ctx context.Context, t *testing.T, u *busUser, name, filter string) jetstream.Consumer {
	t.Helper()
	s, err := bus.StreamFor(filter)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := u.js.CreateOrUpdateConsumer(cctx, s.Name, jetstream.ConsumerConfig{
		Durable: name, FilterSubject: filter, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatalf("%s creates its durable on %s: %v", u.name, filter, err)
	}
	if _, err := c.Info(cctx); err != nil {
		t.Fatalf("%s reads its durable on %s: %v", u.name, filter, err)
	}
	return c
}

func publishOK(ctx context.Context, t *testing.T, u *busUser, subject, stream string) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := u.js.Publish(pctx, subject, []byte("{}"))
	if err != nil {
		t.Fatalf("%s publishes %s: %v", u.name, subject, err)
	}
	if ack.Stream != stream {
		t.Fatalf("%s: %s stored in %s, want %s", u.name, subject, ack.Stream, stream)
	}
}

// publishDenied proves a publish gets no JetStream ack, is reported as a
// permissions violation and never reaches the stream.
func publishDenied(ctx context.Context, t *testing.T, u, admin *busUser, subject, stream string) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, denied)
	defer cancel()
	if ack, err := u.js.Publish(pctx, subject, []byte("{}")); err == nil {
		t.Fatalf("%s published %s (stored as %s #%d)", u.name, subject, ack.Stream, ack.Sequence)
	}
	u.v.await(t, subject)
	s, err := admin.js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetLastMsgForSubject(ctx, subject); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("%s holds a message on %s (err %v)", stream, subject, err)
	}
}

// testPartition is the partition the tests' events are published on.
const testPartition = 2

func publishEvent(t *testing.T, pub jetstream.JetStream, eventType string) string {
	t.Helper()
	ev := ce.Event{ID: ce.NewID(), Source: "/services/registration", Type: eventType, Subject: "partner/p-1",
		Time: time.Now(), DataContentType: ce.JSON, Data: []byte(`{}`)}
	msg := nats.NewMsg(bus.PartitionSubject(ce.Topic(eventType), testPartition))
	for k, v := range ev.Headers() {
		msg.Header[k] = []string{v}
	}
	msg.Data = ev.Data
	if _, err := pub.PublishMsg(context.Background(), msg, jetstream.WithMsgID(ev.ID)); err != nil {
		t.Fatalf("registration publishes %s: %v", eventType, err)
	}
	return ev.ID
}

// startRouter builds the service's router on connections made as
// platform.Start makes them: bus.Connect with cfg.ConnectOptions().
func startRouter(t *testing.T, cfg bus.Config) *bus.Router {
	t.Helper()
	subNC, err := bus.Connect(cfg.NATSURL, cfg.NATSUser+"-consumer", cfg.ConnectOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := bus.NewRouter(cfg.NATSUser, cfg, subNC, nil, testkit.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func runRouter(t *testing.T, r *bus.Router) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = r.Close()
		<-done
	})
	select {
	case <-r.Running():
	case err := <-done:
		t.Fatalf("router stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("router not running")
	}
}

// TestCommittedClusterConfigLoads parses deploy/nats/cluster.conf (what each
// node of the compose cluster runs, accounts.conf included) with the server's
// own config parser, so a broken node config fails here and not on a user's
// first `docker compose up`.
func TestCommittedClusterConfigLoads(t *testing.T) {
	t.Setenv("SERVER_NAME", "nats-1")
	for _, u := range stack.Users() {
		t.Setenv(u.PasswordEnv, "pw-"+testkit.RandomID(8))
	}
	opts, err := server.ProcessConfigFile("../../nats/cluster.conf")
	if err != nil {
		t.Fatalf("deploy/nats/cluster.conf does not load: %v", err)
	}
	if opts.ServerName != "nats-1" || !opts.JetStream || opts.SyncAlways != true || len(opts.Routes) != 3 {
		t.Fatalf("cluster.conf: name %q jetstream %v sync always %v routes %d", opts.ServerName, opts.JetStream, opts.SyncAlways, len(opts.Routes))
	}
	if len(opts.Users) != len(stack.Users()) {
		t.Fatalf("cluster.conf defines %d users, want the %d deployment users", len(opts.Users), len(stack.Users()))
	}
}

func allows(list []string, subject string) bool {
	for _, p := range list {
		if server.SubjectMatchesFilter(subject, p) {
			return true
		}
	}
	return false
}
