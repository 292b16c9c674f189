package app

import (
	"regexp"
	"strings"
)

var addressRe = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+`)

// MaskAddress keeps what an operator needs to tell addresses apart — the
// first character and the domain — and hides the rest: t***@example.co.jp.
func MaskAddress(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		if addr == "" {
			return ""
		}
		return "***"
	}
	return local[:1] + "***@" + domain
}

// Redact masks every e-mail address in s (SMTP servers quote the recipient
// in their replies, and libraries repeat it in their errors): logs, metrics,
// stored attempts and events never hold an address in clear.
func Redact(s string) string {
	return addressRe.ReplaceAllStringFunc(s, MaskAddress)
}
