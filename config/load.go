package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
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
	return parse(name, data, (*Config).Validate)
}

// parse is Parse with the validation given: pulse api checks less of a
// file of its own (ParseAPI).
func parse(name string, data []byte, validate func(*Config) error) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErrors(name, data, &root, err)
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
			return nil, yamlErrors(name, data, &root, err)
		}
		all = append(all, yamlErrors(name, data, &root, err)...)
	}
	c.SetDefaults()
	if err := validate(&c); err != nil {
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
