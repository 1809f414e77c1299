// Admin pages: users, queues, business numbers, settings, (when the hub has them) canned responses, and the
// click-to-chat QR code, integrations (API tokens, outgoing webhooks), and the webhook
// changes kept as unprocessed.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";

const SECTIONS = ["users", "queues", "numbers", "settings", "labels", "fields", "canned", "qr", "integrations", "unprocessed", "audit"];

export function createAdminView({ navigate }) {
  const tabs = {};
  const tabBar = h("nav", { class: "page-tabs", "aria-label": t("admin.sections") },
    SECTIONS.map((name) => {
      const a = h("a", { href: `#/admin/${name}`, class: "page-tab", test: `admin-${name}`, text: t(`admin.${name}`), hidden: name === "canned" });
      tabs[name] = a;
      return a;
    }));
  const body = h("div", { class: "admin-body" });
  const el = h("div", { class: "page admin", test: "admin" },
    h("header", { class: "page-head" }, h("h1", { text: t("admin.title") })),
    tabBar,
    body);
  let current = null;
  let currentName = null;
  let cannedAvailable = null;

  // The canned responses section appears only when the hub answers 200.
  api.get("/canned-responses").then(() => {
    cannedAvailable = true;
    tabs.canned.hidden = false;
  }).catch(() => {
    cannedAvailable = false;
    if (currentName === "canned") navigate("#/admin/users");
  });

  async function show(name) {
    if (!SECTIONS.includes(name)) name = "users";
    if (name === "canned" && cannedAvailable === false) {
      navigate("#/admin/users");
      return;
    }
    if (name === currentName) return;
    currentName = name;
    for (const [key, a] of Object.entries(tabs)) {
      if (key === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (current) current.destroy();
    current = null;
    const modules = {
      users: () => import("./admin-users.js").then((m) => m.createUsersSection()),
      queues: () => import("./admin-queues.js").then((m) => m.createQueuesSection()),
      numbers: () => import("./admin-numbers.js").then((m) => m.createNumbersSection()),
      integrations: () => import("./admin-integrations.js").then((m) => m.createIntegrationsSection()),
      unprocessed: () => import("./admin-unprocessed.js").then((m) => m.createUnprocessedSection()),
      settings: () => import("./admin-settings.js").then((m) => m.createSettingsSection()),
      fields: () => import("./admin-fields.js").then((m) => m.createFieldsSection()),
      labels: () => import("./admin-labels.js").then((m) => m.createLabelsSection()),
      audit: () => import("./admin-audit.js").then((m) => m.createAuditSection()),
      canned: () => import("./admin-canned.js").then((m) => m.createCannedSection()),
      qr: () => import("./admin-qr.js").then((m) => m.createQrSection()),
    };
    const section = await modules[name]();
    if (currentName !== name) {
      section.destroy();
      return;
    }
    current = section;
    body.replaceChildren(section.el);
  }

  return {
    el,
    show,
    destroy() {
      if (current) current.destroy();
    },
  };
}
