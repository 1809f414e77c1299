// The composer's emoji picker: searchable by Portuguese and English names (accents
// ignored), the user's recent ones first, inserted where the cursor is.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { EMOJI } from "../emoji-data.js";

const RECENT_KEY = "atende.emoji.recent";
const RECENT_MAX = 16;

const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
const INDEX = EMOJI.map(([emoji, pt, en]) => ({ emoji, pt, words: fold(`${pt} ${en}`) }));

function recent() {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY) || "[]");
    return Array.isArray(list) ? list.filter((e) => typeof e === "string").slice(0, RECENT_MAX) : [];
  } catch (err) {
    return [];
  }
}

function remember(emoji) {
  const list = [emoji, ...recent().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  localStorage.setItem(RECENT_KEY, JSON.stringify(list));
}

/** The emoji matching `query` (every word), or all with the recent ones first. */
export function findEmoji(query) {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length) return INDEX.filter((e) => words.every((w) => e.words.includes(w)));
  const first = recent();
  const byEmoji = new Map(INDEX.map((e) => [e.emoji, e]));
  const front = first.map((e) => byEmoji.get(e)).filter(Boolean);
  return [...front, ...INDEX.filter((e) => !first.includes(e.emoji))];
}

/** A popover over `anchor` that calls `onPick(emoji)`; returns {el, toggle(), close()}. */
export function createEmojiPicker({ onPick }) {
  const search = h("input", { type: "search", class: "emoji-search", test: "emoji-search", placeholder: t("emoji.search"), "aria-label": t("emoji.search") });
  const grid = h("div", { class: "emoji-grid", test: "emoji-grid", role: "listbox", "aria-label": t("emoji.label") });
  const el = h("div", { class: "emoji-picker", test: "emoji-picker", hidden: true, role: "dialog", "aria-label": t("emoji.label") }, search, grid);

  function render() {
    const found = findEmoji(search.value);
    grid.replaceChildren(...(found.length ? found.map((e) => h("button", {
      type: "button", class: "emoji-pick", test: "emoji-pick", role: "option", title: e.pt, "aria-label": e.pt, text: e.emoji,
      on: { click: () => {
        remember(e.emoji);
        onPick(e.emoji);
        close();
      } },
    })) : [h("p", { class: "muted", text: t("emoji.none") })]));
  }
  search.addEventListener("input", render);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
    if (e.key === "Enter") {
      e.preventDefault();
      const first = grid.querySelector("button");
      if (first) first.click();
    }
  });

  function close() {
    el.hidden = true;
  }
  return {
    el,
    toggle() {
      el.hidden = !el.hidden;
      if (!el.hidden) {
        search.value = "";
        render();
        search.focus();
      }
    },
    close,
  };
}
