// The supervisor console's staffing view: per service, today's arrivals, handle time and
// agents logged in, and what the Erlang formulas say they give (GET
// /api/supervisor/staffing), a small chart of service level by number of agents, and a
// what-if for chosen numbers (GET /api/supervisor/staffing/whatif). A module of its own
// beside supervisor.js: it uses the same signed-in token and shows once the console does.
import { h, keepFocus, Session } from "/pages/api.js";
import { duration, onLanguage, t, tOr } from "/pages/i18n.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "yhteys.supervisor.token";
const REFRESH_MS = 15000;
const SVG_NS = "http://www.w3.org/2000/svg";
const state = { view: null, whatif: null, filled: null };

// The console's token, read afresh (the console signs in and out).
const session = () => new Session(TOKEN_KEY);
const online = () => document.body.dataset.online === "yes";
const shown = () => !$("console").classList.contains("hidden");

const pct = (v) => (v == null ? "–" : `${(v * 100).toFixed(1)} %`);
const share = (v) => `${Math.round(v * 100)} %`;
const needText = (n) => (n == null ? t("staff.needed_over", { n: 1000 }) : String(n));
const serviceName = (name) => tOr("service", name);

function say(text, error = false) {
  $("whatif").replaceChildren(h("p", { class: error ? "notice error" : "notice" }, text));
}

async function load() {
  if (!shown() || !online()) return;
  let view;
  try {
    view = await session().request("GET", "/api/supervisor/staffing");
  } catch { return; }
  // Redrawn only when a figure changed, so that an opened table of a chart stays open.
  const changed = JSON.stringify(view.services) !== JSON.stringify(state.view?.services);
  state.view = view;
  if (changed) keepFocus(draw);
  fillForm(false);
}

// ------------------------------------------------------------------ the table

function figureCells(s) {
  const f = s.figures;
  if (!f) {
    const why = s.arrivals_per_hour == null ? t("staff.closed") : t("staff.nobody");
    return [h("td", { colspan: "4" }, why)];
  }
  return [
    h("td", { class: "num" }, pct(f.sl_all)),
    h("td", { class: "num" }, f.asa_s == null ? t("staff.unbounded") : duration(f.asa_s)),
    h("td", { class: "num" }, pct(f.p_abandon)),
    h("td", { class: "num" }, pct(f.occupancy)),
  ];
}

function staffingTable(services) {
  const head = ["col.service", "staff.col.rate", "staff.col.aht", "staff.col.patience", "staff.col.agents", "staff.col.sl", "staff.col.asa", "staff.col.abandon", "staff.col.occupancy", "staff.col.needed"];
  return h("div", { id: "staffing-scroll", class: "scroll", role: "region", tabindex: "0", "aria-labelledby": "staffing-caption" },
    h("table", { id: "staffing-table" },
      h("caption", { id: "staffing-caption" }, t("staff.caption", { day: state.view.day })),
      h("thead", {}, h("tr", {}, head.map((k, i) => h("th", { scope: "col", class: i ? "num" : false }, t(k))))),
      h("tbody", {}, services.map((s) => h("tr", { "data-service": s.service },
        h("th", { scope: "row" }, serviceName(s.service), h("br"), h("small", {}, t("staff.target", { share: share(s.target_share), target: duration(s.answer_s), urgency: s.urgency }))),
        h("td", { class: "num" }, s.arrivals_per_hour == null ? "–" : `${s.arrivals_per_hour} (${s.arrivals_today})`),
        h("td", { class: "num" }, duration(s.handle_time_s)),
        h("td", { class: "num" }, s.patience_s == null ? t("staff.patience_unknown") : duration(s.patience_s)),
        h("td", { class: "num" }, s.agents),
        figureCells(s),
        h("td", { class: "num" }, s.arrivals_per_hour == null ? "–" : needText(s.agents_needed)))))));
}

// ------------------------------------------------------------------ the chart

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null && v !== false) el.setAttribute(k, v);
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

/** Service level (of all arrivals) by number of agents, with the target share as a line
 * and the current staffing and the agents needed marked; an image with a title and a
 * one-sentence description, the points as a table under it. */
function curveChart(id, s, title) {
  const curve = s.curve;
  if (!curve.length) return h("p", {}, t("staff.chart.none"));
  const W = 320, H = 200, left = 40, right = 14, top = 12, bottom = 50;
  const plotW = W - left - right, plotH = H - top - bottom;
  const lo = curve[0].agents, hi = curve[curve.length - 1].agents;
  const x = (n) => left + (hi === lo ? plotW / 2 : ((n - lo) / (hi - lo)) * plotW);
  const y = (v) => top + plotH - v * plotH;
  // The two marks' labels on two lines, so that they do not overlap at the same count.
  const mark = (n, cls, label, line) => (n == null || n < lo || n > hi ? null : [
    svg("line", { class: cls, x1: x(n), x2: x(n), y1: top, y2: top + plotH }),
    svg("text", { x: x(n), y: top + plotH + 14 + 13 * line, "text-anchor": "middle" }, label)]);
  const now = curve.find((p) => p.agents === s.agents);
  const summary = t("staff.chart.summary", {
    target: duration(s.answer_s), from: lo, to: hi, agents: s.agents,
    sl: now ? pct(now.sl_all) : "–", needed: needText(s.agents_needed), share: share(s.target_share),
  });
  const ticks = [...new Set([lo, Math.round((lo + hi) / 2), hi])];
  return [
    svg("svg", { id, class: "chart staffing-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc` },
      svg("title", { id: `${id}-title` }, title),
      svg("desc", { id: `${id}-desc` }, summary),
      [0, 0.5, 1].map((v) => [
        svg("line", { class: "grid", x1: left, x2: W - right, y1: y(v), y2: y(v) }),
        svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, `${v * 100} %`)]),
      svg("line", { class: "axis", x1: left, x2: W - right, y1: top + plotH, y2: top + plotH }),
      ticks.map((n) => svg("text", { x: x(n), y: top + plotH + 14, "text-anchor": "middle" }, n)),
      svg("line", { class: "target", x1: left, x2: W - right, y1: y(s.target_share), y2: y(s.target_share) }),
      mark(s.agents >= 1 ? s.agents : null, "now", t("staff.chart.now"), 1),
      mark(s.agents_needed, "needed", t("staff.chart.needed"), 2),
      svg("polyline", { class: "curve", points: curve.map((p) => `${x(p.agents)},${y(p.sl_all)}`).join(" ") }),
      curve.map((p) => svg("circle", { class: p.agents === s.agents ? "point now" : "point", cx: x(p.agents), cy: y(p.sl_all), r: p.agents === s.agents ? 4 : 2.5 }))),
    h("details", {}, h("summary", {}, t("chart.table")),
      h("table", {}, h("caption", { class: "visually-hidden" }, title),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("staff.chart.axis")), h("th", { scope: "col", class: "num" }, t("staff.col.sl")))),
        h("tbody", {}, curve.map((p) => h("tr", {}, h("th", { scope: "row" }, p.agents), h("td", { class: "num" }, pct(p.sl_all)))))))];
}

function serviceFigure(s) {
  const id = `staffing-chart-${s.service}`;
  const title = t("staff.chart.title", { service: serviceName(s.service) });
  return h("figure", { "aria-labelledby": `${id}-caption`, "data-service": s.service },
    h("figcaption", { id: `${id}-caption` }, title), curveChart(id, s, title));
}

function draw() {
  if (!state.view) return;
  const open = new Set([...$("staffing").querySelectorAll("figure[data-service] details[open]")].map((d) => d.closest("figure").dataset.service));
  $("staffing").replaceChildren(staffingTable(state.view.services),
    h("div", { class: "charts staffing-charts" }, state.view.services.map(serviceFigure)));
  for (const figure of $("staffing").querySelectorAll("figure[data-service]")) {
    if (open.has(figure.dataset.service)) figure.querySelector("details")?.setAttribute("open", "");
  }
}

// ------------------------------------------------------------------ what-if

/** Fills the form with the chosen service's numbers now (once, or when asked). */
function fillForm(force) {
  const select = $("whatif-service");
  if (!state.view) return;
  if (!select.options.length || force) {
    const chosen = select.value;
    select.replaceChildren(...state.view.services.map((s) => h("option", { value: s.service }, serviceName(s.service))));
    if (chosen) select.value = chosen;
  }
  if (state.filled === select.value && !force) return;
  const s = state.view.services.find((x) => x.service === select.value);
  if (!s) return;
  state.filled = s.service;
  $("whatif-agents").value = Math.max(1, s.agents);
  $("whatif-rate").value = s.arrivals_per_hour ?? 0;
  $("whatif-aht").value = s.handle_time_s;
  $("whatif-patience").value = s.patience_s ?? "";
}

async function submitWhatif(event) {
  event.preventDefault();
  if (!online()) return say(t("app.refused_offline"), true);
  const query = new URLSearchParams({ service: $("whatif-service").value });
  for (const [key, id] of [["agents", "whatif-agents"], ["rate", "whatif-rate"], ["aht", "whatif-aht"], ["patience", "whatif-patience"]]) {
    if ($(id).value !== "") query.set(key, $(id).value);
  }
  try {
    state.whatif = await session().request("GET", `/api/supervisor/staffing/whatif?${query}`);
    drawWhatif();
  } catch (error) {
    state.whatif = null;
    const problems = (error.body?.error?.problems || []).map((p) => `${p.field}: ${p.reason}`).join("; ");
    say(t("app.error", { message: problems || error.message }), true);
  }
}

function drawWhatif() {
  const w = state.whatif;
  if (!w) return;
  const f = w.figures;
  const values = {
    service: serviceName(w.service), agents: w.agents, rate: w.arrivals_per_hour, aht: duration(w.handle_time_s),
    model: t(`staff.model.${w.model}`), sl: pct(f?.sl_all), asa: f?.asa_s == null ? t("staff.unbounded") : duration(f.asa_s),
    abandon: pct(f?.p_abandon), occupancy: pct(f?.occupancy), needed: needText(w.agents_needed),
    share: share(w.target_share), target: duration(w.answer_s),
  };
  const title = t("staff.whatif.chart", { service: values.service });
  $("whatif").replaceChildren(h("div", { class: "notice", id: "whatif-answer" },
    h("p", {}, t("staff.whatif.result", values)),
    h("figure", { "aria-labelledby": "whatif-chart-caption" },
      h("figcaption", { id: "whatif-chart-caption" }, title), curveChart("whatif-chart", w, title))));
}

// ------------------------------------------------------------------ wiring

$("whatif-form").addEventListener("submit", submitWhatif);
$("whatif-service").addEventListener("change", () => fillForm(true));
$("staffing-refresh").addEventListener("click", load);
onLanguage(() => {
  for (const option of $("whatif-service").options) option.textContent = serviceName(option.value);
  keepFocus(draw);
  drawWhatif();  // the answer is a live region: redrawn only when asked or relabelled
});
// The console shows once signed in, and the socket says when it is online: load then,
// and again every REFRESH_MS while the console is shown.
new MutationObserver(load).observe(document.body, { attributes: true, attributeFilter: ["data-online"] });
setInterval(load, REFRESH_MS);
load();
