// The supervisor console: live figures and alerts, the waiting list in the one order with
// its levers (move, offer, remove), agents (skills, capacity, team and site, forced
// presence, and the effect of a change on the next decision), services (targets, steps,
// agent choice, callback policy, hours today), audit trails, daily reports and charts.
import { h, keepFocus } from "/pages/api.js";
import { clock, duration, hm, languageSwitch, onLanguage, t, tOr, translate, when, ZONE } from "/pages/i18n.js";
import { percent, supervise } from "/pages/live-stats.js";

const $ = (id) => document.getElementById(id);
const PRESENCES = ["available", "not_ready", "offline"];
const CHANNELS = ["voice", "chat", "web", "callback", "workitem"];
const CHOICES = ["longest_idle", "highest_proficiency", "least_occupied"];
const FIGURES = ["contacts", "answered", "answered_within_target_pct", "same_day_pct", "wait_avg_s", "wait_p90_s", "abandoned_pct", "callback_attempts_per_contact", "unreachable"];
// The waiting list shows this many rows at first, and this many more on "Show more".
const PAGE = 50;
// The server names eligible agents for at most this many rows a request
// (``?eligible=true``): more rows shown are asked for in pieces of this size.
const ELIGIBLE_ROWS = 100;
// The most rows the list shows: the server's largest page (MAX_LIMIT).
const MOST_ROWS = 1000;
// The standing alerts read at start, on reconnect and when the contacts change.
const ALERTS_SHOWN = 50;
const view = {
  choices: new Map(), stats: null, alerts: [], alertsMore: 0, contacts: [], total: 0, shown: PAGE, agents: [],
  // The versions of the tables as last loaded (the stats push names the current ones).
  loaded: { agents: null, contacts: null },
  services: [], hours: new Map(), editing: null, editingService: null, effect: null, removing: null, charts: null,
};
let session = null;

// Per table, the latest request (its number and the version it was asked at): an older,
// slower answer is dropped, and only the latest request's answer marks a version loaded.
const asking = { contacts: { n: 0, version: null }, agents: { n: 0, version: null }, alerts: { n: 0, version: null } };

function ask(table, version) {
  const latest = asking[table];
  latest.n += 1;
  latest.version = version;
  return latest.n;
}

/** Whether request ``n`` is still the latest of ``table``; if so it is answered now
 * (``body`` null: it failed), which marks its version loaded or not. */
function answered(table, n, body) {
  const latest = asking[table];
  if (latest.n !== n) return false;
  if (latest.version) view.loaded[table] = body ? latest.version : null;
  latest.version = null;
  return body != null;
}

/** Whether ``version`` of ``table`` is loaded or being asked for already. */
const current = (table, version) => version === view.loaded[table] || version === asking[table].version;

function notice(text, error = false) {
  $("notices").replaceChildren(h("p", { class: error ? "notice error" : "notice" }, text));
}

function failed(error) {
  const problems = (error.body?.error?.problems || []).map((p) => `${p.field}: ${p.reason}`).join("; ");
  notice(t("app.error", { message: problems || error.message }), true);
  return null;
}

async function call(method, path, body) {
  if (document.body.dataset.online !== "yes") { notice(t("app.refused_offline"), true); return null; }
  try {
    const result = await session.request(method, path, body);
    notice(t("action.done"));
    return result ?? {};
  } catch (error) {
    return failed(error);
  }
}

// An edit refused because the record changed since the form read it (412).
const STALE = Symbol("stale");

/** An edit made against the record as read (``If-Match: tag``): ``{data, etag}``, or
 * STALE when someone else changed it meanwhile (nothing was changed), or null. */
async function callTagged(method, path, body, tag) {
  if (document.body.dataset.online !== "yes") { notice(t("app.refused_offline"), true); return null; }
  try {
    const answer = await session.exchange(method, path, body, tag ? { "If-Match": tag } : {});
    notice(t("action.done"));
    return answer;
  } catch (error) {
    return error.status === 412 ? STALE : failed(error);
  }
}

/** The record as it is now, with its ETag (null, with a notice, when it cannot be read). */
async function readTagged(path) {
  return session.exchange("GET", path).catch((error) => failed(error));
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
  const items = view.alerts.map((a) => h("li", {}, `${clock(a.received)} — ${alertText(a)}`));
  if (view.alertsMore > 0) items.push(h("li", {}, t("alerts.more", { n: view.alertsMore })));
  $("alerts").replaceChildren(...(items.length ? items : [h("li", {}, t("alerts.none"))]));
}

// One alert per kind and contact (per service for capacity_short): a push of one the
// console already shows, or read as standing, is not shown twice.
const alertKey = (a) => `${a.kind}/${a.contact_id ?? a.service}`;

function showAlerts(alerts) {
  const seen = new Set();
  view.alerts = alerts.filter((a) => !seen.has(alertKey(a)) && seen.add(alertKey(a)))
    .sort((a, b) => b.received - a.received).slice(0, ALERTS_SHOWN);
}

/** The deadline alerts standing now (``GET /api/supervisor/alerts``): a console opened
 * or reconnected after they were pushed shows them, and one whose contact was answered
 * or closed goes. Pushed while the answer was on its way, an alert is kept; so are
 * capacity alerts (pushed once a day, not read back). */
async function loadAlerts() {
  const n = ask("alerts", null);
  const asked = Date.now() / 1000;
  const body = await session.request("GET", `/api/supervisor/alerts?limit=${ALERTS_SHOWN}`).catch(failed);
  if (!answered("alerts", n, body)) return;
  const kept = view.alerts.filter((a) => a.kind === "capacity_short" || a.pushed >= asked);
  showAlerts([...body.alerts.map((a) => ({ ...a, received: a.since })), ...kept]);
  view.alertsMore = body.total - body.alerts.length;
  renderAlerts();
}

// ------------------------------------------------------------------ the waiting list

/** The waiting list (the rows shown) with each waiting contact's eligible agents, in one
 * request. ``version``: the contacts' and agents' versions it is loaded at. */
async function loadQueue(version = null) {
  const n = ask("contacts", version);
  const pieces = [];
  for (let offset = 0; offset < view.shown; offset += ELIGIBLE_ROWS) {
    const limit = Math.min(ELIGIBLE_ROWS, view.shown - offset);
    pieces.push(session.request("GET", `/api/supervisor/contacts?offset=${offset}&limit=${limit}&eligible=true`));
  }
  // A reload that fails says so: a list that silently stopped moving would look current.
  const pages = await Promise.all(pieces).catch((error) => (asking.contacts.n === n ? failed(error) : null));
  if (!answered("contacts", n, pages)) return;
  // The pieces are read one after another: a contact that moved up meanwhile would be
  // in two of them.
  const seen = new Set();
  view.contacts = pages.flatMap((p) => p.contacts).filter((c) => !seen.has(c.id) && seen.add(c.id));
  view.total = pages[0].total;
  renderQueue();
  renderEffect();
}

function queueRow(c) {
  const eligible = c.eligible || [];
  const who = c.state === "waiting"
    ? (eligible.map((a) => `${a.name} (${tOr("status", a.status)})`).join(", ") || "–")
      // The server names the first few (the free ones first) and counts them all.
      + ((c.eligible_total ?? 0) > eligible.length ? ` ${t("queue.eligible_more", { n: c.eligible_total - eligible.length })}` : "")
    : `${tOr("state", c.state)}: ${c.agent_id || ""}`;
  const actions = [h("button", { type: "button", id: `audit-${c.id}`, onclick: () => openAudit(c.id) }, `${t("action.audit")}: ${c.id}`)];
  if (c.state !== "assigned") {
    actions.push(h("button", { type: "button", id: `remove-${c.id}`, onclick: () => openRemove(c.id) }, `${t("action.remove")}: ${c.id}`));
  }
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
      const target = move.value;
      const moved = await call("POST", `/api/supervisor/contacts/${encodeURIComponent(c.id)}/move`, { service: target });
      if (!moved) return;
      // The answer is the contact after the move: a step of the new service may have
      // taken it on at once (nobody there can serve it, and it overflowed).
      if (moved.service === target) notice(t("move.done", { contact: c.id, service: tOr("service", target) }));
      else notice(t("move.overflowed", { contact: c.id, service: tOr("service", target), now: tOr("service", moved.service) }), true);
      loadQueue();
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
    h("td", { class: "due", "data-due": c.due_at, "data-open": c.state !== "assigned" ? "yes" : "no" }, dueText(c.due_at, c.state !== "assigned")),
    h("td", { class: "waited", "data-arrived": c.arrived_at }, duration(Date.now() / 1000 - c.arrived_at)),
    h("td", {}, tOr("step", c.step)),
    h("td", {}, who),
    h("td", {}, actions));
}

function renderQueue() { keepFocus(drawQueue); }

/** A contact's due time, and "overdue" in words once it is past (not by colour alone)
 * while no agent has it. */
function dueText(dueAt, open) {
  const overdue = open && Date.now() / 1000 >= dueAt;
  return overdue ? [when(dueAt), " ", h("strong", { class: "overdue" }, `(${t("queue.overdue")})`)] : when(dueAt);
}

/** The same rows: only their waited times move on (nothing redrawn, nothing asked). */
function tickWaited() {
  for (const cell of $("queue").querySelectorAll("td.waited")) cell.textContent = duration(Date.now() / 1000 - Number(cell.dataset.arrived));
  for (const cell of $("queue").querySelectorAll("td.due")) cell.replaceChildren(...[dueText(Number(cell.dataset.due), cell.dataset.open === "yes")].flat());
}

// Removing a contact asks first: a dialog with the reason (required), then the request.
function openRemove(contactId) {
  view.removing = contactId;
  $("remove-heading").textContent = t("remove.title", { contact: contactId });
  $("remove-reason").value = "";
  $("remove-dialog").showModal();
  $("remove-reason").focus();
}

async function confirmRemove(event) {
  event.preventDefault();
  const contactId = view.removing;
  const reason = $("remove-reason").value.trim();
  if (!contactId || !reason) return $("remove-reason").focus();
  $("remove-dialog").close();
  if (await call("POST", `/api/supervisor/contacts/${encodeURIComponent(contactId)}/remove`, { reason })) {
    notice(t("remove.done", { contact: contactId, reason }));
    await loadQueue();
  }
  view.removing = null;
  $("queue-refresh").focus();
}

function drawQueue() {
  if (!view.contacts.length) return $("queue").replaceChildren(h("p", {}, t("queue.empty")));
  const head = ["col.position", "col.contact", "col.channel", "col.service", "col.urgency", "col.due", "col.waited", "col.step", "col.eligible", "col.actions"];
  const more = view.total > view.contacts.length && view.shown < MOST_ROWS;
  const count = view.shown >= MOST_ROWS && view.total > view.contacts.length ? "queue.count_most" : "queue.count";
  $("queue").replaceChildren(
    h("p", { id: "queue-count" }, t(count, { shown: view.contacts.length, total: view.total })),
    h("div", { class: "scroll", role: "region", tabindex: "0", "aria-labelledby": "queue-heading" },
      h("table", {}, h("caption", { class: "visually-hidden" }, t("queue.title")),
        h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
        h("tbody", {}, view.contacts.map(queueRow)))),
    more ? h("button", { type: "button", id: "queue-more", onclick: async () => {
      view.shown = Math.min(view.shown + PAGE, MOST_ROWS);
      await loadQueue();
      $("queue-more")?.focus();
    } }, t("queue.more", { n: Math.min(PAGE, view.total - view.contacts.length, MOST_ROWS - view.shown) })) : null);
}

// ------------------------------------------------------------------ agents

async function loadAgents(version = null) {
  const n = ask("agents", version);
  const body = await session.request("GET", "/api/supervisor/agents").catch((error) => (asking.agents.n === n ? failed(error) : null));
  if (!answered("agents", n, body)) return;
  // Logged-in agents first; the offline ones after them (a supervisor may log them in).
  view.agents = [...body.agents].sort((a, b) => (a.status === "offline") - (b.status === "offline"));
  renderAgents();
  renderEffect();
}

const skillsText = (skills) => Object.entries(skills).map(([k, v]) => `${k}=${v}`).join(", ");
const capacityText = (capacity) => CHANNELS.filter((ch) => ch in capacity).map((ch) => `${tOr("channel", ch)} ${capacity[ch]}`).join(", ");
const contactText = (c) => `${c.id} (${tOr("service", c.service)}${c.position ? `, #${c.position}` : ""})`;

/** After a change to an agent: which waiting contacts the agent may now be offered, and
 * what it holds, from the server (the contacts listing and their eligible agents). The
 * loaders show it again with every answer: a live update asked for after these two
 * drops their answers as stale, and only its own answer has the change. */
async function showEffect(agentId) {
  await Promise.all([loadQueue(), loadAgents()]);
  view.effect = agentId;
  renderEffect();
}

function renderEffect() {
  const a = view.agents.find((x) => x.id === view.effect);
  if (!a) return $("agent-effect").replaceChildren();
  const waiting = view.contacts.filter((c) => c.state === "waiting" && (c.eligible || []).some((e) => e.id === a.id));
  const held = view.contacts.filter((c) => c.agent_id === a.id);
  const lines = [];
  if (a.status === "offline") lines.push(t("agent.effect_offline"));
  else if (waiting.length) lines.push(t("agent.effect_eligible", { n: waiting.length, list: waiting.map(contactText).join(", ") }));
  else lines.push(t("agent.effect_none"));
  if (held.length) lines.push(t("agent.effect_held", { list: held.map((c) => `${c.id} (${tOr("service", c.service)}, ${tOr("state", c.state)})`).join(", ") }));
  $("agent-effect").replaceChildren(h("div", { class: "notice effect" },
    h("h3", {}, t("agent.effect_title", { name: a.name })), lines.map((line) => h("p", {}, line))));
}

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
    h("td", {}, capacityText(a.capacity)),
    h("td", {},
      h("button", { type: "button", id: `edit-${a.id}`, onclick: () => openEdit(a.id) }, `${t("agent.edit")}: ${a.name}`),
      h("div", { class: "row" }, presence, h("button", { type: "button", id: `force-${a.id}`, onclick: async () => {
        const body = { presence: presence.value, force: true };
        if (presence.value === "not_ready") body.reason = "supervisor";
        if (await call("POST", `/api/supervisor/agents/${encodeURIComponent(a.id)}/presence`, body)) showEffect(a.id);
      } }, `${t("agent.force")}: ${a.name}`))));
}

function renderAgents() { keepFocus(drawAgents); }

function drawAgents() {
  const head = ["col.agent", "col.status", "col.reason", "col.site", "col.team", "col.skills", "col.languages", "col.capacity", "col.actions"];
  $("agents").replaceChildren(h("div", { class: "scroll", role: "region", tabindex: "0", "aria-labelledby": "agents-heading" },
    h("table", {}, h("caption", { class: "visually-hidden" }, t("agents.title")),
      h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, view.agents.map(agentRow)))));
}

const agentPath = (id) => `/api/supervisor/agents/${encodeURIComponent(id)}`;

/** Opens the edit form on the agent as it is now (not the table's copy, which another
 * supervisor's change may have overtaken), keeping its ETag for the save. */
async function openEdit(agentId) {
  const fresh = await readTagged(agentPath(agentId));
  if (!fresh) return;
  view.editing = { agent: fresh.data, tag: fresh.etag, draft: null, stale: false };
  $("agent-edit").replaceChildren();
  renderEdit();
}

/** What the supervisor has typed in the agent's forms. */
function agentDraft() {
  const draft = { skills: $("edit-skills").value, languages: $("edit-languages").value, auth: $("edit-auth").value, capacity: {} };
  for (const ch of CHANNELS) draft.capacity[ch] = $(`edit-cap-${ch}`).value;
  draft.team = $("move-team").value;
  draft.site = $("move-site").value;
  return draft;
}

/** Someone else changed the agent since the form read it: nothing was saved. The form
 * shows the values now in force and keeps the supervisor's edit for another try. */
async function agentChanged(agentId) {
  const draft = agentRebase(view.editing.agent, agentDraft());
  const fresh = await readTagged(agentPath(agentId));
  if (!fresh) return;
  view.editing = { agent: fresh.data, tag: fresh.etag, draft, stale: true };
  $("agent-edit").replaceChildren();
  renderEdit(false);
  notice(t("edit.changed_since_read", { name: fresh.data.name }), true);
  $("edit-now")?.focus();
  loadAgents();
}

/** Of a draft, only what the supervisor changed from ``a`` (the rest undefined): kept over
 * the fresh agent after a 412, so saving again does not undo the other change. */
function agentRebase(a, d) {
  const capacity = {};
  for (const ch of CHANNELS) if (d.capacity[ch] !== String(a.capacity[ch] ?? "")) capacity[ch] = d.capacity[ch];
  return {
    skills: d.skills !== skillsText(a.skills) ? d.skills : undefined,
    languages: d.languages !== a.languages.join(", ") ? d.languages : undefined,
    auth: d.auth !== a.authorisations.join(", ") ? d.auth : undefined,
    capacity,
    team: d.team !== a.team ? d.team : undefined,
    site: d.site || undefined,
  };
}

function renderEdit(focus = true) {
  if (!view.editing) return $("agent-edit").replaceChildren();
  // A redraw (a language switch) keeps what was typed.
  if ($("edit-skills")) view.editing.draft = agentDraft();
  const { agent: a, draft: d } = view.editing;
  const field = (id, label, value) => [h("label", { for: id }, label), h("input", { id, value, size: "40" })];
  const form = h("form", { class: "card", "aria-labelledby": "edit-heading", onsubmit: async (event) => {
    event.preventDefault();
    const skills = {};
    for (const part of $("edit-skills").value.split(",").map((s) => s.trim()).filter(Boolean)) {
      const [name, level] = part.split("=").map((s) => s.trim());
      skills[name] = Number(level);
    }
    const list = (id) => $(id).value.split(",").map((s) => s.trim()).filter(Boolean);
    const capacity = {};
    for (const ch of CHANNELS) if ($(`edit-cap-${ch}`).value !== "") capacity[ch] = Number($(`edit-cap-${ch}`).value);
    // PUT replaces the agent: team and site are the ones just read, not the table's.
    const body = { name: a.name, team: a.team, site: a.site, skills, languages: list("edit-languages"), authorisations: list("edit-auth"), capacity };
    const answer = await callTagged("PUT", agentPath(a.id), body, view.editing.tag);
    if (answer === STALE) return agentChanged(a.id);
    if (answer) closeEdit(a.id);
  } },
  h("h3", { id: "edit-heading" }, t("agent.editing", { name: a.name })),
  view.editing.stale ? h("p", { id: "edit-now", class: "notice error", tabindex: "-1" },
    t("edit.now", { values: `${t("col.skills")}: ${skillsText(a.skills) || "–"}; ${t("col.languages")}: ${a.languages.join(", ") || "–"}; ${t("col.authorisations")}: ${a.authorisations.join(", ") || "–"}; ${t("col.capacity")}: ${capacityText(a.capacity) || "–"}; ${t("col.team")}: ${a.team}; ${t("col.site")}: ${a.site}` })) : null,
  h("div", { class: "row" }, field("edit-skills", t("col.skills"), d?.skills ?? skillsText(a.skills))),
  h("div", { class: "row" }, field("edit-languages", t("col.languages"), d?.languages ?? a.languages.join(", "))),
  h("div", { class: "row" }, field("edit-auth", t("col.authorisations"), d?.auth ?? a.authorisations.join(", "))),
  h("div", { class: "edit-grid" }, CHANNELS.map((ch) => [
    h("label", { for: `edit-cap-${ch}` }, t("agent.capacity", { channel: tOr("channel", ch) })),
    h("input", { id: `edit-cap-${ch}`, type: "number", min: "0", step: "1", value: d?.capacity[ch] ?? a.capacity[ch] ?? "" })])),
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("agent.save")),
    h("button", { type: "button", id: "edit-cancel", onclick: () => closeEdit(null) }, t("agent.cancel"))));
  const teams = [...new Set([a.team, ...view.agents.map((x) => x.team)])].sort();
  const sites = [...new Set([...(view.stats?.sites || []).map((x) => x.site), ...view.agents.map((x) => x.site)])].sort();
  const team = d?.team ?? a.team;
  const move = h("form", { class: "card", "aria-labelledby": "move-heading", onsubmit: async (event) => {
    event.preventDefault();
    const body = { team: $("move-team").value };
    if ($("move-site").value) body.site = $("move-site").value;
    const answer = await callTagged("POST", `${agentPath(a.id)}/move`, body, view.editing.tag);
    if (answer === STALE) return agentChanged(a.id);
    if (answer) closeEdit(a.id);
  } },
  h("h3", { id: "move-heading" }, t("agent.move_title")),
  h("div", { class: "row" },
    h("label", { for: "move-team" }, t("col.team")),
    h("select", { id: "move-team" }, teams.map((x) => h("option", { value: x, selected: x === team }, x))),
    h("label", { for: "move-site" }, t("col.site")),
    h("select", { id: "move-site" }, h("option", { value: "" }, t("agent.team_site")), sites.map((x) => h("option", { value: x, selected: x === d?.site }, x))),
    h("button", { type: "submit", class: "primary" }, t("agent.move"))));
  $("agent-edit").replaceChildren(form, move);
  if (focus) $("edit-skills").focus();
}

/** Closes the edit form; after a change shows its effect and gives the focus back. */
function closeEdit(changedId) {
  const id = view.editing?.agent.id;
  view.editing = null;
  renderEdit();
  if (changedId) showEffect(changedId).then(() => $(`edit-${changedId}`)?.focus());
  else if (id) $(`edit-${id}`)?.focus();
}

// ------------------------------------------------------------------ services

async function loadServices() {
  const body = await session.request("GET", "/api/supervisor/services").catch(() => null);
  if (!body) return;
  view.services = body.services;
  await Promise.all(view.services.map(async (s) => {
    const hours = await session.request("GET", `/api/supervisor/services/${encodeURIComponent(s.name)}/hours`).catch(() => null);
    if (hours) view.hours.set(s.name, hours);
  }));
  const select = $("report-service");
  const chosen = select.value;
  select.replaceChildren(select.options[0], ...view.services.map((s) => h("option", { value: s.name }, tOr("service", s.name))));
  select.value = chosen;
  keepFocus(drawServices);
}

function intervalsText(day) {
  // The server's intervals are "HH:MM": shown in the language's form, as every time is.
  const local = (text) => hm(...text.split(":").map(Number));
  const text = day.intervals.length ? day.intervals.map((i) => `${local(i.from)}–${local(i.to)}`).join(", ") : t("hours.closed");
  const why = [tOr("hours.source", day.source), day.holiday].filter(Boolean).join(", ");
  return `${text} (${why})`;
}

function hoursText(name) {
  const hours = view.hours.get(name);
  if (!hours) return "–";
  const parts = [`${intervalsText(hours)}; ${t(hours.open_now ? "hours.open_now" : "hours.closed_now")}`];
  for (const [ch, day] of Object.entries(hours.channels)) parts.push(`${tOr("channel", ch)}: ${intervalsText(day)}`);
  return parts.join(" · ");
}

const servicePath = (name) => `/api/supervisor/services/${encodeURIComponent(name)}`;

/** Opens a service's edit form on its settings as they are now, keeping the ETag. */
async function openServiceEdit(name) {
  const fresh = await readTagged(servicePath(name));
  if (!fresh) return;
  view.editingService = { service: fresh.data, tag: fresh.etag, draft: null, stale: false };
  $("service-edit").replaceChildren();
  renderServiceEdit();
}

function closeServiceEdit() {
  const name = view.editingService?.service.name;
  view.editingService = null;
  renderServiceEdit();
  if (name) $(`svc-edit-${name}`)?.focus();
}

function serviceDraft(s) {
  const steps = {};
  s.steps.forEach((x, i) => { if ($(`svc-step-${i}`)) steps[i] = $(`svc-step-${i}`).value; });
  return { choice: $("svc-choice").value, steps, attempts: $("svc-attempts").value, retry: $("svc-retry").value, window: $("svc-window").value };
}

// Minutes and hours shown as decimals come back with rounding: not a change.
const differs = (a, b) => Math.abs(a - b) > 1e-6;

/** The merge patch of what the supervisor changed from the settings read: a field left
 * as it was is not sent, so it cannot undo another supervisor's change to it. */
function servicePatch(s, d) {
  const patch = {};
  if (d.choice !== s.agent_choice) patch.agent_choice = d.choice;
  // Lists replace whole (RFC 7396): the steps go only when a duration changed, and then
  // as read, with the durations changed.
  const steps = s.steps.map((x, i) => (x.duration_s == null || d.steps[i] === undefined ? x : { ...x, duration_s: Number(d.steps[i]) * 60 }));
  if (steps.some((x, i) => differs(x.duration_s, s.steps[i].duration_s))) patch.steps = steps;
  const callback = {};
  if (differs(Number(d.attempts), s.callback.attempts)) callback.attempts = Number(d.attempts);
  if (differs(Number(d.retry) * 60, s.callback.retry_s)) callback.retry_s = Number(d.retry) * 60;
  if (differs(Number(d.window) * 3600, s.callback.window_s)) callback.window_s = Number(d.window) * 3600;
  if (Object.keys(callback).length) patch.callback = callback;
  return patch;
}

/** Of a draft, only what the supervisor changed from ``s`` (the rest undefined): kept
 * over the fresh settings after a 412, so a retry does not undo the other change. */
function serviceRebase(s, d) {
  const steps = {};
  s.steps.forEach((x, i) => { if (d.steps[i] !== undefined && differs(Number(d.steps[i]) * 60, x.duration_s)) steps[i] = d.steps[i]; });
  return {
    choice: d.choice !== s.agent_choice ? d.choice : undefined,
    steps,
    attempts: differs(Number(d.attempts), s.callback.attempts) ? d.attempts : undefined,
    retry: differs(Number(d.retry) * 60, s.callback.retry_s) ? d.retry : undefined,
    window: differs(Number(d.window) * 3600, s.callback.window_s) ? d.window : undefined,
  };
}

function renderServiceEdit(focus = true) {
  if (!view.editingService) return $("service-edit").replaceChildren();
  if ($("svc-choice")) view.editingService.draft = serviceDraft(view.editingService.service);
  const { service: s, draft: d } = view.editingService;
  const name = tOr("service", s.name);
  const row = (id, label, input) => [h("label", { for: id }, label), input];
  const number = (id, value, attrs = {}) => h("input", { id, type: "number", min: "0", step: "any", value, ...attrs });
  const form = h("form", { class: "card", "aria-labelledby": "svc-edit-heading", onsubmit: async (event) => {
    event.preventDefault();
    const patch = servicePatch(s, serviceDraft(s));
    if (!Object.keys(patch).length) { closeServiceEdit(); notice(t("svc.unchanged", { service: name })); return; }
    const answer = await callTagged("PATCH", servicePath(s.name), patch, view.editingService.tag);
    if (answer === STALE) {
      const draft = serviceRebase(s, serviceDraft(s));
      const fresh = await readTagged(servicePath(s.name));
      if (!fresh) return;
      view.editingService = { service: fresh.data, tag: fresh.etag, draft, stale: true };
      $("service-edit").replaceChildren();
      renderServiceEdit(false);
      notice(t("edit.changed_since_read", { name }), true);
      $("svc-now")?.focus();
      loadServices();
      return;
    }
    if (answer) {
      view.editingService = null;
      renderServiceEdit();
      await loadServices();
      notice(t("svc.saved", { service: name }));
      $(`svc-edit-${s.name}`)?.focus();
      loadQueue();
    }
  } },
  h("h3", { id: "svc-edit-heading" }, t("svc.editing", { service: name })),
  view.editingService.stale ? h("p", { id: "svc-now", class: "notice error", tabindex: "-1" },
    t("edit.now", { values: `${t("col.choice")}: ${tOr("choice", s.agent_choice)}; ${t("col.steps")}: ${stepsText(s)}; ${t("col.callback")}: ${callbackText(s)}` })) : null,
  h("div", { class: "edit-grid" },
    row("svc-choice", t("col.choice"), h("select", { id: "svc-choice" }, CHOICES.map((c) => h("option", { value: c, selected: c === (d?.choice ?? s.agent_choice) }, tOr("choice", c))))),
    s.steps.map((x, i) => (x.duration_s == null ? null
      : row(`svc-step-${i}`, t("svc.step_duration", { n: i + 1, step: tOr("step", x.kind) }), number(`svc-step-${i}`, d?.steps[i] ?? x.duration_s / 60)))),
    row("svc-attempts", t("svc.attempts"), number("svc-attempts", d?.attempts ?? s.callback.attempts, { min: "1", max: "20", step: "1" })),
    row("svc-retry", t("svc.retry"), number("svc-retry", d?.retry ?? s.callback.retry_s / 60)),
    row("svc-window", t("svc.window"), number("svc-window", d?.window ?? s.callback.window_s / 3600))),
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("svc.save_all")),
    h("button", { type: "button", onclick: closeServiceEdit }, t("agent.cancel"))));
  $("service-edit").replaceChildren(form);
  if (focus) $("svc-choice").focus();
}

const stepsText = (s) => s.steps.map((x) => `${tOr("step", x.kind)}${x.duration_s != null ? ` ${duration(x.duration_s)}` : ""}${x.overflow_to ? ` → ${tOr("service", x.overflow_to)}` : ""}`).join(" → ");
const callbackText = (s) => t("svc.callback", { attempts: s.callback.attempts, retry: duration(s.callback.retry_s), window: duration(s.callback.window_s) });

function serviceRow(s) {
  const name = tOr("service", s.name);
  const urgency = h("select", { id: `urgency-${s.name}`, "aria-label": t("svc.urgency", { service: name }) },
    Object.keys(s.urgencies).map((u) => h("option", { value: u, selected: u === s.default_urgency }, u)));
  const minutes = h("input", { id: `target-${s.name}`, type: "number", min: "0", step: "1", size: "5", "aria-label": t("svc.target", { service: name }) });
  return h("tr", { "data-service": s.name },
    h("th", { scope: "row" }, name),
    h("td", {}, h("code", {}, s.requirement)),
    h("td", {}, Object.entries(s.urgencies).map(([u, x]) => `${u} ${x.redirect ? `→ ${x.redirect}` : duration(x.target_s)}`).join(", ")),
    h("td", {}, stepsText(s)),
    h("td", {}, tOr("choice", s.agent_choice)),
    h("td", {}, duration(s.wrapup_s)),
    h("td", {}, callbackText(s)),
    h("td", {}, hoursText(s.name)),
    h("td", {}, h("button", { type: "button", id: `svc-edit-${s.name}`, onclick: () => openServiceEdit(s.name) }, `${t("svc.edit")}: ${name}`),
      h("div", { class: "row" }, urgency, minutes, h("button", { type: "button", id: `target-btn-${s.name}`, onclick: async () => {
      if (minutes.value === "") return;
      const patch = { urgencies: { [urgency.value]: { target_s: Number(minutes.value) * 60 } } };
      if (await call("PATCH", `/api/supervisor/services/${encodeURIComponent(s.name)}`, patch)) { loadServices(); loadQueue(); }
    } }, `${t("svc.save")}: ${name}`))));
}

function drawServices() {
  const head = ["col.service", "col.requirement", "col.targets", "col.steps", "col.choice", "col.wrapup", "col.callback", "col.hours", "col.actions"];
  $("service-settings").replaceChildren(h("div", { class: "scroll", role: "region", tabindex: "0", "aria-labelledby": "services-heading" },
    h("table", {}, h("caption", { class: "visually-hidden" }, t("svc.title")),
      h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, view.services.map(serviceRow)))));
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
  const service = $("report-service").value;
  const failed = (e) => { notice(t("app.error", { message: e.message }), true); return null; };
  const [report, charts] = await Promise.all([
    session.request("GET", `/api/supervisor/reports/daily?date=${date}&by=${by}`).catch(failed),
    session.request("GET", `/api/supervisor/reports/daily/charts?date=${date}${service ? `&service=${encodeURIComponent(service)}` : ""}`).catch(failed),
  ]);
  view.charts = charts;
  renderCharts();
  if (!report) return;
  const cells = (row) => FIGURES.map((f) => h("td", { class: "num" }, row[f] == null ? "–" : f.endsWith("_s") ? duration(row[f]) : row[f]));
  $("report").replaceChildren(h("table", {}, h("caption", {}, `${t("report.title")} ${report.date}`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("report.group")), FIGURES.map((f) => h("th", { scope: "col", class: "num" }, t(`fig.${f}`))))),
    h("tbody", {}, (report.rows || []).map((row) => h("tr", {}, h("th", { scope: "row" }, by === "service" ? tOr("service", row[by]) : row[by]), cells(row))),
      h("tr", {}, h("th", { scope: "row" }, t("report.total")), cells(report.total)))));
}

// ------------------------------------------------------------------ charts (inline SVG)

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null && v !== false) el.setAttribute(k, v);
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

/** A bar chart as an image with a title and a description for screen readers; values
 * null draw no bar. ``line`` draws a reference line at that value. */
function barChart({ id, title, summary, labels, values, max, axis, tick, line, low }) {
  const W = 640, H = 260, left = 44, right = 8, top = 12, bottom = 48;
  const plotW = W - left - right, plotH = H - top - bottom;
  const slot = plotW / values.length, bar = Math.max(3, slot * 0.7);
  const y = (v) => top + plotH - (max ? (v / max) * plotH : 0);
  return svg("svg", { id, class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc` },
    svg("title", { id: `${id}-title` }, title),
    svg("desc", { id: `${id}-desc` }, summary),
    [0, max / 2, max].map((v) => [
      svg("line", { class: "grid", x1: left, x2: W - right, y1: y(v), y2: y(v) }),
      svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, tick(v))]),
    values.map((v, i) => (v == null ? null : svg("rect", {
      class: low && low(v) ? "bar low" : "bar", x: left + i * slot + (slot - bar) / 2, y: y(v), width: bar, height: Math.max(0, top + plotH - y(v)),
    }))),
    labels.map((label, i) => svg("text", { x: left + i * slot + slot / 2, y: top + plotH + 16, "text-anchor": "middle" }, label)),
    svg("line", { class: "axis", x1: left, x2: W - right, y1: top + plotH, y2: top + plotH }),
    line == null ? null : svg("line", { class: "target", x1: left, x2: W - right, y1: y(line), y2: y(line) }),
    svg("text", { x: left + plotW / 2, y: H - 8, "text-anchor": "middle" }, axis));
}

function chartTable(caption, head, rows) {
  return h("details", {}, h("summary", {}, t("chart.table")),
    h("table", {}, h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, head.map((x, i) => h("th", { scope: "col", class: i ? "num" : false }, x)))),
      h("tbody", {}, rows.map(([first, ...rest]) => h("tr", {}, h("th", { scope: "row" }, first), rest.map((x) => h("td", { class: "num" }, x)))))));
}

const bandText = (b) => (b.to_s == null ? t("chart.band_from", { from: duration(b.from_s) }) : `${duration(b.from_s)}–${duration(b.to_s)}`);
const bandShort = (b) => (b.to_s == null ? `${b.from_s / 60}+` : `${b.from_s / 60}–${b.to_s / 60}`);
const pct = (v) => (v == null ? "–" : `${v} %`);

function renderCharts() {
  const c = view.charts;
  if (!c) return $("charts").replaceChildren();
  const service = c.service ? tOr("service", c.service) : t("report.all_services");
  const answered = c.wait_histogram.reduce((sum, b) => sum + b.answered, 0);
  const most = c.wait_histogram.reduce((a, b) => (b.answered > a.answered ? b : a), c.wait_histogram[0]);
  const waitTitle = t("chart.wait.title", { service, date: c.date });
  const waitMax = Math.max(1, ...c.wait_histogram.map((b) => b.answered));
  const wait = h("figure", { "aria-labelledby": "chart-wait-caption" },
    h("figcaption", { id: "chart-wait-caption" }, waitTitle),
    barChart({
      id: "chart-wait", title: waitTitle,
      summary: answered ? t("chart.wait.summary", { answered, band: bandText(most), n: most.answered }) : t("chart.wait.none"),
      labels: c.wait_histogram.map(bandShort), values: c.wait_histogram.map((b) => b.answered),
      max: waitMax, axis: t("chart.wait.axis"), tick: (v) => (Number.isInteger(v) ? v : ""),
    }),
    chartTable(waitTitle, [t("chart.band"), t("chart.answered")], c.wait_histogram.map((b) => [bandText(b), b.answered])));
  const hours = c.by_hour.filter((r) => r.answered_within_target_pct != null);
  const lowest = hours.reduce((a, r) => (a == null || r.answered_within_target_pct < a.answered_within_target_pct ? r : a), null);
  const hh = (n) => String(n).padStart(2, "0");
  const slTitle = t("chart.sl.title", { service, date: c.date });
  const sl = h("figure", { "aria-labelledby": "chart-sl-caption" },
    h("figcaption", { id: "chart-sl-caption" }, slTitle),
    barChart({
      id: "chart-sl", title: slTitle,
      summary: lowest ? t("chart.sl.summary", { hours: hours.length, low: pct(lowest.answered_within_target_pct), hour: hm(lowest.hour, 0) }) : t("chart.sl.none"),
      labels: c.by_hour.map((r) => (r.hour % 3 === 0 ? hh(r.hour) : "")), values: c.by_hour.map((r) => r.answered_within_target_pct),
      max: 100, axis: t("chart.sl.axis"), tick: (v) => `${v} %`, line: 80, low: (v) => v < 80,
    }),
    chartTable(slTitle, [t("chart.hour"), t("fig.contacts"), t("fig.answered"), t("chart.within"), t("fig.answered_within_target_pct")],
      c.by_hour.filter((r) => r.contacts).map((r) => [`${hm(r.hour, 0)}–${hm(r.hour, 59)}`, r.contacts, r.answered, r.answered_within_target, pct(r.answered_within_target_pct)])));
  $("charts").replaceChildren(wait, sl);
}

// ------------------------------------------------------------------ wiring

function onMessage(msg) {
  if (msg.type === "stats") {
    view.stats = msg;
    renderStats();
    // A table is reloaded only when something in it changed (its version in the push),
    // and not while the supervisor is working in it (the next push catches up). The
    // eligible agents in the waiting list change with the agents too.
    const v = msg.versions;
    const queueAt = v ? `${v.contacts}/${v.agents}` : null;
    // The standing alerts change with the contacts (answered, closed, re-targeted).
    if (!v || v.contacts !== view.alertsAt) { view.alertsAt = v?.contacts; loadAlerts(); }
    if (!$("queue").contains(document.activeElement)) {
      if (!v || !current("contacts", queueAt)) loadQueue(queueAt);
      else tickWaited();
    }
    if ((!v || !current("agents", v.agents)) && !$("agents").contains(document.activeElement)) loadAgents(v?.agents);
  } else if (msg.type === "alert") {
    const now = Date.now() / 1000;
    showAlerts([{ ...msg, received: now, pushed: now }, ...view.alerts]);
    renderAlerts();
  }
}

function renderAll() {
  // A language switch redraws in place: the focus stays on the switch.
  renderStats(); renderAlerts(); renderQueue(); renderAgents(); renderEdit(false); renderEffect();
  keepFocus(drawServices); renderServiceEdit(false); renderCharts();
}

languageSwitch($("lang"));
translate();
onLanguage(renderAll);
$("report-date").value = today();
$("report-form").addEventListener("submit", (event) => { event.preventDefault(); showReport(); });
$("queue-refresh").addEventListener("click", () => { loadQueue(); loadAgents(); });
$("audit-close").addEventListener("click", () => $("audit-dialog").close());
$("remove-form").addEventListener("submit", confirmRemove);
$("remove-cancel").addEventListener("click", () => { $("remove-dialog").close(); $(`remove-${view.removing}`)?.focus(); view.removing = null; });
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
  // Every (re)connect reads the alerts standing now (with the first push's versions):
  // pushes missed while away are not sent again.
  onOnline: (online) => { if (online) view.alertsAt = undefined; },
});
