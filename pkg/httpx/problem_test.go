package httpx

import (
	"encoding/json"
	"strings"
	"testing"
)

// A problem with extension members lists the standard members first, in
// their order, then the extensions in key order, values as they are.
func TestAProblemsExtensionMembersFollowItsOwn(t *testing.T) {
	p := Problem{Type: ProblemTypeURI("x.conflict"), Title: "Conflict", Status: 409, Detail: "d", Instance: "/i", Code: "x.conflict",
		Extra: map[string]any{"task_id": "t1", "count": int64(1<<60 + 1), "type": "forged", "errors": "forged", "alpha": []string{"a"}}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"urn:partnerhub:problem:x.conflict","title":"Conflict","status":409,"detail":"d","instance":"/i","code":"x.conflict",` +
		`"alpha":["a"],"count":1152921504606846977,"task_id":"t1"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	// Without extensions the document is the struct's.
	b, _ = json.Marshal(Problem{Type: "t", Title: "T", Status: 400, Code: "c"})
	if !strings.HasPrefix(string(b), `{"type":"t","title":"T","status":400,"code":"c"`) {
		t.Fatalf("plain problem: %s", b)
	}
}
