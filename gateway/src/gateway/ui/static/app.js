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
  if (!resp.ok) {
    // a validation error names the field and the reason in `extra` (a refused path template says why)
    const reasons = Array.isArray(data?.extra) ? data.extra.map((e) => e.message).filter(Boolean).join("; ") : "";
    const detail = (data && data.detail) || resp.statusText;
    const err = new Error(reasons ? `${detail}: ${reasons}` : detail); err.status = resp.status; err.data = data; throw err;
  }
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

// the form shows the values in force; only what was changed is sent, so an untouched field stays the service's own
const changed = (el) => (el.tagName === "SELECT" ? [...el.options].some((o) => o.selected !== o.defaultSelected) : el.value !== el.defaultValue);

function settingValue(name, v) {
  if (name === "run_interval_s" || name === "cf_ratio") return parseFloat(v);
  if (name === "run_size") return parseInt(v, 10);
  if (name === "acquire_backends") return v.split(",").map((s) => s.trim()).filter(Boolean);
  if (name === "tag_album_mbid") return v === "true";
  if (name === "stream_defaults") {
    // one rule a line: user client format kbps ("-" for the source's format, 0 for no limit)
    return v.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
      const [user, client, format, kbps] = line.split(/\s+/);
      return { user, client: client || "*", format: !format || format === "-" ? null : format, max_bitrate: parseInt(kbps || "0", 10) || 0 };
    });
  }
  return v;
}

onSubmit("settings-form", async (form) => {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || !changed(el)) continue;
    const v = el.value.trim();
    if (el.name === "navidrome_password") { if (v) body.navidrome_password = v; continue; } // empty: the stored one stays
    body[el.name] = v === "" ? null : settingValue(el.name, v);
  }
  if (!Object.keys(body).length) { toast("Nothing changed"); return; }
  const saved = await api("PUT", "/api/settings", body);
  for (const el of form.elements) {
    if (el.tagName === "SELECT") for (const o of el.options) o.defaultSelected = o.selected;
    else if (el.name && el.type !== "password") el.defaultValue = el.value;
  }
  toast("Saved: every service picks it up now" + (saved.path_preview ? `. A track goes to ${saved.path_preview}` : ""));
});

onSubmit("sonos-form", async (form) => {
  const d = formData(form);
  const list = (v) => (v || "").split(",").map((x) => x.trim()).filter(Boolean);
  const users = {};
  for (const pair of list(d.sonos_users)) {
    const at = pair.lastIndexOf("=");
    if (at < 1) throw new Error(`"${pair}": write room=user`);
    users[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  await api("PUT", "/api/settings", {
    sonos_speakers: list(d.sonos_speakers).length ? list(d.sonos_speakers) : null,
    sonos_discover: "sonos_discover" in d ? d.sonos_discover === "true" : null,
    sonos_interval_s: d.sonos_interval_s ? parseFloat(d.sonos_interval_s) : null,
    sonos_users: Object.keys(users).length ? users : null,
    sonos_default_user: d.sonos_default_user || null,
  });
  toast("Saved: the speakers are polled with it now");
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
      const u = await api("PUT", `/api/users/${encodeURIComponent(form.dataset.user)}/accounts`, formData(form));
      const cell = document.querySelector(`[data-accounts-of="${CSS.escape(form.dataset.user)}"]`);
      if (cell) cell.textContent = `LB: ${u.listenbrainz_user || "—"} · Last.fm: ${u.lastfm_user || "—"} · Spotify: ${u.has_spotify_secret ? "yes" : "—"} · Navidrome: ${u.navidrome_user || "—"}`;
      for (const el of form.querySelectorAll("input[type=password]")) el.value = "";
      toast("Accounts saved: ingest picks them up now");
    } catch (e) { err.textContent = e.message; }
  });
}

const actions = {
  async logout() { await api("POST", "/api/logout"); location.href = "/login"; },
  async retry(el) {
    const r = await api("POST", `/api/tracks/${el.dataset.track}/retry`, {});
    el.hidden = true;
    toast(r.action === "redriven" ? "Retrying: the dead letter is back on its way" : "Retry requested");
  },
  async remove(el) { if (confirm("Remove this track from the library?")) { await api("DELETE", `/api/tracks/${el.dataset.track}`); toast("Removal requested"); } },
  async "start-run"() { await api("POST", "/api/runs", {}); toast("Run requested: it shows under Last runs"); },
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

// Last runs: drawn again when a run starts, completes or fails, so a requested run shows how it ended
async function refreshRuns() {
  const body = document.getElementById("runs");
  if (!body) return;
  const rec = await api("GET", "/api/recommendations");
  body.replaceChildren(...rec.runs.slice(0, 5).map((r) => {
    const tr = document.createElement("tr"); tr.className = "run";
    const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
    const when = r.started_at || r.completed_at;
    const outcome = r.outcome || (r.completed_at ? "done" : "running");
    const state = document.createElement("td");
    const badge = document.createElement("span"); badge.className = "badge s-" + (r.outcome || "running"); badge.textContent = outcome;
    state.append(badge);
    if (r.reason) { const why = document.createElement("div"); why.className = "reason"; why.textContent = r.reason; state.append(why); }
    tr.append(cell(when ? new Date(when).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : ""), cell(r.user || ""), cell(`${r.candidates} candidates`), state);
    return tr;
  }));
  document.getElementById("no-runs")?.remove();
}

async function refreshTrack(id) {
  const t = await api("GET", "/api/tracks/" + encodeURIComponent(id));
  const stateEl = document.getElementById("track-state");
  const img = document.querySelector(".track img.cover");
  if (img && (!img.getAttribute("src") || (stateEl.textContent !== t.state && ["resolved", "tagged", "imported"].includes(t.state)))) {
    img.src = `/api/library/cover/${encodeURIComponent(id)}?at=${Date.now()}`;  // the cover may exist now
    img.hidden = false;
  }
  stateEl.textContent = t.state;
  const unnamed = t.state === "failed" ? "Not identified" : "Waiting for the pipeline…";  // the reason says why
  document.getElementById("track-title").textContent = t.title || t.recording_mbid || unnamed;
  const credit = [t.artist, t.album].filter(Boolean).join(" · ");
  document.getElementById("track-credit").textContent = credit + (t.year ? ` (${t.year})` : "");
  document.getElementById("track-reason").textContent = t.failure_reason || (t.retry ? t.retry.error || "" : "");
  document.getElementById("track-state").className = "badge s-" + t.state;
  const retryEl = document.getElementById("track-retry");
  retryEl.hidden = !t.retry;
  if (t.retry) {
    const r = t.retry;
    retryEl.textContent = (r.attempt ? `${r.stage}: attempt ${r.attempt} of ${r.limit} failed` : "re-driven from the dead letters")
      + (r.next_attempt_at ? `; next attempt at ${clock(r.next_attempt_at, true)}` : "");
  }
  document.getElementById("track-retry-button").hidden = !["failed", "skipped", "removed"].includes(t.state);
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

// a time of day in this browser's zone: "21:03"
function clock(iso, seconds) {
  const opts = { hour: "2-digit", minute: "2-digit", hour12: false };
  if (seconds) opts.second = "2-digit";
  return new Date(iso).toLocaleTimeString([], opts);
}

function showBanner(h) {
  const el = document.getElementById("banner");
  if (!el) return;
  const lines = (h.degraded || []).map((d) => {
    const since = d.since ? ` since ${clock(d.since)}` : "";
    const waiting = d.waiting ? `, ${d.waiting} track${d.waiting === 1 ? "" : "s"} waiting` : "";
    return `${d.name} ${d.short || "failing"}${since}${waiting}`;
  });
  el.replaceChildren(...lines.map((text) => { const p = document.createElement("p"); p.textContent = text; return p; }));
  el.hidden = !lines.length;
}

// every external service the stack used: ok with its last answer, or failing since when and why
function showUpstreams(h) {
  const ul = document.getElementById("upstreams");
  if (!ul) return;
  const entries = Object.values(h.upstreams || {});
  if (!entries.length) { ul.replaceChildren(Object.assign(document.createElement("li"), { textContent: "None used yet." })); return; }
  ul.replaceChildren(...entries.map((u) => {
    const li = document.createElement("li");
    const name = document.createElement("span"); name.textContent = u.name + ": ";
    const state = document.createElement("span");
    if (u.failing_since) {
      state.className = u.degraded ? "status-degraded" : "status-unhealthy";
      state.textContent = `${u.short || "failing"} since ${clock(u.failing_since)} (${u.reason})`;
    } else if (u.last_success) {
      state.className = "status-ok"; state.textContent = `ok, last answer ${clock(u.last_success)}`;
    } else { state.textContent = "not asked yet"; }
    li.append(name, state);
    return li;
  }));
}

async function refreshHealth() {
  const el = document.getElementById("health");
  if (!el && !document.getElementById("banner")) return;
  let h;
  try { h = await api("GET", "/api/health"); } catch (e) { if (el) el.textContent = e.message; return; }
  showBanner(h);
  showUpstreams(h);
  if (!el) return;
  {
    el.replaceChildren(...Object.entries(h.services).map(([name, s]) => {
      const li = document.createElement("li");
      li.innerHTML = `<span></span>: <span class="status-${s.status}"></span>`;
      li.children[0].textContent = name; li.children[1].textContent = s.status;
      return li;
    }));
  }
}

// Sonos speakers: ingest-svc's last poll of each, read through /api/sonos
async function refreshSpeakers() {
  const body = document.getElementById("speakers");
  if (!body) return;
  const note = document.getElementById("speakers-note");
  try {
    const s = await api("GET", "/api/sonos");
    note.textContent = s.poll_error || s.note || (s.last_poll ? `Last poll ${s.last_poll.replace("T", " ").slice(0, 19)}` : "");
    if (!s.speakers.length) { body.replaceChildren(); return; }
    body.replaceChildren(...s.speakers.map((sp) => {
      const tr = document.createElement("tr");
      tr.dataset.speaker = sp.address;
      const playing = [sp.artist, sp.title].filter(Boolean).join(" – ") || sp.station || "";
      const where = sp.group ? `${sp.room || sp.address} (with ${sp.group})` : (sp.room || sp.address);
      const cells = [where, sp.status === "ok" ? (sp.state || "").toLowerCase().replace("_playback", "") : sp.status,
        playing, sp.service || "", (sp.last_poll || "").replace("T", " ").slice(11, 19)];
      for (const [i, text] of cells.entries()) {
        const td = document.createElement("td"); td.textContent = text;
        if (i === 1) td.className = "status-" + (sp.status === "ok" ? "ok" : "degraded");
        if (i === 4 && sp.error) td.title = `${sp.error}; last success ${sp.last_success || "never"}`;
        tr.append(td);
      }
      return tr;
    }));
  } catch (e) { note.textContent = e.message; }
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
      if (item.subject && item.subject.startsWith("ingest.run.")) refreshRuns().catch(() => {});
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
refreshSpeakers();
if (document.getElementById("speakers")) setInterval(() => refreshSpeakers().catch(() => {}), 10000);
setInterval(() => refreshHealth().catch(() => {}), 15000);
playingNow();
forwardingForm();
