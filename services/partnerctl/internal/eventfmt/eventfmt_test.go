package eventfmt

import (
	"strings"
	"testing"

	"github.com/partnerhub/onboarding/pkg/ce"
)

func TestSubjectFilter(t *testing.T) {
	tests := []struct {
		prefix, stream string
		subject        string
		ok             bool
	}{
		{"", "REGISTRATION", "", true},
		{"registration", "REGISTRATION", "", true},
		{"regis", "REGISTRATION", "", true}, // a partial first token: the stream, filtered client-side
		{"regis", "EMAIL", "", false},
		{"registration", "VERIFICATION", "", false},
		{"registration.", "REGISTRATION", "", true},     // the first token is the whole stream
		{"registration.part", "REGISTRATION", "", true}, // "part" may be partial
		{"registration.partner.", "REGISTRATION", "registration.partner.>", true},
		{"registration.partner.activ", "REGISTRATION", "registration.partner.>", true},
		{"com.partnerhub.registration.partner.activated.v1", "REGISTRATION", "registration.partner.activated.v1.*", true}, // every partition
		{"intake.registration.requested.v1", "INTAKE", "intake.registration.requested.v1", true},                          // intake: the bare topic
		{"verification.task", "REGISTRATION", "", false},
		{"verification.task", "DEADLETTER", "", true}, // dead letters keep the type in headers only
		{"nosuch.thing", "REGISTRATION", "", false},
	}
	for _, tc := range tests {
		subject, ok := Filter{TypePrefix: tc.prefix}.SubjectFilter(tc.stream)
		if subject != tc.subject || ok != tc.ok {
			t.Errorf("%q on %s: %q %t, want %q %t", tc.prefix, tc.stream, subject, ok, tc.subject, tc.ok)
		}
	}
}

func TestMatch(t *testing.T) {
	it := Item{Event: ce.Event{Type: "com.partnerhub.relationships.access.granted.v1", Subject: "PG-R",
		Data: []byte(`{"provider_id":"PG-P","nested":{"x":"PG-N"},"n":1}`)}}
	for _, tc := range []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Partner: "PG-R"}, true},
		{Filter{Partner: "PG-P"}, true},  // named in the data
		{Filter{Partner: "PG-N"}, false}, // only top-level fields count
		{Filter{TypePrefix: "relationships.access"}, true},
		{Filter{TypePrefix: "com.partnerhub.relationships.access.granted.v1"}, true},
		{Filter{TypePrefix: "relationships.request"}, false},
		{Filter{Partner: "PG-P", TypePrefix: "registration"}, false},
	} {
		if got := tc.f.Match(it); got != tc.want {
			t.Errorf("%+v: %t, want %t", tc.f, got, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	got := Summary([]byte(`{"reason":"has space","roles":["a","b"],"duration_days":365,"secret":"x","sealed":{"a":1},"to":"active","auto_extend":true}`))
	if got != `to=active reason="has space" roles=a,b duration_days=365` {
		t.Errorf("summary %q", got)
	}
	if Summary([]byte(`not json`)) != "" || Summary(nil) != "" {
		t.Error("non-JSON data must summarise to nothing")
	}
	long := Summary([]byte(`{"reason":"` + strings.Repeat("x", 400) + `"}`))
	if len([]rune(long)) != maxSummary || !strings.HasSuffix(long, "…") {
		t.Errorf("long summary not cut: %d runes", len([]rune(long)))
	}
}
