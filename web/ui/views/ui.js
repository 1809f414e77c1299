// Shared pieces: modal dialogs, toasts, form fields with the API's field errors.

import { h, icon } from "../dom.js";
import { t, has } from "../i18n.js";

/**
 * A modal <dialog>. body: Node or array; actions: [{label, test, kind, onClick}] where
 * onClick may return a promise (the button waits) and false keeps the dialog open.
 */
export function dialog({ title, body, actions = [], test, wide, onClose }) {
  const el = h("dialog", { class: ["dialog", wide && "dialog-wide"], test: test || "dialog", "aria-label": title });
  const error = h("p", { class: "form-error", test: "dialog-error", role: "alert", hidden: true });
  const close = () => {
    if (el.open) el.close();
  };
  el.addEventListener("close", () => {
    el.remove();
    if (onClose) onClose();
  });
  const buttons = actions.map((action) => {
    const button = h("button", {
      // The primary action is the form's default button: Enter in a field presses it.
      type: action.kind === "primary" ? "submit" : "button",
      class: ["btn", action.kind === "primary" && "btn-primary", action.kind === "danger" && "btn-danger"],
      test: action.test,
      text: action.label,
    });
    button.addEventListener("click", async (e) => {
      e.preventDefault();
      if (!action.onClick) return close();
      error.hidden = true;
      buttons.forEach((b) => (b.disabled = true));
      try {
        const result = await action.onClick({ close, error: showError });
        if (result !== false) close();
      } catch (err) {
        showError(err.message || String(err));
      } finally {
        buttons.forEach((b) => (b.disabled = false));
      }
    });
    return button;
  });
  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }
  const form = h("form", { class: "dialog-form", method: "dialog" },
    h("header", { class: "dialog-head" },
      h("h2", { text: title }),
      h("button", { type: "button", class: "icon-btn", "aria-label": t("common.close"), test: "dialog-close", on: { click: close } }, icon("close"))),
    h("div", { class: "dialog-body" }, body),
    error,
    buttons.length ? h("footer", { class: "dialog-actions" }, buttons) : null);
  form.addEventListener("submit", (e) => e.preventDefault());
  el.appendChild(form);
  document.body.appendChild(el);
  el.showModal();
  return { el, close, error: showError };
}

/** A yes/no question; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel, danger, test }) {
  return new Promise((resolve) => {
    let answered = false;
    dialog({
      title,
      test: test || "confirm-dialog",
      body: h("p", { text: message }),
      onClose: () => {
        if (!answered) resolve(false);
      },
      actions: [
        { label: t("common.cancel"), test: "confirm-cancel" },
        {
          label: confirmLabel || t("common.confirm"),
          kind: danger ? "danger" : "primary",
          test: "confirm-ok",
          onClick: () => {
            answered = true;
            resolve(true);
          },
        },
      ],
    });
  });
}

let toastBox = null;

/** A short message at the bottom of the screen. kind: info|error|success. */
export function toast(message, kind = "info", ms = 4000) {
  if (!toastBox || !toastBox.isConnected) {
    toastBox = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(toastBox);
  }
  const el = h("div", { class: ["toast", `toast-${kind}`], test: "toast", text: message });
  toastBox.appendChild(el);
  setTimeout(() => el.remove(), ms);
}

let fieldCounter = 0;

/**
 * A labelled field. input: the control element (its id is set). Returns the wrapper; the
 * wrapper's .setError(text) shows a problem under the field.
 */
export function field(label, input, { hint, name, test } = {}) {
  const id = input.id || `f${++fieldCounter}`;
  input.id = id;
  const error = h("span", { class: "field-error", id: id + "-error", test: test ? test + "-error" : null, hidden: true });
  const wrapper = h("div", { class: "field", dataset: { field: name || "" } },
    h("label", { for: id, text: label }),
    input,
    hint ? h("span", { class: "field-hint", text: hint }) : null,
    error);
  wrapper.setError = (text) => {
    error.textContent = text || "";
    error.hidden = !text;
    if (text) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
    } else {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  };
  return wrapper;
}

/** A checkbox with its label after it. */
export function checkbox(label, { checked, test, name } = {}) {
  const input = h("input", { type: "checkbox", checked: !!checked, test, name });
  const wrapper = h("label", { class: "check" }, input, h("span", { text: label }));
  wrapper.input = input;
  return wrapper;
}

/**
 * Shows the API's `fields` errors next to the fields of `root` (matched by data-field,
 * exact name or prefix such as business_hours.days[0].open). Returns the problems that
 * found no field, as one sentence, or "".
 */
export function showFieldErrors(root, error) {
  for (const el of root.querySelectorAll(".field")) if (el.setError) el.setError("");
  if (!error || !error.fields) return error ? error.message : "";
  const left = [];
  for (const [name, problem] of Object.entries(error.fields)) {
    // business_hours.days[0].open falls back to business_hours.days[0], then ...days.
    let key = name;
    let target = null;
    while (key && !(target = root.querySelector(`[data-field="${CSS.escape(key)}"]`))) {
      const cut = Math.max(key.lastIndexOf("."), key.lastIndexOf("["));
      key = cut > 0 ? key.slice(0, cut) : "";
    }
    if (target && target.setError) target.setError(problemText(problem));
    else left.push(`${name}: ${problemText(problem)}`);
  }
  return left.join("; ");
}

/** The hub's field problems that the console says in the user's language, by their
 * wording (the API names fields, not each problem, by code); others are shown as sent. */
const PROBLEMS = [
  [/^must not be empty$/, "problem.empty"],
  [/^is required$/, "problem.required"],
  [/^must be at most (\d+) characters$/, "problem.too_long"],
  [/^must be at least (\d+) characters$/, "problem.too_short"],
  [/^must be 1 to (\d+) characters$/, "problem.length"],
  [/^is too long$/, "problem.too_long_plain"],
  [/^must be an email address$/, "problem.email"],
  [/^must be a number$/, "problem.number"],
  [/^must be a date/, "problem.date"],
  [/^must be a time as HH:MM$/, "problem.time"],
  [/^must be a time within the next year/, "problem.time_ahead"],
  [/^must be one of the field's options$/, "problem.option"],
  [/^must be a colou?r/, "problem.colour"],
  [/^is already a column of every contact$/, "problem.duplicate"],
  [/^is not an? (queue|active user|uploaded file|business number of this hub|number of the sandbox|(WhatsApp )?message of this chat|message of this conversation)$/, "problem.unknown"],
  [/^(must be ids of configured business numbers|each must be a (queue|business number)'s id|is not the id of a bot's token)$/, "problem.unknown"],
  [/^names queues that do not exist: (.*)$/, "problem.unknown_queues"],
  [/^must differ from the current password$/, "problem.same_password"],
  [/^is too common or too easy to guess$/, "problem.weak_password"],
  [/^must be between (\d+) and (\d+)$/, "problem.between"],
  [/^is not correct$/, "problem.not_correct"],
  [/^is not the code the authenticator app shows now$/, "problem.wrong_code"],
];

export function problemText(problem) {
  for (const [pattern, key] of PROBLEMS) {
    const m = pattern.exec(String(problem));
    if (m) return t(key, { n: m[1], a: m[1], b: m[2] });
  }
  return problem;
}

/** A translated sentence for an API error, falling back to the API's own message. */
export function errorText(error) {
  if (!error) return "";
  if (error.code === "network") return t("error.network");
  if (error.code === "rate_limited") return t("error.rate_limited");
  // A failure the hub names by its own code is told in the user's language.
  if (error.code && has("error." + error.code)) return t("error." + error.code);
  if (error.status === 403) return t("error.forbidden");
  if (error.status >= 500) return t("error.server");
  if (!error.message || /^HTTP \d+$/.test(error.message)) return t("error.generic");
  return error.message;
}

/** An empty-state box. */
export function empty(text, test) {
  return h("div", { class: "empty", test, text });
}

/**
 * A form in a dialog whose API field errors show next to the fields. fields: nodes made
 * with ui.field (data-field = the API's field name). onSubmit resolves when saved.
 */
export function formDialog({ title, test, fields, submitLabel, submitTest, onSubmit }) {
  const body = h("div", { class: "form-grid" }, fields);
  return dialog({
    title,
    test,
    wide: true,
    body,
    actions: [
      { label: t("common.cancel"), test: "form-cancel" },
      {
        label: submitLabel || t("common.save"), kind: "primary", test: submitTest || "form-submit",
        onClick: async ({ error }) => {
          try {
            await onSubmit();
          } catch (err) {
            const rest = err.fields ? showFieldErrors(body, err) : errorText(err);
            error(rest || (err.fields ? t("admin.fix_fields") : ""));
            return false;
          }
        },
      },
    ],
  });
}
