package parse

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONField(t *testing.T) {
	const doc = `{"level":"info", "msg":"job \"done\"", "n": -12.5e3, "ok":true, "nil":null,
		"job":{"id":42,"queue":"mailers","tags":["a","b",{"deep":[1,[2,3]]}],"empty":{}},
		"esc\u0061ped":"k", "a.b":"dotted", "dup":1, "dup":2, "uni":"caf\u00e9 \ud83d\ude00", "日本":"語"}`
	for _, tc := range []struct {
		path string
		raw  string
		kind Kind
		ok   bool
	}{
		{"level", `"info"`, KindString, true},
		{"msg", `"job \"done\""`, KindString, true},
		{"n", `-12.5e3`, KindNumber, true},
		{"ok", `true`, KindBool, true},
		{"nil", `null`, KindNull, true},
		{"job.id", `42`, KindNumber, true},
		{"job.queue", `"mailers"`, KindString, true},
		{"job.tags", `["a","b",{"deep":[1,[2,3]]}]`, KindArray, true},
		{"job.tags.1", `"b"`, KindString, true},
		{"job.tags.2.deep.1.0", `2`, KindNumber, true},
		{"job.tags.3", ``, KindInvalid, false},
		{"job.tags.x", ``, KindInvalid, false},
		{"job.empty", `{}`, KindObject, true},
		{"job.empty.x", ``, KindInvalid, false},
		{"job.id.x", ``, KindInvalid, false},
		{"escaped", `"k"`, KindString, true}, // key compared unescaped
		{"a.b", ``, KindInvalid, false},      // a dotted key cannot be addressed
		{"dup", `1`, KindNumber, true},       // first wins
		{"uni", `"caf\u00e9 \ud83d\ude00"`, KindString, true},
		{"日本", `"語"`, KindString, true},
		{"missing", ``, KindInvalid, false},
		{"", "", KindObject, true}, // whole document, checked below
	} {
		raw, kind, ok := JSONField([]byte(doc), tc.path)
		if tc.path == "" {
			if !ok || kind != KindObject || string(raw) != strings.TrimSpace(doc) {
				t.Errorf("JSONField(doc, \"\") = %q, %v, %v; want the whole document", raw, kind, ok)
			}
			continue
		}
		if string(raw) != tc.raw || kind != tc.kind || ok != tc.ok {
			t.Errorf("JSONField(doc, %q) = %q, %v, %v; want %q, %v, %v", tc.path, raw, kind, ok, tc.raw, tc.kind, tc.ok)
		}
	}
}

func TestJSONFieldMalformed(t *testing.T) {
	for _, tc := range []struct {
		doc, path string
		ok        bool
	}{
		{``, "a", false},
		{`   `, "a", false},
		{`null`, "a", false},
		{`[]`, "a", false},
		{`{`, "a", false},
		{`{"a"`, "a", false},
		{`{"a":`, "a", false},
		{`{"a":1`, "a", true}, // bytes after the value are not looked at
		{`{"b":1 "a":2}`, "a", false},
		{`{"b":[1,2}, "a":2}`, "a", false},
		{`{"b":{"c":1], "a":2}`, "a", false},
		{`{"b":"x\q", "a":2}`, "a", false},
		{`{"b":"x` + "\n" + `", "a":2}`, "a", false},
		{`{"b":01, "a":2}`, "a", false},
		{`{"b":1., "a":2}`, "a", false},
		{`{"b":-, "a":2}`, "a", false},
		{`{"b":tru, "a":2}`, "a", false},
		{`{"b":nul}`, "a", false},
		{`{"a":"\u12"}`, "a", false},
		{`{"a":"unterminated}`, "a", false},
		{`{'a':1}`, "a", false},
		{`{"a" 1}`, "a", false},
		{`{"b":1,}`, "a", false},
		{`{"a":[1,2,]}`, "a", false},
		{`{"a":[1 2]}`, "a", false},
		{strings.Repeat("[", 10000), "", false},
		{`{"a":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, "a", false}, // too deep
		{`{"a":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `}`, "a", true},
		{`{"a":1e999999}`, "a", true}, // huge numbers are numbers
		{`{"a":123456789012345678901234567890}`, "a", true},
	} {
		_, _, ok := JSONField(exact(tc.doc), tc.path)
		if ok != tc.ok {
			short := tc.doc
			if len(short) > 40 {
				short = short[:40] + "..."
			}
			t.Errorf("JSONField(%q, %q) ok = %v, want %v", short, tc.path, ok, tc.ok)
		}
	}
}

// TestJSONFieldAgreesWithEncodingJSON checks values found by path against a
// full decode.
func TestJSONFieldAgreesWithEncodingJSON(t *testing.T) {
	const doc = `{"a":{"b":{"c":"x\ty\u00e9\ud83d\ude00\\\/\""}},"n":[0,-1,2.5e-3]}`
	var full map[string]any
	if err := json.Unmarshal([]byte(doc), &full); err != nil {
		t.Fatal(err)
	}
	raw, kind, ok := JSONField([]byte(doc), "a.b.c")
	if !ok || kind != KindString {
		t.Fatalf("a.b.c: %q %v %v", raw, kind, ok)
	}
	got, ok := JSONUnquote(nil, raw)
	want := full["a"].(map[string]any)["b"].(map[string]any)["c"].(string)
	if !ok || string(got) != want {
		t.Fatalf("JSONUnquote(%s) = %q, %v; want %q", raw, got, ok, want)
	}
	raw, _, _ = JSONField([]byte(doc), "n.2")
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != 2.5e-3 {
		t.Fatalf("n.2 = %s (%v)", raw, err)
	}
}

func TestJSONUnquote(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{`""`, "", true},
		{`"plain"`, "plain", true},
		{`"a\"b\\c\/d\b\f\n\r\t"`, "a\"b\\c/d\b\f\n\r\t", true},
		{`"\u00e9\u2713"`, "é✓", true},
		{`"\ud83d\ude00"`, "😀", true},
		{`"\uD83D\uDE00"`, "😀", true},
		{`"\ud83d"`, "\uFFFD", true},
		{`"\ude00\ud83d"`, "\uFFFD\uFFFD", true},
		{`"\ud83dx"`, "\uFFFDx", true},
		{`"caf` + "\xff" + `"`, "caf\xff", true}, // bytes pass through
		{`"`, "", false},
		{`"abc`, "", false},
		{`abc"`, "", false},
		{`"a\x"`, "", false},
		{`"a"b"`, "", false},
		{`"\u00"`, "", false},
		{``, "", false},
	} {
		got, ok := JSONUnquote([]byte("pre:"), exact(tc.raw))
		want := "pre:" + tc.want
		if ok != tc.ok || (ok && string(got) != want) || (!ok && string(got) != "pre:") {
			t.Errorf("JSONUnquote(%q) = %q, %v; want %q, %v", tc.raw, got, ok, want, tc.ok)
		}
	}
}

func TestJSONFieldTruncated(t *testing.T) {
	const doc = `{"job":{"id":42,"tags":["a","b\"c"],"q":"m"},"level":"info"}`
	for i := 0; i <= len(doc); i++ {
		b := exact(doc[:i])
		raw, _, ok := JSONField(b, "level")
		if ok != (i == len(doc) || i >= strings.Index(doc, `"info"`)+len(`"info"`)) {
			t.Errorf("prefix %d: ok = %v", i, ok)
		}
		if !within(b, raw) {
			t.Fatalf("prefix %d: raw does not alias the input", i)
		}
	}
}
