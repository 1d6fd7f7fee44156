package parse

import (
	"fmt"
	"strings"
	"testing"
)

// pairs renders what the scanner sees: key=value, "q" marking quoted ones.
func pairs(line string) string {
	var out []string
	Logfmt([]byte(line), func(k, v []byte, quoted bool) bool {
		if quoted {
			out = append(out, fmt.Sprintf("%s=q(%s)", k, v))
		} else {
			out = append(out, fmt.Sprintf("%s=%s", k, v))
		}
		return true
	})
	return strings.Join(out, " ")
}

func TestLogfmt(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"empty", "", ""},
		{"only spaces", "   \t  ", ""},
		{"simple", "a=1 b=two", "a=1 b=two"},
		{"router", `at=info method=GET path="/" status=200`, `at=info method=GET path=q(/) status=200`},
		{"quoted escapes", `msg="a \"b\" c" x=1`, `msg=q(a \"b\" c) x=1`},
		{"equals in quotes", `q="a=b c=d" e=f`, `q=q(a=b c=d) e=f`},
		{"equals in bare value", `a=b=c`, `a=b=c`},
		{"bare key", `flag a=1 other`, `flag= a=1 other=`},
		{"empty value", `a= b=2`, `a= b=2`},
		{"empty quoted", `a="" b=2`, `a=q() b=2`},
		{"duplicates in order", `a=1 a=2 a=3`, `a=1 a=2 a=3`},
		{"unicode", `ключ=значение emoji="✓ ok" 日本=語`, `ключ=значение emoji=q(✓ ok) 日本=語`},
		{"tabs and many spaces", "a=1\t\tb=2    c=3", "a=1 b=2 c=3"},
		{"garbage =x", `=x a=1`, `a=1`},
		{"lone quote", `" a=1`, `a=1`},
		{"stray quotes", `"x y" a=1 "`, `y= a=1`},
		{"quote in key", `ke"y=1 a=2`, `ke= a=2`},
		{"unterminated quote", `a="bc d`, `a=q(bc d)`},
		{"trailing backslash", `a="bc\`, `a=q(bc\)`},
		{"escaped backslash before quote", `a="x\\" b=1`, `a=q(x\\) b=1`},
		{"quote right after value", `a="x"b=1`, `a=q(x) b=1`},
		{"lone equals", `=`, ``},
		{"control bytes separate", "a=1\x00b=2\x1fc", "a=1 b=2 c="},
		{"bare value with quote", `a=b"c d=1`, `a=b"c d=1`},
		{"heroku prefix", `heroku[router]: at=info`, `heroku[router]:= at=info`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pairs(tc.line); got != tc.want {
				t.Errorf("Logfmt(%q)\n got %s\nwant %s", tc.line, got, tc.want)
			}
		})
	}
}

func TestLogfmtStop(t *testing.T) {
	n := 0
	Logfmt([]byte("a=1 b=2 c=3"), func(k, v []byte, _ bool) bool {
		n++
		return string(k) != "b"
	})
	if n != 2 {
		t.Fatalf("fn called %d times after returning false at the 2nd pair, want 2", n)
	}
}

func TestLogfmtScannerReuse(t *testing.T) {
	var s LogfmtScanner
	if s.Next() {
		t.Fatal("zero scanner found a pair")
	}
	for _, line := range []string{"a=1 b=2", "c=3"} {
		s.Reset([]byte(line))
		n := 0
		for s.Next() {
			n++
		}
		if want := strings.Count(line, "="); n != want {
			t.Fatalf("%q: %d pairs, want %d", line, n, want)
		}
		if s.Next() || s.Key() != nil {
			t.Fatalf("%q: Next after the end found more", line)
		}
	}
}

func TestLogfmtValue(t *testing.T) {
	for _, tc := range []struct {
		line, key string
		want      string
		ok        bool
	}{
		{`a=1 b=2`, "b", "2", true},
		{`a=1 a=2 a=3`, "a", "3", true}, // last wins
		{`flag a=1`, "flag", "", true},
		{`a="x y"`, "a", "x y", true},
		{`ab=1 b=2`, "b", "2", true},
		{`ab=1`, "b", "", false},
		{`a=1`, "", "", false},
		{``, "a", "", false},
		{`msg="b=2" c=3`, "b", "", false}, // not inside quotes
	} {
		v, ok := LogfmtValue([]byte(tc.line), tc.key)
		if string(v) != tc.want || ok != tc.ok {
			t.Errorf("LogfmtValue(%q, %q) = %q, %v; want %q, %v", tc.line, tc.key, v, ok, tc.want, tc.ok)
		}
	}
}

func TestUnquote(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{``, ``},
		{`plain`, `plain`},
		{`a \"b\" c`, `a "b" c`},
		{`back\\slash`, `back\slash`},
		{`tab\tnl\ncr\r`, "tab\tnl\ncr\r"},
		{`\u00e9\u2713`, "é✓"},
		{`\ud83d\ude00`, "😀"},
		{`\ud83d alone`, "\uFFFD alone"},
		{`\uZZZZ`, `\uZZZZ`},
		{`\u12`, `\u12`},
		{`\q unknown`, `\q unknown`},
		{`trailing\`, `trailing\`},
	} {
		got := Unquote([]byte("pre:"), []byte(tc.raw))
		if string(got) != "pre:"+tc.want {
			t.Errorf("Unquote(%q) = %q, want %q", tc.raw, got, "pre:"+tc.want)
		}
	}
}

func TestLogfmtTruncated(t *testing.T) {
	line := `at=info method=GET path="/a \"b\"" host=x.example.com flag ключ=значение`
	for i := 0; i <= len(line); i++ {
		b := exact(line[:i])
		Logfmt(b, func(k, v []byte, _ bool) bool {
			if len(k) == 0 || !within(b, k) || !within(b, v) {
				t.Fatalf("prefix %d: pair %q=%q does not alias the input", i, k, v)
			}
			return true
		})
	}
}
