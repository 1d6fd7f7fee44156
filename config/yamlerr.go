package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	lineRe      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	columnRe    = regexp.MustCompile(`^column (\d+): (.*)$`)
	unknownRe   = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	unmarshalRe = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `([^`]*)`)? into (\\S+)$")
)

// maxScanLines bounds the search for the line a syntax error is on: the
// search parses the file once per line.
const maxScanLines = 5000

// yamlErrors turns the decoder's "line N: ..." messages into FieldErrors
// that name the file, the line and the field.
func yamlErrors(name string, data []byte, root *yaml.Node, err error) Errors {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Errors{syntaxError(name, data, err)}
	}
	es := make(Errors, 0, len(te.Errors))
	for _, m := range te.Errors {
		es = append(es, typeError(name, root, m))
	}
	return es
}

// typeError names the field of one decoding error: by the column our
// own unmarshalers report (sizes, durations), the key the decoder did
// not know, or the value it could not store.
func typeError(name string, root *yaml.Node, m string) FieldError {
	fe := FieldError{File: name, Msg: m}
	sm := lineRe.FindStringSubmatch(m)
	if sm == nil {
		return fe
	}
	fe.Line, _ = strconv.Atoi(sm[1])
	fe.Msg = sm[2]
	if cm := columnRe.FindStringSubmatch(fe.Msg); cm != nil {
		col, _ := strconv.Atoi(cm[1])
		fe.Msg = cm[2]
		fe.Path = findPath(root, func(_, v *yaml.Node) bool { return v.Line == fe.Line && v.Column == col })
	} else if um := unknownRe.FindStringSubmatch(fe.Msg); um != nil {
		fe.Path = findPath(root, func(k, _ *yaml.Node) bool { return k.Line == fe.Line && k.Value == um[1] })
		fe.Msg = fmt.Sprintf("unknown key %q", um[1])
	} else if um := unmarshalRe.FindStringSubmatch(fe.Msg); um != nil {
		tag, val, into := um[1], um[2], um[3]
		var value *yaml.Node
		fe.Path = findPath(root, func(k, v *yaml.Node) bool {
			value = v
			return v.Line == fe.Line && v.ShortTag() == tag && strings.HasPrefix(v.Value, strings.TrimSuffix(val, "..."))
		})
		if fe.Path != "" {
			val = value.Value // the decoder cuts long ones short
		}
		fe.Msg = fmt.Sprintf("want %s, not %s", describeType(into), describeValue(tag, val))
	}
	return fe
}

func describeType(goType string) string {
	t := strings.TrimLeft(goType, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	}
	return "a map" // maps and the config's structs
}

func describeValue(tag, val string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a map"
	}
	return strconv.Quote(val)
}

// syntaxError places a YAML syntax error. For a block that does not
// continue as it began (mostly a line indented wrongly), yaml.v3 names the
// line where the block starts; the line at fault is the first whose
// addition makes the document fail in the same way.
func syntaxError(name string, data []byte, err error) FieldError {
	fe := FieldError{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	sm := lineRe.FindStringSubmatch(fe.Msg)
	if sm == nil {
		return fe
	}
	fe.Line, _ = strconv.Atoi(sm[1])
	fe.Msg = sm[2]
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxScanLines {
		return fe
	}
	for k := max(fe.Line, 1); k <= len(lines); k++ {
		var n yaml.Node
		e := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		if e == nil || e.Error() != err.Error() {
			// Fine so far, or cut inside a value that spans lines.
			continue
		}
		var prev yaml.Node
		if yaml.Unmarshal(bytes.Join(lines[:k-1], nil), &prev) == nil {
			if p := lastPathBefore(&prev, k); p != "" {
				fe.Msg = "after " + p + ": " + fe.Msg
			}
		}
		if indentationError(fe.Msg) {
			fe.Msg += " (check this line's indentation)"
		}
		fe.Line = k
		break
	}
	return fe
}

// indentationError tells the messages of a line indented wrongly.
func indentationError(msg string) bool {
	for _, m := range []string{"did not find expected '-' indicator", "did not find expected key", "mapping values are not allowed", "violates indentation"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// findPath returns the path ("outputs[0].buffer.max_bytes") of the first
// mapping value or sequence item for which match holds; key is the
// mapping key, or the item itself.
func findPath(root *yaml.Node, match func(key, value *yaml.Node) bool) string {
	var found string
	walkPaths(root, "", func(path string, k, v *yaml.Node) bool {
		if match(k, v) {
			found = path
			return true
		}
		return false
	})
	return found
}

// lastPathBefore returns the path of the last key or item on a line
// before line.
func lastPathBefore(root *yaml.Node, line int) string {
	var last string
	walkPaths(root, "", func(path string, k, _ *yaml.Node) bool {
		if k.Line < line {
			last = path
		}
		return false
	})
	return last
}

// walkPaths calls fn for every mapping value and sequence item under n, in
// document order, until fn returns true.
func walkPaths(n *yaml.Node, path string, fn func(path string, key, value *yaml.Node) bool) bool {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if walkPaths(c, path, fn) {
				return true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if fn(p, c, c) || walkPaths(c, p, fn) {
				return true
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if fn(p, k, v) || walkPaths(v, p, fn) {
				return true
			}
		}
	}
	return false
}
