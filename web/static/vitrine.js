// Vitrine's only script. The server streams each tile after the page's
// layout, in the order the tiles finish; place() moves a tile into its fixed
// slot, so banners stay on top whatever order they arrive in. Without this
// script the tiles simply show in arrival order (see noscript.css).
//
// The page loads this script async, so that it never holds back the page
// shell: until it runs, a one-line stub in the page's head queues the
// place() calls of the tiles that arrive, and this script places them.
"use strict";
window.vitrine = (function (queued) {
  var started = performance.now();

  function announce(text) {
    var live = document.getElementById("announcer");
    if (!live) return;
    var p = document.createElement("p");
    p.textContent = text;
    live.appendChild(p);
  }

  function label(tile) {
    var h = tile.querySelector("h2");
    return h ? h.textContent.trim() : tile.dataset.tile;
  }

  // child is the child of the page's own container (a child of <body>)
  // that matches sel. A tile's HTML fragment is always nested inside its
  // tile and carries no data-tile or data-slot, so it can never be one.
  function child(container, sel) {
    var c = document.querySelector("body > " + container);
    return c && c.querySelector(":scope > " + sel);
  }

  // markCurrent marks the links of tile that lead to this very page (a
  // category among the category links) as the current page.
  function markCurrent(tile) {
    tile.querySelectorAll("nav a[href]").forEach(function (a) {
      if (a.pathname === location.pathname && a.origin === location.origin) a.setAttribute("aria-current", "page");
    });
  }

  // place moves the streamed element for name into its slot.
  function place(name) {
    var key = '"' + CSS.escape(name) + '"';
    var el = child("#stream", name === "timing" ? "#timing" : "[data-tile=" + key + "]");
    var slot = child("main#main", "[data-slot=" + key + "]");
    if (!el) return;
    el.dataset.placedMs = (performance.now() - started).toFixed(1);
    if (slot) slot.replaceWith(el);
    if (name === "timing") return;
    markCurrent(el);
    var status = el.dataset.status;
    announce(status === "ok" || status === "stale" || status === "fallback"
      ? label(el) + " loaded"
      : label(el) + " could not be loaded; a retry link is in its place");
  }

  // Retrying one tile fetches its HTML fragment and swaps it in. A retry
  // link that had the focus hands it on to the fresh tile (its own retry
  // link, or the tile itself), so that a keyboard user is not sent back to
  // the top of the page.
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-retry]");
    if (!link) return;
    ev.preventDefault();
    var focused = document.activeElement === link;
    var tile = link.closest("[data-tile]");
    tile.setAttribute("aria-busy", "true");
    link.textContent = "Loading…";
    fetch(link.href, { headers: { Accept: "text/html" } })
      .then(function (res) { return res.text(); })
      .then(function (html) {
        var tpl = document.createElement("template");
        tpl.innerHTML = html;
        var fresh = tpl.content.firstElementChild;
        if (!fresh || !fresh.hasAttribute("data-tile")) throw new Error("no tile in answer");
        tile.replaceWith(fresh);
        markCurrent(fresh);
        if (focused) {
          var again = fresh.querySelector("a[data-retry]");
          if (!again) fresh.tabIndex = -1; // focusable by script, not a Tab stop
          (again || fresh).focus();
        }
        announce(label(fresh) + (fresh.dataset.status === "ok" ? " loaded" : " could not be loaded"));
      })
      .catch(function () {
        tile.setAttribute("aria-busy", "false");
        link.textContent = "Try again";
        announce("Retry failed; please try again");
      });
  });

  queued.forEach(place);
  return { place: place };
})((window.vitrine && window.vitrine.q) || []);
