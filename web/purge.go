package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"vitrine/httpjson"
	"vitrine/tiles"
)

// PurgeRequest is what POST /purge asks for: the entries that carry one of
// Tags, or those of Tile (one User's, if set, of a personalised tile), or
// both at once; Soft (the default) makes them stale, else they are dropped.
type PurgeRequest struct {
	Tags []string
	Tile string
	User string // a shopper's id: never logged nor answered
	Soft bool
}

// Purger carries out a purge on this replica and returns how many cached
// entries it marked. Its *tiles.Error (an unknown tile, a user of a tile not
// personalised) is the client's: a 400 with its message.
type Purger func(PurgeRequest) (int, error)

// maxPurgeBody bounds POST /purge's body: 32 tags of 128 bytes and a tile fit.
const maxPurgeBody = 16 << 10

// PurgeRoute serves POST /purge with purge:
// {"tags": ["T", ...]} or {"tile": "NAME", "user": "ID"}, and "soft":
// true|false (true unless given), answered {"marked": N}.
func PurgeRoute(purge Purger) AdminRoute {
	return AdminRoute{Path: "/purge", Handler: postOnly("/purge", func(w http.ResponseWriter, r *http.Request) {
		req, err := readPurge(w, r)
		var marked int
		if err == nil {
			marked, err = purge(req)
		}
		var te *tiles.Error
		switch {
		case errors.As(err, &te):
			httpjson.Error(w, r, http.StatusBadRequest, te.Message)
		case err != nil:
			httpjson.Error(w, r, http.StatusInternalServerError, "purge failed: "+err.Error())
		default:
			w.Header().Set("Cache-Control", "no-store")
			httpjson.Write(w, r, http.StatusOK, []byte(`{"marked":`+strconv.Itoa(marked)+"}\n"))
		}
	})}
}

// readPurge decodes and checks POST /purge's body; its errors are EINVALID.
func readPurge(w http.ResponseWriter, r *http.Request) (PurgeRequest, error) {
	var body struct {
		Tags []string `json:"tags"`
		Tile string   `json:"tile"`
		User string   `json:"user"`
		Soft *bool    `json:"soft"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPurgeBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return PurgeRequest{}, tiles.Errorf(tiles.EINVALID, "the body is not a purge: %s; send "+
			`{"tags": ["T", ...]} or {"tile": "NAME", "user": "ID"}, and "soft": true|false`, tiles.Clip(err.Error(), 200))
	}
	req := PurgeRequest{Tags: body.Tags, Tile: body.Tile, User: body.User, Soft: body.Soft == nil || *body.Soft}
	switch {
	case len(req.Tags) == 0 && req.Tile == "":
		return req, tiles.Errorf(tiles.EINVALID, `name what to purge: "tags" (1 to %d) or a "tile"`, tiles.MaxTags)
	case len(req.Tags) > tiles.MaxTags:
		return req, tiles.Errorf(tiles.EINVALID, "%d tags; a purge names at most %d", len(req.Tags), tiles.MaxTags)
	case req.User != "" && req.Tile == "":
		return req, tiles.Errorf(tiles.EINVALID, `"user" needs the "tile" whose entry of that user to purge`)
	}
	for _, tag := range req.Tags {
		if err := tiles.CheckTag(tag); err != nil {
			return req, tiles.Errorf(tiles.EINVALID, "tags: %v", err)
		}
	}
	if _, err := tiles.NewRequest(req.User); err != nil {
		return req, err
	}
	return req, nil
}
