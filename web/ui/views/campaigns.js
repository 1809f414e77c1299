// Campaigns (staff): the list with each one's progress, a new campaign from an approved
// template with its audience, the preview before it starts (who is left out, what it
// costs), and one campaign's live progress with its controls and failed sends.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { state, on, queueById } from "../state.js";
import { dateTime, listTime, number } from "../format.js";
import { field, formDialog, toast, errorText, empty, confirmDialog } from "./ui.js";

/** The parts of a progress bar, in order, with their colour class. */
const PARTS = [
  ["replied", "part-replied"],
  ["read", "part-read"],
  ["delivered", "part-delivered"],
  ["sent", "part-sent"],
  ["sending", "part-sending"],
  ["failed", "part-failed"],
  ["skipped", "part-skipped"],
  ["queued", "part-queued"],
];

/** Counts as exclusive slices (a replied send is not counted again as read ...). */
function slices(c) {
  return {
    replied: c.replied,
    read: c.read - c.replied,
    delivered: c.delivered - c.read,
    sent: c.sent - c.delivered,
    sending: c.sending,
    failed: c.failed,
    skipped: c.skipped,
    queued: c.queued,
  };
}

/** A stacked bar of a campaign's sends. */
export function progressBar(counts, big) {
  const total = counts.total || 0;
  const parts = slices(counts);
  return h("div", { class: ["progress", big && "progress-big"], test: "campaign-progress", role: "img",
    "aria-label": t("campaigns.progress_label", { sent: counts.sent, total }) },
  total ? PARTS.filter(([key]) => parts[key] > 0).map(([key, cls]) => {
    const part = h("span", { class: ["progress-part", cls], title: `${t("campaigns.state." + key)}: ${parts[key]}` });
    // Through the CSSOM: the strict policy refuses style attributes.
    part.style.setProperty("width", `${(parts[key] / total) * 100}%`);
    return part;
  }) : null);
}

export function createCampaignsView({ navigate }) {
  const tbody = h("tbody");
  const detail = h("div", { class: "campaign-detail", test: "campaign-detail", hidden: true });
  const listSection = h("section", { class: "page-section", test: "campaigns-list" },
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "campaigns-table" },
        h("thead", null, h("tr", null,
          ["campaigns.name", "campaigns.status", "campaigns.progress", "campaigns.created"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));
  const el = h("div", { class: "page campaigns", test: "campaigns" },
    h("header", { class: "page-head section-head" },
      h("div", null, h("h1", { text: t("campaigns.title") }), h("p", { class: "muted", text: t("campaigns.intro") })),
      h("button", { type: "button", class: "btn btn-primary", test: "campaign-create", text: t("campaigns.create"), on: { click: create } })),
    detail,
    listSection);

  let campaigns = [];
  let shown = null; // the campaign on its page

  function statusChip(status) {
    return h("span", { class: ["chip", `campaign-${status}`], test: "campaign-status", text: t("campaigns.status." + status) });
  }

  function renderList() {
    if (!campaigns.length) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "4" }, empty(t("campaigns.none"), "campaigns-empty"))));
      return;
    }
    tbody.replaceChildren(...campaigns.map((c) => h("tr", { class: "clickable", test: "campaign-row", tabindex: "0", dataset: { campaignId: c.id },
      on: { click: () => navigate(`#/campaigns/${c.id}`), keydown: (e) => e.key === "Enter" && navigate(`#/campaigns/${c.id}`) } },
    h("td", { test: "campaign-row-name", text: c.name }),
    h("td", null, statusChip(c.status)),
    h("td", null, progressBar(c.counts), h("span", { class: "muted small", text: `${number(c.counts.sent)} / ${number(c.counts.total)}` })),
    h("td", { class: "muted", text: listTime(c.created_at) }))));
  }

  async function loadList() {
    try {
      campaigns = (await api.get("/campaigns")).items;
      renderList();
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "4", class: "form-error", text: errorText(err) })));
    }
  }

  async function act(campaign, action) {
    if (action === "cancel") {
      const sure = await confirmDialog({ title: t("campaigns.cancel_title"), message: t("campaigns.cancel_explain"), confirmLabel: t("campaigns.action.cancel"), danger: true, test: "campaign-cancel-dialog" });
      if (!sure) return;
    }
    try {
      const updated = await api.post(`/campaigns/${campaign.id}/${action}`);
      toast(t("campaigns.done." + action), "success");
      renderDetail(await api.get(`/campaigns/${updated.id}`));
    } catch (err) {
      toast(errorText(err), "error", 6000);
    }
  }

  function renderDetail(c) {
    // The failed sends are read again only when their count moved.
    const oldFailed = shown && shown.id === c.id && shown.counts.failed === c.counts.failed
      ? detail.querySelector("[data-testid=campaign-failed]") : null;
    const keptFailed = oldFailed ? [...oldFailed.childNodes] : null;
    shown = c;
    const actions = [];
    const button = (action, kind) => h("button", { type: "button", class: ["btn", kind], test: `campaign-${action}`, text: t("campaigns.action." + action), on: { click: () => act(c, action) } });
    if (c.status === "draft") actions.push(button("start", "btn-primary"));
    if (c.status === "running" || c.status === "scheduled") actions.push(button("pause"));
    if (c.status === "paused") actions.push(button("resume", "btn-primary"));
    if (c.status !== "done" && c.status !== "cancelled") actions.push(button("cancel", "btn-danger-outline"));
    const p = c.preview;
    const counts = c.counts;
    const legend = slices(counts);
    const queue = c.queue_id ? queueById(c.queue_id) : null;
    detail.replaceChildren(
      h("section", { class: "page-section" },
        h("div", { class: "section-head" },
          h("h2", { test: "campaign-detail-name", text: c.name }),
          h("div", { class: "form-actions" }, statusChip(c.status), actions,
            h("button", { type: "button", class: "btn", test: "campaign-back", text: t("common.back"), on: { click: () => navigate("#/campaigns") } }))),
        h("dl", { class: "facts" },
          h("dt", { text: t("campaigns.template") }), h("dd", { text: `${c.template.name} (${c.template.language}, ${c.template.category})` }),
          h("dt", { text: t("campaigns.body") }), h("dd", { class: "template-body", text: c.template.body }),
          c.variables.length ? [h("dt", { text: t("campaigns.variables") }), h("dd", { text: c.variables.join(" · ") })] : null,
          h("dt", { text: t("campaigns.audience") }), h("dd", { text: audienceText(c.audience) }),
          h("dt", { text: t("campaigns.replies_to") }), h("dd", { text: queue ? queue.name : t("campaigns.no_queue") }),
          c.start_at ? [h("dt", { text: t("campaigns.start_at") }), h("dd", { text: dateTime(c.start_at) })] : null,
          c.started_at ? [h("dt", { text: t("campaigns.started") }), h("dd", { text: dateTime(c.started_at) })] : null,
          c.finished_at ? [h("dt", { text: t("campaigns.finished") }), h("dd", { text: dateTime(c.finished_at) })] : null),
        p ? h("div", { class: "preview", test: "campaign-preview" },
          h("p", { test: "campaign-preview-audience", text: t("campaigns.preview", { n: number(p.audience) }) }),
          h("p", { class: "muted", text: t("campaigns.preview_left_out", { opted_out: number(p.opted_out), no_phone: number(p.no_phone) }) }),
          h("p", { test: "campaign-preview-cost", text: t("campaigns.preview_cost", { cost: p.estimated_cost.toFixed(2), currency: p.currency, price: p.price_per_message }) })) : null),
      h("section", { class: "page-section" },
        h("h2", { text: t("campaigns.progress") }),
        progressBar(counts, true),
        h("ul", { class: "legend", test: "campaign-legend" },
          PARTS.map(([key, cls]) => h("li", { dataset: { state: key } },
            h("span", { class: ["swatch", cls], "aria-hidden": "true" }),
            h("span", { text: t("campaigns.state." + key) }),
            h("strong", { test: `campaign-count-${key}`, text: number(legend[key]) })))),
        h("p", { class: "muted", text: t("campaigns.totals", { total: number(counts.total), sent: number(counts.sent), delivered: number(counts.delivered), read: number(counts.read), replied: number(counts.replied) }) })),
      h("section", { class: "page-section" },
        h("h2", { text: t("campaigns.failed") }),
        h("div", { test: "campaign-failed" }, keptFailed || h("p", { class: "muted", text: t("common.loading") }))));
    if (!keptFailed) loadFailed(c);
  }

  async function loadFailed(c) {
    const box = detail.querySelector("[data-testid=campaign-failed]");
    try {
      const page = await api.get(`/campaigns/${c.id}/sends?state=failed&limit=100`);
      if (!box || shown !== c) return;
      box.replaceChildren(page.items.length
        ? h("ul", { class: "history-list" }, page.items.map((s) => h("li", { class: "history-row" },
          h("span", { text: s.contact_name || s.phone || s.contact_id }),
          h("span", { class: "muted", text: s.reason || "" }))))
        : h("p", { class: "muted", text: t("campaigns.no_failed") }));
    } catch (err) {
      if (box) box.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
    }
  }

  function audienceText(a) {
    const parts = [];
    if (a.labels.length) parts.push(t("campaigns.audience_labels", { labels: a.labels.join(", ") }));
    for (const [key, value] of Object.entries(a.fields || {})) parts.push(`${key} = ${value}`);
    if (a.contacts) parts.push(t("campaigns.audience_contacts", { n: number(a.contacts) }));
    return parts.length ? parts.join(" · ") : t("campaigns.audience_all");
  }

  async function create() {
    let templates = [];
    try {
      templates = (await api.get("/templates")).items;
    } catch (err) {
      toast(errorText(err), "error");
      return;
    }
    const name = h("input", { type: "text", maxlength: "100", test: "campaign-name" });
    const template = h("select", { test: "campaign-template" },
      templates.map((tpl, i) => h("option", { value: String(i), text: `${tpl.name} (${tpl.language}) · ${tpl.category}` })));
    const bodyText = h("p", { class: "template-body", test: "campaign-template-body" });
    const variables = h("div", { class: "variables", test: "campaign-variables" });
    const labels = h("input", { type: "text", test: "campaign-labels", placeholder: "vip, clientes" });
    const queue = h("select", { test: "campaign-queue" },
      h("option", { value: "", text: t("campaigns.no_queue") }),
      state.queues.map((q) => h("option", { value: q.id, text: q.name })));
    const numberSelect = h("select", { test: "campaign-number" }, state.numbers.map((n) => h("option", { value: n.id, text: n.name })));
    const startAt = h("input", { type: "datetime-local", test: "campaign-start-at" });
    const rate = h("input", { type: "number", min: "1", max: "1000", test: "campaign-rate" });
    const bodyOf = (tpl) => ((tpl && tpl.components) || []).find((c) => String(c.type).toLowerCase() === "body")?.text || "";
    function pickTemplate() {
      const tpl = templates[Number(template.value)];
      const text = bodyOf(tpl);
      bodyText.textContent = text;
      const count = (text.match(/\{\{\d+\}\}/g) || []).length;
      variables.replaceChildren(...Array.from({ length: count }, (_, i) =>
        field(t("campaigns.variable", { n: i + 1 }), h("input", { type: "text", test: `campaign-variable-${i + 1}`, value: i === 0 ? "{{contact.first_name|cliente}}" : "" }), { hint: i === 0 ? t("campaigns.variable_hint") : null })));
    }
    template.addEventListener("change", pickTemplate);
    pickTemplate();
    const fields = [
      field(t("campaigns.name"), name, { name: "name" }),
      field(t("campaigns.template"), template, { name: "template" }),
      bodyText,
      h("div", { class: "field", dataset: { field: "variables" } }, variables),
      field(t("campaigns.labels"), labels, { name: "audience", hint: t("campaigns.labels_hint") }),
      field(t("campaigns.replies_to"), queue, { name: "queue_id" }),
      state.numbers.length > 1 ? field(t("contacts.number"), numberSelect, { name: "phone_number_id" }) : null,
      field(t("campaigns.start_at"), startAt, { name: "start_at", hint: t("campaigns.start_hint") }),
      field(t("campaigns.rate"), rate, { name: "rate", hint: t("campaigns.rate_hint") }),
    ].filter(Boolean);
    formDialog({
      title: t("campaigns.create"),
      test: "campaign-dialog",
      submitTest: "campaign-save",
      submitLabel: t("campaigns.save_draft"),
      fields,
      onSubmit: async () => {
        const tpl = templates[Number(template.value)];
        const made = await api.post("/campaigns", {
          name: name.value.trim(),
          phone_number_id: numberSelect.value || undefined,
          template: { name: tpl ? tpl.name : "", language: tpl ? tpl.language : "" },
          variables: [...variables.querySelectorAll("input")].map((i) => i.value),
          audience: { labels: labels.value.split(",").map((s) => s.trim()).filter(Boolean) },
          queue_id: queue.value || null,
          start_at: startAt.value || null,
          rate: rate.value ? Number(rate.value) : null,
        });
        toast(t("campaigns.saved"), "success");
        navigate(`#/campaigns/${made.id}`);
      },
    });
  }

  async function showCampaign(id) {
    detail.hidden = false;
    listSection.hidden = true;
    detail.replaceChildren(h("p", { class: "muted", text: t("common.loading") }));
    try {
      renderDetail(await api.get(`/campaigns/${encodeURIComponent(id)}`));
    } catch (err) {
      detail.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
    }
  }

  // Live progress and status over the socket.
  const stop = on("campaign", (data) => {
    const listed = campaigns.find((c) => c.id === data.id);
    if (listed) {
      if (data.counts) listed.counts = data.counts;
      if (data.status) listed.status = data.status;
      if (!detail.hidden) return;
      renderList();
    }
    if (shown && shown.id === data.id && !detail.hidden) {
      const next = { ...shown, status: data.status || shown.status, counts: data.counts || shown.counts };
      if (data.status && data.status !== shown.status) next.preview = null;
      renderDetail(next);
    }
  });

  return {
    el,
    show(id) {
      if (id) {
        showCampaign(id);
      } else {
        shown = null;
        detail.hidden = true;
        listSection.hidden = false;
        loadList();
      }
    },
    destroy() {
      stop();
    },
  };
}
