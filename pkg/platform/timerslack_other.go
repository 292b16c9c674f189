//go:build !linux

package platform

import "errors"

// ExecWithTimerSlack does nothing: timer slack is Linux's.
func ExecWithTimerSlack(func(string) string, []string) error { return nil }

func threadTimerSlacks() ([]int64, error) { return nil, errors.New("timer slack is Linux's") }
