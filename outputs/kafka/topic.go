package kafka

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"pulse/protocol"
)

// maxTopicLen is Kafka's limit on a topic name.
const maxTopicLen = 249

// maxInterned bounds the distinct topic names a template keeps as strings:
// past it, each record's name is a string of its own.
const maxInterned = 4096

// TopicTemplate is a parsed Options.Topic: a fixed name, or literal parts
// and field names to fill per record.
type TopicTemplate struct {
	static   string      // the name when the template has no field; else ""
	parts    []topicPart // otherwise
	fallback string      // DefaultTopic

	mu       sync.Mutex
	interned map[string]string // names built so far, so a record's Topic costs no allocation
}

// topicPart is literal text, or the name of a field when field is true.
type topicPart struct {
	text  string
	field bool
}

// ParseTopic parses a topic template: {stream} becomes stream, any other
// {name} a field of each record. The literal parts must be legal in a topic
// name.
func ParseTopic(tmpl string, stream protocol.Stream) (*TopicTemplate, error) {
	if tmpl == "" {
		return nil, errors.New("topic must be set")
	}
	t := &TopicTemplate{}
	var lit strings.Builder
	for rest := tmpl; rest != ""; {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			lit.WriteString(rest)
			break
		}
		if rest[open] == '}' {
			return nil, fmt.Errorf("topic %q: '}' without '{'", tmpl)
		}
		lit.WriteString(rest[:open])
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] != '}' {
			return nil, fmt.Errorf("topic %q: '{' without '}'", tmpl)
		}
		name := rest[open+1 : open+1+end]
		rest = rest[open+2+end:]
		switch {
		case name == "":
			return nil, fmt.Errorf("topic %q: empty {}", tmpl)
		case name == "stream":
			lit.WriteString(string(stream))
			continue
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, topicPart{text: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, topicPart{text: name, field: true})
	}
	if len(t.parts) == 0 {
		if err := CheckTopicName(lit.String()); err != nil {
			return nil, err
		}
		t.static = lit.String()
		return t, nil
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, topicPart{text: lit.String()})
	}
	for _, p := range t.parts {
		if !p.field && !legalTopic([]byte(p.text)) {
			return nil, fmt.Errorf("topic %q: %q holds a character other than letters, digits, '.', '_' and '-'", tmpl, p.text)
		}
	}
	t.interned = map[string]string{}
	return t, nil
}

// Fixed returns the topic name when the template names no field, else "".
func (t *TopicTemplate) Fixed() string { return t.static }

// CheckTopicName reports whether name is a legal Kafka topic name.
func CheckTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed", name)
	case len(name) > maxTopicLen:
		return fmt.Errorf("topic name %q is longer than %d bytes", name, maxTopicLen)
	case !legalTopic([]byte(name)):
		return fmt.Errorf("topic name %q holds a character other than letters, digits, '.', '_' and '-'", name)
	}
	return nil
}

func legalTopic(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// render returns the topic of a record whose fields field looks up, and
// whether it is the fallback for want of a usable field value. scratch is
// working memory, returned grown.
func (t *TopicTemplate) render(field func(name string) ([]byte, bool), scratch []byte) (topic string, defaulted bool, _ []byte) {
	if t.static != "" {
		return t.static, false, scratch
	}
	b := scratch[:0]
	for _, p := range t.parts {
		if !p.field {
			b = append(b, p.text...)
			continue
		}
		v, ok := field(p.text)
		if !ok || len(v) == 0 || !legalTopic(v) {
			return t.fallback, true, b
		}
		b = append(b, v...)
	}
	if len(b) > maxTopicLen || string(b) == "." || string(b) == ".." {
		return t.fallback, true, b
	}
	return t.intern(b), false, b
}

func (t *TopicTemplate) intern(b []byte) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.interned[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(t.interned) < maxInterned {
		t.interned[s] = s
	}
	return s
}
