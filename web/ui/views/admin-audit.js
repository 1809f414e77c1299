// Admin: the audit log, newest first, filtered by action and period, paged.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { userName } from "../state.js";
import { dateTime } from "../format.js";
import { errorText } from "./ui.js";

export function createAuditSection() {
  const action = h("input", { type: "text", test: "audit-action", placeholder: "auth. / chat. / campaign." });
  const from = h("input", { type: "date", test: "audit-from" });
  const to = h("input", { type: "date", test: "audit-to" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn", test: "audit-more", text: t("common.load_more"), hidden: true });
  let cursor = null;
  const el = h("section", { class: "admin-section", test: "admin-audit-section" },
    h("div", { class: "section-head" }, h("h2", { text: t("audit.title") })),
    h("div", { class: "filters" },
      h("label", { class: "inline-field" }, h("span", { text: t("audit.action") }), action),
      h("label", { class: "inline-field" }, h("span", { text: t("reports.from") }), from),
      h("label", { class: "inline-field" }, h("span", { text: t("reports.to") }), to)),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "audit-table" },
        h("thead", null, h("tr", null, ["audit.at", "audit.who", "audit.action", "audit.target", "audit.detail", "audit.address"].map((k) => h("th", { scope: "col", text: t(k) })))),
        tbody)),
    more);

  function params(append) {
    const end = to.value ? new Date(new Date(to.value).getTime() + 86400000).toISOString() : "";
    return api.query({
      action: action.value.trim(),
      from: from.value ? new Date(from.value).toISOString() : "",
      to: end,
      limit: 50,
      cursor: append ? cursor : null,
    });
  }

  async function load(append) {
    try {
      const page = await api.get("/audit" + params(append));
      const rows = page.items.map((e) => h("tr", { test: "audit-row" },
        h("td", { class: "muted", text: dateTime(e.at) }),
        h("td", { text: e.actor_id ? (userName(e.actor_id) || e.actor_id) : t("audit.hub") }),
        h("td", null, h("code", { text: e.action })),
        h("td", { text: e.target || "" }),
        h("td", { text: e.detail || "" }),
        h("td", { class: "muted", text: e.address || "" })));
      if (append) tbody.append(...rows);
      else tbody.replaceChildren(...rows);
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "6", class: "form-error", text: errorText(err) })));
    }
  }
  let timer = null;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(false), 250);
  };
  action.addEventListener("input", reload);
  from.addEventListener("change", reload);
  to.addEventListener("change", reload);
  more.addEventListener("click", () => load(true));
  load(false);
  return { el, destroy: () => clearTimeout(timer) };
}
