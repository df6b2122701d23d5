// The Discoveries page: the user's weeks of picks and the trash from /api/discoveries, drawn again whenever the
// pipeline says a discovery changed; Keep, Hate and Restore send commands; the exclusion list is saved whole.
"use strict";

(() => {
  const root = document.getElementById("discoveries");
  if (!root) return;
  const user = root.dataset.user;
  const own = root.dataset.own === "1";
  const weeksEl = document.getElementById("discovery-weeks");
  const trashEl = document.getElementById("discovery-trash");
  const stateEl = document.getElementById("discoveries-state");
  const rulesEl = document.getElementById("discoveries-rules");
  const pausedEl = document.getElementById("discoveries-paused");
  const audio = document.getElementById("discovery-audio");
  const pending = new Map(); // track id → {action, was}: the button stays "requested" until the state changes

  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== ""));
    return node;
  };

  // "in 3 days", "in 5 hours", "in 12 minutes"
  function until(iso, now) {
    const s = (new Date(iso) - now) / 1000;
    if (s <= 60) return "any moment now";
    const unit = s >= 2 * 86400 ? [86400, "day"] : s >= 2 * 3600 ? [3600, "hour"] : [60, "minute"];
    const n = Math.round(s / unit[0]);
    return `in ${n} ${unit[1]}${n === 1 ? "" : "s"}`;
  }

  const day = (iso) => (iso ? new Date(iso).toLocaleDateString([], { dateStyle: "medium" }) : "");

  function status(p, now) {
    switch (p.state) {
      case "active": return p.expires_at ? `expires ${until(p.expires_at, now)} unless kept` : "waiting to be kept";
      case "kept": return `kept: ${p.detail || p.reason}`;
      case "restored": return "restored from the trash: kept";
      case "expired": return `in the trash (${p.detail || p.reason}), emptied ${until(p.purge_at, now)}`;
      case "purged": return p.reason === "removed"
        ? `gone: ${p.detail || "removed from the library by hand"} on ${day(p.state_at)}`
        : `gone: the trash was emptied of it on ${day(p.state_at)}`;
      default: return p.state;
    }
  }

  function button(label, action, p, extra = "") {
    const b = el("button", { type: "button", textContent: label, className: extra });
    b.dataset.discovery = action;
    b.dataset.trackId = p.track_id;
    b.dataset.stream = p.stream_url;
    b.setAttribute("aria-label", `${label} ${p.title} by ${p.artist}`);
    if (pending.get(p.track_id)?.action === action) { b.disabled = true; b.textContent = `${label} requested…`; }
    return b;
  }

  function pickItem(p, now, inTrash) {
    const li = el("li", { className: `discovery s-${p.state}` });
    li.dataset.trackId = p.track_id;
    li.dataset.state = p.state;
    const cover = el("img", { className: "cover", src: p.cover_url, alt: "", width: 64, height: 64, loading: "lazy" });
    const times = p.plays || 1;
    const played = p.played ? `played ${times} time${times === 1 ? "" : "s"}` : "not played yet";
    const body = el("div", { className: "discovery-body" },
      el("div", {}, el("b", { textContent: p.title }), " · ", p.artist, p.album ? el("span", { className: "muted", textContent: ` · ${p.album}` }) : null),
      el("div", { className: "muted" },
        el("span", { className: "badge", textContent: p.source_label, title: "Why it was picked" }), " ",
        el("span", { className: "played", textContent: played }), " · ",
        el("span", { className: "expiry", textContent: status(p, now) }),
        p.hated ? el("span", { className: "reason", textContent: " · you hated it" }) : null),
    );
    const actions = el("div", { className: "discovery-actions" });
    if (!inTrash && !["expired", "purged"].includes(p.state)) actions.append(button("Preview", "preview", p, "link"));
    if (own && !inTrash && p.state === "active") actions.append(button("Keep", "keep", p));
    if (own && !inTrash && ["active", "kept", "restored"].includes(p.state)) actions.append(button("Hate", "hate", p, "danger"));
    if (own && inTrash) actions.append(button("Restore", "restore", p));
    li.append(cover, body, actions);
    return li;
  }

  function draw(d) {
    const now = new Date(d.now);
    const r = d.rules;
    rulesEl.textContent = r.enabled === false
      ? "Discoveries never expire here (turned off)."
      : `A pick is kept when you play it ${r.keep_plays}×, star it, rate it ${r.keep_rating} or more, love it on ListenBrainz or add it to a playlist; otherwise it expires after ${r.keep_for}, and the trash keeps it ${r.trash_for}.`
        + (r.disk_budget ? ` Unkept discoveries may use ${r.disk_budget}.` : "");
    const nd = d.navidrome;
    if (nd && !["synced", "builtin"].includes(nd.state)) {
      rulesEl.append(el("span", { className: "reason", textContent: ` Navidrome playlists: ${nd.detail || nd.state}.` }));
    }
    pausedEl.hidden = !d.paused;
    if (d.paused) pausedEl.replaceChildren(el("p", { textContent: `Recommendation runs are paused: ${d.paused.reason}` }));
    const states = new Map(d.weeks.flatMap((w) => w.picks).map((p) => [p.track_id, p.state]));
    for (const [id, asked] of pending) if (states.get(id) !== asked.was) pending.delete(id);
    stateEl.textContent = d.weeks.length ? "" : "No discoveries yet: they come with the next recommendation run.";
    weeksEl.replaceChildren(...d.weeks.map((w, i) => {
      const section = el("section", { className: "discovery-week" });
      section.dataset.week = w.week;
      const title = el("h2", { id: `week-${w.week}`, textContent: `${i === 0 ? "This week" : "Week"} ${w.week}` });
      const note = el("p", { className: "muted", textContent: `Playlist “${w.playlist}” in your Subsonic apps · ${w.picks.length} pick${w.picks.length === 1 ? "" : "s"}` });
      const list = el("ol", { className: "discovery-list" });
      list.setAttribute("aria-labelledby", title.id);
      list.append(...w.picks.map((p) => pickItem(p, now, false)));
      section.append(title, note, list);
      return section;
    }));
    trashEl.replaceChildren(...(d.trash.length ? d.trash.map((p) => pickItem(p, now, true)) : [el("li", { className: "muted", textContent: "The trash is empty." })]));
    document.body.dataset.discoveriesReady = "1";
  }

  async function refresh() {
    try {
      draw(await api("GET", "/api/discoveries" + (own ? "" : `?user=${encodeURIComponent(user)}`)));
    } catch (e) { stateEl.textContent = e.message; }
  }

  document.addEventListener("click", async (ev) => {
    const b = ev.target.closest("[data-discovery]");
    if (!b) return;
    ev.preventDefault();
    const id = b.dataset.trackId;
    const action = b.dataset.discovery;
    if (action === "preview") {
      const li = b.closest("li");
      document.getElementById("discovery-preview").hidden = false;
      document.getElementById("discovery-preview-title").textContent = li.querySelector(".discovery-body b").textContent;
      audio.src = b.dataset.stream;  // the library's stream of it, signed in as this user (Navidrome's song id there)
      audio.play().catch((e) => toast(`Cannot play it: ${e.message}`));
      return;
    }
    if (action === "hate" && !confirm("Hate it? It leaves the library now and is never recommended again.")) return;
    try {
      const r = await api("POST", `/api/discoveries/${encodeURIComponent(id)}/${action}`);
      pending.set(id, { action, was: r.was });
      b.disabled = true; b.textContent = `${b.textContent} requested…`;
      toast({ keep: "Keep requested", hate: "Hated: it goes to the trash", restore: "Restore requested" }[action]);
    } catch (e) { toast(e.message); }
  });

  const form = document.getElementById("excluded-form");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const err = form.querySelector("[data-error]");
      err.textContent = "";
      const artists = form.artists.value.split("\n").map((a) => a.trim()).filter(Boolean);
      try {
        const saved = await api("PUT", "/api/discoveries/excluded-artists", { artists });
        form.artists.value = saved.artists.join("\n");
        toast(`Saved: ${saved.artists.length} artist${saved.artists.length === 1 ? "" : "s"} left out of the next runs`);
      } catch (e) { err.textContent = e.message; }
    });
  }

  // the pipeline's feed: a discovery decision draws the page again
  const source = new EventSource("/api/events");
  source.addEventListener("pipeline", (ev) => {
    const item = JSON.parse(ev.data);
    if (item.subject && item.subject.startsWith("library.discovery.")) refresh();
  });
  refresh();
})();
