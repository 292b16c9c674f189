package service_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/onboarding/pkg/auth"
)

// company is a registration of a company of its own (name, domain, address
// and number differ, so none is a duplicate of another).
func company(name, domain, line1, number string, reseller bool) map[string]any {
	r := registration()
	c := r["company"].(map[string]any)
	c["legal_name"] = name
	c["website"] = "https://www." + domain
	c["address"].(map[string]any)["line1"] = line1
	if number == "" {
		delete(c, "registration_number")
	} else {
		c["registration_number"] = map[string]any{"scheme": "jp_corporate_number", "value": number}
	}
	r["contact"].(map[string]any)["email"] = "taro@" + domain
	if !reseller {
		r["programs"] = []any{map[string]any{"program": "partner_network"}}
	} else {
		r["programs"].([]any)[1].(map[string]any)["support"] = map[string]any{
			"website": "https://support." + domain, "email": "support@" + domain}
	}
	return r
}

type partnerPage struct {
	Partners []struct {
		PartnerID string `json:"partner_id"`
		Market    string `json:"market"`
		Status    string `json:"status"`
		LegalName string `json:"legal_name"`
	} `json:"partners"`
	Next string `json:"next"`
}

func (e *env) search(t *testing.T, p auth.Principal, query url.Values) (partnerPage, response) {
	t.Helper()
	r := e.do(t, "GET", "/v1/partners?"+query.Encode(), e.token(t, p), "", nil)
	var page partnerPage
	if r.Status == http.StatusOK {
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
	}
	return page, r
}

func (pg partnerPage) ids() []string {
	out := make([]string, len(pg.Partners))
	for i, p := range pg.Partners {
		out[i] = p.PartnerID
	}
	return out
}

// TestOperatorsSearchPartners registers four companies and searches them
// as an operator: by name in other spellings (width, legal-form
// abbreviations, look-alike letters), by registration number, status,
// market, program and creation time, in pages that follow the cursor.
func TestOperatorsSearchPartners(t *testing.T) {
	e := start(t)
	tok := e.token(t, upstream)
	submit := func(body map[string]any) string {
		t.Helper()
		r := e.do(t, "POST", "/v1/registrations", tok, "application/json", mustJSON(t, body))
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		return r.json(t)["partner_id"].(string)
	}
	sakura := submit(company("（株）サクラテック", "sakura-tech.co.jp", "西新宿2-8-1", "7000012050002", true))
	abc := submit(company("ABC Tech株式会社", "abc-tech.co.jp", "丸の内1-1-1", "", false))
	time.Sleep(5 * time.Millisecond) // creation times apart, for the range
	between := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	mirai := submit(company("株式会社みらいクラウド", "mirai-cloud.co.jp", "丸の内5-2-3", "", true))
	kumo := submit(company("合同会社クモ", "kumo.co.jp", "梅田3-1-1", "", false))
	all := []string{kumo, mirai, abc, sakura} // newest first

	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"everything, newest first", url.Values{}, all},
		{"name fragment", url.Values{"name": {"テック"}}, []string{sakura}},
		{"name with the legal form abbreviated", url.Values{"name": {"(株)サクラ"}}, []string{sakura}},
		{"half-width katakana", url.Values{"name": {"ｻｸﾗ"}}, []string{sakura}},
		{"full-width Latin, other case and spacing", url.Values{"name": {"ａｂｃ   TECH"}}, []string{abc}},
		{"Cyrillic look-alikes, punctuation", url.Values{"name": {"АВС-tech"}}, []string{abc}},
		{"legal form alone", url.Values{"name": {"株式会社"}}, []string{mirai, abc, sakura}},
		{"registration number with hyphens", url.Values{"registration_number": {"7000-0120-50002"}}, []string{sakura}},
		{"unknown registration number", url.Values{"registration_number": {"1234567890123"}}, nil},
		{"status", url.Values{"status": {"pending"}}, all},
		{"another status", url.Values{"status": {"active"}}, nil},
		{"market", url.Values{"market": {"JP"}}, all},
		{"another market", url.Values{"market": {"US"}}, nil},
		{"program", url.Values{"program": {"indirect_reseller"}}, []string{mirai, sakura}},
		{"created after", url.Values{"created_after": {between.Format(time.RFC3339Nano)}}, []string{kumo, mirai}},
		{"created before", url.Values{"created_before": {between.Format(time.RFC3339Nano)}}, []string{abc, sakura}},
		{"updated range", url.Values{"updated_after": {between.Add(-time.Hour).Format(time.RFC3339)},
			"updated_before": {time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}, all},
		{"filters combine", url.Values{"program": {"indirect_reseller"}, "created_after": {between.Format(time.RFC3339Nano)}}, []string{mirai}},
	}
	for _, tt := range tests {
		page, r := e.search(t, operator, tt.query)
		if r.Status != http.StatusOK {
			t.Errorf("%s: %d %s", tt.name, r.Status, r.Body)
			continue
		}
		if got := page.ids(); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		if page.Next != "" {
			t.Errorf("%s: a next cursor on the only page", tt.name)
		}
	}
	page, _ := e.search(t, operator, url.Values{"name": {"サクラ"}})
	if len(page.Partners) != 1 || page.Partners[0].LegalName != "株式会社サクラテック" || page.Partners[0].Status != "pending" || page.Partners[0].Market != "JP" {
		t.Errorf("partner as listed: %+v", page.Partners)
	}

	t.Run("pages follow the cursor, unmoved by a registration in between", func(t *testing.T) {
		var got []string
		q := url.Values{"limit": {"1"}}
		for i := 0; ; i++ {
			if i > len(all) {
				t.Fatal("the cursor does not end")
			}
			page, r := e.search(t, operator, q)
			if r.Status != http.StatusOK || len(page.Partners) != 1 {
				t.Fatalf("page %d: %d %s", i, r.Status, r.Body)
			}
			got = append(got, page.ids()...)
			if i == 0 {
				submit(company("株式会社あとから", "atokara.co.jp", "栄1-1-1", "", false)) // newer than every page
			}
			if page.Next == "" {
				break
			}
			q.Set("after", page.Next)
		}
		if !slices.Equal(got, all) {
			t.Errorf("pages %v, want %v", got, all)
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		for _, tt := range []struct {
			query url.Values
			code  string
			field string
		}{
			{url.Values{"limit": {"0"}}, "request.invalid_query_parameter", "query.limit"},
			{url.Values{"limit": {"201"}}, "request.invalid_query_parameter", "query.limit"},
			{url.Values{"market": {"jp"}}, "request.invalid_query_parameter", "query.market"},
			{url.Values{"status": {"Active!"}}, "request.invalid_query_parameter", "query.status"},
			// a status or program no partner can have matched nothing (200, an empty page): a typo read as "none"
			{url.Values{"status": {"actve"}}, "request.invalid_query_parameter", "query.status"},
			{url.Values{"program": {"indirect_resller"}}, "request.invalid_query_parameter", "query.program"},
			{url.Values{"registration_number": {"ABC"}}, "request.invalid_query_parameter", "query.registration_number"},
			{url.Values{"created_after": {"yesterday"}}, "request.invalid_query_parameter", "query.created_after"},
			{url.Values{"created_after": {"2026-03-02T00:00:00Z"}, "created_before": {"2026-03-01T00:00:00Z"}}, "request.invalid_query_parameter", "query.created_before"},
			{url.Values{"name": {"   "}}, "request.invalid_query_parameter", "query.name"},
			{url.Values{"after": {"not-a-cursor"}}, "registration.invalid_cursor", "query.after"},
		} {
			_, r := e.search(t, operator, tt.query)
			body := r.json(t)
			errs, _ := body["errors"].([]any)
			field := ""
			if len(errs) > 0 {
				field, _ = errs[0].(map[string]any)["field"].(string)
			}
			if r.Status != http.StatusUnprocessableEntity || body["code"] != tt.code || field != tt.field {
				t.Errorf("%v: %d %v field %q, want 422 %s %s", tt.query, r.Status, body["code"], field, tt.code, tt.field)
			}
		}
	})

	t.Run("operators only", func(t *testing.T) {
		for _, p := range []auth.Principal{
			upstream,
			{Subject: "v-1", Roles: []auth.Role{auth.RoleVerifier}},
			{Subject: "a-1", PartnerID: sakura, Roles: []auth.Role{auth.RolePartnerAdmin}},
		} {
			if _, r := e.search(t, p, url.Values{}); r.Status != http.StatusForbidden || r.json(t)["code"] != "auth.role_required" {
				t.Errorf("%s: %d %s", p.Subject, r.Status, r.Body)
			}
		}
		if r := e.do(t, "GET", "/v1/partners", "", "", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", r.Status)
		}
	})
}
