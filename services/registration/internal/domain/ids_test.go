package domain

import (
	"bytes"
	"errors"
	"github.com/partnerhub/onboarding/pkg/ids"
	"regexp"
	"strings"
	"testing"
)

func TestNewIDFormat(t *testing.T) {
	g := RandomIDs{}
	shape := regexp.MustCompile(`^(PG|PL|EN|DA|DC)-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{3}$`)
	ids := []string{string(g.NewPartnerID()), string(g.NewLocationID()), string(g.NewEnrollmentID()),
		string(g.NewDuplicateAttemptID()), string(g.NewClaimID())}
	for i, prefix := range []string{"PG-", "PL-", "EN-", "DA-", "DC-"} {
		if !strings.HasPrefix(ids[i], prefix) || !shape.MatchString(ids[i]) {
			t.Errorf("id %q: want prefix %s and the grouped shape", ids[i], prefix)
		}
	}
	seen := map[PartnerID]bool{}
	for range 1000 {
		id := g.NewPartnerID()
		if seen[id] {
			t.Fatalf("repeated id %s in 1000 draws", id)
		}
		seen[id] = true
	}
}

func TestParseID(t *testing.T) {
	id, err := ids.New(ids.Partner, bytes.NewReader(bytes.Repeat([]byte{7, 200, 31, 64, 5}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParsePartnerID(id); err != nil || string(got) != id {
		t.Fatalf("round trip %q: %q, %v", id, got, err)
	}
	loose := strings.ToLower(strings.ReplaceAll(id, "-", ""))
	loose = loose[:2] + "-" + loose[2:]
	if got, err := ParsePartnerID(loose); err != nil || string(got) != id {
		t.Errorf("lower case without groups %q: %q, %v", loose, got, err)
	}
	// every single-symbol substitution is caught by the check symbol
	body := []byte(id)
	for i := 3; i < len(body); i++ {
		if body[i] == '-' {
			continue
		}
		orig := body[i]
		for _, c := range []byte("0123456789ABCDEFGHJKMNPQRSTVWXYZ") {
			if c == orig {
				continue
			}
			body[i] = c
			if _, err := ParsePartnerID(string(body)); !errors.Is(err, ids.ErrInvalid) {
				t.Fatalf("substitution %q accepted", body)
			}
		}
		body[i] = orig
	}
	loc := "PL" + id[2:]
	if _, err := ParseLocationID(loc); err != nil {
		t.Fatalf("same body as location: %v", err)
	}
	if _, err := ParseLocationID(id); !errors.Is(err, ids.ErrWrongKind) {
		t.Errorf("a global ID taken as location ID: %v", err)
	}
	if _, err := ParsePartnerID(loc); !errors.Is(err, ids.ErrWrongKind) {
		t.Errorf("a location ID taken as global ID: %v", err)
	}
	for _, bad := range []string{"", "PG", "PG-", "XX-0000-0000-000", "PG-0000-0000", "PG-0000-0000-0000", "PG-UUUU-UUUU-UUU"} {
		if _, err := ParsePartnerID(bad); !errors.Is(err, ids.ErrInvalid) {
			t.Errorf("ParsePartnerID(%q) = %v, want ids.ErrInvalid", bad, err)
		}
	}
}

func TestParseIDCrockfordAliases(t *testing.T) {
	id, _ := ids.Format(ids.Location, "0000011111")
	alias := strings.NewReplacer("0", "O", "1", "I").Replace(id[3:13])
	got, err := ParseLocationID("PL-" + alias + id[13:])
	if err != nil || string(got) != id {
		t.Fatalf("aliases: %q, %v (want %q)", got, err, id)
	}
}
