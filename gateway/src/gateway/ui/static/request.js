// Request by choosing: MusicBrainz candidates for the artist and title typed (asked of resolve-svc through
// /api/requests/candidates), each with its release, year and length; picking one requests that recording.
"use strict";

(() => {
  const find = document.getElementById("find-candidates");
  if (!find) return;
  const form = document.getElementById("request-form");
  const list = document.getElementById("candidates");
  const status = document.getElementById("candidates-status");
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const clock = (ms) => {
    const s = Math.round(ms / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };

  async function choose(c) {
    const resp = await fetch("/api/requests", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ recording_mbid: c.recording_mbid, artist: c.artist, title: c.title }),
    });
    const body = await resp.json().catch(() => ({}));
    if (resp.ok) { location.href = "/tracks/" + body.track_id; return; }
    if (resp.status === 409 && body.existing) { location.href = "/tracks/" + body.existing.track_id; return; }
    status.textContent = body.detail || resp.statusText;
  }

  function row(c) {
    const li = document.createElement("li");
    li.className = "candidate";
    const name = document.createElement("b");
    name.textContent = `${c.title} · ${c.artist}`;
    const facts = document.createElement("span");
    facts.className = "muted";
    const bits = [c.release, c.year, c.length_ms ? clock(c.length_ms) : null, c.disambiguation].filter(Boolean);
    facts.textContent = bits.length ? ` — ${bits.join(" · ")}` : "";
    const pick = document.createElement("button");
    pick.type = "button";
    pick.textContent = "Request this";
    pick.addEventListener("click", () => choose(c).catch((e) => { status.textContent = e.message; }));
    li.append(name, facts, " ", pick);
    return li;
  }

  find.addEventListener("click", async () => {
    const artist = form.elements.artist.value.trim();
    const title = form.elements.title.value.trim();
    list.replaceChildren();
    if (!artist || !title) { status.textContent = "Type an artist and a title first."; return; }
    status.textContent = "Asking MusicBrainz…";
    try {
      const resp = await fetch(`/api/requests/candidates?${new URLSearchParams({ artist, title })}`, { credentials: "same-origin" });
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) { status.textContent = body.detail || resp.statusText; return; }
      if (body.unavailable) { status.textContent = body.unavailable; return; }
      status.textContent = body.candidates.length ? `${body.candidates.length} recordings: pick one` : "MusicBrainz knows no such recording.";
      list.replaceChildren(...body.candidates.map(row));
    } catch (e) { status.textContent = e.message; }
  });
})();
