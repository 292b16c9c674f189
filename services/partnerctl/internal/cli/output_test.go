package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"

	"github.com/partnerhub/onboarding/services/partnerctl/internal/eventfmt"
)

// columnAt is the display column where want starts in line.
func columnAt(t *testing.T, line, want string) int {
	t.Helper()
	i := strings.Index(line, want)
	if i < 0 {
		t.Fatalf("%q not in %q", want, line)
	}
	return runewidth.StringWidth(line[:i])
}

// A Japanese cell is two terminal columns a character: the columns after it
// must still start where they start in the other rows (relationships list,
// tasks list and every other table print through table).
func TestTablesAlignByDisplayWidth(t *testing.T) {
	var b bytes.Buffer
	err := table(&b, []string{"RELATIONSHIP", "PROVIDER", "RESELLER", "STATE"}, [][]string{
		{"REL-1", "株式会社さくらディストリビューション", "ＡＢＣ商事株式会社", "active"},
		{"REL-2", "Acme Distribution", "有限会社ｶﾅ", "pending"},
		{"REL-3", "-", "株式会社テスト", "ended"},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	states := []string{"STATE", "active", "pending", "ended"}
	resellers := []string{"RESELLER", "ＡＢＣ商事株式会社", "有限会社ｶﾅ", "株式会社テスト"}
	for i, l := range lines {
		if c0, c := columnAt(t, lines[0], "STATE"), columnAt(t, l, states[i]); c != c0 {
			t.Errorf("row %d: STATE column at %d, header at %d:\n%s", i, c, c0, b.String())
		}
		if c0, c := columnAt(t, lines[0], "RESELLER"), columnAt(t, l, resellers[i]); c != c0 {
			t.Errorf("row %d: RESELLER column at %d, header at %d:\n%s", i, c, c0, b.String())
		}
	}
}

func TestEventLinesAlignByDisplayWidth(t *testing.T) {
	a := eventfmt.Line(eventfmt.Item{Event: event("intake.registration.requested.v1", "upstream", "受付-1", 1, 1, `{}`)})
	b := eventfmt.Line(eventfmt.Item{Event: event("intake.registration.requested.v1", "upstream", "REF-1", 1, 1, `{}`)})
	if columnAt(t, a, "seq") != columnAt(t, b, "seq") {
		t.Errorf("seq column differs:\n%s\n%s", a, b)
	}
}
