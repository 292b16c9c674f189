package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// fetchPages follows a list API's "next" cursor: fetch gets one page for the
// query q (limit and, after the first page, after already set; the caller adds
// its filters) and returns the page's items and its next. It stops at the last
// page, at a cursor that does not move, at an empty page or once limit items
// are in (0: everything), and returns the items with the last page's next.
func fetchPages(limit, maxPage int, fetch func(q url.Values) ([]json.RawMessage, string, error)) ([]json.RawMessage, string, error) {
	all := []json.RawMessage{}
	cursor := ""
	for {
		size := maxPage
		if limit > 0 && limit-len(all) < size {
			size = limit - len(all)
		}
		q := url.Values{"limit": {strconv.Itoa(size)}}
		if cursor != "" {
			q.Set("after", cursor)
		}
		items, next, err := fetch(q)
		if err != nil {
			return nil, "", err
		}
		all = append(all, items...)
		if next == "" || next == cursor || len(items) == 0 || limit > 0 && len(all) >= limit {
			return all, next, nil
		}
		cursor = next
	}
}

// defaultListLimit is how many items a list command shows unless told
// (--limit; 0: all): a page of the work queues', the mail list's and the
// relationships listings' APIs.
const defaultListLimit = 100

// maxVerifierPage, maxMailPage and maxRelationshipPage are the largest
// pages of the verification service's queues, the notifier's mail list and
// the relationships listings.
const (
	maxVerifierPage     = 500
	maxMailPage         = 500
	maxRelationshipPage = 500
)

// checkLimit refuses a negative --limit: it is "at most this many", 0 all.
func checkLimit(limit int) error {
	if limit < 0 {
		return usagef("--limit must be positive (0: all)")
	}
	return nil
}

// decodeItems decodes a list's raw items into out (a pointer to a slice).
func decodeItems(items []json.RawMessage, out any) error {
	b, err := json.Marshal(items)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// moreWithLimit says under a table cut at --limit that there is more: a
// list read to a limit that stopped with a next.
func moreWithLimit(g *globals, next string, limit, shown int, what string) {
	if next != "" && limit > 0 {
		fmt.Fprintf(g.stdout, "(first %d %s; more with a higher --limit, or --limit 0 for all)\n", shown, what)
	}
}
