package cli

import (
	"encoding/json"
	"fmt"
)

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
