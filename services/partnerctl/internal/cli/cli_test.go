package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/partnerhub/onboarding/pkg/auth"
	"github.com/partnerhub/onboarding/pkg/bus"
	"github.com/partnerhub/onboarding/pkg/testkit"
)

func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func verify(t *testing.T, dir, token string) auth.Principal {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.DevConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(context.Background())
	p, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	return p
}

func TestTokenMintsAVerifiableToken(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, nil, "token", "--keys", dir, "--role", "partner_admin", "--as-partner", "PG-0001",
		"--as-sub", "user-1", "--name", "Ann Admin", "--email", "ann@example.com", "--ttl", "15m")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "created development signing key") {
		t.Fatalf("first use must say it created the key; stderr %q", errOut)
	}
	p := verify(t, dir, strings.TrimSpace(out))
	if p.Subject != "user-1" || p.PartnerID != "PG-0001" || p.Name != "Ann Admin" || p.Email != "ann@example.com" ||
		p.Kind != auth.KindUser || len(p.Roles) != 1 || p.Roles[0] != auth.RolePartnerAdmin || !p.HasMFA() {
		t.Fatalf("principal %+v", p)
	}
	// --amr pwd: a password-only sign-in, which privileged actions refuse.
	code, out, errOut = run(t, nil, "token", "--keys", dir, "--role", "partner_admin", "--partner", "PG-0001", "--amr", "pwd")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if p := verify(t, dir, strings.TrimSpace(out)); p.HasMFA() || len(p.AMR) != 1 || p.AMR[0] != "pwd" {
		t.Fatalf("--amr pwd: principal %+v", p)
	}
}

func TestTokenDefaultsAndEnv(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, map[string]string{auth.DevKeysEnv: dir},
		"token", "--role", "upstream_system,verifier", "--kind", "service")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	p := verify(t, dir, strings.TrimSpace(out)) // keys came from $PARTNERHUB_DEV_KEYS
	if p.Subject != "dev-upstream-system" || p.Kind != auth.KindService || !p.Has(auth.RoleVerifier) || !p.Has(auth.RoleUpstreamSystem) {
		t.Fatalf("principal %+v", p)
	}
}

func TestKeysInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, out, _ := run(t, nil, "keys", "init", "--keys", dir)
	if code != ExitOK || !strings.HasPrefix(out, "created key ") {
		t.Fatalf("exit %d, out %q", code, out)
	}
	if _, err := os.Stat(auth.DevJWKSPath(dir)); err != nil {
		t.Fatal(err)
	}
	code, out2, _ := run(t, nil, "keys", "init", "--keys", dir)
	kid := strings.Fields(out)[2]
	if code != ExitOK || !strings.HasPrefix(out2, "kept existing key "+kid) {
		t.Fatalf("second init: exit %d, out %q (kid %s)", code, out2, kid)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		want     int
		wantText string // in stdout+stderr
	}{
		{name: "help teaches with examples", args: []string{"token", "--help"}, want: ExitOK, wantText: "partnerctl token --role partner_admin --as-partner PG-PRTA-HD7W-NYE"},
		{name: "root help", args: []string{"--help"}, want: ExitOK, wantText: "Examples:"},
		{name: "missing role", args: []string{"token", "--keys", dir}, want: ExitUsage, wantText: "at least one --role"},
		{name: "no command", args: nil, want: ExitUsage, wantText: "needs a subcommand"},
		{name: "keys without subcommand", args: []string{"keys"}, want: ExitUsage, wantText: "Available Commands"},
		{name: "unknown role", args: []string{"token", "--keys", dir, "--role", "root"}, want: ExitUsage, wantText: "known: partner_admin"},
		{name: "partner role without partner", args: []string{"token", "--keys", dir, "--role", "partner_user"}, want: ExitUsage, wantText: "need --as-partner"},
		{name: "bad ttl", args: []string{"token", "--keys", dir, "--role", "operator", "--ttl", "-1h"}, want: ExitUsage, wantText: "--ttl"},
		{name: "unparsable ttl", args: []string{"token", "--keys", dir, "--role", "operator", "--ttl", "soon"}, want: ExitUsage, wantText: "--ttl"},
		{name: "bad kind", args: []string{"token", "--keys", dir, "--role", "operator", "--kind", "robot"}, want: ExitUsage, wantText: "--kind"},
		{name: "unknown flag", args: []string{"token", "--bogus"}, want: ExitUsage, wantText: "unknown flag"},
		{name: "unknown command", args: []string{"tokn"}, want: ExitUsage, wantText: `unknown command "tokn"`},
		{name: "unknown keys subcommand", args: []string{"keys", "rotate"}, want: ExitUsage, wantText: `unknown command "rotate"`},
		{name: "stray argument", args: []string{"token", "--keys", dir, "--role", "operator", "extra"}, want: ExitUsage, wantText: "takes no arguments"},
		{name: "key dir unusable", args: []string{"token", "--keys", notADir, "--role", "operator"}, want: ExitFailure, wantText: "development keys"},
		{name: "unknown output", args: []string{"tasks", "list", "-o", "xml"}, want: ExitUsage, wantText: `--output "xml" must be table or json`},
		{name: "root help lists exit codes", args: []string{"--help"}, want: ExitOK, wantText: "4  refused by the rules"},
		{name: "replay help teaches the workflow", args: []string{"deadletters", "replay", "--help"}, want: ExitOK, wantText: "list → read the code → fix the cause"},
		{name: "submit without file", args: []string{"registrations", "submit"}, want: ExitUsage, wantText: "-f FILE is required"},
		{name: "submit missing file", args: []string{"registrations", "submit", "-f", filepath.Join(dir, "nope.yaml")}, want: ExitUsage, wantText: "nope.yaml"},
		{name: "status without partner", args: []string{"partners", "status"}, want: ExitUsage, wantText: "needs PARTNER_ID"},
		{name: "status with two partners", args: []string{"partners", "status", "PG-1", "PG-2"}, want: ExitUsage, wantText: "got 2 argument(s)"},
		{name: "task status unknown", args: []string{"tasks", "list", "--status", "stuck"}, want: ExitUsage, wantText: "must be one of open, pending_confirmation"},
		{name: "task limit", args: []string{"tasks", "list", "--limit", "-1"}, want: ExitUsage, wantText: "--limit must be positive (0: all)"},
		{name: "decide without outcome", args: []string{"tasks", "decide", "T-1"}, want: ExitUsage, wantText: "--outcome is required"},
		{name: "decide unknown outcome", args: []string{"tasks", "decide", "T-1", "--outcome", "maybe"}, want: ExitUsage, wantText: "must be one of approve, reject, request_documents"},
		{name: "approve with reason", args: []string{"tasks", "decide", "T-1", "--outcome", "approve", "--reason", "x"}, want: ExitUsage, wantText: "an approval takes no --reason"},
		{name: "reject without reason", args: []string{"tasks", "decide", "T-1", "--outcome", "reject"}, want: ExitUsage, wantText: "a rejection needs --reason"},
		{name: "final document request", args: []string{"tasks", "decide", "T-1", "--outcome", "request_documents", "--reason", "x", "--final"}, want: ExitUsage, wantText: "--final applies to rejections only"},
		{name: "signed with filters", args: []string{"agreements", "list", "--partner", "PG-1", "--program", "x"}, want: ExitUsage, wantText: "takes no --program"},
		{name: "request without provider", args: []string{"relationships", "request", "--reseller-location", "PL-1"}, want: ExitUsage, wantText: "--provider and --reseller-location are required"},
		{name: "request fractional duration", args: []string{"relationships", "request", "--provider", "PG-1", "--reseller-location", "PL-1", "--duration", "36h"}, want: ExitUsage, wantText: "must be whole days"},
		{name: "list both sides", args: []string{"relationships", "list", "--provider", "PG-1", "--reseller", "PG-2"}, want: ExitUsage, wantText: "exactly one of --provider or --reseller"},
		{name: "end without reason", args: []string{"relationships", "end", "REL-1"}, want: ExitUsage, wantText: "--reason is required"},
		{name: "invitation missing", args: []string{"relationships", "invitation", "show"}, want: ExitUsage, wantText: "the invitation is required"},
		{name: "timeline negative limit", args: []string{"timeline", "PG-1", "--limit", "-1"}, want: ExitUsage, wantText: "--limit must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, nil, tc.args...)
			if code != tc.want {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.want, errOut)
			}
			if !strings.Contains(out+errOut, tc.wantText) {
				t.Fatalf("output does not contain %q:\n%s%s", tc.wantText, out, errOut)
			}
		})
	}
}

func TestStreamsEnsureCreatesTheCatalog(t *testing.T) {
	url := testkit.NATS(t)
	if code, _, stderr := run(t, nil, "streams", "ensure", "--url", url); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, js := testkit.JetStream(t, url)
	for _, s := range bus.Catalog {
		if _, err := js.Stream(context.Background(), s.Name); err != nil {
			t.Errorf("stream %s missing after ensure: %v", s.Name, err)
		}
	}
	// Idempotent.
	if code, _, stderr := run(t, nil, "streams", "ensure", "--url", url); code != ExitOK {
		t.Fatalf("second run exit %d: %s", code, stderr)
	}
}

func TestDeadLettersListAndReplay(t *testing.T) {
	url := testkit.NATS(t)
	if code, _, stderr := run(t, nil, "streams", "ensure", "--url", url); code != ExitOK {
		t.Fatalf("ensure: %s", stderr)
	}
	nc, js := testkit.JetStream(t, url)
	_ = nc
	subject := bus.PartitionSubject("agreements.acceptance.recorded.v1", bus.PartitionFor("PG-X"))
	dl := nats.NewMsg(bus.DeadLetterSubject("registration"))
	for k, v := range map[string]string{"ce-specversion": "1.0", "ce-id": "ev-1", "ce-type": "com.partnerhub.agreements.acceptance.recorded.v1",
		"ce-source": "/services/agreements", "ce-subject": "PG-X", bus.DLQCode: "registration.program_takes_no_location",
		bus.DLQService: "registration", bus.DLQSubject: subject, bus.DLQReason: "r"} {
		dl.Header[k] = []string{v}
	}
	dl.Data = []byte(`{"partner_id":"PG-X"}`)
	ack, err := js.PublishMsg(context.Background(), dl)
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, nil, "deadletters", "list", "--url", url, "--service", "registration")
	if code != ExitOK || !strings.Contains(out, "registration.program_takes_no_location") || !strings.Contains(out, "PG-X") {
		t.Fatalf("list: %d %s %s", code, out, stderr)
	}
	code, out, stderr = run(t, nil, "deadletters", "replay", "--url", url, strconv.FormatUint(ack.Sequence, 10))
	if code != ExitOK {
		t.Fatalf("replay: %d %s %s", code, out, stderr)
	}
	s, err := js.Stream(context.Background(), "AGREEMENTS")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(context.Background(), subject)
	if err != nil {
		t.Fatalf("replayed event not on its subject: %v", err)
	}
	if m.Header.Get("ce-id") != "ev-1" || m.Header.Get(bus.DLQCode) != "" || string(m.Data) != `{"partner_id":"PG-X"}` {
		t.Fatalf("replayed message: %v %s", m.Header, m.Data)
	}
	// A dead letter of an event published on its bare topic (stored before
	// the streams took partitions only): no stream takes it back, and the
	// error says why instead of a bare "no response from stream".
	dl.Header.Set(bus.DLQSubject, "agreements.acceptance.recorded.v1")
	dl.Header.Set("ce-id", "ev-2")
	if ack, err = js.PublishMsg(context.Background(), dl); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = run(t, nil, "deadletters", "replay", "--url", url, strconv.FormatUint(ack.Sequence, 10))
	if code == ExitOK || !strings.Contains(stderr, "none stores this subject") {
		t.Fatalf("replay of a bare topic: %d %s %s", code, out, stderr)
	}
	if code, _, _ := run(t, nil, "deadletters", "replay", "--url", url, "x"); code != ExitUsage {
		t.Fatalf("bad SEQ exit %d, want usage", code)
	}
}

func TestEveryCommandTeaches(t *testing.T) {
	root := newRoot(&globals{getenv: func(string) string { return "" }})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if !sub.HasSubCommands() && (strings.TrimSpace(sub.Long) == "" || strings.TrimSpace(sub.Example) == "") {
				t.Errorf("%q has no Long help or no Examples", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
}

// One flag name per concept: --limit for "how many" (events tail's --max is a
// deprecated alias), --as-partner/--as-sub for the minted token's partner and
// subject (token's --partner/--sub are deprecated aliases).
func TestDeprecatedFlagAliasesStillWork(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, nil, "token", "--keys", dir, "--role", "partner_admin", "--partner", "PG-PRTA-HD7W-NYE", "--sub", "ann")
	if code != ExitOK || !strings.Contains(errOut, "use --as-partner") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if p := verify(t, dir, strings.TrimSpace(out)); p.PartnerID != "PG-PRTA-HD7W-NYE" || p.Subject != "ann" {
		t.Fatalf("principal %+v", p)
	}
	code, out, _ = run(t, nil, "token", "--keys", dir, "--role", "partner_admin", "--as-partner", "PG-ER7G-1YVC-K69", "--as-sub", "bob")
	if p := verify(t, dir, strings.TrimSpace(out)); code != ExitOK || p.PartnerID != "PG-ER7G-1YVC-K69" || p.Subject != "bob" {
		t.Fatalf("--as-partner: exit %d, principal %+v", code, p)
	}
	code, _, errOut = run(t, nil, "events", "tail", "--url", "nats://127.0.0.1:1", "--max", "-1")
	if code != ExitUsage || !strings.Contains(errOut, "--limit must be positive") || !strings.Contains(errOut, "use --limit") {
		t.Fatalf("--max alias: exit %d %s", code, errOut)
	}
}

// TestNATSConnectionOfMakeRun: without a user, partnerctl connects to the
// bus make run describes in <keys>/nats.json, as its admin; a URL or a user
// asked for explicitly wins.
func TestNATSConnectionOfMakeRun(t *testing.T) {
	dir := t.TempDir()
	if err := bus.WriteDevBus(dir, bus.DevBus{URL: "nats://127.0.0.1:34567", Passwords: map[string]string{bus.AdminUser: "pw-admin"}}); err != nil {
		t.Fatal(err)
	}
	flags := func(env map[string]string, args ...string) bus.Config {
		g := &globals{getenv: func(k string) string { return env[k] }, keysDir: dir}
		var n natsFlags
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		n.add(cmd, g, "")
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return n.resolve()
	}
	if c := flags(nil); c.NATSURL != "nats://127.0.0.1:34567" || c.NATSUser != bus.AdminUser || c.NATSPassword != "pw-admin" {
		t.Errorf("default: %+v", c)
	}
	if c := flags(nil, "--url", "nats://127.0.0.1:34567"); c.NATSUser != bus.AdminUser {
		t.Errorf("make run's URL given explicitly: %+v", c)
	}
	if c := flags(map[string]string{"NATS_URL": "nats://elsewhere:4222"}); c.NATSURL != "nats://elsewhere:4222" || c.NATSUser != "" {
		t.Errorf("another server: %+v", c)
	}
	if c := flags(map[string]string{"NATS_USER": "verifier", "NATS_PASSWORD": "v"}); c.NATSUser != "verifier" || c.NATSPassword != "v" || c.NATSURL != DefaultNATSURL {
		t.Errorf("a user of one's own: %+v", c)
	}
	if c := flags(nil, "--user", "upstream"); c.NATSUser != "upstream" {
		t.Errorf("--user: %+v", c)
	}
	// Subcommands sharing the flags (deadletters list and replay): the
	// --url of the one that runs counts, whichever was added last.
	{
		g := &globals{getenv: func(string) string { return "" }, keysDir: dir}
		var n natsFlags
		list := &cobra.Command{Use: "list", RunE: func(*cobra.Command, []string) error { return nil }}
		replay := &cobra.Command{Use: "replay", RunE: func(*cobra.Command, []string) error { return nil }}
		n.add(list, g, "")
		n.add(replay, g, "")
		if err := list.ParseFlags([]string{"--url", "nats://127.0.0.1:45678"}); err != nil {
			t.Fatal(err)
		}
		if c := n.resolve(); c.NATSURL != "nats://127.0.0.1:45678" || c.NATSUser != "" {
			t.Errorf("--url of the first of two subcommands: %+v", c)
		}
	}
	g := &globals{getenv: func(string) string { return "" }, keysDir: t.TempDir()}
	n := natsFlags{url: DefaultNATSURL, g: g}
	if c := n.resolve(); c.NATSURL != DefaultNATSURL || c.NATSUser != "" {
		t.Errorf("no make run: %+v", c)
	}
}
