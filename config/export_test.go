package config

// ParseList parses "name=value,name=value" into a map, as a list flag
// does: each name one of known and given once, each value by parse.
func ParseList[T any](s string, known []string, parse func(string) (T, error)) (map[string]T, error) {
	out := map[string]T{}
	err := eachPair(s, known, func(name, value string) (err error) {
		out[name], err = parse(value)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
