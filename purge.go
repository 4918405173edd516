package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"vitrine/config"
	"vitrine/resilience"
	"vitrine/tiles"
	"vitrine/web"
)

// purger purges the current tiles' memory caches on this replica
// (web.Purger): all of them by tags, or one by name (and one user's entries
// of a personalised tile). It logs and counts each purge, never the user.
// With the shared tier it records the purge in purges and publishes it.
func (a *app) purger(current func() []*resilience.Tile) web.Purger {
	return func(r web.PurgeRequest) (int, error) {
		wrapped := current()
		// In whole milliseconds, as replicas tell it each other, rounded up:
		// an entry stored earlier in this millisecond is purged too.
		before := time.UnixMilli(time.Now().UnixMilli() + 1)
		p, targets := resilience.Purge{Tags: r.Tags, Soft: r.Soft, Before: before}, wrapped
		if r.Tile != "" {
			i := slices.IndexFunc(wrapped, func(t *resilience.Tile) bool { return t.Name() == r.Tile })
			if i < 0 {
				names := make([]string, len(wrapped))
				for j, t := range wrapped {
					names[j] = t.Name()
				}
				return 0, tiles.Errorf(tiles.EINVALID, "no tile %q (the tiles: %s)", tiles.Clip(r.Tile, 32),
					strings.Join(names, ", "))
			}
			targets = wrapped[i : i+1]
			if r.User != "" {
				var ok bool
				if p.Key, ok = targets[0].UserKey(r.User); !ok {
					return 0, tiles.Errorf(tiles.EINVALID, "tile %s is not personalised: it has no entries per user", r.Tile)
				}
			}
		}
		marked := 0
		for _, t := range targets {
			marked += t.Purge(p)
		}
		a.m.Purged(r.Soft, marked)
		a.logger.Info("purge", "tags", r.Tags, "tile", r.Tile, "one_user", r.User != "", "soft", r.Soft,
			"marked", marked)
		if a.shared != nil {
			rec := resilience.PurgeRecord{Purge: p, Tile: r.Tile}
			a.purges.Add(rec)
			if err := a.shared.Publish(context.Background(), rec); err != nil {
				a.logger.Warn("purge not sent to the other replicas yet", "err", err)
			}
		}
		return marked, nil
	}
}

// followPurges applies the purges other replicas publish until stop is
// called, and returns once it has read those Redis holds (or a second has
// passed), so that this replica serves no entry they purged.
func (a *app) followPurges(ctx context.Context, current func() []*resilience.Tile) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done, caught := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		a.shared.Follow(ctx, func(r resilience.PurgeRecord, live bool) {
			a.purges.Add(r)
			marked := 0
			for _, t := range current() {
				if r.Tile == "" || r.Tile == t.Name() {
					marked += t.Purge(r.Purge)
				}
			}
			if live {
				a.m.PurgeReceived(r.Soft, marked, time.Since(r.Before))
			}
		}, func() { close(caught) })
	}()
	select {
	case <-caught:
	case <-time.After(time.Second):
		a.logger.Warn("redis: the purges of other replicas not read yet; read on in the background")
	}
	return func() { cancel(); <-done }
}

// purgeArgs are `vitrine purge`'s flags.
type purgeArgs struct {
	admin, tile, user string
	tags              []string
	soft              bool
}

func (a *purgeArgs) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("vitrine purge", flag.ContinueOnError)
	fs.StringVar(&a.admin, "admin", "", "the operator port's base `URL` (-admin-addr), e.g. http://127.0.0.1:9090")
	fs.Func("tag", "purge the entries that carry this `tag` (repeat for more)", func(s string) error {
		a.tags = append(a.tags, s)
		return tiles.CheckTag(s)
	})
	fs.StringVar(&a.tile, "tile", "", "purge this tile's entries (with -tag, those that carry the tags)")
	fs.StringVar(&a.user, "user", "", "with -tile, only this shopper's entries of a personalised tile")
	fs.BoolVar(&a.soft, "soft", true, "serve the entries stale while one fetch refreshes each; -soft=false drops them")
	return fs
}

// runPurge asks a running Vitrine's operator port to purge (`vitrine
// purge`) and prints its answer, {"marked":N}; an answer other than 2xx is
// the error, in the server's words.
func runPurge(ctx context.Context, args []string, _ func(string) string, stdout, _ io.Writer) error {
	var a purgeArgs
	fs := a.flags()
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return config.ErrHelp
	} else if err != nil {
		return &config.Error{Flag: "purge", Msg: err.Error()}
	}
	u, err := url.Parse(a.admin)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return &config.Error{Flag: "-admin", Msg: "wants the operator port's base URL, e.g. http://127.0.0.1:9090"}
	case len(a.tags) == 0 && a.tile == "":
		return &config.Error{Flag: "purge", Msg: "name what to purge: -tag T (repeatable) or -tile NAME"}
	case a.user != "" && a.tile == "":
		return &config.Error{Flag: "-user", Msg: "needs -tile"}
	case fs.NArg() > 0:
		return &config.Error{Flag: "purge", Msg: fmt.Sprintf("unexpected argument %q", tiles.Clip(fs.Arg(0), 32))}
	}
	body, _ := json.Marshal(map[string]any{"tags": a.tags, "tile": a.tile, "user": a.user, "soft": a.soft})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u.JoinPath("purge").String(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("purge: reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(answer, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(answer))
		}
		return fmt.Errorf("purge: %s answered %d: %s", u.Host, resp.StatusCode, tiles.Clip(e.Error, 512))
	}
	_, err = stdout.Write(answer)
	return err
}

// purgeUsage writes `vitrine purge`'s usage to w.
func purgeUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: vitrine purge -admin URL -tag T [-tag T2] [-tile NAME [-user ID]] [-soft=false]\n\n"+
		"Asks a running Vitrine's operator port (-admin-addr) to purge the cached entries that carry the tags, or "+
		"a tile's, and prints how many it marked.\n\n")
	var a purgeArgs
	fs := a.flags()
	fs.SetOutput(w)
	fs.PrintDefaults()
}
