// Translations: every user-visible string lives in i18n/pt-BR.js and i18n/en.js.
// t("key", {name}) interpolates {name}; a value that is an object {one, other} is plural
// and picked by params.count.

import ptBR from "./i18n/pt-BR.js";
import en from "./i18n/en.js";

export const LANGUAGES = { "pt-BR": ptBR, en };
const STORAGE_KEY = "atende.lang";

let current = pick();
const listeners = new Set();

function pick() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && LANGUAGES[saved]) return saved;
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "pt-BR"];
  for (const lang of wanted) {
    const lower = String(lang).toLowerCase();
    if (lower.startsWith("pt")) return "pt-BR";
    if (lower.startsWith("en")) return "en";
  }
  return "pt-BR";
}

export function lang() {
  return current;
}

export function setLang(next) {
  if (!LANGUAGES[next] || next === current) return;
  current = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  for (const fn of listeners) fn(next);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function t(key, params) {
  let value = LANGUAGES[current][key];
  if (value === undefined) value = LANGUAGES.en[key];
  if (value === undefined) {
    console.warn("missing translation", key);
    return key;
  }
  if (typeof value === "object") {
    const rule = new Intl.PluralRules(current).select(params ? params.count : 0);
    value = value[rule] ?? value.other;
  }
  if (!params) return value;
  return value.replace(/\{(\w+)\}/g, (m, name) => (params[name] !== undefined ? String(params[name]) : m));
}

/** Whether a key exists (for optional lookups such as message type names). */
export function has(key) {
  return LANGUAGES[current][key] !== undefined;
}

document.documentElement.lang = current;
