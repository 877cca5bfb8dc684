// The agent desktop: one websocket for every channel; the page shows what the server says.
import { Session, h, signInAround } from "/pages/api.js";
import { clock, duration, languageSwitch, onLanguage, t, tOr, translate, when } from "/pages/i18n.js";

const $ = (id) => document.getElementById(id);
const session = new Session("yhteys.agent.token");
const RESULTS = ["reached", "no_answer", "busy", "invalid_number"];
// The outcomes an agent closes a contact with from the Complete menu. "unreachable" only
// where the agent reaches out to the person (a callback, a web request's contact back);
// "merged" only through the Merge card, which names the contact it goes into. The
// server takes every agent outcome for any contact; the menu offers the ones that mean
// something for this one.
const OUTCOMES = ["resolved", "transferred", "redirected"];
const REACHING_OUT = new Set(["callback", "web"]);
const outcomesFor = (c) => (REACHING_OUT.has(c.channel) ? [...OUTCOMES, "unreachable"] : OUTCOMES);
const state = { me: null, contacts: new Map(), linked: new Map(), transcripts: new Map(), gone: new Set(), attempts: new Map(), selected: sessionStorage.getItem("yhteys.agent.selected"), seenOffers: new Set() };
const pending = new Map();
let page = null;  // the sign-in form around the socket (signInAround)
let nextId = 1;
const baseTitle = () => t("agent.title");

// ------------------------------------------------------------------ server talk

function act(type, body = {}) {
  const id = `a${nextId++}`;
  const live = page?.live();
  if (!live || !live.send({ type, id, ...body })) {
    notice(t("app.refused_offline"), true);
    return Promise.resolve(null);
  }
  return new Promise((resolve) => pending.set(id, resolve));
}

// Pushes counted, so a REST read that was overtaken by the websocket is not applied:
// it would undo a newer offer or change the socket already delivered.
let pushes = 0;

async function refresh() {
  const before = pushes;
  try {
    const s = await session.request("GET", "/api/agent/state");
    if (pushes === before) applyState(s);
  } catch { /* the websocket's next state will do */ }
}

function applyState(s) {
  state.me = s.agent;
  state.contacts = new Map(s.contacts.map((c) => [c.id, c]));
  render();
}

function onMessage(msg) {
  if (msg.type !== "ack" && msg.type !== "error") pushes += 1;
  switch (msg.type) {
    case "state":
      // A resync: what was pushed meanwhile may be lost, so each linked list is read again,
      // and customers gone are forgotten (the server tells again those still gone, after
      // this state; a "back" pushed while the socket was down would be lost).
      state.gone.clear();
      applyState(msg);
      for (const into of state.linked.keys()) recheckLinked(into);
      break;
    case "agent": state.me = msg.agent; render(); break;
    case "offer": state.contacts.set(msg.contact.id, msg.contact); render(); break;
    case "assigned":
      state.contacts.set(msg.contact.id, msg.contact);
      state.selected = msg.contact.id;
      render(); break;
    case "offer_withdrawn":
      state.contacts.delete(msg.contact_id);
      state.gone.delete(msg.contact_id);
      notice(t("offer.withdrawn", { reason: tOr("reason", msg.reason) }));
      refresh().then(() => { if (state.me?.presence === "not_ready") notice(t("offer.missed"), true); });
      render(); break;
    case "closed":
      state.contacts.delete(msg.contact_id);
      state.transcripts.delete(msg.contact_id);
      state.gone.delete(msg.contact_id);
      notice(t("closed.notice", { outcome: tOr("outcome", msg.outcome) }));
      render(); break;
    case "wrapup": if (state.me) state.me.wrapup_until = msg.until; render(); break;
    case "wrapup_end": if (state.me) state.me.wrapup_until = null; notice(t("wrapup.ended")); render(); break;
    case "chat.transcript": state.transcripts.set(msg.contact_id, msg.messages); render(); break;
    case "chat.message": {
      const list = state.transcripts.get(msg.contact_id) || [];
      list.push({ from: msg.from, text: msg.text, at: msg.at });
      state.transcripts.set(msg.contact_id, list);
      render(); break;
    }
    case "linked":
      // The person's other open contacts, told when the agent is given a contact and when
      // it completes it: shown with a Merge into the handled one.
      if (msg.open?.length) state.linked.set(msg.contact_id, msg.open); else state.linked.delete(msg.contact_id);
      render(); break;
    // Kept with the chat as well as noticed: with several chats open, the notice alone
    // does not say whose customer went, and the next notice replaces it.
    case "chat.customer_left": state.gone.add(msg.contact_id); notice(t("chat.left")); render(); break;
    case "chat.customer_back": state.gone.delete(msg.contact_id); notice(t("chat.back")); render(); break;
    case "ack": case "error": {
      const resolve = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.type === "error") notice(t("app.error", { message: msg.message }), true);
      resolve?.(msg.type === "ack" ? msg : null);
      if (msg.type === "ack") refresh();
      break;
    }
    default: break;
  }
}

// ------------------------------------------------------------------ rendering

function notice(text, error = false) {
  $("notices").replaceChildren(h("p", { class: error ? "notice error" : "notice" }, text));
}

function offers() {
  return [...state.contacts.values()].filter((c) => c.state === "offered");
}

function topic(c) {
  const a = c.attributes || {};
  return a.topic || (a.message ? a.message.slice(0, 60) : "");
}

function masked(number, assigned) {
  if (!number) return "";
  if (["hidden", "anonymous", "unknown", "private"].includes(number)) return t("detail.hidden");
  return assigned ? number : `${number.slice(0, 4)} ••• ${number.slice(-3)}`;
}

function summary(c) {
  return [tOr("channel", c.channel), tOr("service", c.service), c.urgency, topic(c)].filter(Boolean).join(" · ");
}

function renderOffer() {
  const list = offers();
  const bar = $("offer-bar");
  const first = list[0];
  $("accept").disabled = $("decline").disabled = !first;
  $("accept").dataset.contact = $("decline").dataset.contact = first ? first.id : "";
  $("offer-text").textContent = first
    ? `${summary(first)} — ${first.offer_expires_at ? t("offer.expires", { time: clock(first.offer_expires_at) }) : ""}`
    : t("offer.none");
  bar.classList.toggle("pending", Boolean(first));
  const fresh = list.filter((c) => !state.seenOffers.has(c.id));
  for (const c of fresh) state.seenOffers.add(c.id);
  if (fresh.length) {
    // Noticeable without taking focus: the title, the bar's cue, and a polite announcement.
    $("announce").textContent = t("offer.new", { channel: tOr("channel", fresh[0].channel), service: tOr("service", fresh[0].service) });
  }
  document.title = first ? `(${list.length}) ${t("offer.new", { channel: tOr("channel", first.channel), service: tOr("service", first.service) })} – ${baseTitle()}` : baseTitle();
}

function facts(c) {
  const a = c.attributes || {};
  const rows = [
    ["col.channel", tOr("channel", c.channel)],
    ["col.service", tOr("service", c.service)],
    ["col.topic", topic(c)],
    ["col.urgency", c.urgency],
    ["col.language", c.language],
    ["col.due", when(c.due_at)],
    ["col.waited", h("span", { "data-since": c.arrived_at }, duration(Date.now() / 1000 - c.arrived_at))],
    ["col.state", tOr("state", c.state)],
  ];
  if (c.link) rows.push(["col.link", h("a", { href: c.link, target: "_blank", rel: "noopener" }, c.link)]);
  if (a.caller) rows.push(["detail.caller", masked(a.caller, c.state === "assigned")]);
  return h("dl", {}, rows.filter(([, v]) => v !== "" && v != null).map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
}

function renderWork() {
  const items = [...state.contacts.values()];
  $("work-empty").classList.toggle("hidden", items.length > 0);
  if (state.selected && !state.contacts.has(state.selected)) state.selected = null;
  if (!state.selected) state.selected = items.find((c) => c.state === "assigned")?.id || null;
  sessionStorage.setItem("yhteys.agent.selected", state.selected || "");
  $("work").replaceChildren(...items.map((c) => h("li", {},
    h("article", { class: "card", "aria-current": c.id === state.selected ? "true" : false, "aria-label": summary(c) },
      h("div", { class: "head" }, h("span", { class: "tag" }, tOr("channel", c.channel)), h("strong", {}, tOr("service", c.service)), h("span", {}, tOr("state", c.state))),
      facts(c),
      h("button", { type: "button", id: `open-${c.id}`, onclick: () => { state.selected = c.id; render(); } }, `${t("col.open")}: ${c.id}`)))));
}

function renderDetail() {
  const c = state.selected ? state.contacts.get(state.selected) : null;
  $("detail").classList.toggle("hidden", !c);
  if (!c) return $("detail-body").replaceChildren();
  const a = c.attributes || {};
  const parts = [h("p", {}, h("strong", {}, summary(c)), " ", h("code", {}, c.id))];
  if (c.channel === "voice") {
    parts.push(h("dl", {}, h("dt", {}, t("detail.caller")), h("dd", { id: "caller" }, masked(a.caller, c.state === "assigned")),
      h("dt", {}, t("detail.ivr")), h("dd", {}, [tOr("service", c.service), c.language, c.urgency].join(" · "))));
  }
  if (c.channel === "web") {
    parts.push(h("dl", {}, h("dt", {}, t("detail.message")), h("dd", {}, a.message || ""),
      h("dt", {}, t("detail.contact_by")), h("dd", {}, [a.contact_method, a.contact_value].filter(Boolean).join(": "))));
  }
  if (c.channel === "workitem") {
    parts.push(h("dl", {}, h("dt", {}, t("col.topic")), h("dd", {}, a.topic || ""),
      h("dt", {}, t("col.link")), h("dd", {}, c.link ? h("a", { href: c.link, target: "_blank", rel: "noopener" }, c.link) : ""),
      a.person_ref ? [h("dt", {}, t("detail.person")), h("dd", {}, a.person_ref)] : null));
  }
  if (c.state === "assigned") {
    if (c.channel === "chat") parts.push(chatPanel(c));
    if (c.channel === "callback") parts.push(callbackPanel(c));
    parts.push(completeForm(c));
  }
  $("detail-body").replaceChildren(...parts);
}

function chatPanel(c) {
  const messages = state.transcripts.get(c.id) || [];
  const input = h("textarea", { id: `chat-input-${c.id}`, rows: "2", cols: "40" });
  const form = h("form", { class: "row", onsubmit: async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const ack = await act("chat.message", { contact_id: c.id, text });
    if (ack) {
      const list = state.transcripts.get(c.id) || [];
      list.push({ from: "agent", text, at: Date.now() / 1000 });
      state.transcripts.set(c.id, list);
      input.value = "";
      render();
      $(`chat-input-${c.id}`)?.focus();
    }
  } }, h("label", { for: `chat-input-${c.id}` }, t("chat.input")), input, h("button", { type: "submit", class: "primary" }, t("chat.send")));
  return h("div", {}, h("h3", {}, t("chat.transcript")),
    state.gone.has(c.id) ? h("p", { class: "notice", id: "chat-gone" }, t("chat.left")) : null,
    h("div", { class: "transcript", id: "transcript", role: "log", "aria-live": "polite", tabindex: "0", "aria-label": t("chat.transcript") },
      messages.map((m) => h("p", { class: m.from === "agent" ? "from-agent" : "from-customer" },
        h("strong", {}, `${m.from === "agent" ? t("chat.agent") : t("chat.customer")} ${m.at ? clock(m.at) : ""}: `), m.text))),
    form);
}

function callbackPanel(c) {
  if (!state.attempts.has(c.id)) {
    state.attempts.set(c.id, []);
    session.request("GET", `/api/agent/contacts/${encodeURIComponent(c.id)}/attempts`)
      .then((r) => { state.attempts.set(c.id, r.attempts); render(); }).catch(() => state.attempts.delete(c.id));
  }
  const list = state.attempts.get(c.id);
  return h("div", {}, h("dl", {}, h("dt", {}, t("callback.number")), h("dd", { id: "callback-number" }, (c.attributes || {}).number || "")),
    h("h3", {}, t("callback.attempts")),
    list.length ? h("ol", { id: "attempts" }, list.map((x) => h("li", {}, `${when(x.at)} — ${tOr("result", x.result)}`))) : h("p", {}, t("callback.none")),
    h("div", { class: "row", role: "group", "aria-label": t("callback.record") },
      RESULTS.map((r) => h("button", { type: "button", id: `result-${r}-${c.id}`, onclick: async () => {
        if (await act("attempt", { contact_id: c.id, result: r })) {
          state.attempts.delete(c.id);
          notice(t("callback.recorded", { result: tOr("result", r) }));
        }
      } }, tOr("result", r)))));
}

function completeForm(c) {
  const select = h("select", { id: `outcome-${c.id}` }, outcomesFor(c).map((o) => h("option", { value: o }, tOr("outcome", o))));
  return h("form", { class: "row", onsubmit: (event) => { event.preventDefault(); act("complete", { contact_id: c.id, outcome: select.value }); } },
    h("label", { for: `outcome-${c.id}` }, t("complete.outcome")), select, h("button", { type: "submit", class: "primary" }, t("complete.submit")));
}

/** The person's other open contacts as they are now (``GET …/linked``): a linked contact
 * that closed elsewhere loses its Merge button. */
async function recheckLinked(into) {
  let open = [];
  try {
    open = (await session.request("GET", `/api/agent/contacts/${encodeURIComponent(into)}/linked`)).open || [];
  } catch (error) {
    // 404: no longer a contact of this agent's, nothing to merge into; otherwise the
    // list stays as it was until the next resync.
    if (error.status !== 404) return;
  }
  if (open.length) state.linked.set(into, open); else state.linked.delete(into);
  render();
}

function renderLinked() {
  const groups = [...state.linked.entries()].filter(([, open]) => open.length);
  $("linked").classList.toggle("hidden", !groups.length);
  $("linked-body").replaceChildren(...groups.map(([into, open]) => h("div", { class: "card" },
    h("p", {}, t("linked.of", { contact: into })),
    h("ul", {}, open.map((o) => h("li", { class: "row" },
      h("span", {}, `${summary(o)} — ${tOr("state", o.state)} `, h("code", {}, o.id)),
      h("button", { type: "button", id: `merge-${o.id}`, onclick: async () => {
        // Refused (409: it closed elsewhere meanwhile): the list is read again.
        const merged = await act("merge", { contact_id: o.id, into });
        if (merged) {
          const left = (state.linked.get(into) || []).filter((x) => x.id !== o.id);
          if (left.length) state.linked.set(into, left); else state.linked.delete(into);
          render();
          notice(t("linked.merged", { contact: o.id, into }));
        } else {
          await recheckLinked(into);
        }
        const next = $("linked-body").querySelector("button");
        if (next) next.focus(); else $("work-heading").focus();
      } }, `${t("linked.merge")}: ${o.id}`)))))));
}

function renderMe() {
  const me = state.me;
  if (!me) return;
  $("who").textContent = `${me.name} (${me.id}) — ${tOr("status", me.status)}${me.reason ? `: ${tOr("reason", me.reason)}` : ""}`;
  if (document.activeElement !== $("presence")) $("presence").value = me.presence;
  showReason();
  const until = me.wrapup_until;
  $("wrapup").classList.toggle("hidden", !until);
  if (until) $("wrapup-left").textContent = t("wrapup.remaining", { seconds: Math.max(0, Math.ceil(until - Date.now() / 1000)) });
}

function render() {
  // Redrawing must not lose what the agent is typing or choosing, nor move the focus.
  const kept = new Map([...document.querySelectorAll("#detail-body [id]")]
    .filter((el) => "value" in el).map((el) => [el.id, el.value]));
  const focused = document.activeElement?.id;
  renderMe();
  renderOffer();
  renderWork();
  renderDetail();
  renderLinked();
  for (const [id, value] of kept) { const el = document.getElementById(id); if (el && "value" in el) el.value = value; }
  if (focused && document.activeElement?.id !== focused) document.getElementById(focused)?.focus();
  const log = $("transcript");
  if (log) log.scrollTop = log.scrollHeight;
  focusAccepted();
}

function focusAccepted() {
  const id = state.focusOn;
  if (!id || state.contacts.get(id)?.state !== "assigned" || state.selected !== id) return;
  state.focusOn = null;
  const first = $("detail-body").querySelector("select, textarea, input, button");
  (first || $(`open-${id}`))?.focus();
}

function tick() {
  for (const el of document.querySelectorAll("[data-since]")) el.textContent = duration(Date.now() / 1000 - Number(el.dataset.since));
  if (state.me?.wrapup_until) $("wrapup-left").textContent = t("wrapup.remaining", { seconds: Math.max(0, Math.ceil(state.me.wrapup_until - Date.now() / 1000)) });
}

// ------------------------------------------------------------------ wiring

function showReason() {
  $("reason-field").classList.toggle("hidden", $("presence").value !== "not_ready");
}

$("presence-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const presence = $("presence").value;
  const reason = $("reason").value;
  if (presence === "offline") return act("logout");
  if (state.me?.presence === "offline") {
    if (!(await act("login", { presence }))) return;
  }
  if (presence === "not_ready" || state.me?.presence !== "offline") act("presence", presence === "not_ready" ? { presence, reason } : { presence });
});
$("presence").addEventListener("change", showReason);
// Accepting disables the button that had the focus: the focus moves on to the accepted
// contact (its first control) once it is in hand, not to the page's body.
$("accept").addEventListener("click", async () => {
  const id = $("accept").dataset.contact;
  state.focusOn = id;
  if (!(await act("accept", { contact_id: id }))) { state.focusOn = null; return; }
  render();
});
$("decline").addEventListener("click", () => act("decline", { contact_id: $("decline").dataset.contact }));
$("wrapup-done").addEventListener("click", () => act("wrapup_done"));
languageSwitch($("lang"));
onLanguage(render);
translate();
setInterval(tick, 1000);
page = signInAround({
  session,
  path: "/api/agent/ws",
  shown: ["desk", "presence-form", "signout"],
  onMessage,
  refusedText: () => t("signin.failed"),
  onOnline: (online) => document.body.classList.toggle("is-offline", !online),
});
