// Entry point of the console: resumes a session or shows the sign-in page.
// session.js runs a signed-in session, router.js its pages, realtime.js its socket.

import * as api from "./api.js";
import { t } from "./i18n.js";
import { renderPasswordChange } from "./views/login.js";
import { toast } from "./views/ui.js";
import { startSession, showLogin } from "./session.js";

async function boot() {
  let user = null;
  try {
    user = await api.resume();
  } catch (err) {
    showLogin(t("error.network"));
    return;
  }
  if (!user) {
    showLogin();
  } else if (user.must_change_password) {
    renderPasswordChange(document.getElementById("app"), { email: user.email, onSignedIn: startSession });
  } else {
    startSession(user);
  }
}

window.addEventListener("unhandledrejection", (e) => {
  if (e.reason && e.reason.name === "ApiError") return;
  console.error(e.reason);
});

boot().catch((err) => {
  console.error(err);
  toast(t("error.generic"), "error");
});
