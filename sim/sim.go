// Package sim provides the built-in tiles and their simulated backends:
// each answers its tile's content from the catalogue after a configurable
// latency (with an optional heavy tail) and fails with a configurable
// probability, so that Vitrine runs with no external service.
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"vitrine/catalogue"
	"vitrine/tiles"
)

// ErrSimulated is the error of a fetch that the simulator chose to fail.
var ErrSimulated = errors.New("backend unavailable (simulated failure)")

// Backend says how a simulated backend behaves.
type Backend struct {
	Latency time.Duration
	Fail    float64 // probability of failing: 0 never, 1 always
	// A heavy tail: a share TailRate of fetches take Tail instead of
	// Latency (0.01 for "p99=1s").
	Tail     time.Duration
	TailRate float64
	// Rand decides failures and tails; nil means math/rand/v2.
	Rand func() float64
}

// Simulated is a tiles.Fetcher serving a built-in tile's content.
type Simulated struct {
	def  Def
	cat  *catalogue.Catalogue
	b    Backend
	anon json.RawMessage // the content for everyone, encoded once
}

var (
	_ tiles.Fetcher   = (*Simulated)(nil)
	_ tiles.Describer = (*Simulated)(nil)
)

// New returns the simulated backend of def over cat.
func New(def Def, cat *catalogue.Catalogue, b Backend) (*Simulated, error) {
	if b.Rand == nil {
		b.Rand = rand.Float64
	}
	// Content that is the same for everyone is encoded once.
	anon, err := def.Content(cat, tiles.Request{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", def.Name, err)
	}
	return &Simulated{def: def, cat: cat, b: b, anon: anon}, nil
}

// Name returns the tile's name.
func (s *Simulated) Name() string { return s.def.Name }

// Describe says how the simulated backend behaves.
func (s *Simulated) Describe() tiles.Info {
	info := tiles.Info{Name: s.def.Name, Source: "simulator", Latency: s.b.Latency, FailRate: s.b.Fail,
		Personalised: s.def.Personalised}
	if s.b.Tail > 0 {
		info.Tail, info.TailRate = s.b.Tail, s.b.TailRate
	}
	return info
}

// Fetch waits the simulated latency, then returns the content or the
// simulated failure.
func (s *Simulated) Fetch(ctx context.Context, req tiles.Request) (tiles.Outcome, error) {
	if err := s.delay(ctx); err != nil {
		return tiles.Outcome{}, err
	}
	if !s.def.Personalised || req.User == "" {
		return tiles.Fresh(s.anon), nil
	}
	data, err := s.def.Content(s.cat, req)
	if err != nil {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", s.def.Name, err)
	}
	return tiles.Fresh(data), nil
}

// FetchItem is Fetch for one item of a collection (Def.Item): after the
// latency, the item key's content, or an ENOTFOUND *tiles.Error when the
// collection has no such item (or the tile is no collection).
func (s *Simulated) FetchItem(ctx context.Context, key string) (tiles.Outcome, error) {
	if err := s.delay(ctx); err != nil {
		return tiles.Outcome{}, err
	}
	if s.def.Item == nil {
		return tiles.Outcome{}, tiles.Errorf(tiles.ENOTFOUND, "%s has no items", s.def.Name)
	}
	data, err := s.def.Item(s.cat, key)
	if err != nil {
		return tiles.Outcome{}, fmt.Errorf("%s: %w", s.def.Name, err)
	}
	return tiles.Fresh(data), nil
}

// delay waits the simulated latency (or its tail), then fails as often as
// the backend is set to.
func (s *Simulated) delay(ctx context.Context) error {
	d := s.b.Latency
	if s.b.Tail > 0 && s.b.Rand() < s.b.TailRate {
		d = s.b.Tail
	}
	if err := tiles.Wait(ctx, d); err != nil {
		return fmt.Errorf("%s: %w", s.def.Name, err)
	}
	if s.b.Fail > 0 && s.b.Rand() < s.b.Fail {
		return fmt.Errorf("%s: %w", s.def.Name, ErrSimulated)
	}
	return nil
}

// Def defines a tile the simulator serves: its name, its default latency,
// and its content.
type Def struct {
	Name    string
	Latency time.Duration
	// Personalised tiles depend on Request.User (and are cached per user).
	Personalised bool
	// Content is the tile's data for req, a pure function of its inputs.
	Content func(c *catalogue.Catalogue, req tiles.Request) (json.RawMessage, error)
	// Item, when set, makes the tile a collection: Content is its index
	// (GET /NAME) and Item the data of the item key (GET /NAME/KEY, a key
	// being a catalogue.SlugPattern), an ENOTFOUND *tiles.Error when there
	// is no such item.
	Item func(c *catalogue.Catalogue, key string) (json.RawMessage, error)
}

// builtins lists the built-in tiles in page order.
var builtins = []Def{
	{Name: "banners", Latency: 40 * time.Millisecond, Content: banners},
	{Name: "products", Latency: 80 * time.Millisecond, Content: products},
	{Name: "recommendations", Latency: 120 * time.Millisecond, Personalised: true, Content: recommendations},
}

func banners(c *catalogue.Catalogue, _ tiles.Request) (json.RawMessage, error) {
	return json.Marshal(c.AllBanners())
}

func products(c *catalogue.Catalogue, _ tiles.Request) (json.RawMessage, error) {
	return json.Marshal(c.Featured())
}

func recommendations(c *catalogue.Catalogue, req tiles.Request) (json.RawMessage, error) {
	return json.Marshal(c.Recommend(req.User))
}

// Builtins returns the built-in tile definitions in page order.
func Builtins() []Def { return slices.Clone(builtins) }

// Names returns the names of the built-in tiles in page order.
func Names() []string {
	names := make([]string, len(builtins))
	for i, d := range builtins {
		names[i] = d.Name
	}
	return names
}

// Extra returns the tiles that `vitrine backends` serves besides the
// built-in ones, which a page gets from its configuration alone: a shop
// notice (examples/fourth-tile.yaml) and the category collection, for the
// category pages (/c/{slug} fetching /category/{slug}).
func Extra() []Def {
	return []Def{
		{Name: "notice", Latency: 30 * time.Millisecond, Content: notice},
		{Name: "category", Latency: 60 * time.Millisecond, Content: categories, Item: category},
	}
}

func categories(c *catalogue.Catalogue, _ tiles.Request) (json.RawMessage, error) {
	return json.Marshal(c.Categories())
}

// category is a category's page, or ENOTFOUND naming the categories there are.
func category(c *catalogue.Catalogue, slug string) (json.RawMessage, error) {
	page, ok := c.Category(slug)
	if !ok {
		var slugs []string
		for _, l := range c.Categories().Items {
			slugs = append(slugs, l.Slug)
		}
		return nil, tiles.Errorf(tiles.ENOTFOUND, "no category %q; the categories are %s",
			tiles.Clip(slug, 64), strings.Join(slugs, ", "))
	}
	return json.Marshal(page)
}

// notice is the shop's current notice.
func notice(*catalogue.Catalogue, tiles.Request) (json.RawMessage, error) {
	return json.Marshal(struct {
		Title string   `json:"title"`
		Text  string   `json:"text"`
		Until string   `json:"until"`
		Terms []string `json:"terms"`
	}{
		Title: "Free delivery this week",
		Text:  "Every order ships free until Sunday.",
		Until: "2026-12-06",
		Terms: []string{"Mainland addresses", "No minimum basket"},
	})
}
