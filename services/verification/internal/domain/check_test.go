package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckTransitions(t *testing.T) {
	tests := []struct {
		from CheckState
		mode RejectionMode
		to   CheckState
		ok   bool
	}{
		{StatePending, "", StateInReview, true},
		{StatePending, "", StateActionRequired, true},
		{StatePending, "", StatePassed, true},
		{StatePending, "", StateRejected, false},
		{StateInReview, "", StatePassed, true},
		{StateInReview, "", StateActionRequired, true},
		{StateInReview, "", StateRejected, true},
		{StateInReview, "", StatePending, false},
		{StateActionRequired, "", StateInReview, true},
		{StateActionRequired, "", StatePassed, true}, // a domain proof
		{StateActionRequired, "", StateRejected, false},
		{StateRejected, ModeRetry, StateInReview, true},
		{StateRejected, ModeRetry, StateActionRequired, true},
		{StateRejected, ModeRetry, StatePassed, true}, // a domain proof
		{StateRejected, ModeFinal, StateInReview, false},
		{StateRejected, ModeFinal, StateActionRequired, false},
		{StatePassed, "", StateInReview, false},
		{StatePassed, "", StateRejected, false},
	}
	for _, tt := range tests {
		name := string(tt.from) + string(tt.mode) + "->" + string(tt.to)
		t.Run(name, func(t *testing.T) {
			err := CheckTransition(CheckCompany, tt.from, tt.mode, tt.to)
			if tt.ok {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			if !errors.Is(err, ErrIllegalTransition) {
				t.Fatalf("want ErrIllegalTransition, got %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "verification.illegal_transition") || !strings.Contains(msg, string(tt.from)) || !strings.Contains(msg, string(tt.to)) {
				t.Fatalf("error %q must name the code, from and to", msg)
			}
		})
	}
}

func TestTransitionErrorAsErrorKeepsCodeAndDetails(t *testing.T) {
	te := &TransitionError{Check: CheckCompany, From: StateRejected, Mode: ModeFinal, To: StateInReview}
	e := te.AsError()
	if !errors.Is(e, ErrIllegalTransition) || e.Details["from"] != StateRejected || e.Details["to"] != StateInReview {
		t.Fatalf("got %+v", e)
	}
	if !strings.Contains(te.Error(), "rejected(FINAL)") {
		t.Fatalf("mode missing from %q", te.Error())
	}
}
