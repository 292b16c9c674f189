package mails

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Waiting is a mail of a thread (news about one state: a partner's
// standing, one side of a grant) recorded and not sent yet.
type Waiting struct {
	Template string
	Data     []byte // the template data (Data, as JSON)
}

// Fold is what newer says once older, a mail of the same thread still
// waiting, gives way to it: newer's data told as the news since the state
// older started from, and whether there is any news left to tell. A
// standing change folds into one change from older's From to newer's To,
// with the reasons added and lifted in between (none, and the same
// standing: no news); an access suspension and its reinstatement cancel
// out; otherwise newer stands as it is.
func Fold(older, newer Waiting) (data []byte, news bool, err error) {
	switch {
	case older.Template == StandingChanged && newer.Template == StandingChanged:
		var o, n Data
		if err := json.Unmarshal(older.Data, &o); err != nil {
			return nil, false, fmt.Errorf("fold %s: %w", older.Template, err)
		}
		if err := json.Unmarshal(newer.Data, &n); err != nil {
			return nil, false, fmt.Errorf("fold %s: %w", newer.Template, err)
		}
		if o.Standing == nil || n.Standing == nil {
			return newer.Data, true, nil
		}
		s := foldStanding(*o.Standing, *n.Standing)
		n.Standing = &s
		b, err := json.Marshal(n)
		if err != nil {
			return nil, false, fmt.Errorf("fold %s: %w", newer.Template, err)
		}
		return b, s.From != s.To || len(s.Added) > 0 || len(s.Lifted) > 0, nil
	case accessNews[older.Template] && accessNews[newer.Template] && older.Template != newer.Template:
		return newer.Data, false, nil
	}
	return newer.Data, true, nil
}

// accessNews are the two mails of a grant's side that undo each other.
var accessNews = map[string]bool{AccessSuspended: true, AccessReinstated: true}

// foldStanding is the change from the standing before o to the one after
// n: the reasons in force before o are its reasons without those it added,
// with those it lifted.
func foldStanding(o, n Standing) Standing {
	var before []string
	for _, r := range o.Reasons {
		if !slices.Contains(o.Added, r) {
			before = append(before, r)
		}
	}
	for _, r := range o.Lifted {
		if !slices.Contains(before, r) {
			before = append(before, r)
		}
	}
	s := n
	s.From, s.Added, s.Lifted = o.From, nil, nil
	for _, r := range n.Reasons {
		if !slices.Contains(before, r) {
			s.Added = append(s.Added, r)
		}
	}
	for _, r := range before {
		if !slices.Contains(n.Reasons, r) {
			s.Lifted = append(s.Lifted, r)
		}
	}
	return s
}
