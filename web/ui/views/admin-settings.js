// Admin: hub settings — greeting and away messages, business hours, auto-assignment,
// capacity, reopen window. The API's field errors show next to the fields.

import { h, icon } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { field, checkbox, showFieldErrors, toast, errorText } from "./ui.js";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch (e) {
    return ["America/Sao_Paulo", "America/Manaus", "America/Recife", "America/Fortaleza", "America/Belem", "America/Cuiaba", "America/Rio_Branco", "America/Noronha", "UTC"];
  }
}

export function createSettingsSection() {
  const el = h("section", { class: "admin-section", test: "admin-settings-section" },
    h("div", { class: "section-head" }, h("h2", { text: t("settings.title") })),
    h("p", { class: "muted", text: t("common.loading") }));

  /** An automatic message: a switch and its text (null when off). */
  function optionalMessage(name, label, value, test) {
    const toggle = checkbox(t("settings.enabled"), { checked: value !== null && value !== undefined, test: `${test}-enabled` });
    const text = h("textarea", { rows: "3", maxlength: "4096", value: value || "", test, disabled: value === null || value === undefined });
    toggle.input.addEventListener("change", () => {
      text.disabled = !toggle.input.checked;
      if (!text.disabled) text.focus();
    });
    const wrapper = field(label, text, { name });
    wrapper.insertBefore(toggle, text);
    return { wrapper, value: () => (toggle.input.checked ? text.value : null) };
  }

  function dayRow(day, list) {
    const weekday = h("select", { test: "hours-weekday", "aria-label": t("settings.weekday"), value: day.weekday },
      WEEKDAYS.map((w) => h("option", { value: w, text: t("weekday." + w), selected: w === day.weekday })));
    // Text, not type=time: 24-hour "HH:MM" whatever the browser's locale.
    const hhmm = { type: "text", inputmode: "numeric", maxlength: "5", pattern: "([01][0-9]|2[0-3]):[0-5][0-9]", placeholder: "08:00", class: "time-input" };
    const open = h("input", { ...hhmm, value: day.open, test: "hours-open", "aria-label": t("settings.open") });
    const close = h("input", { ...hhmm, value: day.close, test: "hours-close", "aria-label": t("settings.close") });
    const row = h("div", { class: "hours-row", test: "hours-row" },
      weekday, open, h("span", { class: "muted", text: t("settings.to") }), close,
      h("button", { type: "button", class: "icon-btn", test: "hours-remove", "aria-label": t("settings.remove_hours"),
        on: { click: () => {
          row.remove();
          renumber(list);
        } } }, icon("close")),
      h("span", { class: "field-error", hidden: true }));
    row.read = () => ({ weekday: weekday.value, open: open.value, close: close.value });
    return row;
  }

  // Each row is a pseudo-field named business_hours.days[i] so errors land on it.
  function renumber(list) {
    [...list.children].forEach((row, i) => {
      row.classList.add("field");
      row.dataset.field = `business_hours.days[${i}]`;
      const error = row.querySelector(".field-error");
      row.setError = (text) => {
        error.textContent = text || "";
        error.hidden = !text;
      };
    });
  }

  function render(settings) {
    const greeting = optionalMessage("greeting_message", t("settings.greeting"), settings.greeting_message, "settings-greeting");
    const away = optionalMessage("away_message", t("settings.away"), settings.away_message, "settings-away");
    const zoneList = h("datalist", { id: "tz-list" }, zones().map((z) => h("option", { value: z })));
    const timezone = h("input", { type: "text", list: "tz-list", value: settings.business_hours.timezone, test: "settings-timezone", autocomplete: "off" });
    const days = h("div", { class: "hours-list", test: "hours-list" });
    for (const day of settings.business_hours.days) days.appendChild(dayRow(day, days));
    renumber(days);
    const addDay = h("button", { type: "button", class: "btn btn-small", test: "hours-add", text: t("settings.add_hours"),
      on: { click: () => {
        const last = days.lastElementChild ? days.lastElementChild.read() : null;
        const next = last ? WEEKDAYS[(WEEKDAYS.indexOf(last.weekday) + 1) % 7] : "mon";
        days.appendChild(dayRow({ weekday: next, open: last ? last.open : "08:00", close: last ? last.close : "18:00" }, days));
        renumber(days);
      } } });
    const hoursField = h("fieldset", { class: "field", dataset: { field: "business_hours.days" } },
      h("legend", { text: t("settings.hours") }),
      h("p", { class: "field-hint", text: t("settings.hours_hint") }),
      days, addDay, h("span", { class: "field-error", hidden: true }));
    hoursField.setError = (text) => {
      const error = hoursField.querySelector(":scope > .field-error");
      error.textContent = text || "";
      error.hidden = !text;
    };
    const autoAssign = checkbox(t("settings.auto_assign"), { checked: settings.auto_assign, test: "settings-auto-assign" });
    const capacity = h("input", { type: "number", min: "1", max: "100", value: String(settings.default_max_concurrent_chats), test: "settings-capacity" });
    const reopen = h("input", { type: "number", min: "0", max: "10080", value: String(settings.reopen_window_minutes), test: "settings-reopen" });
    const csat = settings.csat || { enabled: false, question: "", template: null };
    const csatOn = checkbox(t("settings.csat_enabled"), { checked: csat.enabled, test: "settings-csat" });
    const csatQuestion = h("input", { type: "text", maxlength: "1024", value: csat.question || "", test: "settings-csat-question" });
    const csatTemplate = h("input", { type: "text", maxlength: "512", value: csat.template ? csat.template.name : "", test: "settings-csat-template" });
    const csatLanguage = h("input", { type: "text", maxlength: "15", value: csat.template ? csat.template.language : "pt_BR", test: "settings-csat-language" });
    const required = new Set(settings.two_factor_roles || []);
    const twoFactorRoles = ["admin", "supervisor", "agent"].map((role) => {
      const box = checkbox(t("settings.two_factor_role." + role), { checked: required.has(role), test: `settings-2fa-${role}` });
      box.input.value = role;
      return box;
    });
    const status = h("p", { class: "form-error", role: "alert", test: "settings-error", hidden: true });
    const save = h("button", { type: "submit", class: "btn btn-primary", test: "settings-save", text: t("common.save") });

    const form = h("form", { class: "settings-form", novalidate: true },
      h("fieldset", { class: "form-section" }, h("legend", { text: t("settings.messages") }), greeting.wrapper, away.wrapper),
      h("fieldset", { class: "form-section" }, h("legend", { text: t("settings.hours_section") }),
        field(t("settings.timezone"), timezone, { name: "business_hours.timezone" }), zoneList, hoursField),
      h("fieldset", { class: "form-section" }, h("legend", { text: t("settings.assignment") }),
        h("div", { class: "field", dataset: { field: "auto_assign" } }, autoAssign, h("span", { class: "field-hint", text: t("settings.auto_assign_hint") })),
        field(t("settings.capacity"), capacity, { name: "default_max_concurrent_chats" }),
        field(t("settings.reopen"), reopen, { name: "reopen_window_minutes", hint: t("settings.reopen_hint") })),
      h("fieldset", { class: "form-section" }, h("legend", { text: t("settings.csat") }),
        h("div", { class: "field", dataset: { field: "csat.enabled" } }, csatOn, h("span", { class: "field-hint", text: t("settings.csat_hint") })),
        field(t("settings.csat_question"), csatQuestion, { name: "csat.question" }),
        field(t("settings.csat_template"), csatTemplate, { name: "csat.template.name", hint: t("settings.csat_template_hint") }),
        field(t("settings.csat_language"), csatLanguage, { name: "csat.template.language" })),
      h("fieldset", { class: "form-section" }, h("legend", { text: t("settings.security") }),
        h("div", { class: "field", dataset: { field: "two_factor_roles" } },
          h("span", { class: "field-label", text: t("settings.two_factor_roles") }),
          h("div", { class: "check-list" }, twoFactorRoles),
          h("span", { class: "field-hint", text: t("settings.two_factor_hint") }))),
      status,
      h("div", { class: "form-actions" }, save));

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      status.hidden = true;
      save.disabled = true;
      const body = {
        greeting_message: greeting.value(),
        away_message: away.value(),
        business_hours: { timezone: timezone.value.trim(), days: [...days.children].map((row) => row.read()) },
        auto_assign: autoAssign.input.checked,
        default_max_concurrent_chats: Number(capacity.value),
        reopen_window_minutes: Number(reopen.value),
        retention_media_days: settings.retention_media_days ?? null,
        retention_message_days: settings.retention_message_days ?? null,
        csat: {
          enabled: csatOn.input.checked,
          question: csatQuestion.value.trim() || csat.question,
          template: csatTemplate.value.trim() ? { name: csatTemplate.value.trim(), language: csatLanguage.value.trim() || "pt_BR" } : null,
        },
        two_factor_roles: twoFactorRoles.filter((box) => box.input.checked).map((box) => box.input.value),
      };
      try {
        const saved = await api.put("/settings", body);
        showFieldErrors(form, null);
        toast(t("settings.saved"), "success");
        render(saved);
      } catch (err) {
        const rest = err.fields ? showFieldErrors(form, err) : errorText(err);
        status.textContent = rest || t("admin.fix_fields");
        status.hidden = false;
        const first = form.querySelector("[aria-invalid=true], .field-error:not([hidden])");
        if (first) first.scrollIntoView({ block: "center" });
      } finally {
        save.disabled = false;
      }
    });

    el.replaceChildren(h("div", { class: "section-head" }, h("h2", { text: t("settings.title") })), form);
  }

  api.get("/settings").then(render).catch((err) => {
    el.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
  });
  return { el, destroy() {} };
}
