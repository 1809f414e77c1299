// Formatting of names, times, sizes and durations, in the current language.

import { lang, t, has } from "./i18n.js";

export function contactName(contact) {
  if (!contact) return "";
  return contact.name || contact.profile_name || contactHandle(contact);
}

/** How the customer is reached: the phone, else the WhatsApp username (no phone shared). */
export function contactHandle(contact) {
  if (!contact) return "";
  return formatPhone(contact.wa_id) || contact.username || "";
}

/** +55 11 91234-5678 for Brazilian numbers, +<digits> otherwise. */
export function formatPhone(waId) {
  const digits = String(waId || "").replace(/\D/g, "");
  const br = digits.match(/^55(\d{2})(\d{4,5})(\d{4})$/);
  if (br) return `+55 ${br[1]} ${br[2]}-${br[3]}`;
  return digits ? "+" + digits : "";
}

function startOfDay(date) {
  const d = new Date(date);
  d.setHours(0, 0, 0, 0);
  return d;
}

export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function time(iso) {
  return new Intl.DateTimeFormat(lang(), { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

export function dateTime(iso) {
  return new Intl.DateTimeFormat(lang(), { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
}

/** Chat list time: 14:05 today, "Ontem", weekday within a week, else a date. */
export function listTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const days = Math.round((startOfDay(new Date()) - startOfDay(date)) / 86400000);
  if (days <= 0) return time(iso);
  if (days === 1) return t("time.yesterday");
  if (days < 7) return new Intl.DateTimeFormat(lang(), { weekday: "long" }).format(date);
  return new Intl.DateTimeFormat(lang(), { dateStyle: "short" }).format(date);
}

/** Day separator label: "Hoje", "Ontem", or a long date. */
export function dayLabel(iso) {
  const date = new Date(iso);
  const days = Math.round((startOfDay(new Date()) - startOfDay(date)) / 86400000);
  if (days === 0) return t("time.today");
  if (days === 1) return t("time.yesterday");
  if (days < 7) return new Intl.DateTimeFormat(lang(), { weekday: "long" }).format(date);
  return new Intl.DateTimeFormat(lang(), { day: "numeric", month: "long", year: "numeric" }).format(date);
}

/** 1:05:09 / 12:04 / 0:42 from seconds. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function fileSize(bytes) {
  if (bytes == null) return "";
  const units = ["B", "KB", "MB", "GB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return new Intl.NumberFormat(lang(), { maximumFractionDigits: i ? 1 : 0 }).format(n) + " " + units[i];
}

/** A list preview: "[image]" from the hub becomes "Foto" etc. */
/** The icon of a media kind in a chat row, as WhatsApp shows it. */
const KIND_ICONS = { image: "📷", video: "🎥", audio: "🎤", document: "📄", sticker: "💟", location: "📍", contacts: "👤" };

/** A chat row's preview: "[image]" reads "📷 Foto", "[image] caption" "📷 caption",
 * "[document] boleto.pdf" "📄 boleto.pdf". */
export function previewText(preview) {
  if (!preview) return "";
  const m = /^\[(\w+)\](?: ([\s\S]*))?$/.exec(preview);
  if (!m) return preview;
  const [, kind, rest] = m;
  // A voice note's length: "🎤 Áudio 0:12".
  if (rest && kind === "audio" && /^\d+:\d\d$/.test(rest)) return `${t("type.audio")} ${rest}`;
  if (rest) return KIND_ICONS[kind] ? `${KIND_ICONS[kind]} ${rest}` : rest;
  return has("type." + kind) ? t("type." + kind) : preview;
}

/** How long a customer has waited, for a chat row: "now", "12 min", "1 h 05". */
export function waited(since) {
  if (!since) return "";
  const minutes = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 60000));
  if (minutes < 1) return t("list.wait_now");
  if (minutes < 60) return t("list.wait_minutes", { n: minutes });
  return t("list.wait_hours", { h: Math.floor(minutes / 60), m: String(minutes % 60).padStart(2, "0") });
}

export function typeLabel(type) {
  return has("type." + type) ? t("type." + type) : type;
}

export function number(n) {
  return new Intl.NumberFormat(lang()).format(n);
}
