package sim_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"vitrine/catalogue"
	"vitrine/sim"
)

// TestExtraServed: the extra tiles are served like the built-in ones, as a
// JSON object with their content.
func TestExtraServed(t *testing.T) {
	cat := catalogue.Default()
	var sims []*sim.Simulated
	for _, def := range sim.Extra() {
		s, err := sim.New(def, cat, sim.Backend{})
		if err != nil {
			t.Fatal(err)
		}
		sims = append(sims, s)
	}
	if len(sims) == 0 || sims[0].Name() != "notice" {
		t.Fatalf("Extra: got %d tiles; want notice first", len(sims))
	}
	w := serve(sim.Handler(sims, nil), http.MethodGet, "/notice")
	var got struct{ Title, Text string }
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Title == "" || got.Text == "" {
		t.Errorf("GET /notice: %d %s; want 200 and a notice with a title and text", w.Code, w.Body)
	}
}
