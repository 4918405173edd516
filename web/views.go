package web

import (
	"fmt"
	"slices"
	"strings"
)

// The views the HTML page can draw a tile with (Options.Views): the three
// built-in tiles' own, a generic view of any JSON (jsonview.go), and an
// HTML fragment from a trusted backend.
const (
	ViewBanners         = "banners"
	ViewProducts        = "products"
	ViewRecommendations = "recommendations"
	ViewJSON            = "json"
	ViewHTML            = "html"
)

// ViewNames lists every view Options.Views may name.
func ViewNames() []string {
	return []string{ViewBanners, ViewProducts, ViewRecommendations, ViewJSON, ViewHTML}
}

// viewOf is the view a tile is drawn with: the one views gives it, else
// its own name's if that is a built-in view, else the generic one.
func viewOf(views map[string]string, name string) string {
	if v, ok := views[name]; ok && slices.Contains(ViewNames(), v) {
		return v
	}
	switch name {
	case ViewBanners, ViewProducts, ViewRecommendations:
		return name
	}
	return ViewJSON
}

// Check reports an option that does not fit a page of the tiles named
// names: a primary tile or a view for a tile not on the page, or a view
// that does not exist. NewServer panics on such options.
func (o Options) Check(names []string) error {
	if o.Primary != "" && !slices.Contains(names, o.Primary) {
		return fmt.Errorf("web: the primary tile %q is not on the page (tiles: %s)", o.Primary, strings.Join(names, ", "))
	}
	for name, v := range o.Views {
		if !slices.Contains(names, name) {
			return fmt.Errorf("web: a view for %q, which is not on the page (tiles: %s)", name, strings.Join(names, ", "))
		}
		if !slices.Contains(ViewNames(), v) {
			return fmt.Errorf("web: tile %q: no view %q; views: %s", name, v, strings.Join(ViewNames(), ", "))
		}
	}
	return nil
}
