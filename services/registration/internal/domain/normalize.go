package domain

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// NormalizeText folds widths and compatibility forms (Unicode NFKC: full-width
// Latin and digits become ASCII, half-width katakana become full-width,
// "㈱" becomes "(株)"), collapses every run of white space to one ASCII space
// and trims the ends. It is the first step of every other normalization.
func NormalizeText(s string) string {
	s = norm.NFKC.String(s)
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

func isSpace(r rune) bool { return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' }

// legalForms maps the abbreviation written inside parentheses (after NFKC,
// so "（株）" and "㈱" are already "(株)") to the full form the company
// register uses.
var legalForms = map[string]string{
	"株":   "株式会社",
	"有":   "有限会社",
	"合":   "合同会社",
	"名":   "合名会社",
	"資":   "合資会社",
	"社":   "社団法人",
	"財":   "財団法人",
	"一社":  "一般社団法人",
	"一財":  "一般財団法人",
	"公社":  "公益社団法人",
	"公財":  "公益財団法人",
	"医":   "医療法人",
	"医社":  "医療法人社団",
	"学":   "学校法人",
	"宗":   "宗教法人",
	"福":   "社会福祉法人",
	"社福":  "社会福祉法人",
	"特":   "特定非営利活動法人",
	"特非":  "特定非営利活動法人",
	"NPO": "特定非営利活動法人",
	"独":   "独立行政法人",
	"協":   "協同組合",
	"組":   "組合",
}

var legalFormAbbrev = regexp.MustCompile(`\(\s*([^()\s]{1,3})\s*\)`)

// fullLegalForms is every expanded form, longest first, for stripping.
var fullLegalForms = func() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range legalForms {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	// longest first so that 一般社団法人 is removed before 社団法人
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if len([]rune(out[j])) > len([]rune(out[i])) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}()

// NormalizeLegalName returns the display form of a legal company name:
// NormalizeText, then Japanese legal-form abbreviations expanded in place
// ("(株)ABC" → "株式会社ABC", "ABC㈱" → "ABC株式会社"). The position of the
// legal form is kept because it is part of the registered name.
func NormalizeLegalName(s string) string {
	s = NormalizeText(s)
	s = legalFormAbbrev.ReplaceAllStringFunc(s, func(m string) string {
		inner := legalFormAbbrev.FindStringSubmatch(m)[1]
		if full, ok := legalForms[strings.ToUpper(inner)]; ok {
			return full
		}
		return m
	})
	// An expanded form glued to the name by a space ("株式会社 ABC") is the
	// same registered name as without it; the register writes no space.
	for _, f := range fullLegalForms {
		s = strings.ReplaceAll(s, f+" ", f)
		s = strings.ReplaceAll(s, " "+f, f)
	}
	return s
}

// LegalNameKey returns the match key of a legal name for duplicate detection:
// the normalized name, case-folded, with everything but letters, digits and
// combining marks removed, so that "ABC Co., Ltd. " and "ＡＢＣ CO LTD" agree.
// Legal forms stay in place: "株式会社X" and "X株式会社" have different keys.
func LegalNameKey(s string) string {
	return alnumKey(NormalizeLegalName(s))
}

func alnumKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// englishLegalForms are suffixes ignored by the name rules (not by the key).
var englishLegalForms = []string{"coltd", "co", "ltd", "limited", "inc", "incorporated", "corp", "corporation",
	"company", "llc", "llp", "lp", "plc", "gmbh", "ag", "sa", "sas", "bv", "nv", "pteltd", "pte", "pty", "kk", "gk"}

// nameCore is the key of a legal name without its legal form, used by the
// name rules ("株式会社A" is a one-character name).
func nameCore(key string) string {
	for _, f := range fullLegalForms {
		key = strings.ReplaceAll(key, f, "")
	}
	for _, f := range englishLegalForms {
		if strings.HasSuffix(key, f) && len(key) > len(f) {
			key = strings.TrimSuffix(key, f)
			break
		}
	}
	return key
}

var (
	kanjiDigits = map[rune]int{'〇': 0, '零': 0, '一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
	kanjiUnits  = map[rune]int{'十': 10, '百': 100, '千': 1000}
	// a kanji numeral directly before a block marker: 五丁目, 二十三番地, 十号
	kanjiNumberBeforeMarker = regexp.MustCompile(`([〇零一二三四五六七八九十百千]+)(丁目|番地|番|号)`)
	// a kanji numeral right after a block marker that follows a digit: 105番地の二
	kanjiNumberAfterMarker = regexp.MustCompile(`(\d\s*(?:丁目|番地|番|の|-)\s*(?:の)?\s*)([〇零一二三四五六七八九十百千]+)`)
	dashLike               = regexp.MustCompile(`[‐‑‒–—―−─━ｰー]`)
	chome                  = regexp.MustCompile(`(\d+)\s*丁目\s*(の\s*)?`)
	banchi                 = regexp.MustCompile(`(\d+)\s*番地?\s*(の\s*)?(\d)`)
	gou                    = regexp.MustCompile(`(\d+)\s*(号|番地|番)`)
	noBetweenDigits        = regexp.MustCompile(`(\d)\s*の\s*(\d)`)
	floorMarker            = regexp.MustCompile(`(\d+)\s*(階|f\b|fl\b|floor\b)`)
	manyDashes             = regexp.MustCompile(`-{2,}`)
	dashBeforeNonDigit     = regexp.MustCompile(`-(\D|$)`)
)

// kanjiToInt converts a kanji numeral ("五", "二十三", "一〇五") to an int.
func kanjiToInt(s string) (int, bool) {
	hasUnit := strings.ContainsAny(s, "十百千")
	if !hasUnit {
		n := 0
		for _, r := range s {
			d, ok := kanjiDigits[r]
			if !ok {
				return 0, false
			}
			n = n*10 + d
		}
		return n, true
	}
	total, cur := 0, 0
	for _, r := range s {
		if d, ok := kanjiDigits[r]; ok {
			cur = cur*10 + d
			continue
		}
		unit, ok := kanjiUnits[r]
		if !ok {
			return 0, false
		}
		if cur == 0 {
			cur = 1
		}
		total += cur * unit
		cur = 0
	}
	return total + cur, true
}

// NormalizeAddressLine returns the display form of an address line:
// NormalizeText, and dash look-alikes between digits (－, ‐, −, ー) made "-".
// The applicant's own 丁目/番地/号 notation is kept, because the register's
// notation is what the reviewer compares with.
func NormalizeAddressLine(s string) string {
	s = NormalizeText(s)
	return joinSpacedDashes(replaceDashesBetweenDigits(s))
}

// joinSpacedDashes turns "5 - 2 - 3" into "5-2-3": spaces around a hyphen
// between two digits go.
func joinSpacedDashes(s string) string {
	r := []rune(s)
	out := make([]rune, 0, len(r))
	for i := 0; i < len(r); i++ {
		if r[i] == ' ' {
			j := i
			for j < len(r) && r[j] == ' ' {
				j++
			}
			// drop spaces just before or just after a hyphen that sits between digits
			if j < len(r) && r[j] == '-' && hyphenBetweenDigits(r, j) || i > 0 && r[i-1] == '-' && hyphenBetweenDigits(r, i-1) {
				i = j - 1
				continue
			}
		}
		out = append(out, r[i])
	}
	return string(out)
}

func hyphenBetweenDigits(r []rune, i int) bool {
	return isDigitOrKanjiDigit(prevNonSpace(r, i)) && isDigitOrKanjiDigit(nextNonSpace(r, i))
}

func replaceDashesBetweenDigits(s string) string {
	r := []rune(s)
	for i := 1; i+1 < len(r); i++ {
		if dashLike.MatchString(string(r[i])) && isDigitOrKanjiDigit(prevNonSpace(r, i)) && isDigitOrKanjiDigit(nextNonSpace(r, i)) {
			r[i] = '-'
		}
	}
	return string(r)
}

func prevNonSpace(r []rune, i int) rune {
	for j := i - 1; j >= 0; j-- {
		if r[j] != ' ' {
			return r[j]
		}
	}
	return 0
}

func nextNonSpace(r []rune, i int) rune {
	for j := i + 1; j < len(r); j++ {
		if r[j] != ' ' {
			return r[j]
		}
	}
	return 0
}

func isDigitOrKanjiDigit(r rune) bool {
	_, k := kanjiDigits[r]
	return (r >= '0' && r <= '9') || k
}

// AddressLineKey returns the match key of an address line: block notation
// reduced to hyphens, so "5-2-3", "５－２－３", "5丁目2番地3", "5丁目2番3号",
// "五丁目二番三号" and "5丁目2-3" all give "5-2-3"; "5階" and "5F" agree;
// spaces and punctuation other than those hyphens are removed, case folded.
func AddressLineKey(s string) string {
	s = NormalizeAddressLine(s)
	s = kanjiNumberBeforeMarker.ReplaceAllStringFunc(s, func(m string) string {
		sub := kanjiNumberBeforeMarker.FindStringSubmatch(m)
		n, ok := kanjiToInt(sub[1])
		if !ok {
			return m
		}
		return strconv.Itoa(n) + sub[2]
	})
	for {
		next := kanjiNumberAfterMarker.ReplaceAllStringFunc(s, func(m string) string {
			sub := kanjiNumberAfterMarker.FindStringSubmatch(m)
			n, _ := kanjiToInt(sub[2])
			return sub[1] + strconv.Itoa(n)
		})
		if next == s {
			break
		}
		s = next
	}
	s = strings.ToLower(s)
	s = floorMarker.ReplaceAllString(s, "${1}f")
	s = chome.ReplaceAllString(s, "$1-")
	for banchi.MatchString(s) {
		s = banchi.ReplaceAllString(s, "$1-$3")
	}
	s = noBetweenDigits.ReplaceAllString(s, "$1-$2")
	s = gou.ReplaceAllString(s, "$1")
	s = joinSpacedDashes(s)
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '-' {
			b.WriteRune(r)
		}
	}
	s = manyDashes.ReplaceAllString(b.String(), "-")
	s = dashBeforeNonDigit.ReplaceAllString(s, "$1")
	return strings.TrimLeft(s, "-")
}

// NormalizePostalCode returns the canonical postal code for country and
// whether it is well-formed. For JP it accepts "1060032", "106-0032",
// "〒１０６－００３２" and returns "106-0032". Other countries are upper-cased
// with spaces collapsed and must be 2–10 letters, digits, spaces or hyphens.
func NormalizePostalCode(c Country, s string) (string, bool) {
	s = strings.TrimPrefix(NormalizeText(s), "〒")
	s = strings.TrimSpace(dashLike.ReplaceAllString(s, "-"))
	if c == "JP" {
		digits := strings.NewReplacer("-", "", " ", "").Replace(s)
		if len(digits) != 7 || strings.Trim(digits, "0123456789") != "" {
			return s, false
		}
		// only "NNNNNNN" or "NNN-NNNN" (a hyphen elsewhere is a typo)
		if digits != s && strings.ReplaceAll(s, " ", "") != digits[:3]+"-"+digits[3:] {
			return s, false
		}
		return digits[:3] + "-" + digits[3:], true
	}
	s = strings.ToUpper(s)
	n := 0
	for _, r := range s {
		n++
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == ' ' || r == '-') {
			return s, false
		}
	}
	return s, n >= 2 && n <= 10
}

// NormalizePhone parses a phone number written as in market (national form
// with its trunk "0", or international; "+81 03-…" with a stray trunk "0" is
// fixed too) and returns it in E.164, or false when it is not a valid number.
func NormalizePhone(market Country, s string) (string, bool) {
	s = NormalizeText(s)
	if s == "" {
		return "", false
	}
	if strings.HasPrefix(s, "00") { // international call prefix written instead of "+"
		s = "+" + s[2:]
	}
	n, err := phonenumbers.Parse(s, string(market))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), true
}

// NormalizeWebsite accepts a URL ("https://www.example.co.jp/ja/") or a bare
// domain ("example.co.jp") and returns the canonical URL (https when no scheme,
// lower-case host, no trailing slash) and the domain without "www.".
func NormalizeWebsite(s string) (website, domain string, ok bool) {
	s = NormalizeText(s)
	if s == "" || strings.ContainsAny(s, " ") {
		return s, "", false
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return s, "", false
	}
	host := strings.ToLower(u.Hostname())
	if !isDomainName(host) {
		return s, "", false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Fragment = ""
	u.RawQuery = ""
	website = strings.TrimSuffix(u.String(), "/")
	return website, strings.TrimPrefix(host, "www."), true
}

// isDomainName checks a lower-case ASCII host name with a dot and an
// alphabetic top-level label of at least two letters.
func isDomainName(h string) bool {
	if len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for _, r := range tld {
		if !(r >= 'a' && r <= 'z') && !strings.HasPrefix(tld, "xn--") {
			return false
		}
	}
	return true
}

// SameOrSubdomain reports whether a and b are the same domain or one is a
// subdomain of the other ("mail.example.co.jp" and "example.co.jp").
func SameOrSubdomain(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}
