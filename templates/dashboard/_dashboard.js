{% verbatim %}
// SignalFlow dashboard: reads the REST API with the session cookie, listens on /ws/signals/.
// No build step, no libraries: DOM nodes are built with textContent (never innerHTML) so that
// text from the platforms cannot inject markup.
(function () {
  "use strict";
  const CFG = JSON.parse(document.getElementById("dashboard-config").textContent);
  const LABELS = CFG.platformLabels;
  const FEED_MAX = 60;
  const HEATMAP_TOPICS = 12;

  // ------------------------------------------------------------------ helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "style") node.setAttribute("style", value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }
  function replace(container, ...nodes) {
    container.replaceChildren(...nodes);
    container.dataset.state = "ready";
  }
  async function api(path) {
    const response = await fetch(CFG.api + path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }
  // The API returns lists either bare or wrapped (pagination, envelope); accept both.
  function rows(payload, ...keys) {
    if (Array.isArray(payload)) return payload;
    if (!payload || typeof payload !== "object") return [];
    for (const key of [...keys, "results", "items", "data"]) {
      if (Array.isArray(payload[key])) return payload[key];
    }
    return [];
  }
  function num(...values) {
    for (const value of values) {
      if (value === null || value === undefined || value === "") continue;
      const n = Number(value);
      if (Number.isFinite(n)) return n;
    }
    return null;
  }
  function fmt(value, digits = 2) {
    return value === null ? "–" : (value > 0 ? "+" : "") + value.toFixed(digits);
  }
  function sentClass(value) {
    if (value === null) return "neu";
    return value > 0.05 ? "pos" : value < -0.05 ? "neg" : "neu";
  }
  // −1 red … 0 grey … +1 green
  function sentColor(value) {
    const v = Math.max(-1, Math.min(1, value));
    const grey = [48, 54, 61];
    const end = v >= 0 ? [63, 185, 80] : [248, 81, 73];
    const t = Math.min(1, Math.abs(v) * 1.6);
    const mix = grey.map((g, i) => Math.round(g + (end[i] - g) * t));
    return `rgb(${mix.join(",")})`;
  }
  function topicHref(topic) {
    return CFG.topicUrl + encodeURIComponent(topic) + "/";
  }
  function platformBadge(platform) {
    return el("span", { class: `badge ${platform}`, text: LABELS[platform] || platform });
  }
  function ago(iso) {
    const t = Date.parse(iso);
    if (!Number.isFinite(t)) return "";
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 90) return `${s}s ago`;
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    if (s < 172800) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  }
  function stamp(id) {
    const node = document.getElementById(id);
    if (node) node.textContent = "updated " + new Date().toLocaleTimeString();
  }
  function failed(container, error) {
    container.dataset.state = "error";
    container.replaceChildren(el("p", { class: "empty", text: `Could not load: ${error.message}` }));
  }

  // Sparkline values: a list of numbers or of {count|value|signal_count} points.
  function sparkValues(series) {
    if (!Array.isArray(series)) return [];
    return series.map((p) => (typeof p === "object" && p !== null ? num(p.count, p.signal_count, p.value, p.y) : num(p)) || 0);
  }
  function sparkline(series) {
    const values = sparkValues(series);
    const w = 180, h = 30, pad = 2;
    const box = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", class: "spark", role: "img" });
    if (values.length === 0) return box;
    const pts = values.length === 1 ? [values[0], values[0]] : values;
    const max = Math.max(...pts, 1);
    const step = (w - 2 * pad) / (pts.length - 1);
    const coords = pts.map((v, i) => `${(pad + i * step).toFixed(1)},${(h - pad - (v / max) * (h - 2 * pad)).toFixed(1)}`);
    box.append(svg("polygon", { points: `${pad},${h - pad} ${coords.join(" ")} ${w - pad},${h - pad}`, fill: "rgba(79,179,255,.15)" }));
    box.append(svg("polyline", { points: coords.join(" "), fill: "none", stroke: "#4fb3ff", "stroke-width": "1.5" }));
    return box;
  }

  // ------------------------------------------------------------------ trending
  function topicPlatforms(item) {
    if (Array.isArray(item.platforms)) return item.platforms.map((p) => (typeof p === "string" ? p : p.platform)).filter(Boolean);
    if (item.platforms && typeof item.platforms === "object") return Object.keys(item.platforms);
    return [];
  }
  function trendingCard(item, index) {
    const topic = item.topic || item.name;
    const count = num(item.signal_count, item.count, item.signals);
    const sentiment = num(item.avg_sentiment, item.sentiment, item.mean_sentiment);
    const platforms = topicPlatforms(item);
    const platformCount = num(item.platform_count) ?? platforms.length;
    return el(
      "a",
      { class: "card", href: topicHref(topic), "data-topic": topic },
      el("div", { class: "name" }, el("span", { class: "rank", text: `#${index + 1}` }), topic),
      el(
        "div",
        { class: "meta" },
        el("span", null, `${count ?? "?"} signals`),
        el("span", { class: `sent ${sentClass(sentiment)}`, text: fmt(sentiment) })
      ),
      el(
        "div",
        { class: "meta" },
        el("span", { class: "dots", title: platforms.map((p) => LABELS[p] || p).join(", ") }, ...platforms.map((p) => el("i", { class: `dot ${p}` }))),
        el("span", null, `${platformCount} platform${platformCount === 1 ? "" : "s"}`)
      ),
      sparkline(item.sparkline_7d || item.sparkline || [])
    );
  }
  let trendingTopics = [];
  async function trendingLoad() {
    const container = document.getElementById("trending");
    try {
      const items = rows(await api("trending/?limit=30"), "topics", "trending");
      trendingTopics = items.map((i) => i.topic || i.name).filter(Boolean);
      if (items.length === 0) replace(container, el("p", { class: "empty", text: "No trending topics yet." }));
      else replace(container, ...items.map(trendingCard));
      container.dataset.count = String(items.length);
      stamp("trending-updated");
    } catch (error) {
      failed(container, error);
    }
  }

  // ------------------------------------------------------------------ pulse (per-topic) parsing
  // Per-platform sentiment from a pulse answer: {platforms: {reddit: {...}}} or [{platform, ...}].
  function pulsePlatforms(pulse) {
    const source = pulse.platforms || pulse.per_platform || pulse.platform_sentiment || pulse.sentiment_by_platform || {};
    const list = Array.isArray(source) ? source : Object.entries(source).map(([platform, v]) => ({ platform, ...(typeof v === "object" ? v : { sentiment: v }) }));
    const out = {};
    for (const entry of list) {
      if (!entry || !entry.platform) continue;
      out[entry.platform] = {
        sentiment: num(entry.avg_sentiment, entry.sentiment, entry.mean, entry.mean_sentiment),
        count: num(entry.signal_count, entry.count, entry.n),
        top: entry.top_signals || entry.top || entry.signals || null,
      };
    }
    return out;
  }
  function pulseDivergences(pulse) {
    const d = pulse.divergence || pulse.divergences || [];
    return Array.isArray(d) ? d : rows(d, "events", "open");
  }

  // ------------------------------------------------------------------ heatmap + disputes
  let openDisputes = [];
  async function divergenceLoad() {
    const list = document.getElementById("divergence");
    try {
      openDisputes = rows(await api("divergence/leaderboard/"), "leaderboard", "events");
      if (openDisputes.length === 0) replace(list, el("li", { class: "empty", text: "No open divergence." }));
      else replace(list, ...openDisputes.map(disputeItem));
      list.dataset.count = String(openDisputes.length);
    } catch (error) {
      failed(list, error);
    }
  }
  function disputeItem(d) {
    const gap = num(d.gap, d.severity);
    return el(
      "li",
      { class: "dispute", "data-topic": d.topic },
      el("a", { href: topicHref(d.topic), text: d.topic }),
      " — ",
      platformBadge(d.platform_a),
      ` ${fmt(num(d.sentiment_a))} vs `,
      platformBadge(d.platform_b),
      ` ${fmt(num(d.sentiment_b))} `,
      el("span", { class: "gap", text: `gap ${gap === null ? "?" : gap.toFixed(2)}` }),
      d.p_value !== undefined && d.p_value !== null ? el("span", { class: "updated", text: ` p=${Number(d.p_value).toExponential(1)}` }) : null
    );
  }
  async function heatmapLoad() {
    const container = document.getElementById("heatmap");
    const topics = [...new Set([...openDisputes.map((d) => d.topic), ...trendingTopics])].slice(0, HEATMAP_TOPICS);
    if (topics.length === 0) {
      replace(container, el("p", { class: "empty", text: "No topics yet." }));
      return;
    }
    const pulses = await Promise.all(topics.map((t) => api(`pulse/?topic=${encodeURIComponent(t)}`).catch(() => null)));
    const head = el("tr", null, el("th", { text: "topic" }), ...CFG.platforms.map((p) => el("th", { text: LABELS[p] || p })));
    const body = topics.map((topic, i) => {
      const per = pulses[i] ? pulsePlatforms(pulses[i]) : {};
      const diverging = new Set();
      for (const d of openDisputes.filter((x) => x.topic === topic)) diverging.add(d.platform_a).add(d.platform_b);
      return el(
        "tr",
        { "data-topic": topic },
        el("th", null, el("a", { href: topicHref(topic), text: topic })),
        ...CFG.platforms.map((p) => {
          const cell = per[p];
          if (!cell || cell.sentiment === null) return el("td", { class: "none", text: "·" });
          return el("td", {
            class: diverging.has(p) ? "diverging" : null,
            style: `background:${sentColor(cell.sentiment)}`,
            title: `${topic} on ${LABELS[p] || p}: ${fmt(cell.sentiment)} over ${cell.count ?? "?"} signals`,
            text: fmt(cell.sentiment) + (diverging.has(p) ? " ▲" : ""),
          });
        })
      );
    });
    replace(container, el("table", { class: "heat" }, el("thead", null, head), el("tbody", null, ...body)));
  }

  async function totalsLoad() {
    try {
      const t = await api("stats/totals/");
      const per = t.platforms || t.per_platform || t.by_platform || {};
      const entries = Array.isArray(per) ? per.map((e) => [e.platform, e]) : Object.entries(per);
      const bits = entries.map(([p, v]) => {
        const total = num(v && typeof v === "object" ? v.total ?? v.all_time ?? v.count : v);
        return `${LABELS[p] || p} ${total ?? "?"}`;
      });
      const total = t.total && typeof t.total === "object" ? num(t.total.all_time, t.total.total) : num(t.total, t.all_time);
      const node = document.getElementById("totals");
      node.replaceChildren(el("b", { text: `${total ?? "?"} signals` }), bits.length ? " · " + bits.join(" · ") : "");
    } catch (error) {
      /* the header count is a nicety; the panels report their own errors */
    }
  }

  // ------------------------------------------------------------------ live feed
  let received = 0;
  // A signal's topics: a list, or a JSON-encoded list as a raw database row may carry it.
  function topicsOf(signal) {
    let topics = signal.topics;
    if (typeof topics === "string") {
      try {
        topics = JSON.parse(topics);
      } catch (error) {
        topics = [];
      }
    }
    return Array.isArray(topics) ? topics.filter((t) => typeof t === "string") : [];
  }
  // What a signal says: a comment's body (its title is the parent's), a post's title, else its body.
  function signalText(s) {
    const title = (s.title || "").trim();
    const body = (s.body || "").trim();
    return s.is_comment ? body || title : title || body;
  }
  function feedItem(s) {
    const text = signalText(s);
    const sentiment = num(s.sentiment_compound);
    return el(
      "li",
      { class: "item", "data-id": s.id, "data-platform": s.platform },
      platformBadge(s.platform),
      " ",
      el("span", { class: `sent ${sentClass(sentiment)}`, text: sentiment === null ? "unscored" : `${s.sentiment_label || ""} ${fmt(sentiment)}` }),
      s.is_comment ? el("span", { class: "updated", text: s.title ? ` · comment on “${s.title.slice(0, 80)}”` : " · comment" }) : null,
      el("div", { class: "text", text: text.length > 280 ? text.slice(0, 277) + "…" : text }),
      el("div", { class: "topics" }, ...topicsOf(s).map((t) => el("a", { href: topicHref(t), text: "#" + t }))),
      el("div", { class: "meta", text: [s.community, s.author, ago(s.published_at)].filter(Boolean).join(" · ") })
    );
  }
  function feedPush(signal) {
    if (!signal || !signal.id) return;
    if (CFG.topic && !topicsOf(signal).includes(CFG.topic)) return;
    const feed = document.getElementById("feed");
    if (!feed) return;
    if (feed.querySelector(`li.item[data-id="${CSS.escape(signal.id)}"]`)) return;
    feed.querySelector(".empty")?.remove();
    feed.prepend(feedItem(signal));
    while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
    received += 1;
    document.getElementById("feed-count").textContent = String(received);
  }
  function wsState(text, cls) {
    const node = document.getElementById("ws-state");
    node.textContent = text;
    node.className = `ws-state ${cls || ""}`;
  }
  let backoff = 1000;
  function feedConnect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${CFG.ws}`);
    socket.addEventListener("open", () => {
      // Counted so that a socket the server keeps dropping is visible (and testable).
      const state = document.getElementById("ws-state");
      state.dataset.connects = String(Number(state.dataset.connects || 0) + 1);
      // The session cookie travels with the handshake and authenticates the socket; the
      // consumer answers {"type": "welcome"} once it has joined the live group.
      wsState("connected…", "");
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message.type === "signal.stored") feedPush(message.signal);
      else if (message.type === "welcome") {
        if (CFG.topic) socket.send(JSON.stringify({ action: "subscribe", topics: [CFG.topic] }));
        wsState("live", "live");
        backoff = 1000;
      } else if (message.type === "error") wsState(message.error || "error", "down");
    });
    socket.addEventListener("close", () => {
      wsState("reconnecting…", "down");
      setTimeout(feedConnect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    });
  }

  // ------------------------------------------------------------------ topic page
  function bar(label, value, count) {
    const v = value === null ? 0 : Math.max(-1, Math.min(1, value));
    const left = v >= 0 ? 50 : 50 + v * 50;
    return el(
      "div",
      { class: "row" },
      el("span", null, label, count !== null && count !== undefined ? el("span", { class: "n", text: ` (${count})` }) : null),
      el("div", { class: "track" }, el("div", { class: "fill", style: `left:${left}%;width:${Math.abs(v) * 50}%;background:${sentColor(v)}` })),
      el("span", { class: `val sent ${sentClass(value)}`, text: fmt(value) })
    );
  }
  function summaryBlock(pulse) {
    const s = pulse.intelligence || pulse.summary_fields || pulse.llm || (typeof pulse.summary === "object" ? pulse.summary : null) || pulse;
    const summary = typeof s.summary === "string" ? s.summary : "";
    if (!summary) return [el("p", { class: "empty", text: "No summary yet: the summariser runs on a schedule." })];
    const fields = [
      ["Dominant narrative", s.dominant_narrative],
      ["Emerging angle", s.emerging_angle],
      ["Why platforms differ", s.divergence_explanation],
    ].filter(([, v]) => v);
    return [
      el("p", { class: "summary-text", text: summary }),
      el("dl", null, ...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
      el("div", { class: "model", text: [...new Set([s.provider, s.model])].concat([s.signal_count ? `${s.signal_count} signals` : "", s.updated_at ? ago(s.updated_at) : ""]).filter(Boolean).join(" · ") }),
    ];
  }
  async function topicLoad() {
    const summary = document.getElementById("summary");
    const bars = document.getElementById("platform-sentiment");
    try {
      const pulse = await api(`pulse/?topic=${encodeURIComponent(CFG.topic)}`);
      replace(summary, ...summaryBlock(pulse));
      const per = pulsePlatforms(pulse);
      const present = CFG.platforms.filter((p) => per[p]);
      replace(bars, ...(present.length ? present.map((p) => bar(LABELS[p] || p, per[p].sentiment, per[p].count)) : [el("p", { class: "empty", text: "No signals in the window." })]));
      bars.dataset.count = String(present.length);
      const pc = pulse.posts_vs_comments || pulse.post_comment || pulse.by_kind || {};
      const posts = pc.posts || pc.post || {};
      const comments = pc.comments || pc.comment || {};
      replace(
        document.getElementById("post-comment"),
        bar("Posts", num(posts.avg_sentiment, posts.sentiment, posts.mean, typeof posts === "number" ? posts : null), num(posts.count, posts.signal_count)),
        bar("Comments", num(comments.avg_sentiment, comments.sentiment, comments.mean, typeof comments === "number" ? comments : null), num(comments.count, comments.signal_count))
      );
      const disputes = pulseDivergences(pulse);
      const list = document.getElementById("topic-divergence");
      replace(list, ...(disputes.length ? disputes.map((d) => disputeItem({ topic: CFG.topic, ...d })) : [el("li", { class: "empty", text: "None open." })]));
      const top = document.getElementById("top-signals");
      const topBy = pulse.top_signals || {};
      const blocks = CFG.platforms
        .map((p) => [p, (per[p] && per[p].top) || topBy[p] || []])
        .filter(([, list]) => Array.isArray(list) && list.length)
        .map(([p, list]) =>
          el("div", { class: "platform-block" }, platformBadge(p), el("ul", null, ...list.slice(0, 3).map((s) => el("li", null, el("a", { href: s.url || "#", target: "_blank", rel: "noopener", text: signalText(s).slice(0, 200) }), " ", el("span", { class: `sent ${sentClass(num(s.sentiment_compound, s.sentiment))}`, text: fmt(num(s.sentiment_compound, s.sentiment)) })))))
        );
      replace(top, ...(blocks.length ? blocks : [el("p", { class: "empty", text: "No signals yet." })]));
      stamp("pulse-updated");
    } catch (error) {
      failed(summary, error);
      failed(bars, error);
    }
  }

  // ------------------------------------------------------------------ start
  async function refreshIndex() {
    await Promise.all([trendingLoad(), divergenceLoad(), totalsLoad()]);
    try {
      await heatmapLoad();
    } catch (error) {
      failed(document.getElementById("heatmap"), error);
    }
  }
  window.signalflowDashboard = { feedPush }; // for debugging from the console
  feedConnect();
  if (CFG.page === "topic") {
    topicLoad();
    totalsLoad();
    setInterval(topicLoad, CFG.refreshSeconds * 1000);
  } else {
    refreshIndex();
    setInterval(refreshIndex, CFG.refreshSeconds * 1000);
  }
})();
{% endverbatim %}
