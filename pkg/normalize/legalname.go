package normalize

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
)

// legalForms maps the abbreviation written inside brackets (after Text, so
// "（株）", "㈱" and "㊑" are already "(株)") to the full form the company
// register uses: the whole family of Japanese corporate forms.
var legalForms = map[string]string{
	"株":   "株式会社",
	"有":   "有限会社",
	"同":   "合同会社",
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
	"医財":  "医療法人財団",
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
	"責":   "有限責任事業組合",
	"LLP": "有限責任事業組合",
}

// enclosedForms are enclosed ideographs whose NFKC form loses the enclosure
// (㊑ → 株): they stand for the bracketed abbreviation, like ㈱.
var enclosedForms = map[rune]string{
	'㊑': "(株)", '㊒': "(有)", '㊓': "(社)", '㊔': "(名)", '㊕': "(特)", '㊖': "(財)",
	'㊩': "(医)", '㊪': "(宗)", '㊫': "(学)", '㊮': "(資)", '㊯': "(協)",
}

func expandEnclosed(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x3280 && r <= 0x32B0 }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if f, ok := enclosedForms[r]; ok {
			b.WriteString(f)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// legalFormAbbrev matches a bracketed abbreviation: (株), [株], 〔株〕, 【株】
// (after NFKC; 「」 and 『』 quote names and are left alone).
var legalFormAbbrev = regexp.MustCompile(`[(\[〔【]\s*([^()\[\]〔〕【】\s]{1,3})\s*[)\]〕】]`)

// fullLegalForms is every expanded form, longest first, so that 一般社団法人
// is found before 社団法人.
var fullLegalForms = func() []string {
	var out []string
	for _, v := range legalForms {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if d := len([]rune(b)) - len([]rune(a)); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}()

// LegalName returns the display form of a legal company name: Text, then
// Japanese legal-form abbreviations expanded in place ("(株)ABC" →
// "株式会社ABC", "ABC㈱" → "ABC株式会社", "（同）X" → "合同会社X"). The
// position of the legal form is kept because it is part of the registered name.
func LegalName(s string) string {
	s = Text(s)
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
// LegalName, with a dash after kana read as the long-vowel mark and any other
// dash dropped, look-alike characters folded to their UTS #39 skeleton
// (Cyrillic "а" and Latin "a", katakana "ロ" and kanji "口" agree), case
// folded, and everything but letters, digits and combining marks removed,
// so that "ABC Co., Ltd. " and "ＡＢＣ CO LTD" agree. Legal forms stay in
// place: "株式会社X" and "X株式会社" have different keys.
func LegalNameKey(s string) string {
	return Key(LegalName(s))
}

// Key reduces a display form to a comparison key: long-vowel marks and their
// look-alikes made one (see LegalNameKey), small and large ヶ/ケ/ヵ made one,
// the UTS #39 skeleton, lower case, and only letters, digits and marks kept.
func Key(s string) string {
	s = foldKana(longVowels(s))
	// The skeleton is case-sensitive (I and 1 look like l, m like rn, and
	// Cyrillic М like M but м like nothing Latin): fold case by upper-casing,
	// take the skeleton, and take it again after lower-casing, so that
	// neither case nor script can hide a look-alike.
	s = strings.ToLower(confusables.Skeleton(strings.ToLower(confusables.Skeleton(strings.ToUpper(s)))))
	var b strings.Builder
	for _, r := range s {
		if (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) && !isInvisible(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isDashLike: the hyphens, dashes, minus signs, box-drawing lines and the
// long-vowel mark that people type for one another (after NFKC, so
// full-width "－" and half-width "ｰ" are already "-" and "ー").
func isDashLike(r rune) bool {
	switch r {
	case '-', '‐', '‑', '‒', '–', '—', '―', '−', '─', '━', 'ー', '﹘', '⁃', '˗', '➖', 'ⲻ', '㇐':
		return true
	}
	return false
}

func isKana(r rune) bool {
	return r != '・' && (unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hiragana, r) || r == 'ー')
}

// longVowels makes every dash-like character right after a kana the
// long-vowel mark "ー" ("サ－バ－", "サ‐バ‐" and "サーバー" agree) and drops it
// elsewhere, where it is punctuation ("ABC-Tech", "ABC－Tech", "ABCーTech"
// and "ABC Tech" agree).
func longVowels(s string) string {
	var b strings.Builder
	var prev rune
	for _, r := range s {
		if isDashLike(r) {
			if isKana(prev) {
				b.WriteRune('ー')
				prev = 'ー'
			}
			continue
		}
		b.WriteRune(r)
		if r != ' ' {
			prev = r
		}
	}
	return b.String()
}

// foldKana makes the counter ヶ (small, large ケ, ヵ, and が between two kanji,
// as in 霞ヶ関 / 霞ケ関 / 霞が関) one character.
func foldKana(s string) string {
	if !strings.ContainsAny(s, "ヶヵケがゕゖ") {
		return s
	}
	rs := []rune(s)
	for i, r := range rs {
		switch r {
		case 'ヶ', 'ヵ', 'ゕ', 'ゖ':
			rs[i] = 'ケ'
		case 'が':
			if i > 0 && i+1 < len(rs) && unicode.Is(unicode.Han, rs[i-1]) && unicode.Is(unicode.Han, rs[i+1]) {
				rs[i] = 'ケ'
			}
		}
	}
	return string(rs)
}

// englishLegalForms are suffixes ignored by the name rules (not by the key).
var englishLegalForms = []string{"coltd", "co", "ltd", "limited", "inc", "incorporated", "corp", "corporation",
	"company", "llc", "llp", "lp", "plc", "gmbh", "ag", "sa", "sas", "bv", "nv", "pteltd", "pte", "pty", "kk", "gk"}

// NameCore is the key of a legal name without its legal form, for rules about
// the name itself ("株式会社A" is a one-character name). key is a LegalNameKey.
func NameCore(key string) string {
	for _, f := range fullLegalForms {
		key = strings.ReplaceAll(key, Key(f), "")
	}
	for _, f := range englishLegalForms {
		sk := Key(f)
		if strings.HasSuffix(key, sk) && len(key) > len(sk) {
			key = strings.TrimSuffix(key, sk)
			break
		}
	}
	return key
}

// LegalForms lists every full Japanese legal form, longest first.
func LegalForms() []string { return slices.Clone(fullLegalForms) }

// RegisterName is the comparison form of a legal name against the company
// register, which is stricter than LegalNameKey: LegalName without spaces,
// case folded; punctuation and look-alikes count, because the register
// writes the name one way and the review asks for exactly that.
func RegisterName(s string) string {
	return strings.ToLower(strings.ReplaceAll(LegalName(s), " ", ""))
}
