// The frame around every signed-in page: the navigation rail (a bottom bar on phones), the
// user menu (presence, notifications, two-step verification, language, sign out) and the
// offline banner.

import { h, icon, avatar } from "../dom.js";
import { t } from "../i18n.js";
import { state, on, isStaff, isAdmin } from "../state.js";
import { notificationsSupported, notificationPermission, askPermission } from "../notify.js";
import { langSwitch } from "./lang-switch.js";
import { twoFactorDialog } from "./two-factor.js";

/** options: {onLogout, onPresence(presence)} -> {el, content, setRoute(name), destroy} */
export function createShell({ onLogout, onPresence }) {
  const navButtons = {};
  function nav(name, hash, iconName, label) {
    const a = h("a", { href: hash, class: "rail-btn", test: `nav-${name}`, "aria-label": label, title: label },
      icon(iconName), h("span", { class: "rail-label", text: label }));
    navButtons[name] = a;
    return a;
  }

  const me = state.user;
  const presenceDot = h("span", { class: ["presence-dot", "on-avatar", `presence-${state.myPresence}`], "aria-hidden": "true" });
  const menuButton = h("button", { type: "button", class: "rail-btn user-btn", test: "user-menu", "aria-haspopup": "true", "aria-expanded": "false",
    "aria-label": t("menu.label"), title: me.name }, avatar(me.name, me.id), presenceDot);

  const menu = h("div", { class: "user-menu", test: "user-menu-panel", hidden: true, role: "dialog", "aria-label": t("menu.label") });
  function renderMenu() {
    const away = state.myPresence === "away";
    const permission = notificationPermission();
    menu.replaceChildren(
      h("div", { class: "menu-who" },
        avatar(me.name, me.id),
        h("div", null,
          h("strong", { test: "me-name", text: me.name }),
          h("span", { class: "muted", text: me.email }),
          h("span", { class: "muted", test: "me-role", text: t("role." + me.role) }))),
      h("button", { type: "button", class: "menu-item", test: "presence-toggle", "aria-pressed": String(away),
        on: { click: () => {
          onPresence(away ? "online" : "away");
          renderMenu();
        } } },
      h("span", { class: ["presence-dot", `presence-${state.myPresence}`], "aria-hidden": "true" }),
      h("span", { text: away ? t("presence.go_online") : t("presence.go_away") }),
      h("span", { class: "muted menu-state", text: t("presence." + state.myPresence) })),
      notificationsSupported() && permission === "default"
        ? h("button", { type: "button", class: "menu-item", test: "enable-notifications",
          on: { click: async () => {
            await askPermission();
            renderMenu();
          } } }, icon("bell"), h("span", { text: t("menu.enable_notifications") }))
        : h("p", { class: "menu-note muted", test: "notifications-state",
          text: permission === "granted" ? t("menu.notifications_on") : t("menu.notifications_off") }),
      h("button", { type: "button", class: "menu-item", test: "open-2fa",
        on: { click: () => {
          setMenu(false);
          twoFactorDialog();
        } } }, icon("lock"), h("span", { text: t("menu.two_factor") })),
      h("label", { class: "menu-item menu-lang" }, h("span", { text: t("lang.label") }), langSwitch()),
      h("button", { type: "button", class: "menu-item danger", test: "logout", on: { click: onLogout } },
        icon("logout"), h("span", { text: t("menu.logout") })));
  }

  function setMenu(open) {
    if (open) renderMenu();
    menu.hidden = !open;
    menuButton.setAttribute("aria-expanded", String(open));
    if (open) {
      const first = menu.querySelector("button, select");
      if (first) first.focus();
    }
  }
  menuButton.addEventListener("click", () => setMenu(menu.hidden));
  const outside = (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !menuButton.contains(e.target)) setMenu(false);
  };
  const escape = (e) => {
    if (e.key === "Escape" && !menu.hidden) {
      setMenu(false);
      menuButton.focus();
    }
  };
  document.addEventListener("pointerdown", outside, true);
  document.addEventListener("keydown", escape);

  const rail = h("nav", { class: "rail", "aria-label": t("nav.label") },
    h("span", { class: "rail-logo", "aria-hidden": "true" }, "A"),
    nav("chats", "#/chats", "chat", t("nav.chats")),
    nav("scheduled", "#/scheduled", "clock", t("nav.scheduled")),
    isStaff() ? nav("supervisor", "#/supervisor", "supervisor", t("nav.supervisor")) : null,
    isStaff() ? nav("reports", "#/reports", "chart", t("nav.reports")) : null,
    isStaff() ? nav("contacts", "#/contacts", "person", t("nav.contacts")) : null,
    isStaff() ? nav("campaigns", "#/campaigns", "campaign", t("nav.campaigns")) : null,
    isAdmin() ? nav("admin", "#/admin/users", "admin", t("nav.admin")) : null,
    h("span", { class: "rail-spacer" }),
    menuButton,
    menu);

  const banner = h("div", { class: "banner-offline", test: "banner-offline", role: "alert", hidden: true },
    h("span", { class: "spinner", "aria-hidden": "true" }), h("span", { text: t("banner.offline") }));
  const content = h("main", { class: "content", id: "content" });
  const el = h("div", { class: "app-shell" },
    h("a", { href: "#content", class: "skip-link", text: t("nav.skip") }),
    rail,
    h("div", { class: "content-wrap" }, banner, content));

  // The banner waits a moment so a quick reconnect does not flash it.
  let bannerTimer = null;
  let everConnected = false;
  function setConnected(connected) {
    clearTimeout(bannerTimer);
    if (connected) {
      everConnected = true;
      banner.hidden = true;
      return;
    }
    bannerTimer = setTimeout(() => {
      banner.hidden = false;
    }, everConnected ? 1000 : 4000);
  }
  setConnected(state.connected);

  const stops = [
    on("connection", setConnected),
    on("my-presence", () => {
      presenceDot.className = `presence-dot on-avatar presence-${state.myPresence}`;
      if (!menu.hidden) renderMenu();
    }),
  ];

  return {
    el,
    content,
    setRoute(name) {
      for (const [key, a] of Object.entries(navButtons)) {
        if (key === name) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
      }
      el.dataset.route = name;
    },
    setConversationOpen(open) {
      el.classList.toggle("in-conversation", open);
    },
    destroy() {
      stops.forEach((stop) => stop());
      clearTimeout(bannerTimer);
      document.removeEventListener("pointerdown", outside, true);
      document.removeEventListener("keydown", escape);
    },
  };
}
