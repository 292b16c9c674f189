package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Schema compatibility of a published event version.
//
// An event type's major version (…v1) is a promise to two kinds of reader at
// once: consumers built against an older schema keep reading new events, and
// consumers built against the newest schema replay every event still in the
// streams (30 days, 90 in DEADLETTER). A change to a published schema must
// therefore be FULLY compatible under the tolerant-reader rule that every
// consumer follows (ce.Event.DecodeData without strict: unknown properties are
// ignored, unknown enum values are refused by the handler as bad input, never
// a crash):
//
//   - backward: every event valid under the published schema stays valid
//     under the new one, so nothing may be narrowed: no removed property, no
//     new required property, no changed or narrowed type, no enum value
//     removed, no enum or const put on a field that had none, no pattern or
//     format added or changed, no tighter maxLength/maxItems/maximum or
//     minLength/minItems/minimum, no uniqueItems added, additionalProperties
//     never closed (absent or true → false or a schema);
//   - forward: an event written under the new schema still carries
//     everything an old reader relies on, so no property may disappear or
//     stop being required, no type may change (a widening changes what a
//     reader decodes, e.g. string → string|null), no format may change or
//     be dropped (readers decode date-time into a time), and no const may
//     change.
//
// What stays in v1: a new optional property, a new enum value, a looser or
// dropped length/number bound or pattern, a dropped enum or const, opening
// additionalProperties, and any annotation (title, description, examples,
// $comment, deprecated, default). Anything else is a new v2 type published
// beside v1 until consumers move. $refs are resolved (inside the document
// and to sibling files) and compared by what they point at. Keywords this
// checker does not reason about (allOf/anyOf/oneOf/not, if/then/else,
// patternProperties, dependent*, prefixItems, unevaluated*, …) must stay
// exactly as published.

// Incompatibility is one breaking difference between a published schema
// and its current version: Rule is stable and machine-readable, Path is a
// JSON pointer into the schema.
type Incompatibility struct {
	Path   string
	Rule   string
	Detail string
}

func (i Incompatibility) String() string { return i.Path + ": " + i.Rule + ": " + i.Detail }

// Rules of Incompatibility.
const (
	RulePropertyRemoved      = "property_removed"
	RuleRequiredAdded        = "required_added"
	RuleRequiredRemoved      = "required_removed"
	RuleTypeChanged          = "type_changed"
	RuleEnumValueRemoved     = "enum_value_removed"
	RuleEnumAdded            = "enum_added"
	RuleConstChanged         = "const_changed"
	RuleFormatChanged        = "format_changed"
	RulePatternTightened     = "pattern_tightened"
	RuleBoundTightened       = "bound_tightened"
	RuleUniqueItemsAdded     = "unique_items_added"
	RuleAdditionalProperties = "additional_properties_narrowed"
	RuleSchemaNarrowed       = "schema_narrowed"
	RuleKeywordChanged       = "keyword_changed"
	RuleIdentityChanged      = "identity_changed"
	RuleBadRef               = "unresolvable_ref"
)

// annotations never change which events are valid or how they are read.
var annotations = map[string]bool{
	"title": true, "description": true, "examples": true, "$comment": true,
	"deprecated": true, "default": true, "readOnly": true, "writeOnly": true,
	"$defs": true, "definitions": true, // compared where they are referenced
}

var upperBounds = []string{"maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum"}
var lowerBounds = []string{"minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum"}

// handled are the keywords compareNodes reasons about; any other keyword
// must be unchanged.
var handled = func() map[string]bool {
	m := map[string]bool{
		"$ref": true, "$schema": true, "$id": true, "type": true, "properties": true, "required": true,
		"additionalProperties": true, "items": true, "enum": true, "const": true, "format": true,
		"pattern": true, "uniqueItems": true, "multipleOf": true,
	}
	for _, k := range append(append([]string{}, upperBounds...), lowerBounds...) {
		m[k] = true
	}
	return m
}()

// SchemaDoc is one JSON Schema document and the folder its relative $refs
// resolve against.
type SchemaDoc struct {
	Dir  string
	Root any
}

// LoadSchemaDoc reads and parses a schema file.
func LoadSchemaDoc(path string) (SchemaDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return SchemaDoc{}, err
	}
	return ParseSchemaDoc(filepath.Dir(path), data)
}

// ParseSchemaDoc parses schema JSON whose relative $refs resolve in dir.
func ParseSchemaDoc(dir string, data []byte) (SchemaDoc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return SchemaDoc{}, err
	}
	return SchemaDoc{Dir: dir, Root: root}, nil
}

// CheckCompatible lists every breaking difference of current against the
// published schema; none means current may replace it in the same version.
func CheckCompatible(published, current SchemaDoc) []Incompatibility {
	c := &comparer{seen: map[[2]string]bool{}, docs: map[string]any{}}
	if p, ok := published.Root.(map[string]any); ok {
		if q, ok := current.Root.(map[string]any); ok {
			for _, k := range []string{"$id", "$schema"} {
				if !reflect.DeepEqual(p[k], q[k]) {
					c.add("", RuleIdentityChanged, "%s changed from %v to %v", k, p[k], q[k])
				}
			}
		}
	}
	c.compare(node{published, published.Root, ""}, node{current, current.Root, ""}, "")
	sort.SliceStable(c.out, func(i, j int) bool { return c.out[i].Path < c.out[j].Path })
	return c.out
}

type node struct {
	doc SchemaDoc
	v   any
	at  string // where the node came from, to stop $ref cycles
}

type comparer struct {
	out  []Incompatibility
	seen map[[2]string]bool
	docs map[string]any
}

func (c *comparer) add(path, rule, format string, args ...any) {
	if path == "" {
		path = "/"
	}
	c.out = append(c.out, Incompatibility{Path: path, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// deref follows $ref chains: the result is the referenced schema with the
// referring node's other keywords laid over it.
func (c *comparer) deref(n node, path string) (node, bool) {
	for i := 0; i < 32; i++ {
		m, ok := n.v.(map[string]any)
		if !ok {
			return n, true
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return n, true
		}
		target, err := c.resolve(n.doc, ref)
		if err != nil {
			c.add(path, RuleBadRef, "%v", err)
			return n, false
		}
		merged := map[string]any{}
		if tm, ok := target.v.(map[string]any); ok {
			for k, v := range tm {
				merged[k] = v
			}
		} else {
			return target, true // a boolean schema
		}
		for k, v := range m {
			if k != "$ref" {
				merged[k] = v
			}
		}
		n = node{target.doc, merged, target.at}
	}
	c.add(path, RuleBadRef, "$ref chain longer than 32")
	return n, false
}

func (c *comparer) resolve(doc SchemaDoc, ref string) (node, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return node{}, fmt.Errorf("$ref %q: %w", ref, err)
	}
	if u.Scheme != "" || u.Host != "" {
		return node{}, fmt.Errorf("$ref %q: only local and relative file references are resolved", ref)
	}
	target := doc
	if u.Path != "" {
		file := filepath.Join(doc.Dir, filepath.FromSlash(u.Path))
		root, ok := c.docs[file]
		if !ok {
			d, err := LoadSchemaDoc(file)
			if err != nil {
				return node{}, fmt.Errorf("$ref %q: %w", ref, err)
			}
			root = d.Root
			c.docs[file] = root
		}
		target = SchemaDoc{Dir: filepath.Dir(file), Root: root}
	}
	v, err := pointer(target.Root, u.Fragment)
	if err != nil {
		return node{}, fmt.Errorf("$ref %q: %w", ref, err)
	}
	return node{target, v, target.Dir + "|" + u.Path + "#" + u.Fragment}, nil
}

// pointer evaluates a JSON pointer (RFC 6901).
func pointer(root any, ptr string) (any, error) {
	if ptr == "" || ptr == "/" {
		return root, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("fragment %q is not a JSON pointer", ptr)
	}
	cur := root
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("pointer %q: %q is not in an object", ptr, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("pointer %q: no %q", ptr, tok)
		}
	}
	return cur, nil
}

func (c *comparer) compare(old, cur node, path string) {
	var ok bool
	if old, ok = c.deref(old, path); !ok {
		return
	}
	if cur, ok = c.deref(cur, path); !ok {
		return
	}
	if old.at != "" && cur.at != "" {
		key := [2]string{old.at, cur.at}
		if c.seen[key] {
			return // a recursive schema already being compared
		}
		c.seen[key] = true
	}
	// Boolean schemas: true is the empty schema, false accepts nothing.
	if old.v == false {
		return // no event was valid: anything widens
	}
	if cur.v == false {
		c.add(path, RuleSchemaNarrowed, "schema became false (accepts nothing)")
		return
	}
	om, ok1 := asSchema(old.v)
	cm, ok2 := asSchema(cur.v)
	if !ok1 || !ok2 {
		c.add(path, RuleKeywordChanged, "schema is not an object or a boolean")
		return
	}

	c.compareType(om, cm, path)
	c.compareProperties(old, cur, om, cm, path)
	c.compareAdditional(old, cur, om, cm, path)
	if _, has := om["items"]; has || cm["items"] != nil {
		c.compare(node{old.doc, orTrue(om["items"]), ""}, node{cur.doc, orTrue(cm["items"]), ""}, path+"/items")
	}
	c.compareEnum(om, cm, path)
	if cv, has := cm["const"]; has {
		ov, had := om["const"]
		oe, hadEnum := om["enum"].([]any)
		switch {
		case had && !jsonEqual(ov, cv):
			c.add(path, RuleConstChanged, "const changed from %v to %v", ov, cv)
		case !had && hadEnum:
			for _, v := range oe {
				if !jsonEqual(v, cv) {
					c.add(path+"/enum", RuleEnumValueRemoved, "enum value %v removed (const %v)", v, cv)
				}
			}
		case !had:
			c.add(path, RuleEnumAdded, "const %v put on a field that had none", cv)
		}
	}
	if !reflect.DeepEqual(om["format"], cm["format"]) {
		c.add(path, RuleFormatChanged, "format changed from %v to %v (readers decode by format)", orNone(om["format"]), orNone(cm["format"]))
	}
	if cp, has := cm["pattern"]; has && !reflect.DeepEqual(om["pattern"], cp) {
		c.add(path, RulePatternTightened, "pattern changed from %v to %v", orNone(om["pattern"]), cp)
	}
	for _, k := range upperBounds {
		c.compareBound(om, cm, k, path, func(o, n *big.Float) bool { return n.Cmp(o) < 0 })
	}
	for _, k := range lowerBounds {
		c.compareBound(om, cm, k, path, func(o, n *big.Float) bool { return n.Cmp(o) > 0 })
	}
	if cm["uniqueItems"] == true && om["uniqueItems"] != true {
		c.add(path, RuleUniqueItemsAdded, "uniqueItems added")
	}
	if cv, has := cm["multipleOf"]; has && !jsonEqual(om["multipleOf"], cv) {
		c.add(path, RuleBoundTightened, "multipleOf changed from %v to %v", orNone(om["multipleOf"]), cv)
	}
	keys := map[string]bool{}
	for k := range om {
		keys[k] = true
	}
	for k := range cm {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		if handled[k] || annotations[k] || strings.HasPrefix(k, "x-") {
			continue
		}
		if !jsonEqual(om[k], cm[k]) {
			c.add(path, RuleKeywordChanged, "%s changed (this checker only accepts it unchanged)", k)
		}
	}
}

func (c *comparer) compareType(om, cm map[string]any, path string) {
	ot, ct := typeSet(om["type"]), typeSet(cm["type"])
	if !slices.Equal(ot, ct) {
		c.add(path, RuleTypeChanged, "type changed from %s to %s", typeString(ot), typeString(ct))
	}
}

func (c *comparer) compareProperties(old, cur node, om, cm map[string]any, path string) {
	op, _ := om["properties"].(map[string]any)
	cp, _ := cm["properties"].(map[string]any)
	for _, name := range sortedKeys(op) {
		p := path + "/properties/" + pointerToken(name)
		nv, ok := cp[name]
		if !ok {
			c.add(p, RulePropertyRemoved, "property %q removed", name)
			continue
		}
		c.compare(node{old.doc, op[name], ""}, node{cur.doc, nv, ""}, p)
	}
	// A new property must accept what the old schema let through under its
	// name: only an open (absent/true) or a schema-valued
	// additionalProperties let anything through.
	if ap, isSchema := om["additionalProperties"].(map[string]any); isSchema {
		for _, name := range sortedKeys(cp) {
			if _, had := op[name]; !had {
				c.compare(node{old.doc, ap, ""}, node{cur.doc, cp[name], ""}, path+"/properties/"+pointerToken(name))
			}
		}
	}
	or, cr := stringSet(om["required"]), stringSet(cm["required"])
	for _, name := range sortedKeys(or) {
		if !cr[name] {
			if _, still := cp[name]; still || op[name] == nil {
				c.add(path+"/required", RuleRequiredRemoved, "%q is no longer required (old readers rely on it)", name)
			}
		}
	}
	for _, name := range sortedKeys(cr) {
		if !or[name] {
			c.add(path+"/required", RuleRequiredAdded, "%q became required (events already published lack it)", name)
		}
	}
}

func (c *comparer) compareAdditional(old, cur node, om, cm map[string]any, path string) {
	ov, hadOld := om["additionalProperties"]
	cv, hasCur := cm["additionalProperties"]
	if !hadOld {
		ov = true
	}
	if !hasCur {
		cv = true
	}
	switch {
	case ov == false:
		return // nothing extra was allowed: any change widens
	case cv == false:
		c.add(path+"/additionalProperties", RuleAdditionalProperties, "additionalProperties closed")
	case ov == true:
		if m, ok := cv.(map[string]any); ok && len(withoutAnnotations(m)) > 0 {
			c.add(path+"/additionalProperties", RuleAdditionalProperties, "additionalProperties constrained")
		}
	default:
		c.compare(node{old.doc, ov, ""}, node{cur.doc, cv, ""}, path+"/additionalProperties")
	}
}

func (c *comparer) compareEnum(om, cm map[string]any, path string) {
	ce, has := cm["enum"].([]any)
	if !has {
		return
	}
	oe, had := om["enum"].([]any)
	if !had {
		if _, wasConst := om["const"]; !wasConst {
			c.add(path, RuleEnumAdded, "enum put on a field that had none")
			return
		}
		oe = []any{om["const"]}
	}
	for _, v := range oe {
		if !slices.ContainsFunc(ce, func(x any) bool { return jsonEqual(x, v) }) {
			c.add(path+"/enum", RuleEnumValueRemoved, "enum value %v removed", v)
		}
	}
}

func (c *comparer) compareBound(om, cm map[string]any, k, path string, tighter func(o, n *big.Float) bool) {
	nv, has := cm[k]
	if !has {
		return
	}
	ov, had := om[k]
	if !had {
		c.add(path, RuleBoundTightened, "%s %v added", k, nv)
		return
	}
	o, ok1 := number(ov)
	n, ok2 := number(nv)
	if !ok1 || !ok2 {
		if !jsonEqual(ov, nv) {
			c.add(path, RuleBoundTightened, "%s changed from %v to %v", k, ov, nv)
		}
		return
	}
	if tighter(o, n) {
		c.add(path, RuleBoundTightened, "%s tightened from %v to %v", k, ov, nv)
	}
}

func typeSet(v any) []string {
	var out []string
	switch t := v.(type) {
	case string:
		out = []string{t}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func typeString(t []string) string {
	if len(t) == 0 {
		return "any"
	}
	return strings.Join(t, "|")
}

func stringSet(v any) map[string]bool {
	out := map[string]bool{}
	if list, ok := v.([]any); ok {
		for _, x := range list {
			if s, ok := x.(string); ok {
				out[s] = true
			}
		}
	}
	return out
}

func number(v any) (*big.Float, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	f, _, err := big.ParseFloat(n.String(), 10, 256, big.ToNearestEven)
	return f, err == nil
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func withoutAnnotations(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if !annotations[k] {
			out[k] = v
		}
	}
	return out
}

func asSchema(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case bool:
		return map[string]any{}, t
	case map[string]any:
		return t, true
	}
	return nil, false
}

func orTrue(v any) any {
	if v == nil {
		return true
	}
	return v
}

func orNone(v any) any {
	if v == nil {
		return "none"
	}
	return v
}

func pointerToken(name string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
