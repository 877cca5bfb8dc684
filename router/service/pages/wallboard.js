// The wallboard: a few big numbers per service, read-only, updated in place.
import { h } from "/pages/api.js";
import { clock, duration, languageSwitch, onLanguage, t, tOr, translate } from "/pages/i18n.js";
import { percent, supervise } from "/pages/live-stats.js";

const $ = (id) => document.getElementById(id);
const LOW_SERVICE_LEVEL = 0.8;
let stats = null;

function figure(name, value, cls) {
  return h("div", { class: `figure ${cls || ""}` }, h("div", { class: "value" }, value), h("div", { class: "name" }, t(name)));
}

function render() {
  if (!stats) return;
  $("updated").textContent = clock(stats.at);
  // Tiles are rebuilt in the same order and size, so the page does not reflow.
  $("tiles").replaceChildren(...stats.services.map((s) => {
    const late = s.service_level != null && s.service_level < LOW_SERVICE_LEVEL;
    return h("section", { class: `tile${late ? " late" : ""}`, "data-service": s.service, "aria-label": tOr("service", s.service) },
      h("h2", {}, tOr("service", s.service)),
      h("div", { class: "figures" },
        figure("col.waiting", s.waiting),
        figure("col.oldest", s.oldest_wait_s == null ? "–" : duration(s.oldest_wait_s), "oldest"),
        figure("col.within", percent(s)),
        figure("col.available", s.agents.available ?? 0),
        figure("col.busy", (s.agents.busy ?? 0) + (s.agents.wrap_up ?? 0)),
        figure("col.not_ready", s.agents.not_ready ?? 0)));
  }));
}

languageSwitch($("lang"));
translate();
onLanguage(render);
supervise({ onStart: () => {}, onMessage: (msg) => { if (msg.type === "stats") { stats = msg; render(); } } });
