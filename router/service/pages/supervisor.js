// The supervisor console: live figures and alerts, the waiting list in the one order with
// its levers (move, offer), agents (skills, forced presence), audit trails, daily reports.
import { h, keepFocus } from "/pages/api.js";
import { clock, duration, languageSwitch, onLanguage, t, tOr, translate, when, ZONE } from "/pages/i18n.js";
import { percent, supervise } from "/pages/live-stats.js";

const $ = (id) => document.getElementById(id);
const PRESENCES = ["available", "not_ready", "offline"];
const FIGURES = ["contacts", "answered", "answered_within_target_pct", "same_day_pct", "wait_avg_s", "wait_p90_s", "abandoned_pct", "callback_attempts_per_contact", "unreachable"];
const view = { choices: new Map(), stats: null, alerts: [], contacts: [], eligible: new Map(), agents: [], services: [], editing: null };
let session = null;

function notice(text, error = false) {
  $("notices").replaceChildren(h("p", { class: error ? "notice error" : "notice" }, text));
}

async function call(method, path, body) {
  if (document.body.dataset.online !== "yes") { notice(t("app.refused_offline"), true); return null; }
  try {
    const result = await session.request(method, path, body);
    notice(t("action.done"));
    return result ?? {};
  } catch (error) {
    const problems = (error.body?.error?.problems || []).map((p) => `${p.field}: ${p.reason}`).join("; ");
    notice(t("app.error", { message: problems || error.message }), true);
    return null;
  }
}

// ------------------------------------------------------------------ live figures

function statsTable(table, rows, key, caption) {
  const head = ["col." + key, "col.waiting", "col.oldest", "col.within", "col.available", "col.busy", "col.not_ready", "col.wrap_up"];
  table.replaceChildren(h("caption", {}, t(caption)),
    h("thead", {}, h("tr", {}, head.map((k, i) => h("th", { scope: "col", class: i ? "num" : false }, t(k))))),
    h("tbody", {}, rows.map((r) => h("tr", { "data-row": r[key] },
      h("th", { scope: "row" }, key === "service" ? tOr("service", r.service) : r.site),
      h("td", { class: "num" }, r.waiting),
      h("td", { class: "num" }, r.oldest_wait_s == null ? "–" : duration(r.oldest_wait_s)),
      h("td", { class: "num" }, `${r.answered_within_target_today}/${r.answered_today} (${percent(r)})`),
      ["available", "busy", "not_ready", "wrap_up"].map((s) => h("td", { class: "num" }, r.agents[s] ?? 0))))));
}

function renderStats() {
  if (!view.stats) return;
  statsTable($("services"), view.stats.services, "service", "sup.services");
  statsTable($("sites"), view.stats.sites, "site", "sup.sites");
}

function alertText(a) {
  if (a.kind === "capacity_short") return t("alert.capacity_short", { service: tOr("service", a.service), due: a.due_by_closing, can: a.can_answer_by_closing });
  return t(`alert.${a.kind}`, { contact: a.contact_id, service: tOr("service", a.service), time: when(a.due_at) });
}

function renderAlerts() {
  $("alerts").replaceChildren(...(view.alerts.length ? view.alerts.map((a) => h("li", {}, `${clock(a.received)} — ${alertText(a)}`)) : [h("li", {}, t("alerts.none"))]));
}

// ------------------------------------------------------------------ the waiting list

async function loadQueue() {
  const page = await session.request("GET", "/api/supervisor/contacts?limit=50").catch(() => null);
  if (!page) return;
  view.contacts = page.contacts;
  await Promise.all(view.contacts.filter((c) => c.state === "waiting").map(async (c) => {
    const e = await session.request("GET", `/api/supervisor/contacts/${encodeURIComponent(c.id)}/eligible`).catch(() => null);
    if (e) view.eligible.set(c.id, e.agents);
  }));
  renderQueue();
}

function queueRow(c) {
  const eligible = view.eligible.get(c.id) || [];
  const who = c.state === "waiting"
    ? eligible.map((a) => `${a.name} (${tOr("status", a.status)})`).join(", ") || "–"
    : `${tOr("state", c.state)}: ${c.agent_id || ""}`;
  const actions = [h("button", { type: "button", id: `audit-${c.id}`, onclick: () => openAudit(c.id) }, `${t("action.audit")}: ${c.id}`)];
  if (c.state === "waiting") {
    const move = h("select", { id: `move-${c.id}`, "aria-label": `${t("action.move")}: ${c.id}` },
      view.services.filter((s) => s.name !== c.service).map((s) => h("option", { value: s.name }, tOr("service", s.name))));
    const offer = h("select", { id: `offer-${c.id}`, "aria-label": `${t("action.offer")}: ${c.id}` },
      eligible.filter((a) => a.free).map((a) => h("option", { value: a.id }, `${a.name} (${a.id})`)));
    // The list is redrawn with every push: what the supervisor chose stays chosen.
    for (const select of [move, offer]) {
      if (view.choices.has(select.id)) select.value = view.choices.get(select.id);
      select.addEventListener("change", () => view.choices.set(select.id, select.value));
    }
    actions.push(h("div", { class: "row" }, move, h("button", { type: "button", id: `move-btn-${c.id}`, onclick: async () => {
      if (await call("POST", `/api/supervisor/contacts/${encodeURIComponent(c.id)}/move`, { service: move.value })) loadQueue();
    } }, `${t("action.move_submit")}: ${c.id}`)));
    actions.push(h("div", { class: "row" }, offer, h("button", { type: "button", id: `offer-btn-${c.id}`, disabled: !offer.options.length, onclick: async () => {
      if (await call("POST", `/api/supervisor/contacts/${encodeURIComponent(c.id)}/offer`, { agent_id: offer.value })) loadQueue();
    } }, `${t("action.offer_submit")}: ${c.id}`)));
  }
  return h("tr", { "data-contact": c.id },
    h("td", { class: "num" }, c.position ?? ""),
    h("th", { scope: "row" }, c.id),
    h("td", {}, tOr("channel", c.channel)),
    h("td", {}, tOr("service", c.service)),
    h("td", {}, c.urgency),
    h("td", {}, when(c.due_at)),
    h("td", {}, duration(Date.now() / 1000 - c.arrived_at)),
    h("td", {}, tOr("step", c.step)),
    h("td", {}, who),
    h("td", {}, actions));
}

function renderQueue() { keepFocus(drawQueue); }

function drawQueue() {
  if (!view.contacts.length) return $("queue").replaceChildren(h("p", {}, t("queue.empty")));
  const head = ["col.position", "col.contact", "col.channel", "col.service", "col.urgency", "col.due", "col.waited", "col.step", "col.eligible", "col.actions"];
  $("queue").replaceChildren(h("table", {}, h("caption", { class: "visually-hidden" }, t("queue.title")),
    h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, view.contacts.map(queueRow))));
}

// ------------------------------------------------------------------ agents

async function loadAgents() {
  const body = await session.request("GET", "/api/supervisor/agents").catch(() => null);
  if (!body) return;
  // Logged-in agents first; the offline ones after them (a supervisor may log them in).
  view.agents = [...body.agents].sort((a, b) => (a.status === "offline") - (b.status === "offline"));
  renderAgents();
}

const skillsText = (skills) => Object.entries(skills).map(([k, v]) => `${k}=${v}`).join(", ");

function agentRow(a) {
  const presence = h("select", { id: `presence-${a.id}`, "aria-label": t("agent.force_label", { name: a.name }) },
    PRESENCES.map((p) => h("option", { value: p, selected: p === a.presence }, tOr("presence", p))));
  return h("tr", { "data-agent": a.id },
    h("th", { scope: "row" }, `${a.name} (${a.id})`),
    h("td", {}, tOr("status", a.status)),
    h("td", {}, tOr("reason", a.reason)),
    h("td", {}, a.site), h("td", {}, a.team),
    h("td", {}, skillsText(a.skills)),
    h("td", {}, a.languages.join(", ")),
    h("td", {},
      h("button", { type: "button", id: `edit-${a.id}`, onclick: () => { view.editing = a; renderEdit(); } }, `${t("agent.edit")}: ${a.name}`),
      h("div", { class: "row" }, presence, h("button", { type: "button", id: `force-${a.id}`, onclick: async () => {
        const body = { presence: presence.value, force: true };
        if (presence.value === "not_ready") body.reason = "supervisor";
        if (await call("POST", `/api/supervisor/agents/${encodeURIComponent(a.id)}/presence`, body)) loadAgents();
      } }, `${t("agent.force")}: ${a.name}`))));
}

function renderAgents() { keepFocus(drawAgents); }

function drawAgents() {
  const head = ["col.agent", "col.status", "col.reason", "col.site", "col.team", "col.skills", "col.languages", "col.actions"];
  $("agents").replaceChildren(h("table", {}, h("caption", { class: "visually-hidden" }, t("agents.title")),
    h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, view.agents.map(agentRow))));
}

function renderEdit() {
  const a = view.editing;
  if (!a) return $("agent-edit").replaceChildren();
  const field = (id, label, value) => [h("label", { for: id }, label), h("input", { id, value, size: "40" })];
  const form = h("form", { class: "card", "aria-labelledby": "edit-heading", onsubmit: async (event) => {
    event.preventDefault();
    const skills = {};
    for (const part of $("edit-skills").value.split(",").map((s) => s.trim()).filter(Boolean)) {
      const [name, level] = part.split("=").map((s) => s.trim());
      skills[name] = Number(level);
    }
    const list = (id) => $(id).value.split(",").map((s) => s.trim()).filter(Boolean);
    const body = { name: a.name, team: a.team, site: a.site, skills, languages: list("edit-languages"), authorisations: list("edit-auth"), capacity: a.capacity };
    if (await call("PUT", `/api/supervisor/agents/${encodeURIComponent(a.id)}`, body)) {
      view.editing = null;
      renderEdit();
      loadAgents();
      loadQueue();
    }
  } },
  h("h3", { id: "edit-heading" }, t("agent.editing", { name: a.name })),
  h("div", { class: "row" }, field("edit-skills", t("col.skills"), skillsText(a.skills))),
  h("div", { class: "row" }, field("edit-languages", t("col.languages"), a.languages.join(", "))),
  h("div", { class: "row" }, field("edit-auth", "auth", a.authorisations.join(", "))),
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("agent.save")),
    h("button", { type: "button", onclick: () => { view.editing = null; renderEdit(); } }, t("agent.cancel"))));
  $("agent-edit").replaceChildren(form);
  $("edit-skills").focus();
}

// ------------------------------------------------------------------ services

async function loadServices() {
  const body = await session.request("GET", "/api/supervisor/services").catch(() => null);
  if (!body) return;
  view.services = body.services;
  keepFocus(drawServices);
}

function serviceRow(s) {
  const name = tOr("service", s.name);
  const urgency = h("select", { id: `urgency-${s.name}`, "aria-label": t("svc.urgency", { service: name }) },
    Object.keys(s.urgencies).map((u) => h("option", { value: u, selected: u === s.default_urgency }, u)));
  const minutes = h("input", { id: `target-${s.name}`, type: "number", min: "0", step: "1", size: "5", "aria-label": t("svc.target", { service: name }) });
  return h("tr", { "data-service": s.name },
    h("th", { scope: "row" }, name),
    h("td", {}, h("code", {}, s.requirement)),
    h("td", {}, Object.entries(s.urgencies).map(([u, x]) => `${u} ${x.redirect ? `→ ${x.redirect}` : duration(x.target_s)}`).join(", ")),
    h("td", {}, s.steps.map((x) => `${tOr("step", x.kind)}${x.duration_s != null ? ` ${duration(x.duration_s)}` : ""}${x.overflow_to ? ` → ${tOr("service", x.overflow_to)}` : ""}`).join(" → ")),
    h("td", {}, tOr("choice", s.agent_choice)),
    h("td", {}, duration(s.wrapup_s)),
    h("td", {}, h("div", { class: "row" }, urgency, minutes, h("button", { type: "button", id: `target-btn-${s.name}`, onclick: async () => {
      if (minutes.value === "") return;
      const patch = { urgencies: { [urgency.value]: { target_s: Number(minutes.value) * 60 } } };
      if (await call("PATCH", `/api/supervisor/services/${encodeURIComponent(s.name)}`, patch)) { loadServices(); loadQueue(); }
    } }, `${t("svc.save")}: ${name}`))));
}

function drawServices() {
  const head = ["col.service", "col.requirement", "col.targets", "col.steps", "col.choice", "col.wrapup", "col.actions"];
  $("service-settings").replaceChildren(h("table", {}, h("caption", { class: "visually-hidden" }, t("svc.title")),
    h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, view.services.map(serviceRow))));
}

// ------------------------------------------------------------------ audit and reports

async function openAudit(contactId) {
  const record = await session.request("GET", `/api/supervisor/audit/contacts/${encodeURIComponent(contactId)}`).catch((e) => { notice(t("app.error", { message: e.message }), true); return null; });
  if (!record) return;
  $("audit-heading").textContent = t("audit.title", { contact: contactId });
  const detail = (c) => Object.entries(c).filter(([k, v]) => !["at", "time", "change"].includes(k) && v != null).map(([k, v]) => `${k}: ${k.endsWith("_at") && typeof v === "number" ? when(v) : v}`).join(", ");
  $("audit-body").replaceChildren(h("table", {},
    h("thead", {}, h("tr", {}, ["col.time", "col.event", "col.detail"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, record.trail.map((c) => h("tr", {}, h("td", {}, when(c.at)), h("td", {}, c.change.replaceAll("_", " ")), h("td", {}, detail(c)))))));
  $("audit-dialog").showModal();
}

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(new Date());
}

async function showReport() {
  const date = $("report-date").value;
  const by = $("report-by").value;
  const report = await session.request("GET", `/api/supervisor/reports/daily?date=${date}&by=${by}`).catch((e) => { notice(t("app.error", { message: e.message }), true); return null; });
  if (!report) return;
  const cells = (row) => FIGURES.map((f) => h("td", { class: "num" }, row[f] == null ? "–" : f.endsWith("_s") ? duration(row[f]) : row[f]));
  $("report").replaceChildren(h("table", {}, h("caption", {}, `${t("report.title")} ${report.date}`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("report.group")), FIGURES.map((f) => h("th", { scope: "col", class: "num" }, t(`fig.${f}`))))),
    h("tbody", {}, (report.rows || []).map((row) => h("tr", {}, h("th", { scope: "row" }, by === "service" ? tOr("service", row[by]) : row[by]), cells(row))),
      h("tr", {}, h("th", { scope: "row" }, t("report.total")), cells(report.total)))));
}

// ------------------------------------------------------------------ wiring

function onMessage(msg) {
  if (msg.type === "stats") {
    view.stats = msg;
    renderStats();
    if (!$("queue").contains(document.activeElement)) loadQueue();
  } else if (msg.type === "alert") {
    view.alerts.unshift({ ...msg, received: Date.now() / 1000 });
    view.alerts.length = Math.min(view.alerts.length, 20);
    renderAlerts();
  }
}

function renderAll() { renderStats(); renderAlerts(); renderQueue(); renderAgents(); renderEdit(); keepFocus(drawServices); }

languageSwitch($("lang"));
translate();
onLanguage(renderAll);
$("report-date").value = today();
$("report-form").addEventListener("submit", (event) => { event.preventDefault(); showReport(); });
$("queue-refresh").addEventListener("click", () => { loadQueue(); loadAgents(); });
$("audit-close").addEventListener("click", () => $("audit-dialog").close());
$("report-csv").addEventListener("click", () => session.download(`/api/supervisor/reports/daily?date=${$("report-date").value}&by=${$("report-by").value}&format=csv`, `yhteys-daily-${$("report-date").value}.csv`).catch((e) => notice(e.message, true)));
$("audit-csv").addEventListener("click", () => session.download(`/api/supervisor/audit/export?from=${$("report-date").value}&format=csv`, `yhteys-audit-${$("report-date").value}.csv`).catch((e) => notice(e.message, true)));
$("audit-jsonl").addEventListener("click", () => session.download(`/api/supervisor/audit/export?from=${$("report-date").value}&format=jsonl`, `yhteys-audit-${$("report-date").value}.jsonl`).catch((e) => notice(e.message, true)));
renderAlerts();
session = supervise({
  onStart: async (s) => {
    session = s;
    await loadServices();
    loadQueue();
    loadAgents();
  },
  onMessage,
});
