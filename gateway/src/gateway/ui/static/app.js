// BrainStream web UI: form submits through the REST API, the live feed over SSE. No dependencies.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

async function api(method, url, body) {
  const opts = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch(url, opts);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  if (!resp.ok) { const err = new Error((data && data.detail) || resp.statusText); err.status = resp.status; err.data = data; throw err; }
  return data;
}

function toast(msg) {
  const el = document.getElementById("toast");
  el.textContent = msg; el.style.display = "block";
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { el.style.display = "none"; }, 4000);
}

function formData(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else if (el.value.trim() !== "") out[el.name] = el.value.trim();
  }
  return out;
}

function onSubmit(id, handler) {
  const form = document.getElementById(id);
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = form.querySelector("[data-error]");
    if (err) err.textContent = "";
    try { await handler(form); } catch (e) { if (err) err.textContent = e.message; else toast(e.message); }
  });
}

onSubmit("login-form", async (form) => {
  await api("POST", form.dataset.api, formData(form));
  location.href = form.dataset.next;
});

onSubmit("request-form", async (form) => {
  try {
    const req = await api("POST", "/api/requests", formData(form));
    location.href = "/tracks/" + req.track_id;
  } catch (e) {
    if (e.status === 409 && e.data && e.data.existing) { location.href = "/tracks/" + e.data.existing.track_id; return; }
    throw e;
  }
});

onSubmit("rematch-form", async (form) => {
  await api("POST", `/api/tracks/${form.dataset.track}/retry`, formData(form));
  toast("Rematch requested");
});

onSubmit("token-form", async (form) => {
  const t = await api("POST", "/api/me/tokens", formData(form));
  document.getElementById("new-token").textContent = t.token;
});

onSubmit("settings-form", async (form) => {
  const d = formData(form);
  const body = {};
  for (const k of ["run_interval_s", "cf_ratio"]) if (k in d) body[k] = parseFloat(d[k]);
  if ("run_size" in d) body.run_size = parseInt(d.run_size, 10);
  if ("acquire_backends" in d) body.acquire_backends = d.acquire_backends.split(",").map((s) => s.trim()).filter(Boolean);
  if ("path_template" in d) body.path_template = d.path_template;
  body.tag_album_mbid = "tag_album_mbid" in d ? d.tag_album_mbid === "true" : null;
  body.navidrome_url = d.navidrome_url || null;
  body.navidrome_user = d.navidrome_user || null;
  if (d.navidrome_password) body.navidrome_password = d.navidrome_password; // left empty: the stored one stays
  await api("PUT", "/api/settings", body);
  toast("Saved: every service picks it up now");
});

onSubmit("user-form", async (form) => {
  const d = formData(form);
  const accounts = {};
  for (const k of ["listenbrainz_user", "listenbrainz_token", "lastfm_user", "spotify_client_id", "spotify_client_secret", "spotify_refresh_token"]) {
    if (k in d) { accounts[k] = d[k]; delete d[k]; }
  }
  await api("POST", "/api/users", { ...d, accounts });
  location.reload();
});

for (const form of document.querySelectorAll(".accounts-form")) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const err = form.querySelector("[data-error]");
    err.textContent = "";
    try {
      await api("PUT", `/api/users/${encodeURIComponent(form.dataset.user)}/accounts`, formData(form));
      toast("Accounts saved: ingest picks them up now");
    } catch (e) { err.textContent = e.message; }
  });
}

const actions = {
  async logout() { await api("POST", "/api/logout"); location.href = "/login"; },
  async retry(el) { await api("POST", `/api/tracks/${el.dataset.track}/retry`, {}); toast("Retry requested"); },
  async remove(el) { if (confirm("Remove this track from the library?")) { await api("DELETE", `/api/tracks/${el.dataset.track}`); toast("Removal requested"); } },
  async "start-run"() { await api("POST", "/api/runs", {}); toast("Run requested"); },
  async "show-password"() { const p = await api("GET", "/api/me/subsonic-password"); document.getElementById("subsonic-password").textContent = p.password; },
  async "rotate-password"() { if (confirm("Your Subsonic apps will need the new password.")) { const p = await api("POST", "/api/me/subsonic-password"); document.getElementById("subsonic-password").textContent = p.password; } },
  async "delete-user"(el) { if (confirm(`Delete ${el.dataset.user}?`)) { await api("DELETE", `/api/users/${el.dataset.user}`); location.reload(); } },
};

document.addEventListener("click", async (ev) => {
  const el = ev.target.closest("[data-action]");
  if (!el || !actions[el.dataset.action]) return;
  ev.preventDefault();
  try { await actions[el.dataset.action](el); } catch (e) { toast(e.message); }
});

// live feed ------------------------------------------------------------------------------------------------------
async function refreshCounts() {
  const counts = await api("GET", "/api/tracks/counts");
  for (const el of document.querySelectorAll("[data-count]")) el.textContent = counts[el.dataset.count] || 0;
}

async function refreshTrack(id) {
  const t = await api("GET", "/api/tracks/" + encodeURIComponent(id));
  const stateEl = document.getElementById("track-state");
  if (stateEl.textContent !== t.state && ["resolved", "tagged", "imported"].includes(t.state)) {
    const img = document.querySelector(".track img.cover");
    if (img) img.src = `/api/library/cover/${encodeURIComponent(id)}?at=${Date.now()}`;  // the cover may exist now
  }
  stateEl.textContent = t.state;
  document.getElementById("track-title").textContent = t.title || t.recording_mbid || "Waiting for the pipeline…";
  const credit = [t.artist, t.album].filter(Boolean).join(" · ");
  document.getElementById("track-credit").textContent = credit + (t.year ? ` (${t.year})` : "");
  document.getElementById("track-reason").textContent = t.failure_reason || "";
  document.getElementById("track-state").className = "badge s-" + t.state;
  const ol = document.getElementById("timeline");
  ol.replaceChildren(...t.timeline.map((e) => {
    const li = document.createElement("li");
    const time = document.createElement("time"); time.textContent = e.at.replace("T", " ").slice(0, 19);
    const b = document.createElement("b"); b.textContent = e.stage;
    const span = document.createElement("span"); span.className = "muted"; span.textContent = e.detail;
    li.append(time, " ", b, " ", span);
    return li;
  }));
}

async function refreshHealth() {
  const el = document.getElementById("health");
  if (!el) return;
  try {
    const h = await api("GET", "/api/health");
    el.replaceChildren(...Object.entries(h.services).map(([name, s]) => {
      const li = document.createElement("li");
      li.innerHTML = `<span></span>: <span class="status-${s.status}"></span>`;
      li.children[0].textContent = name; li.children[1].textContent = s.status;
      return li;
    }));
  } catch (e) { el.textContent = e.message; }
}

function live() {
  const feed = document.getElementById("feed");
  const track = document.querySelector("[data-track-id]");
  if (!feed && !track) return;
  const source = new EventSource("/api/events");  // reconnects by itself, sending Last-Event-ID
  const dot = document.getElementById("live-dot");
  source.onopen = () => {
    dot && dot.classList.add("on");
    // listening now: read the current state once, so nothing that happened before the page connected is missed
    if (track) refreshTrack(track.dataset.trackId).catch(() => {});
    if (feed) refreshCounts().catch(() => {});
  };
  source.onerror = () => dot && dot.classList.remove("on");
  source.addEventListener("reset", () => {
    // the feed could not replay everything missed while away: read the current state instead
    if (track) refreshTrack(track.dataset.trackId).catch(() => {});
    if (feed) {
      const li = document.createElement("li"); li.className = "muted"; li.textContent = "Older events are not shown";
      feed.prepend(li);
      refreshCounts().catch(() => {});
    }
  });
  source.addEventListener("pipeline", (ev) => {
    const item = JSON.parse(ev.data);
    if (feed) {
      const li = document.createElement("li");
      if (item.track_id) { const a = document.createElement("a"); a.href = "/tracks/" + item.track_id; a.textContent = item.summary; li.append(a); }
      else li.textContent = item.summary;
      feed.prepend(li);
      while (feed.children.length > 50) feed.lastChild.remove();
      refreshCounts().catch(() => {});
    }
    if (track && item.track_id === track.dataset.trackId) refreshTrack(item.track_id).catch(() => {});
  });
}

function forwardingForm() {
  const form = document.getElementById("forwarding-form");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("PUT", "/api/me/scrobbling", { listenbrainz: form.listenbrainz.checked, lastfm: form.lastfm.checked });
      toast("Saved: ingest applies it now");
    } catch (e) { toast(e.message); }
  });
}

async function playingNow() {
  const box = document.querySelector("[data-playing-now]");
  if (!box) return;
  const text = box.querySelector("[data-playing-now-text]");
  const tick = async () => {
    try {
      const resp = await fetch("/api/listens/now-playing", { headers: { accept: "application/json" } });
      if (!resp.ok) return;
      const body = await resp.json();
      box.hidden = !body.playing;
      if (body.playing) {
        text.textContent = `${body.playing.artist} – ${body.playing.title}` +
          (body.playing.release ? ` (${body.playing.release})` : "") + " · from ListenBrainz";
      }
    } catch (err) { /* offline for a moment: the next tick tries again */ }
  };
  await tick();
  setInterval(tick, 15000);
}

live();
refreshHealth();
playingNow();
forwardingForm();
