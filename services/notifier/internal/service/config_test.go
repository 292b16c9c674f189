package service

import (
	"strings"
	"testing"
	"time"
)

// TestMailSettleIsBounded: MAIL_SETTLE below 0 or above an hour is
// refused at start with its name; 0 (each change mailed at once) and the
// default are accepted.
func TestMailSettleIsBounded(t *testing.T) {
	const msg = "MAIL_SETTLE must be between 0 (news mailed at once) and 1h"
	for settle, refused := range map[time.Duration]bool{-time.Second: true, 2 * time.Hour: true, 0: false, time.Minute: false, time.Hour: false} {
		err := Config{MailSettle: settle}.Validate()
		if got := err != nil && strings.Contains(err.Error(), msg); got != refused {
			t.Errorf("MAIL_SETTLE=%v: refused %v, want %v (%v)", settle, got, refused, err)
		}
	}
}
