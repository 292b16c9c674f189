package domain

import (
	"strings"
)

// Country is an ISO 3166-1 alpha-2 code in upper case, e.g. "JP".
type Country string

// iso3166 holds every officially assigned ISO 3166-1 alpha-2 code.
var iso3166 = func() map[Country]bool {
	const codes = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
		"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
		"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
		"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
		"MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
		"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
		"UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
	m := map[Country]bool{}
	for _, c := range strings.Fields(codes) {
		m[Country(c)] = true
	}
	return m
}()

// ParseCountry returns the country for an ISO 3166-1 alpha-2 code (any case,
// full-width accepted) and whether the code is assigned.
func ParseCountry(s string) (Country, bool) {
	c := Country(strings.ToUpper(NormalizeText(s)))
	return c, iso3166[c]
}

// Language is a preferred language for communication with the partner.
type Language string

// Supported languages.
const (
	LanguageJapanese Language = "ja"
	LanguageEnglish  Language = "en"
)

// DefaultLanguage is the language a market gets when the applicant names none.
func DefaultLanguage(c Country) Language {
	if c == "JP" {
		return LanguageJapanese
	}
	return LanguageEnglish
}

// jpPrefectures lists Japan's 47 prefectures (JIS X 0401 order) with their
// official names; romanised names are derived for matching.
var jpPrefectures = []struct{ code, kanji, romaji string }{
	{"01", "北海道", "hokkaido"}, {"02", "青森県", "aomori"}, {"03", "岩手県", "iwate"}, {"04", "宮城県", "miyagi"},
	{"05", "秋田県", "akita"}, {"06", "山形県", "yamagata"}, {"07", "福島県", "fukushima"}, {"08", "茨城県", "ibaraki"},
	{"09", "栃木県", "tochigi"}, {"10", "群馬県", "gunma"}, {"11", "埼玉県", "saitama"}, {"12", "千葉県", "chiba"},
	{"13", "東京都", "tokyo"}, {"14", "神奈川県", "kanagawa"}, {"15", "新潟県", "niigata"}, {"16", "富山県", "toyama"},
	{"17", "石川県", "ishikawa"}, {"18", "福井県", "fukui"}, {"19", "山梨県", "yamanashi"}, {"20", "長野県", "nagano"},
	{"21", "岐阜県", "gifu"}, {"22", "静岡県", "shizuoka"}, {"23", "愛知県", "aichi"}, {"24", "三重県", "mie"},
	{"25", "滋賀県", "shiga"}, {"26", "京都府", "kyoto"}, {"27", "大阪府", "osaka"}, {"28", "兵庫県", "hyogo"},
	{"29", "奈良県", "nara"}, {"30", "和歌山県", "wakayama"}, {"31", "鳥取県", "tottori"}, {"32", "島根県", "shimane"},
	{"33", "岡山県", "okayama"}, {"34", "広島県", "hiroshima"}, {"35", "山口県", "yamaguchi"}, {"36", "徳島県", "tokushima"},
	{"37", "香川県", "kagawa"}, {"38", "愛媛県", "ehime"}, {"39", "高知県", "kochi"}, {"40", "福岡県", "fukuoka"},
	{"41", "佐賀県", "saga"}, {"42", "長崎県", "nagasaki"}, {"43", "熊本県", "kumamoto"}, {"44", "大分県", "oita"},
	{"45", "宮崎県", "miyazaki"}, {"46", "鹿児島県", "kagoshima"}, {"47", "沖縄県", "okinawa"},
}

// JPPrefecture resolves a prefecture written in kanji (with or without its
// 都/道/府/県 suffix) or in romaji ("Tokyo", "Tokyo-to", "Osaka Prefecture")
// to its JIS code and official kanji name.
func JPPrefecture(s string) (code, name string, ok bool) {
	s = NormalizeText(s)
	lower := strings.ToLower(s)
	for _, suffix := range []string{" prefecture", "-prefecture", " pref.", " pref", "-ken", " ken", "-fu", " fu", "-to", " to"} {
		if strings.HasSuffix(lower, suffix) {
			lower = strings.TrimSuffix(lower, suffix)
			break
		}
	}
	lower = strings.ReplaceAll(strings.ReplaceAll(lower, "ō", "o"), "ou", "o")
	for _, p := range jpPrefectures {
		if s == p.kanji || lower == p.romaji {
			return p.code, p.kanji, true
		}
		// "東京" for "東京都", "大阪" for "大阪府"; never strip 北海道's 道.
		if r := []rune(p.kanji); p.code != "01" && s == string(r[:len(r)-1]) {
			return p.code, p.kanji, true
		}
		if p.code == "01" && (s == "北海道" || lower == "hokkaido") {
			return p.code, p.kanji, true
		}
	}
	return "", "", false
}
