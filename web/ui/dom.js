// DOM helpers. Every element is built with createElement and text goes in through
// textContent: no HTML strings, so message text can never inject markup.

// Props set as DOM properties (after the children, so a <select>'s value sticks).
const PROPERTIES = new Set(["value", "checked", "disabled", "selected", "hidden", "multiple",
  "required", "readOnly", "autofocus", "indeterminate"]);

/**
 * h("button", {class: "btn", test: "send", on: {click}}, "text", child, [more])
 * - class: string or array (falsy entries skipped)
 * - text: textContent
 * - test: data-testid attribute
 * - on: {event: handler}
 * - dataset: {key: value}
 * - anything else: an attribute (true -> empty attribute, null/false -> skipped)
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  const later = [];
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") {
        el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      } else if (key === "text") {
        el.textContent = String(value);
      } else if (key === "test") {
        el.dataset.testid = value;
      } else if (key === "on") {
        for (const [name, fn] of Object.entries(value)) el.addEventListener(name, fn);
      } else if (key === "dataset") {
        for (const [k, v] of Object.entries(value)) if (v != null) el.dataset[k] = v;
      } else if (PROPERTIES.has(key)) {
        later.push([key, value]);
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }
  append(el, children);
  for (const [key, value] of later) el[key] = value;
  return el;
}

/** Appends strings (as text), nodes and nested arrays; skips null, undefined and false. */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const SVG_NS = "http://www.w3.org/2000/svg";

// Icon paths (24x24 viewBox). Static strings, never user data.
const ICONS = {
  chat: "M12 3C6.5 3 2 6.9 2 11.7c0 2.4 1.1 4.6 3 6.2L4 22l4.5-2.2c1.1.3 2.3.5 3.5.5 5.5 0 10-3.9 10-8.6S17.5 3 12 3z",
  supervisor: "M3 13h4v8H3v-8zm7-6h4v14h-4V7zm7-4h4v18h-4V3z",
  admin: "M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.3 7.3 0 0 0-1.7-1L15 3h-4l-.4 2.9a7.3 7.3 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1c.5.4 1.1.7 1.7 1L11 21h4l.4-2.9c.6-.3 1.2-.6 1.7-1l2.5 1 2-3.5-2.2-1.6zM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7z",
  lock: "M18 8h-1V6A5 5 0 0 0 7 6v2H6a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V10a2 2 0 0 0-2-2zm-6 9a2 2 0 1 1 0-4 2 2 0 0 1 0 4zm3.1-9H8.9V6a3.1 3.1 0 0 1 6.2 0v2z",
  logout: "M10 17l1.4-1.4-2.6-2.6H20v-2H8.8l2.6-2.6L10 7l-5 5 5 5zM4 5h8V3H4a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h8v-2H4V5z",
  bell: "M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6V11c0-3.1-1.6-5.6-4.5-6.3V4a1.5 1.5 0 0 0-3 0v.7C7.6 5.4 6 7.9 6 11v5l-2 2v1h16v-1l-2-2z",
  search: "M15.5 14h-.8l-.3-.3A6.5 6.5 0 1 0 14 15.5l.3.3v.8l5 5 1.5-1.5-5-5zm-6 0a4.5 4.5 0 1 1 0-9 4.5 4.5 0 0 1 0 9z",
  back: "M20 11H7.8l5.6-5.6L12 4l-8 8 8 8 1.4-1.4L7.8 13H20v-2z",
  send: "M2 21l21-9L2 3v7l15 2-15 2v7z",
  attach: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z",
  close: "M19 6.4L17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z",
  reply: "M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z",
  info: "M11 7h2v2h-2V7zm0 4h2v6h-2v-6zm1-9a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z",
  note: "M3 17.2V21h3.8l11-11-3.8-3.8-11 11zM20.7 7a1 1 0 0 0 0-1.4l-2.3-2.3a1 1 0 0 0-1.4 0l-1.8 1.8 3.8 3.8L20.7 7z",
  template: "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm2 16H8v-2h8v2zm0-4H8v-2h8v2zm-3-5V3.5L18.5 9H13z",
  doc: "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z",
  download: "M5 20h14v-2H5v2zM19 9h-4V3H9v6H5l7 7 7-7z",
  pin: "M12 2a7 7 0 0 0-7 7c0 5.3 7 13 7 13s7-7.7 7-13a7 7 0 0 0-7-7zm0 9.5a2.5 2.5 0 1 1 0-5 2.5 2.5 0 0 1 0 5z",
  person: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-2.7 0-8 1.3-8 4v2h16v-2c0-2.7-5.3-4-8-4z",
  clock: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7V7z",
  check: "M9 16.2L4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4L9 16.2z",
  checks: "M18 7l-1.4-1.4-6.3 6.3 1.4 1.4L18 7zm4.2-1.4L11.7 16.2 7.5 12l-1.4 1.4 5.6 5.6 12-12-1.5-1.4zM.4 13.4L6 19l1.4-1.4L1.8 12 .4 13.4z",
  failed: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-2h2v2zm0-4h-2V7h2v6z",
  emoji: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm3.5-9a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm-7 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm3.5 6.5c2.3 0 4.3-1.5 5.1-3.5H6.9c.8 2 2.8 3.5 5.1 3.5z",
  down: "M7.4 8.6L12 13.2l4.6-4.6L18 10l-6 6-6-6 1.4-1.4z",
  play: "M8 5v14l11-7L8 5z",
  plus: "M19 13h-6v6h-2v-6H5v-2h6V5h2v6h6v2z",
  chart: "M3.5 18.5l6-6 4 4L22 6.9l-1.4-1.4-7.1 8-4-4L2 17l1.5 1.5z",
  forward: "M14 9V5l7 7-7 7v-4.1c-5 0-8.5 1.6-11 5.1 1-5 4-10 11-11z",
  mic: "M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3a5.3 5.3 0 0 1-10.6 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9h-1.7z",
  pause: "M6 19h4V5H6v14zm8-14v14h4V5h-4z",
  campaign: "M18 11v2h4v-2h-4zm-2 6.6c1 .7 2.2 1.6 3.2 2.4.4-.5.8-1.1 1.2-1.6-1-.8-2.3-1.7-3.2-2.4-.4.5-.8 1.1-1.2 1.6zM20.4 5.6c-.4-.5-.8-1.1-1.2-1.6-1 .8-2.2 1.7-3.2 2.4.4.5.8 1.1 1.2 1.6 1-.7 2.2-1.6 3.2-2.4zM4 9a2 2 0 0 0-2 2v2a2 2 0 0 0 2 2h1v4h2v-4h1l5 3V6L8 9H4zm11.5 3c0-1.3-.6-2.5-1.5-3.4v6.8c.9-.8 1.5-2 1.5-3.4z",
  snooze: "M12 4a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm0 16a7 7 0 1 1 0-14 7 7 0 0 1 0 14zM9 10h3.6L9 14.2V16h6v-2h-3.6l3.6-4.2V8H9v2zM7.9 3.4L6.6 1.9 2 5.7l1.3 1.5 4.6-3.8zM22 5.7l-4.6-3.9-1.3 1.5 4.6 3.9L22 5.7z",
};

/** An inline SVG icon, hidden from screen readers (the button carries the label). */
export function icon(name, cls) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon" + (cls ? " " + cls : ""));
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name] || ICONS.info);
  path.setAttribute("fill", "currentColor");
  svg.appendChild(path);
  return svg;
}

/**
 * `text` with the words of `query` marked (<mark>), matched with any case and accents;
 * text nodes only, never HTML.
 */
export function highlight(text, query) {
  const value = String(text || "");
  const fold = (s) => s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  const words = fold(query || "").split(/\s+/).filter((w) => w.length >= 2);
  if (!words.length) return [value];
  // Folding drops combining marks one for one on precomposed text, so positions agree
  // after normalizing to NFC first.
  const source = value.normalize("NFC");
  const folded = [...source].map((ch) => fold(ch) || ch).join("");
  if (folded.length !== source.length) return [value];
  const marks = new Array(source.length).fill(false);
  for (const word of words) {
    let at = folded.indexOf(word);
    while (at >= 0) {
      for (let i = at; i < at + word.length; i++) marks[i] = true;
      at = folded.indexOf(word, at + word.length);
    }
  }
  const out = [];
  let i = 0;
  while (i < source.length) {
    let j = i;
    while (j < source.length && marks[j] === marks[i]) j++;
    const piece = source.slice(i, j);
    out.push(marks[i] ? h("mark", { text: piece }) : piece);
    i = j;
  }
  return out;
}

/** Calls `fn` at most once per animation frame. */
export function perFrame(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn();
    });
  };
}

/** Calls `fn` after `ms` of quiet. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** A stable colour class (0-7) for an avatar, from a string. */
export function hue(text) {
  let n = 0;
  for (const ch of String(text)) n = (n * 31 + ch.codePointAt(0)) >>> 0;
  return n % 8;
}

/** The initials of a name (or the last digits of a number). */
export function initials(name) {
  const letters = String(name || "?").trim().split(/\s+/)
    .map((w) => (w.match(/\p{L}/u) || [""])[0]).filter(Boolean);
  if (!letters.length) return String(name || "?").replace(/\D/g, "").slice(-2) || "?";
  return (letters[0] + (letters.length > 1 ? letters[letters.length - 1] : "")).toUpperCase();
}

/** An avatar circle with initials. */
export function avatar(name, key, size) {
  return h("span", { class: ["avatar", `hue-${hue(key || name)}`, size && `avatar-${size}`], "aria-hidden": "true" },
    initials(name));
}
