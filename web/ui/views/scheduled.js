// The messages the signed-in user scheduled that are still waiting, soonest first (staff
// may show everyone's), each with its chat and a cancel button.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { on, isStaff } from "../state.js";
import { dateTime } from "../format.js";
import { toast, errorText, empty } from "./ui.js";

export function createScheduledView() {
  const everyone = h("input", { type: "checkbox", test: "scheduled-everyone" });
  const tbody = h("tbody");
  const el = h("div", { class: "page scheduled", test: "scheduled-page" },
    h("header", { class: "page-head section-head" },
      h("div", null, h("h1", { text: t("scheduled.title") }), h("p", { class: "muted", text: t("scheduled.intro") })),
      isStaff() ? h("label", { class: "check" }, everyone, h("span", { text: t("scheduled.everyone") })) : null),
    h("section", { class: "page-section" },
      h("div", { class: "table-wrap" },
        h("table", { class: "table", test: "scheduled-table" },
          h("thead", null, h("tr", null,
            ["scheduled.when", "scheduled.to", "scheduled.text", "queues.actions"].map((key) => h("th", { scope: "col", text: t(key) })))),
          tbody))));

  async function load() {
    try {
      const page = await api.get("/scheduled" + api.query({ everyone: everyone.checked ? "true" : "" }));
      if (!page.items.length) {
        tbody.replaceChildren(h("tr", null, h("td", { colspan: "4" }, empty(t("scheduled.none"), "scheduled-empty"))));
        return;
      }
      tbody.replaceChildren(...page.items.map((m) => h("tr", { test: "scheduled-row" },
        h("td", { text: dateTime(m.send_at) }),
        h("td", null, h("a", { href: `#/chats/${m.chat_id}`, text: m.contact_name || m.chat_id })),
        h("td", { class: "scheduled-text", text: m.text }),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "btn btn-small", test: "scheduled-row-cancel", text: t("common.cancel"),
            on: { click: async () => {
              try {
                await api.del(`/chats/${m.chat_id}/scheduled/${m.id}`);
                toast(t("scheduled.cancelled"), "success");
              } catch (err) {
                toast(errorText(err), "error");
              }
              load();
            } } })))));
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "4", class: "form-error", text: errorText(err) })));
    }
  }
  everyone.addEventListener("change", load);
  const stop = on("scheduled", load);
  load();
  return { el, show() {}, destroy: stop };
}
