// The scrolling message pane of a conversation: the loaded messages, day separators,
// reactions shown on their targets, paging back on scroll to the top, staying pinned to
// the newest message, and local (optimistic) messages replaced by the server's copy.

import { h, icon } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { dayKey, dayLabel } from "../format.js";
import { renderMessage } from "./message.js";
import { toast, errorText } from "./ui.js";

const PAGE = 50;
const STATUS_RANK = { received: 0, queued: 0, sent: 1, delivered: 2, read: 3, played: 4, failed: 5 };

const when = (m) => m.timestamp || m.created_at;

/**
 * options: {chatId, ctx} where ctx is what renderMessage needs besides the lookups this
 * module provides (byId, byWamid, reactions, onJump, onMediaLoad).
 * Returns {el, load(), add(m), replace(m), get(id), rerenderAll(), scrollToBottom(), destroy()}.
 */
export function createMessageList({ chatId, ctx }) {
  let messages = [];
  const byId = new Map();
  const elements = new Map(); // message id -> row element
  let nextCursor = null;
  let loadingOlder = false;
  let loaded = false;
  let destroyed = false;
  let unseen = 0;
  let pinned = true;
  const early = []; // messages that came while the first page loaded

  const list = h("div", { class: "messages-list", test: "messages", role: "log", "aria-live": "polite", "aria-label": t("conv.messages") });
  const olderEl = h("div", { class: "older", hidden: true, text: t("common.loading") });
  const scroller = h("div", { class: "messages" }, olderEl, list);
  const jump = h("button", { type: "button", class: "jump-bottom", test: "jump-bottom", hidden: true, "aria-label": t("conv.jump"),
    on: { click: () => scrollToBottom(true) } }, icon("down"), h("span", { class: "jump-count" }));
  const el = h("div", { class: "messages-wrap" }, scroller, jump);

  function byWamid(wamid) {
    return messages.find((m) => m.wamid === wamid) || null;
  }

  /** The latest reaction of each side to the message with this wamid. */
  function reactionsFor(wamid) {
    const latest = new Map(); // direction -> emoji
    for (const m of messages) {
      if (m.type === "reaction" && m.reaction && m.reaction.message_id === wamid) latest.set(m.direction, m.reaction.emoji);
    }
    return [...latest.entries()].filter(([, e]) => e).map(([direction, emoji]) => ({ direction, emoji }));
  }

  const fullCtx = Object.assign(ctx, {
    byId: (id) => byId.get(id) || null,
    byWamid,
    reactions: reactionsFor,
    onJump: jumpTo,
    onMediaLoad: () => {
      if (nearBottom(200)) scrollToBottom();
    },
  });

  // A reaction shows on the message it reacts to, when that one is loaded.
  function shownOnTarget(m) {
    return m.type === "reaction" && m.reaction && byWamid(m.reaction.message_id);
  }

  function separator(iso) {
    return h("div", { class: "day-sep", test: "day-separator", dataset: { day: dayKey(iso) } }, h("span", { text: dayLabel(iso) }));
  }

  function renderAll() {
    elements.clear();
    const nodes = [];
    let day = null;
    for (const m of messages) {
      if (shownOnTarget(m)) continue;
      const key = dayKey(when(m));
      if (key !== day) {
        nodes.push(separator(when(m)));
        day = key;
      }
      const node = renderMessage(m, fullCtx);
      elements.set(m.id, node);
      nodes.push(node);
    }
    list.replaceChildren(...nodes);
  }

  function lastDay() {
    for (let i = messages.length - 1; i >= 0; i--) if (elements.has(messages[i].id)) return dayKey(when(messages[i]));
    return null;
  }

  function rerender(m, oldId = m.id) {
    const node = elements.get(oldId);
    if (!node) return;
    const fresh = renderMessage(m, fullCtx);
    node.replaceWith(fresh);
    elements.delete(oldId);
    elements.set(m.id, fresh);
  }

  /** Swaps the stored copy of a message (same position) and its row. */
  function replace(m, oldId = m.id) {
    const old = byId.get(oldId);
    if (!old) return;
    messages[messages.indexOf(old)] = m;
    byId.delete(oldId);
    byId.set(m.id, m);
    rerender(m, oldId);
  }

  /** Adds or updates a message (from the server, an event or a local send). */
  function add(m) {
    if (!loaded && !m.local) {
      early.push(m);
      return;
    }
    const wasNearBottom = nearBottom();
    // The server's copy replaces the local one with the same client_id.
    if (m.client_id && !m.local && byId.has("local-" + m.client_id)) {
      const localId = "local-" + m.client_id;
      if (byId.has(m.id)) {
        // Both arrived (answer and event): drop the local row, update the other.
        const local = byId.get(localId);
        messages.splice(messages.indexOf(local), 1);
        byId.delete(localId);
        const node = elements.get(localId);
        if (node) node.remove();
        elements.delete(localId);
      } else {
        replace(m, localId);
        return;
      }
    }
    const existing = byId.get(m.id);
    if (existing) {
      // A late answer never moves a status backwards (read stays read).
      const stale = (STATUS_RANK[m.status] ?? 0) < (STATUS_RANK[existing.status] ?? 0);
      replace(stale ? { ...m, status: existing.status, error: existing.error } : m);
      return;
    }
    messages.push(m);
    byId.set(m.id, m);
    if (m.type === "reaction" && m.reaction) {
      const target = byWamid(m.reaction.message_id);
      if (target) {
        rerender(target);
        return;
      }
    }
    if (dayKey(when(m)) !== lastDay()) list.appendChild(separator(when(m)));
    const node = renderMessage(m, fullCtx);
    elements.set(m.id, node);
    list.appendChild(node);
    if (m.direction === "out" || wasNearBottom) {
      scrollToBottom();
    } else {
      unseen++;
      showJump();
    }
  }

  async function load() {
    try {
      const page = await api.get(`/chats/${chatId}/messages?limit=${PAGE}&activity=true`);
      if (destroyed) return;
      const locals = messages.filter((m) => m.local);
      messages = page.items.concat(locals);
      byId.clear();
      for (const m of messages) byId.set(m.id, m);
      nextCursor = page.next_cursor;
      loaded = true;
      renderAll();
      for (const m of early.splice(0)) add(m);
      scrollToBottom();
      // A short page may not fill the pane: keep going back until it does.
      requestAnimationFrame(maybeLoadOlder);
    } catch (err) {
      list.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
    }
  }

  async function loadOlder() {
    if (loadingOlder || !nextCursor || !loaded) return;
    loadingOlder = true;
    olderEl.hidden = false;
    try {
      const page = await api.get(`/chats/${chatId}/messages?limit=${PAGE}&activity=true&before=${encodeURIComponent(nextCursor)}`);
      if (destroyed) return;
      const fresh = page.items.filter((m) => !byId.has(m.id));
      for (const m of fresh) byId.set(m.id, m);
      messages = fresh.concat(messages);
      nextCursor = page.next_cursor;
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      renderAll();
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
    } catch (err) {
      toast(errorText(err), "error");
    } finally {
      loadingOlder = false;
      olderEl.hidden = true;
    }
  }

  function maybeLoadOlder() {
    if (scroller.scrollTop < 80) loadOlder();
  }

  function nearBottom(slack = 120) {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < slack;
  }

  function scrollToBottom(smooth) {
    requestAnimationFrame(() => {
      scroller.scrollTo({ top: scroller.scrollHeight, behavior: smooth ? "smooth" : "auto" });
    });
    unseen = 0;
    showJump();
  }

  function showJump() {
    jump.hidden = nearBottom() && unseen === 0;
    jump.querySelector(".jump-count").textContent = unseen ? String(unseen) : "";
  }

  function jumpTo(id) {
    const node = elements.get(id);
    if (!node) return;
    node.scrollIntoView({ block: "center", behavior: "smooth" });
    node.classList.add("flash");
    setTimeout(() => node.classList.remove("flash"), 1500);
  }

  /** Shows message `id`, loading older pages until it is there (20 at most). */
  async function reveal(id) {
    for (let i = 0; i < 20 && !elements.get(id) && nextCursor; i++) await loadOlder();
    jumpTo(id);
    return elements.has(id);
  }

  scroller.addEventListener("scroll", () => {
    maybeLoadOlder();
    pinned = nearBottom(40);
    if (nearBottom()) unseen = 0;
    showJump();
  });
  // Stay pinned to the newest message when the pane resizes (banner, keyboard, composer).
  const resizes = new ResizeObserver(() => {
    if (pinned) scroller.scrollTop = scroller.scrollHeight;
  });
  resizes.observe(scroller);

  return {
    el,
    list,
    load,
    add,
    replace,
    get: (id) => byId.get(id) || null,
    has: (id) => byId.has(id),
    hasTemplates: () => messages.some((m) => m.type === "template"),
    rerenderAll: () => loaded && renderAll(),
    scrollToBottom,
    reveal,
    destroy() {
      destroyed = true;
      resizes.disconnect();
    },
  };
}
