package mails

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// News is a mail of a thread — news about one state that may change back
// soon: a partner's standing, one side of a grant held or given back — as
// its template and data.
type News struct {
	Template string
	Data     []byte // the template data (Data, as JSON)
}

// States are the state news found and the state it left, in a form that
// compares: a standing with its reasons in force ("suspended|compliance_hold"),
// a grant side's access ("held", "active").
func States(n News) (before, after string, err error) {
	switch n.Template {
	case StandingChanged:
		s, err := standingOf(n)
		if err != nil {
			return "", "", err
		}
		var was []string
		for _, r := range s.Reasons {
			if !slices.Contains(s.Added, r) {
				was = append(was, r)
			}
		}
		for _, r := range s.Lifted {
			if !slices.Contains(was, r) {
				was = append(was, r)
			}
		}
		return standingState(s.From, was), standingState(s.To, s.Reasons), nil
	case AccessSuspended:
		return "active", "held", nil
	case AccessReinstated:
		return "held", "active", nil
	}
	return "", "", fmt.Errorf("%s is no news of a thread", n.Template)
}

// Retell is n's data told as the change from the state from (as States
// gives it) to the state n left: a standing change from that standing,
// with the reasons added and lifted since. Access news reads the same
// whatever came before.
func Retell(from string, n News) ([]byte, error) {
	if n.Template != StandingChanged {
		return n.Data, nil
	}
	var d Data
	if err := json.Unmarshal(n.Data, &d); err != nil || d.Standing == nil {
		return nil, fmt.Errorf("retell %s: no standing in its data (%v)", n.Template, err)
	}
	status, reasons, _ := strings.Cut(from, "|")
	var was []string
	if reasons != "" {
		was = strings.Split(reasons, ",")
	}
	s := *d.Standing
	s.From, s.Added, s.Lifted = status, nil, nil
	for _, r := range s.Reasons {
		if !slices.Contains(was, r) {
			s.Added = append(s.Added, r)
		}
	}
	for _, r := range was {
		if !slices.Contains(s.Reasons, r) {
			s.Lifted = append(s.Lifted, r)
		}
	}
	d.Standing = &s
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("retell %s: %w", n.Template, err)
	}
	return b, nil
}

func standingOf(n News) (Standing, error) {
	var d Data
	if err := json.Unmarshal(n.Data, &d); err != nil {
		return Standing{}, fmt.Errorf("%s: %w", n.Template, err)
	}
	if d.Standing == nil {
		return Standing{}, fmt.Errorf("%s: no standing in its data", n.Template)
	}
	return *d.Standing, nil
}

func standingState(status string, reasons []string) string {
	rs := slices.Clone(reasons)
	slices.Sort(rs)
	return status + "|" + strings.Join(slices.Compact(rs), ",")
}
