package domain

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// legalForms expands the bracketed abbreviations the register never uses
// (after NFKC, so （株） and ㈱ both arrive as (株)).
var legalForms = strings.NewReplacer(
	"(株)", "株式会社",
	"(有)", "有限会社",
	"(合)", "合同会社",
	"(資)", "合資会社",
	"(名)", "合名会社",
	"(一社)", "一般社団法人",
	"(一財)", "一般財団法人",
)

// foldWidth applies NFKC: full-width Latin and digits become half-width,
// half-width katakana become full-width, ㈱ becomes (株).
func foldWidth(s string) string { return norm.NFKC.String(s) }

// NormalizeName is the comparison key of a legal name: NFKC, legal-form
// abbreviations expanded, all whitespace removed, Latin letters lower-cased.
// Punctuation is kept: it can be part of a registered name.
func NormalizeName(s string) string {
	return strings.ToLower(stripSpace(legalForms.Replace(foldWidth(s))))
}

// NormalizeAddressPart is the comparison key of an address part: NFKC,
// whitespace removed, kanji block numbers (五丁目) as digits, and the block
// notation 5丁目2番地3 / 5丁目2番3号 / 5-2-3 (any dash) reduced to 5-2-3.
func NormalizeAddressPart(s string) string {
	rs := []rune(stripSpace(foldWidth(s)))
	rs = kanjiBlockNumbers(rs)
	var out []rune
	prevDigit := func() bool { return len(out) > 0 && isDigit(out[len(out)-1]) }
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if !prevDigit() {
			out = append(out, r)
			continue
		}
		next := func(k int) rune {
			if i+k < len(rs) {
				return rs[i+k]
			}
			return 0
		}
		switch {
		case r == '丁' && next(1) == '目':
			out, i = append(out, '-'), i+1
		case r == '番' && next(1) == '地':
			out, i = append(out, '-'), i+1
		case r == '番' && (next(1) == 0 || isDigit(next(1))):
			out = append(out, '-')
		case r == '号' || r == '號':
			out = append(out, '-')
		case r == 'の' && isDigit(next(1)):
			out = append(out, '-')
		case isDash(r):
			out = append(out, '-')
		default:
			out = append(out, r)
		}
	}
	// A dash survives only between two digits: "1番1号ABCビル" and "1-1 ABCビル" agree.
	var b strings.Builder
	for i, r := range out {
		if r == '-' && (i == 0 || i == len(out)-1 || !isDigit(out[i-1]) || !isDigit(out[i+1])) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.ToLower(b.String())
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isDash(r rune) bool {
	switch r {
	case '-', '‐', '‑', '‒', '–', '—', '―', '−', 'ー', '─':
		return true
	}
	return false
}

var kanjiDigits = map[rune]int{'〇': 0, '一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}

func isKanjiNumeral(r rune) bool {
	_, ok := kanjiDigits[r]
	return ok || r == '十' || r == '百'
}

// kanjiBlockNumbers rewrites kanji numerals as digits, but only right before
// 丁目, 番地, 番+number or 号: place names such as 八王子 or 二番町 stay as written.
func kanjiBlockNumbers(rs []rune) []rune {
	var out []rune
	for i := 0; i < len(rs); {
		if !isKanjiNumeral(rs[i]) {
			out = append(out, rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && isKanjiNumeral(rs[j]) {
			j++
		}
		if blockSuffixAt(rs, j) {
			out = append(out, []rune(itoa(kanjiValue(rs[i:j])))...)
		} else {
			out = append(out, rs[i:j]...)
		}
		i = j
	}
	return out
}

func blockSuffixAt(rs []rune, j int) bool {
	at := func(k int) rune {
		if j+k < len(rs) {
			return rs[j+k]
		}
		return 0
	}
	switch at(0) {
	case '丁':
		return at(1) == '目'
	case '番':
		return at(1) == '地' || at(1) == 0 || isDigit(at(1)) || isKanjiNumeral(at(1))
	case '号':
		return true
	}
	return false
}

func kanjiValue(rs []rune) int {
	positional := true
	for _, r := range rs {
		if r == '十' || r == '百' {
			positional = false
		}
	}
	if positional { // 二〇 = 20
		n := 0
		for _, r := range rs {
			n = n*10 + kanjiDigits[r]
		}
		return n
	}
	total, cur := 0, 0
	for _, r := range rs {
		switch r {
		case '十':
			total += max(cur, 1) * 10
			cur = 0
		case '百':
			total += max(cur, 1) * 100
			cur = 0
		default:
			cur = kanjiDigits[r]
		}
	}
	return total + cur
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
