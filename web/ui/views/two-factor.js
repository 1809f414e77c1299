// Two-step verification of one's own account: enrolling an authenticator app (QR code,
// then one of its codes), the recovery codes shown once, and the dialog of the user menu
// that turns it on or off and makes new recovery codes.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { dialog, field, checkbox, showFieldErrors, errorText, toast } from "./ui.js";

/** The code input authenticator apps and password managers fill in. */
export function codeInput(test) {
  return h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "16",
    spellcheck: "false", test, class: "code-input" });
}

/** What an error of a code means, in the user's language. */
export function codeErrorText(err) {
  if (err.status === 429) return t("twofa.too_many");
  if (err.code === "invalid_two_factor_code" || (err.fields && err.fields.code)) return t("twofa.code_invalid");
  return errorText(err);
}

/** The recovery codes, with copy and download; `onSaved` once the user says they kept them. */
export function recoveryCodesView(codes, onSaved) {
  const text = codes.join("\n") + "\n";
  const copy = h("button", { type: "button", class: "btn btn-small", test: "twofa-copy", text: t("twofa.copy"),
    on: { click: async () => {
      try {
        await navigator.clipboard.writeText(text);
        toast(t("twofa.copied"), "success");
      } catch (e) {
        toast(t("twofa.copy_failed"), "error");
      }
    } } });
  const download = h("button", { type: "button", class: "btn btn-small", test: "twofa-download", text: t("twofa.download"),
    on: { click: () => {
      const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
      const a = h("a", { href: url, download: "atende-recovery-codes.txt" });
      document.body.appendChild(a);
      a.click();
      a.remove();
      URL.revokeObjectURL(url);
    } } });
  const kept = checkbox(t("twofa.kept"), { test: "twofa-kept" });
  const done = h("button", { type: "button", class: "btn btn-primary", test: "twofa-done", text: t("twofa.done"), disabled: true,
    on: { click: onSaved } });
  kept.input.addEventListener("change", () => (done.disabled = !kept.input.checked));
  return h("div", { class: "twofa-step", test: "twofa-recovery" },
    h("p", { text: t("twofa.recovery_explain") }),
    h("ol", { class: "recovery-codes", test: "twofa-recovery-codes" }, codes.map((code) => h("li", null, h("code", { text: code })))),
    h("div", { class: "form-actions" }, copy, download),
    kept,
    h("div", { class: "form-actions" }, done));
}

/**
 * The enrolment, step by step, in an element: scan the QR code (or type the secret),
 * confirm with a code, keep the recovery codes. `onDone` after the last step.
 */
export function enrolmentSteps(onDone) {
  const el = h("div", { class: "twofa-enrol", test: "twofa-enrol" }, h("p", { class: "muted", text: t("common.loading") }));
  api.post("/auth/2fa/setup").then((setup) => {
    // The server's SVG shown as an image: nothing in it can run.
    const qr = h("img", { class: "twofa-qr", test: "twofa-qr", alt: t("twofa.qr_alt"), width: "200", height: "200",
      src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(setup.qr_svg) });
    const secret = h("code", { class: "twofa-secret", test: "twofa-secret", text: setup.secret.replace(/(.{4})/g, "$1 ").trim() });
    const code = codeInput("twofa-code");
    const error = h("p", { class: "form-error", role: "alert", test: "twofa-error", hidden: true });
    const confirm = h("button", { type: "submit", class: "btn btn-primary", test: "twofa-confirm", text: t("twofa.confirm") });
    const form = h("form", { class: "twofa-step", novalidate: true },
      h("p", { text: t("twofa.scan") }),
      qr,
      h("details", { class: "twofa-manual" }, h("summary", { text: t("twofa.cannot_scan") }),
        h("p", { class: "muted", text: t("twofa.type_secret") }), secret),
      field(t("twofa.code_label"), code, { name: "code", hint: t("twofa.code_hint") }),
      error,
      h("div", { class: "form-actions" }, confirm));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.hidden = true;
      confirm.disabled = true;
      try {
        const answer = await api.post("/auth/2fa/enable", { code: code.value.trim() });
        el.replaceChildren(recoveryCodesView(answer.recovery_codes, onDone));
      } catch (err) {
        showFieldErrors(form, null);
        error.textContent = codeErrorText(err);
        error.hidden = false;
        code.select();
      } finally {
        confirm.disabled = false;
      }
    });
    el.replaceChildren(form);
    code.focus();
  }).catch((err) => {
    el.replaceChildren(h("p", { class: "form-error", role: "alert", test: "twofa-error", text: errorText(err) }));
  });
  return el;
}

/** Asks for the password in a dialog, then calls `action(password)`; its field errors show. */
function withPassword(title, label, kind, action) {
  const password = h("input", { type: "password", autocomplete: "current-password", test: "twofa-password" });
  const body = h("div", { class: "form-grid" }, field(t("login.password"), password, { name: "password" }));
  dialog({
    title,
    test: "twofa-password-dialog",
    body,
    actions: [
      { label: t("common.cancel"), test: "form-cancel" },
      { label, kind, test: "twofa-password-ok", onClick: async ({ error }) => {
        try {
          await action(password.value);
        } catch (err) {
          const rest = err.fields ? showFieldErrors(body, err) : errorText(err);
          error(rest || "");
          return false;
        }
      } },
    ],
  });
  password.focus();
}

/** The user menu's dialog: where two-step verification stands, and what can be done. */
export function twoFactorDialog() {
  const body = h("div", { class: "twofa-dialog" }, h("p", { class: "muted", text: t("common.loading") }));
  const box = dialog({ title: t("twofa.title"), test: "twofa-dialog", body, wide: true });

  function render(status) {
    if (!status.enabled) {
      const start = h("button", { type: "button", class: "btn btn-primary", test: "twofa-start", text: t("twofa.turn_on"),
        on: { click: () => body.replaceChildren(enrolmentSteps(() => {
          toast(t("twofa.on_now"), "success");
          load();
        })) } });
      body.replaceChildren(
        h("p", { test: "twofa-state", text: t("twofa.state_off") }),
        h("p", { class: "muted", text: t("twofa.explain") }),
        h("div", { class: "form-actions" }, start));
      return;
    }
    const codes = h("button", { type: "button", class: "btn", test: "twofa-new-codes", text: t("twofa.new_codes"),
      on: { click: () => withPassword(t("twofa.new_codes"), t("twofa.new_codes"), "primary", async (password) => {
        const answer = await api.post("/auth/2fa/recovery-codes", { password });
        body.replaceChildren(recoveryCodesView(answer.recovery_codes, load));
      }) } });
    const off = status.required ? null : h("button", { type: "button", class: "btn btn-danger", test: "twofa-turn-off", text: t("twofa.turn_off"),
      on: { click: () => withPassword(t("twofa.turn_off"), t("twofa.turn_off"), "danger", async (password) => {
        await api.post("/auth/2fa/disable", { password });
        toast(t("twofa.off_now"), "success");
        load();
      }) } });
    body.replaceChildren(
      h("p", { test: "twofa-state", text: t("twofa.state_on") }),
      h("p", { class: "muted", test: "twofa-left", text: t("twofa.codes_left", { count: status.recovery_codes_left }) }),
      status.required ? h("p", { class: "muted", test: "twofa-required", text: t("twofa.required_note") }) : null,
      h("div", { class: "form-actions" }, codes, off));
  }

  function load() {
    api.get("/auth/2fa").then(render).catch((err) => {
      body.replaceChildren(h("p", { class: "form-error", role: "alert", text: errorText(err) }));
    });
  }
  load();
  return box;
}
