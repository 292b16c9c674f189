package domain

import (
	"errors"
	"testing"
)

// TestAddedEnrollmentIsConfirmedLikeARegisteredOne: a program added after
// the registration joins the case, so its confirmation is recorded (it
// gates only that enrollment); before, it is an unknown enrollment.
func TestAddedEnrollmentIsConfirmedLikeARegisteredOne(t *testing.T) {
	c := openCase(t, nil)
	if _, err := c.ConfirmEmailOwnership("enr-added", "taro@sample.co.jp", t0, t0, rules()); !errors.Is(err, ErrEnrollmentNotFound) {
		t.Fatalf("before: %v", err)
	}
	if !c.AddEnrollment("enr-added", ProgramResellerIndirect) || c.AddEnrollment("enr-added", ProgramResellerIndirect) || c.AddEnrollment("", ProgramResellerIndirect) {
		t.Fatal("add, replay, empty id")
	}
	changed, err := c.ConfirmEmailOwnership("enr-added", "taro@sample.co.jp", t0, t0, rules())
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	if c.Check(CheckEmailOwnership).State == StatePassed {
		t.Error("an added reseller enrollment's confirmation passed the company's e-mail check")
	}
}
