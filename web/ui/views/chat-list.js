// The left column: tabs (Aguardando, Meus, Todos, Finalizados), search as you type, and
// the chat rows, kept live from the shared state.

import { h, icon, avatar, perFrame, debounce, replace, highlight } from "../dom.js";
import { t } from "../i18n.js";
import { get, query } from "../api.js";
import { state, on, isStaff, upsertChats, queueById, userName, numberName, windowClosesSoon } from "../state.js";
import { contactName, listTime, previewText, waited } from "../format.js";
import { toast, errorText } from "./ui.js";
import { labelChip } from "./labels.js";

const TAB_KEY = "atende.tab";

/** Whether the signed-in agent may see `chat` (staff see all); mirrors the server. */
export function visible(chat) {
  if (isStaff()) return true;
  const me = state.user;
  return chat.assignee_id === me.id ||
    (chat.status === "pending" && (!chat.queue_id || me.queue_ids.includes(chat.queue_id)));
}

const byUpdated = (a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : 0);

export const TABS = {
  pending: {
    params: { status: "pending" },
    match: (c) => c.status === "pending",
    sort: byUpdated,
  },
  mine: {
    params: { status: "open", assignee: "me", snoozed: false },
    match: (c) => c.status === "open" && c.assignee_id === state.user.id && !c.snoozed,
    sort: (a, b) => byUpdated(b, a),
  },
  snoozed: {
    params: { status: "open", assignee: "me", snoozed: true },
    match: (c) => c.status === "open" && c.assignee_id === state.user.id && !!c.snoozed,
    sort: (a, b) => byUpdated(b, a),
  },
  all: {
    params: {},
    match: () => true,
    sort: (a, b) => byUpdated(b, a),
    staffOnly: true,
  },
  closed: {
    params: { status: "closed" },
    match: (c) => c.status === "closed",
    sort: (a, b) => byUpdated(b, a),
  },
};

/** Loads one page of a tab into the state; resolves with the next cursor. */
export async function loadTab(name, cursor) {
  const page = await get("/chats" + query({ ...TABS[name].params, limit: 50, cursor }));
  upsertChats(page.items);
  return page.next_cursor;
}

/**
 * The chat list. options.onOpen(chatId) opens a chat; returns {el, setActive(id), destroy()}.
 */
export function createChatList({ onOpen }) {
  const staff = isStaff();
  let tab = sessionStorage.getItem(TAB_KEY) || "pending";
  if (!TABS[tab] || (TABS[tab].staffOnly && !staff)) tab = "pending";
  let active = null;
  let search = "";
  let results = null; // ids found by the search, or null
  const cursors = {}; // tab -> next cursor (undefined: not loaded yet)
  let loadingMore = false;
  const rows = new Map(); // chat id -> row element

  const tabButtons = {};
  const tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": t("list.tabs") },
    Object.keys(TABS).filter((name) => !TABS[name].staffOnly || staff).map((name) => {
      const badge = h("span", { class: "tab-badge", test: `tab-${name}-count`, hidden: true });
      const button = h("button", {
        type: "button", role: "tab", class: "tab", test: `tab-${name}`, id: `tab-${name}`,
        "aria-selected": String(name === tab),
        on: { click: () => selectTab(name) },
      }, h("span", { text: t("list.tab." + name) }), badge);
      button.badge = badge;
      tabButtons[name] = button;
      return button;
    }));

  const searchInput = h("input", {
    type: "search", class: "search-input", test: "chat-search", placeholder: t("list.search"),
    "aria-label": t("list.search"), autocomplete: "off",
  });
  // A label chosen here lists the chats tagged with it (with the search, if any).
  const labelFilter = h("select", { class: "label-filter", test: "label-filter", "aria-label": t("labels.filter") });
  function fillLabelFilter() {
    const chosen = labelFilter.value;
    labelFilter.replaceChildren(h("option", { value: "", text: t("labels.filter_all") }),
      ...state.labels.map((l) => h("option", { value: l.name, text: l.name })));
    labelFilter.value = state.labels.some((l) => l.name === chosen) ? chosen : "";
    labelFilter.hidden = !state.labels.length;
  }
  fillLabelFilter();
  const runSearch = debounce(async () => {
    const q = searchInput.value.trim();
    const tag = labelFilter.value;
    const wanted = q + "\u0000" + tag;
    search = wanted;
    if (!q && !tag) {
      results = null;
      for (const row of rows.values()) row.rendered = null;
      render();
      return;
    }
    try {
      const page = await get("/chats" + query({ q, tag, limit: 50 }));
      if (search !== wanted) return;
      upsertChats(page.items);
      results = page.items.map((c) => c.id);
      // The marks follow the words searched.
      for (const row of rows.values()) row.rendered = null;
      render();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }, 300);
  searchInput.addEventListener("input", runSearch);
  labelFilter.addEventListener("change", runSearch);
  searchInput.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      searchInput.value = "";
      labelFilter.value = "";
      runSearch();
      runSearch.cancel();
      search = "";
      results = null;
      render();
    }
  });

  const listEl = h("div", { class: "chat-rows", test: "chat-rows" });
  const emptyEl = h("div", { class: "empty", test: "chat-list-empty", hidden: true });
  const moreEl = h("div", { class: "list-more", hidden: true, text: t("common.loading") });
  const scroller = h("div", { class: "chat-scroll" }, listEl, emptyEl, moreEl);
  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop + scroller.clientHeight > scroller.scrollHeight - 120) loadMore();
  });

  const el = h("section", { class: "chat-list", test: "chat-list", "aria-label": t("list.title") },
    h("header", { class: "pane-head list-head" },
      avatar(state.user.name, state.user.id),
      h("h1", { class: "pane-title", text: t("list.title") })),
    h("div", { class: "search-bar" }, icon("search", "search-icon"), searchInput, labelFilter),
    tabBar,
    scroller);

  function ids() {
    if (results) {
      return results.map((id) => state.chats.get(id)).filter(Boolean).sort((a, b) => byUpdated(b, a));
    }
    const def = TABS[tab];
    return [...state.chats.values()].filter((c) => visible(c) && def.match(c)).sort(def.sort);
  }

  function fillRow(row, chat) {
    const name = contactName(chat.contact);
    const last = chat.last_message;
    const queue = chat.queue_id ? queueById(chat.queue_id) : null;
    const you = last && last.direction === "out";
    const preview = last ? previewText(last.preview) : t("list.no_messages");
    const meta = [];
    if (results || tab === "all") meta.push(h("span", { class: `chip chip-${chat.status}`, text: t("status." + chat.status) }));
    if (staff && chat.assignee_id && chat.status !== "pending") {
      meta.push(h("span", { class: "row-assignee", text: userName(chat.assignee_id) }));
    }
    if (chat.status === "pending" && chat.pending_since) {
      // How long the customer has waited: what an agent picks by.
      meta.push(h("span", { class: "row-wait", test: "chat-row-wait", title: t("list.waiting_since"), text: "⏱ " + waited(chat.pending_since) }));
    }
    if (queue) {
      const dot = h("span", { class: "queue-dot", "aria-hidden": "true" });
      dot.style.setProperty("--queue-color", queue.color);
      meta.push(h("span", { class: "row-queue" }, dot, queue.name));
    }
    if (state.numbers.length > 1) {
      meta.push(h("span", { class: "row-number", test: "chat-row-number", text: numberName(chat.phone_number_id) }));
    }
    for (const tag of chat.tags || []) meta.push(labelChip(tag));
    const closing = chat.assignee_id === state.user.id ? windowClosesSoon(chat) : null;
    if (closing !== null) {
      // The agent's own chat whose window closes within the hour: answer it first.
      meta.push(h("span", { class: "row-closing", test: "chat-row-closing", title: t("list.window_closing_title"), text: t("list.window_closing", { minutes: closing }) }));
    }
    replace(row,
      avatar(name, chat.contact.wa_id || chat.contact.user_id),
      h("span", { class: "row-main" },
        h("span", { class: "row-top" },
          h("span", { class: "row-name", test: "chat-row-name" }, results ? highlight(name, searchInput.value) : name),
          h("span", { class: ["row-time", chat.unread_count > 0 && "unread"], text: listTime(last ? last.at : chat.updated_at) })),
        h("span", { class: "row-bottom" },
          h("span", { class: "row-preview", test: "chat-row-preview" },
            you ? h("span", { class: "row-you", text: t("list.you") }) : null,
            results ? highlight(preview, searchInput.value) : preview),
          chat.unread_count > 0 ? h("span", { class: "badge", test: "unread-badge", "aria-label": t("list.unread", { count: chat.unread_count }), text: String(chat.unread_count) }) : null),
        meta.length ? h("span", { class: "row-meta" }, meta) : null));
    row.classList.toggle("active", chat.id === active);
    row.setAttribute("aria-current", chat.id === active ? "true" : "false");
    row.rendered = chat;
  }

  function render() {
    const chats = ids();
    const wanted = new Set(chats.map((c) => c.id));
    for (const [id, row] of rows) {
      if (!wanted.has(id)) {
        row.remove();
        rows.delete(id);
      }
    }
    let index = 0;
    for (const chat of chats) {
      let row = rows.get(chat.id);
      if (!row) {
        row = h("button", { type: "button", class: "chat-row", test: "chat-row", dataset: { chatId: chat.id },
          on: { click: () => onOpen(chat.id) } });
        rows.set(chat.id, row);
      }
      if (row.rendered !== chat || row.activeState !== (chat.id === active)) {
        fillRow(row, chat);
        row.activeState = chat.id === active;
      }
      if (listEl.children[index] !== row) listEl.insertBefore(row, listEl.children[index] || null);
      index++;
    }
    emptyEl.hidden = chats.length > 0;
    emptyEl.textContent = results ? t("list.no_results") : t("list.empty." + tab);
    moreEl.hidden = results !== null || !cursors[tab] || !loadingMore;
    updateBadges();
  }

  function updateBadges() {
    let pending = 0;
    let mineUnread = 0;
    for (const chat of state.chats.values()) {
      if (!visible(chat)) continue;
      if (chat.status === "pending") pending++;
      if (chat.status === "open" && chat.assignee_id === state.user.id && chat.unread_count > 0) mineUnread++;
    }
    setBadge(tabButtons.pending, pending);
    setBadge(tabButtons.mine, mineUnread);
  }

  function setBadge(button, n) {
    if (!button) return;
    button.badge.hidden = n === 0;
    button.badge.textContent = n > 99 ? "99+" : String(n);
  }

  async function selectTab(name) {
    tab = name;
    sessionStorage.setItem(TAB_KEY, name);
    for (const [key, button] of Object.entries(tabButtons)) button.setAttribute("aria-selected", String(key === name));
    if (results) {
      searchInput.value = "";
      labelFilter.value = "";
      search = "";
      results = null;
    }
    render();
    scroller.scrollTop = 0;
    try {
      cursors[name] = await loadTab(name);
      render();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  async function loadMore() {
    if (loadingMore || results || !cursors[tab]) return;
    loadingMore = true;
    render();
    try {
      cursors[tab] = await loadTab(tab, cursors[tab]);
    } catch (err) {
      toast(errorText(err), "error");
    } finally {
      loadingMore = false;
      render();
    }
  }

  const schedule = perFrame(render);
  const stops = [on("chat", schedule), on("chats", schedule), on("chats", fillLabelFilter), on("users", schedule), on("queues", schedule)];
  // Times like "Ontem" change with the clock.
  const clock = setInterval(() => {
    for (const row of rows.values()) row.rendered = null;
    schedule();
  }, 60000);

  render();
  loadTab(tab).then((cursor) => {
    cursors[tab] = cursor;
    render();
  }).catch((err) => toast(errorText(err), "error"));

  return {
    el,
    setActive(id) {
      active = id;
      render();
    },
    reload() {
      loadTab(tab).then((cursor) => {
        cursors[tab] = cursor;
        render();
      }).catch(() => {});
    },
    destroy() {
      stops.forEach((stop) => stop());
      clearInterval(clock);
      runSearch.cancel();
    },
  };
}
