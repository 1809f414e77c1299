// Supervisors' live view: pending chats per queue with the longest wait (ticking), agents
// with presence and load, and every chat in progress, readable and transferable.

import { h, avatar, perFrame } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { state, on, upsertChats, queueById, userName } from "../state.js";
import { contactName, duration, listTime, number } from "../format.js";
import { transferChat } from "./actions.js";
import { beep } from "../notify.js";
import { toast, errorText, empty } from "./ui.js";

export function createSupervisorView({ navigate }) {
  const cards = h("div", { class: "queue-cards", test: "sup-queues" });
  const totals = h("div", { class: "stats sup-totals", test: "sup-totals" });
  // Queues past their wait threshold, so the sound plays once when one turns red.
  let late = new Set();
  const agentsBody = h("tbody");
  const chatsBody = h("tbody");
  const expanded = new Set(); // agent ids whose chats are shown

  const el = h("div", { class: "page supervisor", test: "supervisor" },
    h("header", { class: "page-head" }, h("h1", { text: t("sup.title") }),
      h("p", { class: "muted", text: t("sup.subtitle") })),
    h("section", { class: "page-section" }, h("h2", { text: t("sup.team") }), totals),
    h("section", { class: "page-section" }, h("h2", { text: t("sup.queues") }), cards),
    h("section", { class: "page-section" }, h("h2", { text: t("sup.agents") }),
      h("div", { class: "table-wrap" },
        h("table", { class: "table", test: "sup-agents" },
          h("thead", null, h("tr", null,
            h("th", { scope: "col", text: t("sup.agent") }),
            h("th", { scope: "col", text: t("sup.presence") }),
            h("th", { scope: "col", text: t("sup.load") }),
            h("th", { scope: "col", text: t("sup.agent_queues") }))),
          agentsBody))),
    h("section", { class: "page-section" }, h("h2", { text: t("sup.chats") }),
      h("div", { class: "table-wrap" },
        h("table", { class: "table", test: "sup-chats" },
          h("thead", null, h("tr", null,
            h("th", { scope: "col", text: t("sup.contact") }),
            h("th", { scope: "col", text: t("sup.status") }),
            h("th", { scope: "col", text: t("sup.queue") }),
            h("th", { scope: "col", text: t("sup.agent") }),
            h("th", { scope: "col", text: t("sup.waiting") }),
            h("th", { scope: "col", text: t("sup.last_activity") }),
            h("th", { scope: "col", text: t("sup.actions") }))),
          chatsBody))));

  function queueName(id, fallback) {
    if (!id) return t("sup.no_queue");
    const queue = queueById(id);
    return (queue && queue.name) || fallback || id;
  }

  // The API does not show when a chat entered its queue (pending_since) yet; created_at
  // is right for chats that were never sent back to a queue.
  function pendingSince(chat) {
    return chat.pending_since || chat.created_at;
  }

  function wait(since) {
    return since ? duration((Date.now() - new Date(since).getTime()) / 1000) : "—";
  }

  function renderCards() {
    const live = state.live;
    if (!live) {
      cards.replaceChildren(empty(t("common.loading")));
      return;
    }
    const queues = live.queues || [];
    if (!queues.length) {
      cards.replaceChildren(empty(t("sup.no_pending"), "sup-no-queues"));
      return;
    }
    cards.replaceChildren(...queues.map((q) => {
      const queue = q.queue_id ? queueById(q.queue_id) : null;
      const card = h("div", { class: ["queue-card", q.pending > 0 && "busy"], test: "queue-card", dataset: { queueId: q.queue_id || "" } },
        h("h3", null, h("span", { class: "queue-dot", "aria-hidden": "true" }), queueName(q.queue_id, q.name)),
        h("div", { class: "queue-stats" },
          h("div", null, h("span", { class: "stat-value", test: "queue-pending", text: number(q.pending) }), h("span", { class: "stat-label", text: t("sup.pending") })),
          h("div", null, h("span", { class: "stat-value", test: "queue-wait", dataset: { since: q.oldest_since || "" }, text: q.pending ? wait(q.oldest_since) : "—" }),
            h("span", { class: "stat-label", text: t("sup.longest_wait") }))));
      if (queue) card.querySelector(".queue-dot").style.setProperty("--queue-color", queue.color);
      card.slaSeconds = queue && queue.sla_wait_seconds ? queue.sla_wait_seconds : null;
      if (card.slaSeconds) {
        card.append(h("div", { class: "stat-label", text: t("sup.sla", { minutes: Math.round(card.slaSeconds / 60) }) }));
      }
      return card;
    }));
    judgeQueues();
  }

  /** Colours each queue by its longest wait against its threshold; a new red one sounds. */
  function judgeQueues() {
    const now = Date.now();
    const nowLate = new Set();
    for (const card of cards.querySelectorAll("[data-testid=queue-card]")) {
      const since = card.querySelector("[data-testid=queue-wait]").dataset.since;
      const waited = since ? (now - new Date(since).getTime()) / 1000 : 0;
      const sla = card.slaSeconds;
      const level = !sla || !since ? "" : waited >= sla ? "late" : waited >= sla * 0.75 ? "near" : "";
      card.classList.toggle("late", level === "late");
      card.classList.toggle("near", level === "near");
      card.dataset.sla = level || "ok";
      if (level === "late") nowLate.add(card.dataset.queueId);
    }
    if ([...nowLate].some((id) => !late.has(id))) beep();
    late = nowLate;
  }

  function renderTotals() {
    const agents = state.live ? state.live.agents || [] : [];
    const count = (fn) => agents.filter(fn).length;
    const busy = count((a) => a.presence !== "offline" && a.max_concurrent_chats && a.open_chats >= a.max_concurrent_chats);
    const figures = [
      ["online", count((a) => a.presence === "online")],
      ["busy", busy],
      ["away", count((a) => a.presence === "away")],
      ["offline", count((a) => a.presence === "offline")],
    ];
    totals.replaceChildren(...figures.map(([key, n]) => h("div", { class: "stat" },
      h("div", { class: "stat-value", test: `sup-total-${key}`, text: String(n) }),
      h("div", { class: "stat-label", text: t("sup.total." + key) }))));
  }

  function renderAgents() {
    const live = state.live;
    const agents = live ? live.agents || [] : [];
    if (!agents.length) {
      agentsBody.replaceChildren(h("tr", null, h("td", { colspan: "4", class: "muted", text: live ? t("sup.no_agents") : t("common.loading") })));
      return;
    }
    const rows = [];
    const order = { online: 0, away: 1, offline: 2 };
    for (const a of [...agents].sort((x, y) => (order[x.presence] - order[y.presence]) || x.name.localeCompare(y.name))) {
      const pct = a.max_concurrent_chats ? Math.min(100, Math.round((a.open_chats / a.max_concurrent_chats) * 100)) : 0;
      const bar = h("span", { class: "load-bar" }, h("span", { class: ["load-fill", pct >= 100 && "full"] }));
      bar.firstChild.style.setProperty("--load", pct + "%");
      const open = expanded.has(a.user_id);
      rows.push(h("tr", { class: "agent-row", test: "agent-row", dataset: { userId: a.user_id } },
        h("td", null,
          h("button", { type: "button", class: "link-btn agent-name", test: "agent-toggle", "aria-expanded": String(open),
            on: { click: () => toggleAgent(a.user_id) } },
          avatar(a.name, a.user_id, "small"), h("span", { text: a.name }), h("span", { class: "muted", text: " · " + t("role." + a.role) }))),
        h("td", null, h("span", { class: ["presence-dot", `presence-${a.presence}`], "aria-hidden": "true" }),
          h("span", { test: "agent-presence", text: t("presence." + a.presence) })),
        h("td", null, h("span", { class: "load" }, bar, h("span", { test: "agent-load", text: `${a.open_chats}/${a.max_concurrent_chats}` }))),
        h("td", { text: (a.queue_ids || []).map((id) => queueName(id)).join(", ") || "—" })));
      if (open) {
        const chats = [...state.chats.values()].filter((c) => c.status === "open" && c.assignee_id === a.user_id);
        rows.push(h("tr", { class: "agent-chats" }, h("td", { colspan: "4" },
          chats.length ? h("ul", { class: "mini-chats" }, chats.map((c) => h("li", null,
            h("span", { text: contactName(c.contact) }),
            h("span", { class: "muted", text: listTime(c.updated_at) }),
            h("button", { type: "button", class: "btn btn-small", test: "sup-open-chat", text: t("sup.open"), on: { click: () => navigate(`#/chats/${c.id}`) } }),
            h("button", { type: "button", class: "btn btn-small", test: "sup-transfer", text: t("chat.transfer"), on: { click: () => transferChat(c) } }))))
            : h("span", { class: "muted", text: t("sup.agent_no_chats") }))));
      }
    }
    agentsBody.replaceChildren(...rows);
  }

  async function toggleAgent(id) {
    if (expanded.has(id)) {
      expanded.delete(id);
    } else {
      expanded.add(id);
      try {
        const page = await api.get(`/chats?status=open&assignee=${encodeURIComponent(id)}&limit=200`);
        upsertChats(page.items);
      } catch (err) {
        toast(errorText(err), "error");
      }
    }
    renderAgents();
  }

  function renderChats() {
    const chats = [...state.chats.values()].filter((c) => c.status !== "closed")
      .sort((a, b) => (a.status === b.status ? (a.updated_at < b.updated_at ? -1 : 1) : a.status === "pending" ? -1 : 1));
    if (!chats.length) {
      chatsBody.replaceChildren(h("tr", null, h("td", { colspan: "7", class: "muted", text: t("sup.no_chats") })));
      return;
    }
    chatsBody.replaceChildren(...chats.map((c) => h("tr", { test: "sup-chat-row", dataset: { chatId: c.id } },
      h("td", null, h("span", { class: "cell-contact" }, avatar(contactName(c.contact), c.contact.wa_id, "small"), contactName(c.contact),
        c.unread_count ? h("span", { class: "badge", text: String(c.unread_count) }) : null)),
      h("td", null, h("span", { class: `chip chip-${c.status}`, text: t("status." + c.status) })),
      h("td", { text: queueName(c.queue_id) }),
      h("td", { text: c.assignee_id ? userName(c.assignee_id) || "—" : "—" }),
      // One unit per column: how long it has waited, then when it last moved.
      h("td", { class: "wait-cell", dataset: { since: c.status === "pending" ? pendingSince(c) : "" },
        text: c.status === "pending" ? wait(pendingSince(c)) : "—" }),
      h("td", { class: "muted", text: listTime(c.updated_at) }),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "btn btn-small", test: "sup-open-chat", text: t("sup.open"), on: { click: () => navigate(`#/chats/${c.id}`) } }),
        h("button", { type: "button", class: "btn btn-small", test: "sup-transfer", text: t("chat.transfer"), on: { click: () => transferChat(c) } })))));
  }

  // Waits tick every second without rebuilding the tables.
  function tick() {
    for (const cell of el.querySelectorAll("[data-since]")) {
      if (cell.dataset.since && (cell.dataset.testid !== "queue-wait" || cell.textContent !== "—")) cell.textContent = wait(cell.dataset.since);
    }
    judgeQueues();
  }

  const renderAll = perFrame(() => {
    renderCards();
    renderTotals();
    renderAgents();
    renderChats();
  });
  const renderChatsSoon = perFrame(() => {
    renderChats();
    renderAgents();
  });
  const stops = [on("stats", renderAll), on("presence", renderAll), on("queues", renderAll), on("users", renderAll),
    on("chat", renderChatsSoon), on("chats", renderChatsSoon)];
  const timer = setInterval(tick, 1000);

  async function load() {
    try {
      const [live, open, pending] = await Promise.all([
        api.get("/queues/live"),
        api.get("/chats?status=open&limit=200"),
        api.get("/chats?status=pending&limit=200"),
      ]);
      state.live = live;
      upsertChats(open.items.concat(pending.items));
      renderAll();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }
  renderAll();
  load();

  return {
    el,
    destroy() {
      stops.forEach((stop) => stop());
      clearInterval(timer);
    },
  };
}
