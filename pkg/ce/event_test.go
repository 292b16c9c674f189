package ce

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeBinaryAndStructuredAgree(t *testing.T) {
	bin := map[string]string{
		"ce-specversion": "1.0", "ce-id": "abc", "ce-source": "/upstream/portal", "ce-type": "com.partnerhub.intake.registration.requested.v1",
		"ce-subject": "ext-1", "ce-time": "2026-11-21T10:00:00Z", "ce-datacontenttype": "application/json",
		"ce-sequence": "000000000007", "ce-correlationid": "corr", "ce-authtype": "service_account", "ce-authid": "upstream-portal",
		"ce-customext": "v",
	}
	e1, err := Decode(bin, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	structured := `{"specversion":"1.0","id":"abc","source":"/upstream/portal","type":"com.partnerhub.intake.registration.requested.v1",
		"subject":"ext-1","time":"2026-11-21T10:00:00Z","datacontenttype":"application/json","sequence":"000000000007",
		"correlationid":"corr","authtype":"service_account","authid":"upstream-portal","customext":"v","data":{"a":1}}`
	e2, err := Decode(map[string]string{"Content-Type": "application/cloudevents+json; charset=utf-8"}, []byte(structured))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{e1, e2} {
		if e.ID != "abc" || e.Sequence != 7 || e.AuthID != "upstream-portal" || e.CorrelationID != "corr" ||
			!e.Time.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)) || e.Extensions["customext"] != "v" {
			t.Errorf("decoded %+v", e)
		}
		if strings.ReplaceAll(string(e.Data), " ", "") != `{"a":1}` {
			t.Errorf("data %s", e.Data)
		}
	}
}

func TestDecodeCanonicalisedHeadersStillRead(t *testing.T) {
	e, err := Decode(map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "x", "Ce-Source": "/s", "Ce-Type": "t"}, nil)
	if err != nil || e.ID != "x" {
		t.Fatalf("got %+v, %v", e, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}
	}
	with := func(k, v string) map[string]string { h := base(); h[k] = v; return h }
	without := func(k string) map[string]string { h := base(); delete(h, k); return h }
	cases := []struct {
		name    string
		headers map[string]string
		body    string
		code    string
	}{
		{"no specversion, not structured", without("ce-specversion"), `{"a":1}`, CodeMissingSpecVersion},
		{"specversion 0.3", with("ce-specversion", "0.3"), `{}`, CodeBadSpecVersion},
		{"no id", without("ce-id"), `{}`, CodeMissingID},
		{"no source", without("ce-source"), `{}`, CodeMissingSource},
		{"no type", without("ce-type"), `{}`, CodeMissingType},
		{"bad time", with("ce-time", "yesterday"), `{}`, CodeBadTime},
		{"bad sequence", with("ce-sequence", "-1"), `{}`, CodeBadSequence},
		{"xml content type", with("ce-datacontenttype", "application/xml"), `<a/>`, CodeBadContentType},
		{"not json", base(), `{"a":`, CodeNotJSON},
		{"U+0000 in data", base(), `{"reason":"a\u0000b"}`, CodeNULCharacter},
		{"U+0000 in an attribute", with("ce-authid", "up\x00stream"), `{}`, CodeBadAttribute},
		{"U+0000 in the subject", with("ce-subject", "lead\x00"), `{}`, CodeBadAttribute},
		{"too large", base(), `"` + strings.Repeat("x", MaxDataBytes) + `"`, CodeTooLarge},
		{"structured garbage", map[string]string{"content-type": StructuredContentType}, `[1,2]`, CodeBadStructured},
		{"structured base64", map[string]string{"content-type": StructuredContentType}, `{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"AA=="}`, CodeNotJSON},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.headers, []byte(c.body))
			var de *DecodeError
			if !errors.As(err, &de) || de.Code != c.code {
				t.Fatalf("want %s, got %v", c.code, err)
			}
		})
	}
}

func TestDecodeDataStrict(t *testing.T) {
	e := Event{Type: "t", Data: []byte(`{"a":1,"b":2}`)}
	var v struct {
		A int `json:"a"`
	}
	if err := e.DecodeData(&v, false); err != nil || v.A != 1 {
		t.Fatalf("lenient: %v", err)
	}
	var de *DecodeError
	if err := e.DecodeData(&v, true); !errors.As(err, &de) || de.Code != CodeSchemaViolation {
		t.Fatalf("strict: want schema violation, got %v", err)
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	in := Event{ID: "i", Source: "/services/x", Type: TypePrefix + "x.y.z.v1", Subject: "PG-1", Time: time.Unix(10, 5).UTC(),
		DataContentType: JSON, PartitionKey: "PG-1", Sequence: 42, CausationID: "c", Data: []byte(`{}`)}
	h := in.Headers()
	for k := range h {
		if k != strings.ToLower(k) {
			t.Errorf("header %q not lower case", k)
		}
	}
	if h[HSequence] != "000000000042" {
		t.Errorf("sequence %q", h[HSequence])
	}
	out, err := Decode(h, in.Data)
	if err != nil || out.Sequence != 42 || out.CausationID != "c" || !out.Time.Equal(in.Time) {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	if Topic(in.Type) != "x.y.z.v1" {
		t.Errorf("topic %q", Topic(in.Type))
	}
}

func TestDecodeDataNamesAnUnknownNestedMemberByItsPath(t *testing.T) {
	ev := Event{Type: "com.partnerhub.intake.registration.requested.v1", Data: []byte(`{"company":{"address":{"city":"x","county":"y"}}}`)}
	var v struct {
		Company struct {
			Address struct {
				City string `json:"city"`
			} `json:"address"`
		} `json:"company"`
	}
	err := ev.DecodeData(&v, true)
	if err == nil || !strings.Contains(err.Error(), "unknown member company.address.county") {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeDataTellsAWrongTypeInJSONsWords(t *testing.T) {
	ev := Event{Type: "com.partnerhub.intake.registration.requested.v1", Data: []byte(`{"programs":[{"program":"a"},{"program":2}]}`)}
	var v struct {
		Programs []struct {
			Program string `json:"program"`
		} `json:"programs"`
	}
	err := ev.DecodeData(&v, true)
	var de *DecodeError
	if !errors.As(err, &de) || de.Code != CodeSchemaViolation ||
		!strings.HasSuffix(err.Error(), "data does not match com.partnerhub.intake.registration.requested.v1: programs[1].program must be a JSON string, not 2") {
		t.Fatalf("got %v", err)
	}
}
