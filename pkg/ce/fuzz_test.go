package ce

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode: whatever the headers and body of a message, Decode returns an
// event that satisfies the envelope rules or a *DecodeError with one of the
// documented codes (which the bus turns into a dead letter) — never a panic.
func FuzzDecode(f *testing.F) {
	binary := "ce-specversion: 1.0\nce-id: 0190f5a2-7b1c-7d2e-9b1f-3c5d7e9a2b4c\nce-source: /services/registration\n" +
		"ce-type: com.partnerhub.registration.application.submitted.v1\nce-subject: PG-PRTA-HD7W-NYE\nce-time: 2026-04-01T09:00:00Z\n" +
		"ce-datacontenttype: application/json\nce-sequence: 000000000001\nce-partitionkey: PG-PRTA-HD7W-NYE"
	f.Add(binary, []byte(`{"partner_id":"PG-PRTA-HD7W-NYE"}`))
	f.Add("", []byte(`{"specversion":"1.0","id":"x","source":"/upstream","type":"com.partnerhub.intake.registration.requested.v1","datacontenttype":"application/json","data":{"market":"JP"}}`))
	f.Add("content-type: application/cloudevents+json", []byte(`{"specversion":"1.0","id":"x","source":"s","type":"t","data_base64":"e30="}`))
	f.Add("ce-specversion: 0.3\nce-id: x", []byte(`{}`))
	f.Add(strings.Replace(binary, "2026-04-01T09:00:00Z", "yesterday", 1), []byte(`{}`))
	f.Add(strings.Replace(binary, "000000000001", "-1", 1), []byte(`not json`))
	f.Add("ce-specversion: 1.0\nce-id: \xff\nce-source: s\nce-type: t", []byte("\x00"))
	f.Add("", []byte(`{"specversion":1}`))
	f.Add("", []byte(`[]`))
	f.Fuzz(func(t *testing.T, headerLines string, body []byte) {
		h := map[string]string{}
		for _, l := range strings.Split(headerLines, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				h[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		ev, err := Decode(h, body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || !knownCodes[de.Code] {
				t.Fatalf("Decode error %T %v: want a *DecodeError with a documented code", err, err)
			}
			return
		}
		if ev.ID == "" || ev.Source == "" || ev.Type == "" {
			t.Fatalf("accepted an event without its required attributes: %+v", ev)
		}
		var payload struct {
			PartnerID string         `json:"partner_id"`
			Market    string         `json:"market"`
			Nested    map[string]int `json:"nested"`
		}
		if err := ev.DecodeData(&payload, true); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || !knownCodes[de.Code] {
				t.Fatalf("DecodeData error %T %v: want a *DecodeError with a documented code", err, err)
			}
		}
		for name, v := range ev.Headers() {
			if !utf8.ValidString(v) {
				t.Fatalf("accepted attribute %s that is not UTF-8: %q", name, v)
			}
		}
	})
}

var knownCodes = map[string]bool{
	CodeMissingSpecVersion: true, CodeBadSpecVersion: true, CodeMissingID: true, CodeMissingSource: true, CodeMissingType: true,
	CodeBadTime: true, CodeBadSequence: true, CodeNotJSON: true, CodeBadContentType: true, CodeTooLarge: true,
	CodeBadStructured: true, CodeBadAttribute: true, CodeUnknownType: true, CodeSchemaViolation: true, CodeNULCharacter: true,
}
