// The topology view: hosts and links in layers (sender → resolvers and relays → MX hosts,
// grouped by domain with their MX preferences), each host's live state by colour, shape and
// label, its load, and the messages whose attempts are in flight. Built with DOM calls only:
// host and domain names from a scenario are text, never HTML.

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const ROW = 64;
const COLUMNS = { sender: 70, resolver: 270, relay: 270, mx: 500 };
/** Okabe–Ito colours (distinguishable with colour blindness); the shape and label say it too. */
export const STATE = {
  up: { colour: "#009E73", label: "up" },
  down: { colour: "#D55E00", label: "down" },
  overloaded: { colour: "#CC79A7", label: "overloaded" },
  greylisting: { colour: "#999999", label: "greylisting" },
  flaky: { colour: "#E69F00", label: "flaky" },
};
const IN_FLIGHT_DRAWN_MAX = 1500;

function el(name, attrs = {}, parent = null) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

/** Where each host goes: x by role, y in order within the column; MX hosts grouped by the
 *  first domain that lists them. Returns {pos: Map(id → {x, y}), groups, height}. */
export function layout(topology) {
  const columns = { sender: [], mid: [], mx: [] };
  const groups = [];
  const placed = new Set();
  for (const h of topology.hosts) {
    if (h.role === "sender") columns.sender.push(h.id);
    else if (h.role === "relay" || h.role === "resolver") columns.mid.push(h.id);
  }
  for (const d of topology.domains) {
    const members = [];
    for (const [preference, host] of d.mx) {
      const role = topology.hosts.find((h) => h.id === host)?.role;
      if (role !== "mx" || placed.has(host)) continue;
      placed.add(host);
      members.push({ host, preference });
    }
    groups.push({ domain: d.name, answer: d.answer, members, mx: d.mx });
  }
  for (const h of topology.hosts) {
    if (h.role === "mx" && !placed.has(h.id)) groups.push({ domain: null, answer: "records", members: [{ host: h.id, preference: null }], mx: [] });
  }
  const pos = new Map();
  const place = (ids, x) => ids.forEach((id, i) => pos.set(id, { x, y: 50 + i * ROW }));
  place(columns.sender, COLUMNS.sender);
  place(columns.mid, COLUMNS.relay);
  let y = 50;
  for (const g of groups) {
    if (g.domain !== null) y += 22; // room for the domain's label above its hosts
    g.top = y - 52;
    for (const m of g.members) {
      pos.set(m.host, { x: COLUMNS.mx, y });
      y += ROW;
    }
    if (g.members.length === 0) y += 30;
    g.bottom = y - ROW + 40;
    y += 14;
  }
  const height = Math.max(y, 50 + Math.max(columns.sender.length, columns.mid.length) * ROW) + 10;
  return { pos, groups, height };
}

/** A topology picture in `container`; `update(frame, routing)` redraws the live parts. */
export class TopologyView {
  constructor(container, topology, { onHost, onMessage }) {
    this.topology = topology;
    this.onHost = onHost;
    this.onMessage = onMessage;
    const { pos, groups, height } = layout(topology);
    this.pos = pos;
    container.replaceChildren();
    const svg = el("svg", { viewBox: `0 0 ${W} ${height}`, role: "group", "aria-label": "topology: hosts, links and messages in flight", class: "topology" }, container);
    this.svg = svg;
    const linkLayer = el("g", { class: "links" }, svg);
    for (const g of groups) {
      if (g.domain === null) continue;
      el("rect", { x: COLUMNS.mx - 80, y: g.top, width: 210, height: Math.max(g.bottom - g.top, 40), rx: 8, class: "domain" }, svg);
      const label = el("text", { x: COLUMNS.mx - 74, y: g.top + 12, class: "domain-label" }, svg);
      label.textContent = g.answer === "records" ? g.domain : `${g.domain} (${g.answer.replace("_", " ")})`;
    }
    this.links = new Map();
    for (const [from, to] of topology.links) {
      const a = pos.get(from);
      const b = pos.get(to);
      if (!a || !b) continue;
      const line = el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "link" }, linkLayer);
      this.links.set(`${from}>${to}`, line);
    }
    this.hosts = new Map();
    const hostLayer = el("g", { class: "hosts" }, svg);
    for (const h of topology.hosts) {
      const p = pos.get(h.id);
      if (!p) continue;
      const g = el("g", { class: "host", transform: `translate(${p.x},${p.y})`, tabindex: 0, role: "button", "data-host": h.id }, hostLayer);
      const title = el("title", {}, g);
      const shape = el("path", { class: "shape" }, g);
      const name = el("text", { y: -22, class: "host-name", "text-anchor": "middle" }, g);
      name.textContent = h.id.length > 26 ? h.id.slice(0, 25) + "…" : h.id;
      const state = el("text", { y: 30, class: "host-state", "text-anchor": "middle" }, g);
      const pref = topology.domains.flatMap((d) => d.mx.filter(([, host]) => host === h.id).map(([p]) => p));
      if (h.role === "mx" && pref.length) {
        const t = el("text", { x: -30, y: 5, class: "pref", "text-anchor": "end" }, g);
        t.textContent = `pref ${pref[0]}`;
      }
      const role = el("text", { x: 22, y: 5, class: "role" }, g);
      role.textContent = h.role;
      g.addEventListener("click", () => this.onHost(h.id));
      // Hover or keyboard focus shows the host's routing metrics as text under the picture
      // (a tooltip alone is invisible to keyboards and phones).
      g.addEventListener("mouseenter", () => this.showDetail(h.id));
      g.addEventListener("focus", () => this.showDetail(h.id));
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          this.onHost(h.id);
        }
      });
      this.hosts.set(h.id, { g, shape, state, title, contacts: 0 });
    }
    this.dots = el("g", { class: "messages" }, svg);
    this.more = el("text", { x: 10, y: height - 6, class: "more" }, svg);
    container.appendChild(legend());
    this.detail = document.createElement("p");
    this.detail.className = "host-detail";
    this.detail.setAttribute("aria-live", "polite");
    this.detail.textContent = "Hover over, focus or click a host for its routing metrics.";
    container.appendChild(this.detail);
    this.detailHost = null;
  }

  /** Shows `id`'s metrics (as of the last update) under the picture. */
  showDetail(id) {
    this.detailHost = id;
    const lines = this.hosts.get(id)?.lines;
    if (lines) this.detail.textContent = lines.join(" · ");
  }

  /** Redraws states, loads and in-flight messages of `frame`; `routing` (from the latest
   *  report) fills each host's tooltip; `highlight` outlines one host. */
  update(frame, routing, highlight) {
    const snap = frame.snapshot;
    const byHost = new Map((routing?.hosts ?? []).map((r) => [r.host, r]));
    for (const h of snap.hosts) {
      const v = this.hosts.get(h.id);
      if (!v) continue;
      const s = STATE[h.state] ?? STATE.up;
      v.shape.setAttribute("d", shapePath(h.state));
      v.shape.setAttribute("fill", s.colour);
      v.g.classList.toggle("highlight", h.id === highlight);
      const load = h.load ? ` · ${h.load.busy}/${h.load.sessions} busy${h.load.waiting ? `, ${h.load.waiting} waiting` : ""}` : "";
      v.state.textContent = `${s.label} · ${h.contacts} contacts${load}`;
      v.g.setAttribute("data-state", h.state);
      const r = byHost.get(h.id);
      const lines = [`${h.id} (${h.state})`, `contacts: ${h.contacts}`];
      if (h.load) lines.push(`sessions busy: ${h.load.busy} of ${h.load.sessions}, waiting in the backlog: ${h.load.waiting}`);
      if (r) {
        lines.push(`attempts: ${r.attempts}, successes: ${r.successes}`);
        if (r.success_rate !== null) lines.push(`success rate: ${(r.success_rate * 100).toFixed(1)}%`);
        for (const [code, n] of Object.entries(r.failures ?? {})) lines.push(`failed ${code}: ${n}`);
        if (r.windows?.length) lines.push(`failing windows so far: ${r.windows.length}`);
      }
      v.title.textContent = lines.join("\n");
      v.g.setAttribute("aria-label", lines.join(", "));
      v.lines = lines;
    }
    if (highlight && this.hosts.has(highlight)) this.detailHost = highlight;
    if (this.detailHost) this.showDetail(this.detailHost);
    const flights = snap.in_flight ?? [];
    const shown = flights.slice(0, IN_FLIGHT_DRAWN_MAX);
    while (this.dots.childNodes.length > shown.length) this.dots.lastChild.remove();
    const sender = this.topology.sender;
    shown.forEach((m, i) => {
      let dot = this.dots.childNodes[i];
      if (!dot) {
        dot = el("circle", { r: 5, class: "message", tabindex: -1 }, this.dots);
        dot.addEventListener("click", () => this.onMessage(Number(dot.getAttribute("data-message"))));
      }
      const path = [sender, ...m.path];
      const to = this.pos.get(path[path.length - 1]) ?? this.pos.get(sender);
      const from = this.pos.get(path[Math.max(0, path.length - 2)]) ?? to;
      // Along the link into the current hop, as far as the attempt has got in time (from its
      // start to its outcome reaching the sender), so dots move as the clock runs; an attempt
      // of no duration is spread by its id so messages do not hide each other.
      const span = m.ends_ms - m.started_ms;
      const progress = span > 0 ? (snap.t_ms - m.started_ms) / span : ((m.message * 37) % 97) / 97;
      const f = 0.1 + 0.8 * Math.min(1, Math.max(0, progress));
      dot.setAttribute("cx", (from.x + (to.x - from.x) * f).toFixed(1));
      dot.setAttribute("cy", (from.y + (to.y - from.y) * f + ((m.message % 7) - 3) * 2).toFixed(1));
      dot.setAttribute("data-message", m.message);
      let t = dot.firstChild;
      if (!t) t = el("title", {}, dot);
      t.textContent = `message ${m.message}, attempt ${m.attempt}, at ${m.hop}: click for its route`;
    });
    this.more.textContent = flights.length > shown.length ? `+${flights.length - shown.length} more in flight` : "";
  }
}

/** What each host shape and colour means, one entry per state. */
function legend() {
  const box = document.createElement("p");
  box.className = "legend";
  box.setAttribute("aria-label", "host states");
  for (const [state, { colour, label }] of Object.entries(STATE)) {
    const item = document.createElement("span");
    const icon = el("svg", { viewBox: "-16 -16 32 32", width: 14, height: 14, "aria-hidden": "true" }, item);
    el("path", { d: shapePath(state), fill: colour, class: "shape" }, icon);
    item.append(` ${label}`);
    box.append(item);
  }
  return box;
}

/** Up: a circle; down: a square with a cross; overloaded: a diamond; greylisting: an
 *  hourglass; flaky: a triangle. */
function shapePath(state) {
  if (state === "down") return "M-12,-12 H12 V12 H-12 Z M-8,-8 L8,8 M8,-8 L-8,8";
  if (state === "overloaded") return "M0,-15 L15,0 L0,15 L-15,0 Z";
  if (state === "greylisting") return "M-11,-13 H11 L0,0 L11,13 H-11 L0,0 Z";
  if (state === "flaky") return "M0,-14 L13,11 H-13 Z";
  return "M-13,0 A13,13 0 1,0 13,0 A13,13 0 1,0 -13,0 Z";
}
