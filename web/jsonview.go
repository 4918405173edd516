package web

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"vitrine/tiles"
)

// The generic view draws any JSON: objects as definition lists (keys in
// the backend's order), arrays as lists, scalars as text and http(s) URLs
// as links, escaped by html/template, within a budget, showing where it
// was cut.
const (
	viewMaxDepth = 6   // containers nested deeper are not opened
	viewMaxNodes = 400 // JSON tokens read per tile, skipped ones included
	viewMaxText  = 400 // bytes of a string shown
)

// jsonNode is one value of the generic view.
type jsonNode struct {
	Kind   string // object, array, string, link, number, bool, null, deep
	Text   string // a scalar's text
	Fields []jsonField
	Items  []jsonNode
	Cut    bool // the view stopped reading inside this container
}

type jsonField struct {
	Key   string
	Value jsonNode
}

// jsonView reads raw into the generic view's tree; data that is not JSON
// shows as its text.
func jsonView(raw json.RawMessage) jsonNode {
	if len(raw) == 0 {
		return jsonNode{Kind: "null", Text: "null"} // an ok tile may have no data (a 204)
	}
	w := jsonWalker{dec: json.NewDecoder(bytes.NewReader(raw)), left: viewMaxNodes}
	w.dec.UseNumber() // numbers as the backend wrote them
	n, err := w.value(0)
	if err != nil {
		return jsonNode{Kind: "string", Text: tiles.Clip(string(raw), viewMaxText)}
	}
	return n
}

// jsonWalker reads a JSON value token by token, within its budget.
type jsonWalker struct {
	dec     *json.Decoder
	left    int  // tokens left to read
	stopped bool // the budget ran out: the decoder is left mid-value
}

func (w *jsonWalker) value(depth int) (jsonNode, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return jsonNode{}, err
	}
	w.left--
	switch v := tok.(type) {
	case json.Delim:
		if depth >= viewMaxDepth {
			return jsonNode{Kind: "deep", Text: "(nested deeper than shown)"}, w.skip()
		}
		return w.container(v == '{', depth)
	case string:
		return stringNode(v), nil
	case json.Number:
		return jsonNode{Kind: "number", Text: v.String()}, nil
	case bool:
		return jsonNode{Kind: "bool", Text: strconv.FormatBool(v)}, nil
	}
	return jsonNode{Kind: "null", Text: "null"}, nil
}

// container reads the members of an object or an array whose opening
// token has been read, up to its end or the budget's.
func (w *jsonWalker) container(object bool, depth int) (jsonNode, error) {
	n := jsonNode{Kind: "array"}
	if object {
		n.Kind = "object"
	}
	for !w.stopped && w.dec.More() {
		if w.left <= 0 {
			w.stopped = true
			break
		}
		var key string
		if object {
			tok, err := w.dec.Token()
			if err != nil {
				return n, err
			}
			key, _ = tok.(string)
			key = tiles.Clip(key, viewMaxText)
		}
		v, err := w.value(depth + 1)
		if err != nil {
			return n, err
		}
		if object {
			n.Fields = append(n.Fields, jsonField{Key: key, Value: v})
		} else {
			n.Items = append(n.Items, v)
		}
	}
	if w.stopped {
		n.Cut = true
		return n, nil
	}
	_, err := w.dec.Token() // the closing delimiter
	return n, err
}

// skip reads past the container whose opening token has been read,
// within the budget.
func (w *jsonWalker) skip() error {
	for open := 1; open > 0; {
		if w.left <= 0 {
			w.stopped = true
			return nil
		}
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		w.left--
		switch tok {
		case json.Delim('{'), json.Delim('['):
			open++
		case json.Delim('}'), json.Delim(']'):
			open--
		}
	}
	return nil
}

// stringNode is a string, clipped, and a link if it is a whole http(s) URL.
func stringNode(s string) jsonNode {
	clipped := tiles.Clip(s, viewMaxText)
	if clipped == s && (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			return jsonNode{Kind: "link", Text: s}
		}
	}
	return jsonNode{Kind: "string", Text: clipped}
}
