package domain

import (
	"errors"
	"fmt"
	"time"
)

// Policy holds the tunable limits of challenges and resends.
type Policy struct {
	TTL            time.Duration // lifetime of a challenge (default 72h)
	ResendCooldown time.Duration // minimum gap between two resends of one key (default 60s)
	DailyQuota     int           // resends per key in any rolling 24h (default 5)
	MaxWrongCodes  int           // wrong codes before the challenge locks (default 5)
}

// QuotaWindow is the rolling window of the daily resend quota.
const QuotaWindow = 24 * time.Hour

// DefaultPolicy returns the limits the issue asks for.
func DefaultPolicy() Policy {
	return Policy{TTL: 72 * time.Hour, ResendCooldown: 60 * time.Second, DailyQuota: 5, MaxWrongCodes: 5}
}

// Validate reports every out-of-range limit at once.
func (p Policy) Validate() error {
	var errs []error
	if p.TTL <= 0 {
		errs = append(errs, fmt.Errorf("%w: TTL must be positive", ErrInvalidPolicy))
	}
	if p.ResendCooldown < 0 {
		errs = append(errs, fmt.Errorf("%w: resend cooldown must not be negative", ErrInvalidPolicy))
	}
	if p.DailyQuota < 1 {
		errs = append(errs, fmt.Errorf("%w: daily quota must be at least 1", ErrInvalidPolicy))
	}
	if p.MaxWrongCodes < 1 {
		errs = append(errs, fmt.Errorf("%w: max wrong codes must be at least 1", ErrInvalidPolicy))
	}
	return errors.Join(errs...)
}
