package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Load reads, defaults and validates the configuration in file.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(file, data)
}

// Parse decodes, defaults and validates a configuration. name is used in
// error messages. The returned error is an Errors listing every problem
// with its line, or an I/O or syntax error.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErrors(name, &root, err)
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: name, Msg: "empty configuration"}}
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var all Errors
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		// A TypeError leaves the rest decoded: go on and report the
		// field errors too, so one run shows every problem.
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, yamlErrors(name, &root, err)
		}
		all = append(all, yamlErrors(name, &root, err)...)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		var es Errors
		if !errors.As(err, &es) {
			return nil, err
		}
		for i := range es {
			es[i].File = name
			es[i].Line = lineOf(&root, es[i].Path)
		}
		all = append(all, es...)
	}
	if len(all) > 0 {
		sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
		return nil, all
	}
	return &c, nil
}

// Marshal renders the configuration as YAML.
func (c *Config) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

var (
	lineRe    = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownRe = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// yamlErrors turns the decoder's "line N: ..." messages into FieldErrors
// that name the file and, for unknown keys, the field's path.
func yamlErrors(name string, root *yaml.Node, err error) Errors {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var es Errors
	for _, m := range msgs {
		fe := FieldError{File: name, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := lineRe.FindStringSubmatch(m); sm != nil {
			fe.Line, _ = strconv.Atoi(sm[1])
			fe.Msg = sm[2]
			if um := unknownRe.FindStringSubmatch(sm[2]); um != nil {
				fe.Path = pathOfKey(root, fe.Line, um[1])
				fe.Msg = fmt.Sprintf("unknown key %q", um[1])
			}
		}
		es = append(es, fe)
	}
	return es
}

// lineOf finds the line of the node at path ("outputs[1].buffer.max_bytes"),
// or of its nearest existing ancestor.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, seg := range splitPath(path) {
		next := child(n, seg)
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return line
}

func splitPath(path string) []string {
	var segs []string
	for _, part := range strings.Split(path, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			if i < 0 {
				segs = append(segs, part)
				break
			}
			if i > 0 {
				segs = append(segs, part[:i])
			}
			j := strings.IndexByte(part, ']')
			if j < i {
				break
			}
			segs = append(segs, part[i:j+1])
			part = part[j+1:]
		}
	}
	return segs
}

func child(n *yaml.Node, seg string) *yaml.Node {
	if strings.HasPrefix(seg, "[") {
		i, err := strconv.Atoi(strings.Trim(seg, "[]"))
		if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
			return nil
		}
		return n.Content[i]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == seg {
			// Point at the key: the value of a nested map starts a line later.
			v := n.Content[i+1]
			if v.Kind == yaml.ScalarNode {
				return v
			}
			c := *v
			c.Line = n.Content[i].Line
			return &c
		}
	}
	return nil
}

// pathOfKey finds the path of the mapping key named key on line.
func pathOfKey(root *yaml.Node, line int, key string) string {
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if p := walk(c, fmt.Sprintf("%s[%d]", path, i)); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				kp := k.Value
				if path != "" {
					kp = path + "." + k.Value
				}
				if k.Line == line && k.Value == key {
					return kp
				}
				if p := walk(n.Content[i+1], kp); p != "" {
					return p
				}
			}
		}
		return ""
	}
	return walk(root, "")
}
