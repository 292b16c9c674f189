// Package pages reads the list APIs of the services page by page, following
// their "next" cursor: the one way partnerctl's commands and its demo read
// a list longer than a page.
package pages

import (
	"encoding/json"
	"net/url"
	"strconv"
)

// Fetch follows a list API's "next" cursor: fetch gets one page for the
// query q (limit and, after the first page, after already set; the caller
// adds its filters) and returns the page's items and its next. It stops at
// the last page, at a cursor that does not move, at an empty page or once
// limit items are in (0: everything), and returns the items with the last
// page's next.
func Fetch(limit, maxPage int, fetch func(q url.Values) ([]json.RawMessage, string, error)) ([]json.RawMessage, string, error) {
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
