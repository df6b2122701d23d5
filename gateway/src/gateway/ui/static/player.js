// The library's player: a queue of tracks played through /api/library/stream (the library's `stream`), with
// previous/next and the position shown; stars and ratings of the user, the same ones their Subsonic clients show.
"use strict";

(() => {
  const box = document.getElementById("player");
  if (!box) return;
  const audio = document.getElementById("player-audio");
  const title = document.getElementById("player-title");
  const position = document.getElementById("player-position");
  const seek = document.getElementById("player-seek");
  const list = document.getElementById("player-queue");
  const token = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  let queue = [];
  let at = -1;
  let scrobbled = false;

  const clock = (s) => {
    s = Math.max(0, Math.floor(s || 0));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  };
  const trackOf = (row) => ({
    id: row.dataset.libraryTrack,
    url: row.dataset.stream,
    title: row.dataset.title,
    artist: row.dataset.artist,
    duration: Number(row.dataset.duration) || 0,
  });

  function drawQueue() {
    list.replaceChildren(...queue.map((t, i) => {
      const li = document.createElement("li");
      li.textContent = t.artist ? `${t.title} · ${t.artist}` : t.title;
      li.dataset.index = String(i);
      if (i === at) li.className = "now";
      return li;
    }));
  }

  function play(index) {
    if (index < 0 || index >= queue.length) return;
    at = index;
    const t = queue[at];
    box.hidden = false;
    audio.src = t.url;
    scrobbled = false;
    scrobble(t, false);
    title.textContent = t.artist ? `${t.title} · ${t.artist}` : t.title;
    drawQueue();
    audio.play().catch((e) => { title.textContent = `Cannot play ${t.title}: ${e.message}`; });
  }

  function start(rows, from) {
    queue = rows.map(trackOf).filter((t) => t.url);
    play(from);
  }

  document.addEventListener("click", (ev) => {
    const one = ev.target.closest("[data-play]");
    if (one) {
      const rows = [...one.closest("tbody").querySelectorAll("tr[data-stream]")];
      start(rows, rows.indexOf(one.closest("tr")));
      return;
    }
    if (ev.target.closest("[data-play-all]")) {
      start([...document.querySelectorAll(".library-tracks tr[data-stream]")], 0);
      return;
    }
    const control = ev.target.closest("[data-player]");
    if (control) {
      const what = control.dataset.player;
      if (what === "next") play(at + 1);
      else if (what === "prev") play(audio.currentTime > 3 || at === 0 ? at : at - 1);
      else if (audio.paused) audio.play(); else audio.pause();
      return;
    }
    const item = ev.target.closest("#player-queue li");
    if (item) play(Number(item.dataset.index));
  });

  // a play counts as a listen after half the song or four minutes, whichever comes first (the ListenBrainz rule)
  function scrobble(t, submission) {
    fetch(`/api/library/items/${encodeURIComponent(t.id)}/scrobble`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token() },
      body: JSON.stringify({ submission }),
    }).catch(() => {});  // a lost now-playing or listen must not stop the music
  }

  audio.addEventListener("timeupdate", () => {
    const total = Number.isFinite(audio.duration) ? audio.duration : queue[at]?.duration || 0;
    if (!scrobbled && total > 0 && (audio.currentTime >= total / 2 || audio.currentTime >= 240)) {
      scrobbled = true;
      scrobble(queue[at], true);
    }
    position.textContent = `${clock(audio.currentTime)} / ${clock(total)}`;
    seek.max = String(Math.floor(total));
    seek.value = String(Math.floor(audio.currentTime));
  });
  audio.addEventListener("ended", () => play(at + 1));
  const toggle = document.getElementById("player-toggle");
  audio.addEventListener("play", () => { toggle.textContent = "Pause"; });
  audio.addEventListener("pause", () => { toggle.textContent = "Play"; });
  seek.addEventListener("change", () => { audio.currentTime = Number(seek.value); });

  // stars and ratings ------------------------------------------------------------------------------------------
  async function mark(url, body) {
    const resp = await fetch(url, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token() },
      body: JSON.stringify(body),
    });
    if (!resp.ok) throw new Error((await resp.json().catch(() => ({}))).detail || resp.statusText);
  }
  const item = (id) => `/api/library/items/${encodeURIComponent(id)}`;

  document.addEventListener("click", async (ev) => {
    const star = ev.target.closest("[data-star]");
    if (!star) return;
    const on = star.getAttribute("aria-pressed") !== "true";
    try {
      await mark(`${item(star.dataset.star)}/star`, { starred: on });
      star.setAttribute("aria-pressed", on ? "true" : "false");
      star.textContent = on ? "★" : "☆";
    } catch (e) { title.textContent = e.message; }
  });
  document.addEventListener("change", async (ev) => {
    const rate = ev.target.closest("[data-rate]");
    if (!rate) return;
    try { await mark(`${item(rate.dataset.rate)}/rating`, { rating: Number(rate.value) }); }
    catch (e) { title.textContent = e.message; }
  });
})();
