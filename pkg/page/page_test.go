package page_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/apperr"
	"github.com/partnerhub/onboarding/pkg/page"
)

type position struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

func TestACursorReadsBackAsItsPosition(t *testing.T) {
	want := position{At: time.Date(2026, 12, 6, 7, 0, 0, 123456000, time.UTC), ID: "vc-1-t1"}
	var got position
	if !page.Decode(page.Encode(want), &got) || !got.At.Equal(want.At) || got.ID != want.ID {
		t.Fatalf("round trip: %+v, want %+v", got, want)
	}
}

func TestOnlyACursorThisPackageMadeIsRead(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	for name, c := range map[string]string{
		"not base64url":     "a+b/c==",
		"not JSON":          enc([]byte("nope")),
		"another member":    enc([]byte(`{"t":"2026-12-06T07:00:00Z","i":"x","z":1}`)),
		"a second value":    enc([]byte(`{"i":"x"}{"i":"y"}`)),
		"a member's type":   enc([]byte(`{"i":3}`)),
		"padded base64":     base64.URLEncoding.EncodeToString([]byte(`{"i":"xy"}`)), // "==",
		"an array, not pos": enc([]byte(`["x"]`)),
		"empty":             "",
	} {
		var p position
		if page.Decode(c, &p) {
			t.Errorf("%s (%q): read as %+v", name, c, p)
		}
	}
}

func TestAForeignCursorIsA422AtAfter(t *testing.T) {
	e := page.InvalidAfter("verification.invalid_cursor")
	if e.Code != "verification.invalid_cursor" || len(e.Fields) != 1 || e.Fields[0].Field != "query.after" || e.Fields[0].Code != e.Code {
		t.Fatalf("%+v", e)
	}
}

func TestAPositionIsReadBackFromItsCursor(t *testing.T) {
	at := time.Date(2026, 12, 6, 7, 0, 0, 123456789, time.UTC)
	got, err := page.After(page.Position{At: at, ID: "m-1"}.Cursor(), "x.invalid_cursor")
	if err != nil || !got.At.Equal(at.Truncate(time.Microsecond)) || got.ID != "m-1" {
		t.Fatalf("%+v %v", got, err)
	}
	if p, err := page.After("", "x.invalid_cursor"); p != nil || err != nil {
		t.Fatalf("no after: %+v %v", p, err)
	}
	for _, bad := range []string{"zzz", page.Encode(page.Position{ID: "m-1"}), page.Encode(page.Position{At: at})} {
		if _, err := page.After(bad, "x.invalid_cursor"); err == nil || err.(*apperr.Error).Code != "x.invalid_cursor" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
