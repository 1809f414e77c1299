// Admin: webhook changes the hub could not use, kept as Meta sent them, with the reason;
// each can be replayed once the hub can use it (after an upgrade, or a number added).

import { h } from "../dom.js";
import { t, has } from "../i18n.js";
import * as api from "../api.js";
import { dateTime } from "../format.js";
import { toast, errorText, empty } from "./ui.js";

export function createUnprocessedSection() {
  const list = h("div", { class: "unprocessed-list", test: "unprocessed-list" });
  const el = h("section", { class: "admin-section", test: "admin-unprocessed-section" },
    h("div", { class: "section-head" }, h("h2", { text: t("unprocessed.title") })),
    h("p", { class: "muted", text: t("unprocessed.intro") }),
    list);

  function reason(code) {
    return has("unprocessed.reason." + code) ? t("unprocessed.reason." + code) : code;
  }

  function entry(item) {
    const outcome = h("p", { class: "muted", test: "unprocessed-outcome",
      text: item.replayed_at ? t("unprocessed.replayed", { when: dateTime(item.replayed_at), outcome: item.replay_outcome || "" }) : "" });
    const replay = h("button", { type: "button", class: "btn btn-small", test: "unprocessed-replay", text: t("unprocessed.replay"),
      on: {
        click: async () => {
          replay.disabled = true;
          try {
            const done = await api.post(`/webhooks/unprocessed/${encodeURIComponent(item.id)}/replay`);
            outcome.textContent = t("unprocessed.replayed", { when: dateTime(done.replayed_at), outcome: done.replay_outcome || "" });
            toast(t("unprocessed.done"), "success");
          } catch (err) {
            toast(errorText(err), "error");
          } finally {
            replay.disabled = false;
          }
        },
      } });
    return h("article", { class: "unprocessed-entry", test: "unprocessed-entry", dataset: { reason: item.reason } },
      h("header", { class: "section-head" },
        h("strong", { test: "unprocessed-reason", text: reason(item.reason) }),
        h("span", { class: "muted", text: `${item.field} · ${item.phone_number_id || "—"} · ${dateTime(item.received_at)}` }),
        replay),
      item.detail.length ? h("p", { class: "muted", text: item.detail.join("; ") }) : null,
      outcome,
      h("details", null,
        h("summary", { text: t("unprocessed.raw") }),
        h("pre", { class: "raw-json", text: JSON.stringify(item.raw, null, 2) })));
  }

  async function load() {
    try {
      const page = await api.get("/webhooks/unprocessed?limit=100");
      list.replaceChildren(...(page.items.length ? page.items.map(entry) : [empty(t("unprocessed.none"), "unprocessed-empty")]));
    } catch (err) {
      list.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
    }
  }

  load();
  return { el, destroy() {} };
}
