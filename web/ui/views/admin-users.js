// Admin: users — list, create, edit role/queues/capacity, deactivate, reset password,
// turn off the two-step verification of someone who lost their phone.

import { h, avatar } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { state, on, emit } from "../state.js";
import { field, checkbox, formDialog, confirmDialog, toast, errorText } from "./ui.js";

const ROLES = ["agent", "supervisor", "admin"];

export function createUsersSection() {
  let users = [];
  let queues = [];
  const tbody = h("tbody");
  const el = h("section", { class: "admin-section", test: "admin-users-section" },
    h("div", { class: "section-head" },
      h("h2", { text: t("users.title") }),
      h("button", { type: "button", class: "btn btn-primary", test: "user-create", text: t("users.create"), on: { click: () => edit(null) } })),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "users-table" },
        h("thead", null, h("tr", null,
          ["users.name", "users.email", "users.role", "users.queues", "users.capacity", "users.presence", "users.state", "users.actions"]
            .map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));

  function queueNames(ids) {
    return (ids || []).map((id) => (queues.find((q) => q.id === id) || { name: id }).name).join(", ") || "—";
  }

  function render() {
    tbody.replaceChildren(...users.map((u) => {
      const presence = state.presence.get(u.id) || u.presence;
      return h("tr", { test: "user-row", class: !u.active && "inactive", dataset: { userId: u.id } },
        h("td", null, h("span", { class: "cell-contact" }, avatar(u.name, u.id, "small"), h("span", { test: "user-row-name", text: u.name }))),
        h("td", { text: u.email }),
        h("td", { text: t("role." + u.role) }),
        h("td", { text: queueNames(u.queue_ids) }),
        h("td", { text: String(u.max_concurrent_chats) }),
        h("td", null, h("span", { class: ["presence-dot", `presence-${presence}`], "aria-hidden": "true" }), t("presence." + presence)),
        h("td", null, h("span", { class: ["chip", u.active ? "chip-open" : "chip-closed"], text: u.active ? t("users.active") : t("users.inactive") }),
          u.must_change_password ? h("span", { class: "chip chip-pending", text: t("users.must_change") }) : null,
          u.two_factor_enabled ? h("span", { class: "chip chip-open", test: "user-2fa-on", text: t("users.two_factor_on") }) : null),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "btn btn-small", test: "user-edit", text: t("common.edit"), on: { click: () => edit(u) } }),
          h("button", { type: "button", class: "btn btn-small", test: "user-reset-password", text: t("users.reset_password"), on: { click: () => resetPassword(u) } }),
          u.two_factor_enabled
            ? h("button", { type: "button", class: "btn btn-small", test: "user-reset-2fa", text: t("users.reset_2fa"), on: { click: () => resetTwoFactor(u) } })
            : null,
          u.active
            ? h("button", { type: "button", class: "btn btn-small btn-danger-outline", test: "user-deactivate", text: t("users.deactivate"), on: { click: () => deactivate(u) } })
            : h("button", { type: "button", class: "btn btn-small", test: "user-reactivate", text: t("users.reactivate"), on: { click: () => reactivate(u) } })));
    }));
  }

  async function load() {
    try {
      const [userPage, queuePage] = await Promise.all([api.get("/users?limit=200"), api.get("/queues")]);
      users = userPage.items;
      let cursor = userPage.next_cursor;
      while (cursor) {
        const more = await api.get(`/users?limit=200&cursor=${encodeURIComponent(cursor)}`);
        users = users.concat(more.items);
        cursor = more.next_cursor;
      }
      queues = queuePage.items;
      for (const u of users) state.users.set(u.id, u);
      emit("users", null);
      render();
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "8", class: "form-error", text: errorText(err) })));
    }
  }

  function edit(user) {
    const creating = !user;
    const name = h("input", { type: "text", maxlength: "100", value: user ? user.name : "", test: "user-name", autocomplete: "off" });
    const email = h("input", { type: "email", maxlength: "254", value: user ? user.email : "", test: "user-email", autocomplete: "off" });
    const role = h("select", { test: "user-role", value: user ? user.role : "agent" },
      ROLES.map((r) => h("option", { value: r, text: t("role." + r), selected: user ? user.role === r : r === "agent" })));
    const password = h("input", { type: "password", minlength: "8", test: "user-password", autocomplete: "new-password" });
    const capacity = h("input", { type: "number", min: "1", max: "100", value: String(user ? user.max_concurrent_chats : 5), test: "user-capacity" });
    const mustChange = checkbox(t("users.must_change_next"), { checked: true, test: "user-must-change" });
    const queueBoxes = queues.map((q) => {
      const box = checkbox(q.name, { checked: user ? user.queue_ids.includes(q.id) : false, test: "user-queue" });
      box.input.value = q.id;
      return box;
    });
    const queueField = h("fieldset", { class: "field", dataset: { field: "queue_ids" } },
      h("legend", { text: t("users.queues") }),
      queueBoxes.length ? h("div", { class: "check-list" }, queueBoxes) : h("p", { class: "muted", text: t("users.no_queues") }));
    const queueError = h("span", { class: "field-error", hidden: true });
    queueField.appendChild(queueError);
    queueField.setError = (text) => {
      queueError.textContent = text || "";
      queueError.hidden = !text;
    };
    const fields = [
      field(t("users.name"), name, { name: "name" }),
      field(t("users.email"), email, { name: "email" }),
      field(t("users.role"), role, { name: "role" }),
      field(t("users.capacity"), capacity, { name: "max_concurrent_chats", hint: t("users.capacity_hint") }),
      creating ? field(t("users.password"), password, { name: "password", hint: t("password.hint") }) : null,
      creating ? mustChange : null,
      queueField,
    ];
    formDialog({
      title: creating ? t("users.create") : t("users.edit", { name: user.name }),
      test: "user-dialog",
      fields,
      submitTest: "user-save",
      onSubmit: async () => {
        const body = {
          name: name.value.trim(),
          email: email.value.trim(),
          role: role.value,
          max_concurrent_chats: Number(capacity.value),
          queue_ids: queueBoxes.filter((b) => b.input.checked).map((b) => b.input.value),
        };
        try {
          if (creating) {
            body.password = password.value;
            body.must_change_password = mustChange.input.checked;
            await api.post("/users", body);
            toast(t("users.created"), "success");
          } else {
            await api.patch(`/users/${user.id}`, body);
            toast(t("users.saved"), "success");
          }
        } catch (err) {
          // A taken email belongs beside the email field (the last admin, in the form's note).
          if (err.code === "email_taken") {
            err.fields = { email: t("users.conflict") };
          }
          throw err;
        }
        load();
      },
    });
    name.focus();
  }

  function resetPassword(user) {
    const password = h("input", { type: "password", minlength: "8", test: "reset-password-input", autocomplete: "new-password" });
    formDialog({
      title: t("users.reset_title", { name: user.name }),
      test: "reset-password-dialog",
      fields: [h("p", { class: "muted", text: t("users.reset_explain") }), field(t("users.new_password"), password, { name: "password", hint: t("password.hint") })],
      submitLabel: t("users.reset_password"),
      submitTest: "reset-password-save",
      onSubmit: async () => {
        await api.patch(`/users/${user.id}`, { password: password.value });
        toast(t("users.reset_done"), "success");
        load();
      },
    });
    password.focus();
  }

  async function resetTwoFactor(user) {
    const ok = await confirmDialog({
      title: t("users.reset_2fa"),
      message: t("users.reset_2fa_confirm", { name: user.name }),
      confirmLabel: t("users.reset_2fa"),
      danger: true,
      test: "reset-2fa-dialog",
    });
    if (!ok) return;
    try {
      await api.del(`/users/${user.id}/2fa`);
      toast(t("users.reset_2fa_done"), "success");
      load();
    } catch (err) {
      toast(errorText(err), "error", 6000);
    }
  }

  async function deactivate(user) {
    const ok = await confirmDialog({
      title: t("users.deactivate"),
      message: t("users.deactivate_confirm", { name: user.name }),
      confirmLabel: t("users.deactivate"),
      danger: true,
    });
    if (!ok) return;
    try {
      await api.del(`/users/${user.id}`);
      toast(t("users.deactivated"), "success");
      load();
    } catch (err) {
      toast(errorText(err), "error", 6000);
    }
  }

  async function reactivate(user) {
    try {
      await api.patch(`/users/${user.id}`, { active: true });
      toast(t("users.saved"), "success");
      load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  const stops = [on("presence", render)];
  load();
  return {
    el,
    destroy() {
      stops.forEach((s) => s());
    },
  };
}
