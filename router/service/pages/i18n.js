// Labels in Finnish, Swedish and English, the chosen language, and Helsinki times.
const LANGS = ["fi", "sv", "en"];
const KEY = "yhteys.lang";
export const ZONE = "Europe/Helsinki";

const labels = await (await fetch("/pages/labels.json")).json();

function initial() {
  const saved = localStorage.getItem(KEY);
  if (LANGS.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language]) {
    const code = String(tag).slice(0, 2).toLowerCase();
    if (LANGS.includes(code)) return code;
  }
  return "fi";
}

export let lang = initial();
const listeners = [];

/** The label ``key`` in the current language, with {name} filled from ``values``. */
export function t(key, values = {}) {
  let text = labels[lang][key] ?? labels.en[key] ?? key;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, value);
  return text;
}

/** A label if one exists for ``prefix.value``, else the value itself. */
export function tOr(prefix, value) {
  if (value == null || value === "") return "";
  const key = `${prefix}.${value}`;
  return key in labels[lang] ? labels[lang][key] : String(value).replaceAll("_", " ");
}

/** Fills every [data-i18n] element's text and [data-i18n-*] attribute under ``root``. */
export function translate(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll("[data-i18n-title]")) document.title = t(el.dataset.i18nTitle);
}

export function onLanguage(fn) { listeners.push(fn); }

/** Makes ``select`` the language switch. */
export function languageSwitch(select) {
  select.replaceChildren(...LANGS.map((code) => {
    const option = new Option(labels[code]["language.name"], code, false, code === lang);
    option.lang = code;
    return option;
  }));
  select.addEventListener("change", () => {
    lang = select.value;
    localStorage.setItem(KEY, lang);
    translate();
    for (const fn of listeners) fn();
  });
}

// One time format per language on every page, the one the server-rendered status page
// writes (router/service/faces.py): Finnish "07.50", Swedish and English "07:50", and
// "7.12. 07:50" on another day. Intl's own sv-FI form is "07.50", so the Swedish agent
// page said "kl. 07.50" where the status page said "kl. 07:55".
const TIME_SEPARATOR = { fi: ".", sv: ":", en: ":" };
const PARTS = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

function parts(epoch) {
  return Object.fromEntries(PARTS.formatToParts(new Date(epoch * 1000)).map((p) => [p.type, p.value]));
}

/** A time of day in the current language's form: hm(7, 5) is "07.05" in Finnish. */
export function hm(hour, minute) {
  const two = (n) => String(n).padStart(2, "0");
  return `${two(hour)}${TIME_SEPARATOR[lang]}${two(minute)}`;
}

export function clock(epoch) {
  const p = parts(epoch);
  return hm(p.hour, p.minute);
}

export function when(epoch) {
  const p = parts(epoch);
  const now = parts(Date.now() / 1000);
  const time = hm(p.hour, p.minute);
  if (p.year === now.year && p.month === now.month && p.day === now.day) return time;
  return `${Number(p.day)}.${Number(p.month)}. ${time}`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("time.s", { n: s });
  if (s < 3600) return t("time.min", { n: Math.floor(s / 60) });
  return t("time.h", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}
