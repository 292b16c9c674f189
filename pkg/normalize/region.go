package normalize

import (
	"strings"
)

// Market is the per-country table of address rules: how a region (state,
// prefecture) and a postal code are written, normalized and compared. A
// country without an entry gets the generic rules (region kept as written,
// postal code 2–10 letters, digits, spaces or hyphens).
type Market struct {
	// RegionRequired and PostalRequired: the field must be given.
	RegionRequired, PostalRequired bool
	// Region resolves what the applicant wrote to the region's code and
	// official name; ok is false for an unknown region.
	Region func(s string) (code, name string, ok bool)
	// RegionHint names the expected regions in an error message.
	RegionHint string
	// Postal returns the canonical postal code, the part that identifies a
	// place for comparison (ZIP+4 compares by its ZIP), and whether s is one.
	Postal func(s string) (display, key string, ok bool)
	// PostalHint describes the expected format in an error message.
	PostalHint string
}

// Markets holds the markets with rules of their own; add a country here.
var Markets = map[string]Market{
	"JP": {RegionRequired: true, PostalRequired: true, Region: JPPrefecture, RegionHint: "a Japanese prefecture (東京都, 東京, Tokyo)",
		Postal: jpPostal, PostalHint: "a Japanese postal code NNN-NNNN"},
	"US": {RegionRequired: true, PostalRequired: true, Region: USState, RegionHint: "a US state or territory by its USPS code or name (CA, California)",
		Postal: usZIP, PostalHint: "a US ZIP code NNNNN or ZIP+4 NNNNN-NNNN"},
}

// MarketOf returns the rules of a market (ISO 3166-1 alpha-2, upper case).
func MarketOf(country string) Market {
	if m, ok := Markets[country]; ok {
		return m
	}
	return Market{Postal: genericPostal, PostalHint: "2 to 10 letters, digits, spaces or hyphens"}
}

// PostalCode returns the canonical postal code of s in country, its
// comparison key and whether it is well-formed for that country.
func PostalCode(country, s string) (display, key string, ok bool) {
	return MarketOf(country).Postal(s)
}

// Region resolves a region of country to its code and official name. For a
// country without a region table, code is empty, name is s (Text) and ok
// is true.
func Region(country, s string) (code, name string, ok bool) {
	m := MarketOf(country)
	if m.Region == nil {
		return "", Text(s), true
	}
	return m.Region(s)
}

func postalText(s string) string {
	s = strings.TrimPrefix(Text(s), "〒")
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		if isDashLike(r) {
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// jpPostal accepts "1060032", "106-0032", "〒１０６－００３２" → "106-0032".
func jpPostal(s string) (string, string, bool) {
	s = postalText(s)
	digits := strings.NewReplacer("-", "", " ", "").Replace(s)
	if len(digits) != 7 || strings.Trim(digits, "0123456789") != "" {
		return s, "", false
	}
	// only "NNNNNNN" or "NNN-NNNN" (a hyphen elsewhere is a typo)
	if digits != s && strings.ReplaceAll(s, " ", "") != digits[:3]+"-"+digits[3:] {
		return s, "", false
	}
	return digits[:3] + "-" + digits[3:], digits, true
}

// usZIP accepts "94105", "94105-1234", "941051234" and "94105 1234"; the
// key is the five-digit ZIP, so ZIP and ZIP+4 of one address agree.
func usZIP(s string) (string, string, bool) {
	s = postalText(s)
	digits := strings.NewReplacer("-", "", " ", "").Replace(s)
	if strings.Trim(digits, "0123456789") != "" || (len(digits) != 5 && len(digits) != 9) {
		return s, "", false
	}
	if len(digits) == 5 {
		return digits, digits, s == digits
	}
	if norm := strings.ReplaceAll(s, " ", "-"); norm != digits && norm != digits[:5]+"-"+digits[5:] {
		return s, "", false
	}
	return digits[:5] + "-" + digits[5:], digits[:5], true
}

func genericPostal(s string) (string, string, bool) {
	s = strings.ToUpper(postalText(s))
	n := 0
	for _, r := range s {
		n++
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == ' ' || r == '-') {
			return s, "", false
		}
	}
	return s, strings.NewReplacer("-", "", " ", "").Replace(s), n >= 2 && n <= 10
}

// usStates lists the USPS codes of the states, the District of Columbia,
// the territories and the armed-forces "states", with their names.
var usStates = [][2]string{
	{"AL", "Alabama"}, {"AK", "Alaska"}, {"AZ", "Arizona"}, {"AR", "Arkansas"}, {"CA", "California"},
	{"CO", "Colorado"}, {"CT", "Connecticut"}, {"DE", "Delaware"}, {"DC", "District of Columbia"},
	{"FL", "Florida"}, {"GA", "Georgia"}, {"HI", "Hawaii"}, {"ID", "Idaho"}, {"IL", "Illinois"},
	{"IN", "Indiana"}, {"IA", "Iowa"}, {"KS", "Kansas"}, {"KY", "Kentucky"}, {"LA", "Louisiana"},
	{"ME", "Maine"}, {"MD", "Maryland"}, {"MA", "Massachusetts"}, {"MI", "Michigan"}, {"MN", "Minnesota"},
	{"MS", "Mississippi"}, {"MO", "Missouri"}, {"MT", "Montana"}, {"NE", "Nebraska"}, {"NV", "Nevada"},
	{"NH", "New Hampshire"}, {"NJ", "New Jersey"}, {"NM", "New Mexico"}, {"NY", "New York"},
	{"NC", "North Carolina"}, {"ND", "North Dakota"}, {"OH", "Ohio"}, {"OK", "Oklahoma"}, {"OR", "Oregon"},
	{"PA", "Pennsylvania"}, {"RI", "Rhode Island"}, {"SC", "South Carolina"}, {"SD", "South Dakota"},
	{"TN", "Tennessee"}, {"TX", "Texas"}, {"UT", "Utah"}, {"VT", "Vermont"}, {"VA", "Virginia"},
	{"WA", "Washington"}, {"WV", "West Virginia"}, {"WI", "Wisconsin"}, {"WY", "Wyoming"},
	{"AS", "American Samoa"}, {"GU", "Guam"}, {"MP", "Northern Mariana Islands"}, {"PR", "Puerto Rico"},
	{"VI", "U.S. Virgin Islands"}, {"UM", "U.S. Minor Outlying Islands"},
	{"AA", "Armed Forces Americas"}, {"AE", "Armed Forces Europe"}, {"AP", "Armed Forces Pacific"},
}

// USState resolves a state written as its USPS code ("CA", "ca") or its name
// ("California", "CALIFORNIA", "Calif." is not guessed) to the code, which
// is also its display form.
func USState(s string) (code, name string, ok bool) {
	k := Key(Text(s))
	for _, st := range usStates {
		if k == Key(st[0]) || k == Key(st[1]) {
			return st[0], st[0], true
		}
	}
	if k == Key("Washington DC") || k == Key("Washington D.C.") {
		return "DC", "DC", true
	}
	return "", Text(s), false
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
	s = Text(s)
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
