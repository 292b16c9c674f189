// Package normalize is the one normalization of company facts shared by the
// services that compare them: registration (duplicate detection, the
// normalized registration it publishes) and verification (the register
// pre-check). It folds widths and compatibility forms, look-alike characters
// (Unicode UTS #39 confusables), Japanese legal-form abbreviations, block
// notation in addresses and region names per market, so that two spellings
// of the same fact compare equal in every service.
//
// Display forms (Text, LegalName, AddressLine, Region, PostalCode) keep what
// the register needs to see; keys (LegalNameKey, AddressLineKey, PlaceKey)
// are for comparison only and never shown.
package normalize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text folds widths and compatibility forms (Unicode NFKC: full-width Latin
// and digits become ASCII, half-width katakana become full-width), collapses
// every run of white space to one ASCII space and trims the ends. It is the
// first step of every other normalization. Invisible characters are not
// removed here: CheckRegisterText refuses them.
func Text(s string) string {
	s = norm.NFKC.String(expandEnclosed(s))
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// Problem classes of characters that cannot stand in a register field.
const (
	ProblemInvisible = "invisible" // zero-width and other format characters, fillers, variation selectors
	ProblemBidi      = "bidi"      // bidirectional embedding, override and isolate controls
	ProblemEmoji     = "emoji"     // emoji and other pictographic symbols
	ProblemControl   = "control"   // C0/C1 control characters
)

// CharProblem is the first character of a field that cannot be in a company
// register, and why.
type CharProblem struct {
	Class string
	Rune  rune
}

func (p CharProblem) String() string { return fmt.Sprintf("U+%04X", p.Rune) }

// CheckText reports the first invisible, bidi-control or control character of
// s (after Text), characters that make two different-looking strings equal or
// equal-looking strings different. Every free-text field is checked.
func CheckText(s string) (CharProblem, bool) {
	for _, r := range s {
		switch {
		case isBidiControl(r):
			return CharProblem{ProblemBidi, r}, true
		case unicode.IsControl(r) || r == '\uFFFD':
			return CharProblem{ProblemControl, r}, true
		case isInvisible(r):
			return CharProblem{ProblemInvisible, r}, true
		}
	}
	return CharProblem{}, false
}

// CheckFreeText is CheckText for a text one party writes for another to read
// (a reason, a reviewer's message), which is kept and shown as written:
// its line breaks and tabs are white space (Text folds them before the
// check), every other control, invisible or bidi-control character is
// reported. Such a text reaches mails, where an override (U+202E) would make
// it read as something else.
func CheckFreeText(s string) (CharProblem, bool) { return CheckText(Text(s)) }

// CheckRegisterText is CheckText plus emoji and pictographs, which no company
// register holds: it applies to legal names, addresses and person names.
func CheckRegisterText(s string) (CharProblem, bool) {
	if p, bad := CheckText(s); bad {
		return p, bad
	}
	for _, r := range s {
		if isPictographic(r) {
			return CharProblem{ProblemEmoji, r}, true
		}
	}
	return CharProblem{}, false
}

func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' || (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// isInvisible: format characters (Cf: zero-width space and joiners, word
// joiner, BOM, soft hyphen, tags…), variation selectors, and the fillers and
// blanks that render as nothing.
func isInvisible(r rune) bool {
	switch {
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Variation_Selector, r):
		return true
	case r == '\u034F', r == '\u115F', r == '\u1160', r == '\u17B4', r == '\u17B5', r == '\u180B', r == '\u180C',
		r == '\u180D', r == '\u180E', r == '\u2800', r == '\u3164', r == '\uFFA0':
		return true
	}
	return false
}

// isPictographic: emoji and pictographic symbols (general category So after
// NFKC — which has already turned ㈱ and ① into letters and digits — plus the
// emoji modifiers and the combining keycap). The register's own symbols
// (＆ ' , - . ・) are punctuation, not So.
func isPictographic(r rune) bool {
	return unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r) && r >= 0x1F3FB && r <= 0x1F3FF || r == '\u20E3'
}

// Digits width-folds s and drops spaces, hyphens and their look-alikes
// ("7000-0120-50002", "７０００ ０１２０ ５０００２"); ok is false when
// anything but digits remains or nothing does.
func Digits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range Text(s) {
		if r == ' ' || isDashLike(r) {
			continue
		}
		b.WriteRune(r)
	}
	d := b.String()
	return d, d != "" && strings.Trim(d, "0123456789") == ""
}

// Clip makes a text that came from elsewhere — a server's reply, an error
// message — fit a text column, a log field or a message header: valid
// UTF-8 (invalid bytes become U+FFFD), without control characters other
// than line feed and tab (NUL among them, which Postgres refuses), at most
// n bytes, cut at a character. Every service that keeps such a text clips
// it with this one rule.
func Clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
