// Insights page: reads /api/insights for the form's range and draws each chart with its table.
// The summary from the facts shows at once; the LLM's prose (if configured) is polled for and never waited on.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const form = $("insights-form");
  const params = () => {
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) p.set(k, v);
    return p;
  };
  const hours = (ms) => (ms / 3600000).toFixed(1);
  const charts = {};
  window.insightsCharts = charts; // read by the browser test

  function fill(id, rows) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren();
    for (const cells of rows) {
      const tr = document.createElement("tr");
      for (const c of cells) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.append(td);
      }
      body.append(tr);
    }
  }

  const ticksAt = (values) => (scale) => { scale.ticks = values.map((value) => ({ value })); };

  function draw(name, config) {
    if (charts[name]) charts[name].destroy();
    if (!window.Chart) return;
    window.Chart.defaults.color = "#b8bcc8";
    charts[name] = new window.Chart($("chart-" + name), config);
  }

  function render(d) {
    $("insights-bounds").textContent =
      `${d.user}: ${d.range.from} to ${d.range.to} (exclusive), ${d.timezone}; ` +
      `${d.totals.plays} plays, ${hours(d.totals.listening_ms)} hours`;
    $("summary-facts").textContent = d.summary.text;

    const artists = d.top_artists;
    draw("artists", {
      type: "bar",
      data: { labels: artists.map((a) => a.artist), datasets: [{ label: "plays", data: artists.map((a) => a.plays) }] },
      options: { indexAxis: "y", animation: false, plugins: { legend: { display: false } } },
    });
    fill("table-artists", artists.map((a) => [a.artist, a.plays, hours(a.listening_ms)]));

    const t = d.trend;
    const prev = t.previous ? t.previous.buckets : [];
    const sets = [{ label: "plays", data: t.buckets.map((b) => b.plays), tension: 0.2 }];
    if (t.previous) sets.push({ label: "previous period", data: prev.map((b) => b.plays), borderDash: [4, 4] });
    draw("trend", {
      type: "line",
      data: { labels: t.buckets.map((b) => b.start), datasets: sets },
      options: { animation: false },
    });
    fill("table-trend", t.buckets.map((b, i) => [b.start, b.plays, prev[i] ? prev[i].plays : ""]));

    const grid = d.clock.plays;
    const cells = [];
    let max = 1;
    grid.forEach((row, wd) => row.forEach((n, h) => { cells.push({ x: h, y: wd, v: n }); max = Math.max(max, n); }));
    draw("clock", {
      type: "matrix",
      data: {
        datasets: [{
          label: "plays",
          data: cells,
          backgroundColor: (c) => `rgba(80, 160, 255, ${((c.raw && c.raw.v) || 0) / max})`,
          width: ({ chart }) => (chart.chartArea || {}).width / 24 - 1,
          height: ({ chart }) => (chart.chartArea || {}).height / 7 - 1,
        }],
      },
      options: {
        animation: false,
        plugins: { legend: { display: false } },
        scales: {
          x: { type: "linear", min: -0.5, max: 23.5, offset: false, grid: { display: false },
               afterBuildTicks: ticksAt([0, 3, 6, 9, 12, 15, 18, 21]), ticks: { callback: (v) => `${v}h` } },
          y: { type: "linear", min: -0.5, max: 6.5, reverse: true, offset: false, grid: { display: false },
               afterBuildTicks: ticksAt([0, 1, 2, 3, 4, 5, 6]), ticks: { callback: (v) => d.clock.weekdays[v] || "" } },
        },
      },
    });
    const head = $("table-clock").querySelector("thead");
    head.replaceChildren();
    const htr = document.createElement("tr");
    for (const label of ["", ...Array.from({ length: 24 }, (_, h) => String(h))]) {
      const th = document.createElement("th");
      th.textContent = label;
      htr.append(th);
    }
    head.append(htr);
    fill("table-clock", grid.map((row, wd) => [d.clock.weekdays[wd], ...row]));

    const hr = d.hit_rate.by_source;
    draw("hits", {
      type: "bar",
      data: {
        labels: hr.map((r) => r.label),
        datasets: [
          { label: "acquired", data: hr.map((r) => r.acquired) },
          { label: "played within 7 days", data: hr.map((r) => r.played_7d) },
          { label: "played 3+ times within 30 days", data: hr.map((r) => r.played3_30d) },
        ],
      },
      options: { animation: false },
    });
    fill("table-hits", hr.map((r) => [r.label, r.acquired, r.played_7d, r.played3_7d, r.played_30d, r.played3_30d]));

    fill("table-tracks", d.top_tracks.map((x) => [`${x.artist} – ${x.title}`, x.plays, hours(x.listening_ms)]));
    fill("table-albums", d.top_albums.map((x) => [`${x.artist} – ${x.album}`, x.plays, hours(x.listening_ms)]));
    fill("table-genres", d.top_genres.map((x) => [x.genre, x.plays, hours(x.listening_ms)]));
    fill("table-sources", [
      ...d.sources.map((s) => [`source: ${s.source}`, s.plays]),
      ...d.clients.map((c) => [`player: ${c.client}`, c.plays]),
    ]);
    const disc = d.discovery;
    $("discovery-text").textContent =
      `${disc.new_artists} artists first heard in this range, ${(disc.new_artist_share * 100).toFixed(1)}% of its plays.`;
    fill("table-discovery", disc.new_artists_per_month.map((m) => [m.month, m.new_artists]));
  }

  let polls = 0;
  async function summary(again) {
    const url = "/api/insights/summary?" + params();
    const opts = again
      ? { method: "POST", headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" }
      : { credentials: "same-origin" };
    let s;
    try {
      const r = await fetch(url, opts);
      s = await r.json();
      if (!r.ok) throw new Error(s.detail || r.statusText);
    } catch (err) {
      $("summary-llm").hidden = false;
      $("summary-state").textContent = "The written summary is not available: " + err.message;
      return;
    }
    if (!s.llm.configured) return;
    $("summary-llm").hidden = false;
    const st = s.llm.state;
    $("summary-prose").textContent = st === "done" ? s.llm.prose : "";
    $("summary-state").textContent =
      st === "done" ? `Written by ${s.llm.model}.`
      : st === "failed" ? `No written summary: ${s.llm.reason}.`
      : "The written summary is on its way…";
    if (st === "pending" && polls++ < 120) setTimeout(() => summary(false), 2000);
  }
  $("summary-again").addEventListener("click", () => { polls = 0; summary(true); });

  async function load() {
    try {
      const r = await fetch("/api/insights?" + params(), { credentials: "same-origin" });
      const d = await r.json();
      if (!r.ok) throw new Error(d.detail || r.statusText);
      $("insights-error").hidden = true;
      render(d);
      document.body.dataset.insightsReady = "1";
      summary(false);
    } catch (err) {
      $("insights-error").hidden = false;
      $("insights-error").textContent = "Could not load insights: " + err.message;
      $("insights-bounds").textContent = "";
    }
  }
  window.addEventListener("DOMContentLoaded", load);
})();
