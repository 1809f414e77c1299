// Sign-in (with the authenticator's code for an account with two-step verification), the
// forced password change of a first sign-in (after which the server ends every session,
// so we sign in again with the new password), and the enrolment a role that must have
// two-step verification does before anything else.

import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { field, showFieldErrors, errorText } from "./ui.js";
import { langSwitch } from "./lang-switch.js";
import { codeInput, codeErrorText, enrolmentSteps } from "./two-factor.js";

function card(...children) {
  return h("div", { class: "login-page" },
    h("div", { class: "login-band" }),
    h("main", { class: "login-card" },
      h("div", { class: "login-brand" },
        h("span", { class: "logo", "aria-hidden": "true" }, "A"),
        h("h1", { text: t("app.name") })),
      ...children,
      h("div", { class: "login-footer" }, langSwitch())));
}

/** Renders the sign-in page into `root`; calls onSignedIn(user) when done. */
export function renderLogin(root, { onSignedIn, notice, intro }) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, test: "login-email" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, test: "login-password" });
  const error = h("p", { class: "form-error", role: "alert", test: "login-error", hidden: !notice, text: notice || "" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", test: "login-submit", text: t("login.submit") });
  const form = h("form", { class: "login-form", test: "login-form", novalidate: true },
    h("h2", { text: t("login.title") }),
    intro ? h("p", { class: "muted", test: "login-intro", text: intro }) : null,
    field(t("login.email"), email, { name: "email" }),
    field(t("login.password"), password, { name: "password" }),
    error,
    submit);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!email.value.trim() || !password.value) {
      error.textContent = t("login.missing");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    submit.textContent = t("login.signing_in");
    try {
      const user = await api.login(email.value.trim(), password.value);
      signedIn(root, user, { email: email.value.trim(), current: password.value, onSignedIn });
    } catch (err) {
      if (err.code === "two_factor_required") {
        renderCodeStep(root, { email: email.value.trim(), password: password.value, onSignedIn });
        return;
      }
      error.textContent = err.status === 429 ? t("login.too_many")
        : err.code === "invalid_credentials" ? t("login.invalid")
        : err.code === "network" ? t("error.network") : err.message;
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = t("login.submit");
      password.select();
    }
  });

  replace(root, card(form));
  email.focus();
}

/** After a sign-in: the forced password change, or the console. */
function signedIn(root, user, { email, current, onSignedIn }) {
  if (user.must_change_password) renderPasswordChange(root, { email, current, onSignedIn });
  else onSignedIn(user);
}

/** The second step of a sign-in with two-step verification: the authenticator's code. */
function renderCodeStep(root, { email, password, onSignedIn }) {
  const code = codeInput("login-code");
  const error = h("p", { class: "form-error", role: "alert", test: "login-code-error", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", test: "login-code-submit", text: t("twofa.verify") });
  const form = h("form", { class: "login-form", test: "login-code-form", novalidate: true },
    h("h2", { text: t("twofa.title") }),
    h("p", { class: "muted", text: t("twofa.login_explain") }),
    field(t("twofa.code_label"), code, { name: "code", hint: t("twofa.login_hint") }),
    error,
    submit,
    h("button", { type: "button", class: "btn btn-link", test: "login-code-back", text: t("twofa.back"),
      on: { click: () => renderLogin(root, { onSignedIn }) } }));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!code.value.trim()) {
      error.textContent = t("twofa.code_missing");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const user = await api.login(email, password, code.value.trim());
      signedIn(root, user, { email, current: password, onSignedIn });
    } catch (err) {
      error.textContent = err.code === "network" ? t("error.network") : codeErrorText(err);
      error.hidden = false;
      submit.disabled = false;
      code.select();
    }
  });

  replace(root, card(form));
  code.focus();
}

/** The enrolment a user whose role must have two-step verification does first. */
export function renderEnrolment(root, { onDone, onCancel }) {
  replace(root, card(h("div", { class: "login-form", test: "enrol-page" },
    h("h2", { text: t("twofa.title") }),
    h("p", { class: "muted", test: "enrol-explain", text: t("twofa.required_explain") }),
    enrolmentSteps(onDone),
    h("button", { type: "button", class: "btn btn-link", test: "enrol-cancel", text: t("password.cancel"),
      on: { click: onCancel } }))));
}

/**
 * The forced password change. `current` is the password just typed at sign-in; after a
 * reload we no longer have it and ask for it.
 */
export function renderPasswordChange(root, { email, current, onSignedIn }) {
  const currentInput = h("input", { type: "password", autocomplete: "current-password", test: "password-current" });
  const next = h("input", { type: "password", autocomplete: "new-password", minlength: "8", test: "password-new" });
  const again = h("input", { type: "password", autocomplete: "new-password", test: "password-confirm" });
  const error = h("p", { class: "form-error", role: "alert", test: "password-error", hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", test: "password-submit", text: t("password.submit") });
  const currentField = current ? null : field(t("password.current"), currentInput, { name: "current_password" });
  const form = h("form", { class: "login-form", test: "password-form", novalidate: true },
    h("h2", { text: t("password.title") }),
    h("p", { class: "muted", text: t("password.explain") }),
    currentField,
    field(t("password.new"), next, { name: "new_password", hint: t("password.hint") }),
    field(t("password.confirm"), again, { name: "confirm" }),
    error,
    submit,
    h("button", { type: "button", class: "btn btn-link", test: "password-cancel", text: t("password.cancel"),
      on: { click: async () => {
        await api.logout();
        renderLogin(root, { onSignedIn });
      } } }));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const currentValue = current || currentInput.value;
    const who = email || (api.currentUser() && api.currentUser().email);
    if (next.value.length < 8) {
      error.textContent = t("password.too_short");
      error.hidden = false;
      return;
    }
    if (next.value !== again.value) {
      error.textContent = t("password.mismatch");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      await api.changePassword(currentValue, next.value);
      // Every session ended with the change: sign in again with the new password.
      api.dropSession();
      const user = await api.login(who, next.value);
      onSignedIn(user);
    } catch (err) {
      const rest = showFieldErrors(form, err);
      error.textContent = rest || (err.fields ? "" : errorText(err));
      error.hidden = !error.textContent;
      submit.disabled = false;
    }
  });

  replace(root, card(form));
  (current ? next : currentInput).focus();
}
