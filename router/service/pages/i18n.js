// Labels in Finnish, Swedish and English, the chosen language, and Helsinki times.
const LANGS = ["fi", "sv", "en"];
const KEY = "yhteys.lang";
const LOCALES = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" };
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

export function clock(epoch) {
  return new Intl.DateTimeFormat(LOCALES[lang], { timeZone: ZONE, hour: "2-digit", minute: "2-digit" })
    .format(new Date(epoch * 1000));
}

export function when(epoch) {
  const date = new Date(epoch * 1000);
  const day = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: ZONE }).format(d);
  if (day(date) === day(new Date())) return clock(epoch);
  return new Intl.DateTimeFormat(LOCALES[lang], {
    timeZone: ZONE, day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit",
  }).format(date);
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("time.s", { n: s });
  if (s < 3600) return t("time.min", { n: Math.floor(s / 60) });
  return t("time.h", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}
