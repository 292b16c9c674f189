package pages

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"testing"
)

// list is a list API over n items: pages of the asked limit, next = the
// last item's index while more follow.
func list(n int, asked *[]url.Values) func(q url.Values) ([]json.RawMessage, string, error) {
	return func(q url.Values) ([]json.RawMessage, string, error) {
		*asked = append(*asked, q)
		from := 0
		if a := q.Get("after"); a != "" {
			from, _ = strconv.Atoi(a)
		}
		size, _ := strconv.Atoi(q.Get("limit"))
		var items []json.RawMessage
		for i := from; i < n && len(items) < size; i++ {
			items = append(items, json.RawMessage(strconv.Itoa(i)))
		}
		next := ""
		if from+len(items) < n {
			next = strconv.Itoa(from + len(items))
		}
		return items, next, nil
	}
}

func TestFetchFollowsTheCursorToTheEnd(t *testing.T) {
	var asked []url.Values
	items, next, err := Fetch(0, 4, list(10, &asked))
	if err != nil || len(items) != 10 || next != "" || len(asked) != 3 {
		t.Fatalf("%d items, next %q, %d pages, %v", len(items), next, len(asked), err)
	}
	if asked[1].Get("after") != "4" || asked[2].Get("after") != "8" {
		t.Fatalf("cursors %v", asked)
	}
}

func TestFetchStopsAtTheLimitWithTheNextCursor(t *testing.T) {
	var asked []url.Values
	items, next, err := Fetch(6, 4, list(10, &asked))
	if err != nil || len(items) != 6 || next != "6" || asked[1].Get("limit") != "2" {
		t.Fatalf("%d items, next %q, %v (%v)", len(items), next, asked, err)
	}
}

func TestFetchStopsWhenTheCursorDoesNotMove(t *testing.T) {
	calls := 0
	items, _, err := Fetch(0, 2, func(url.Values) ([]json.RawMessage, string, error) {
		calls++
		return []json.RawMessage{json.RawMessage("1")}, "same", nil
	})
	if err != nil || calls != 2 || len(items) != 2 {
		t.Fatalf("%d calls, %d items (%v)", calls, len(items), err)
	}
}

func TestFetchReturnsAPagesError(t *testing.T) {
	boom := errors.New("503")
	if _, _, err := Fetch(0, 2, func(url.Values) ([]json.RawMessage, string, error) { return nil, "", boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}
