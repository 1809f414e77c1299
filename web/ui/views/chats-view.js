// The agent view: chat list on the left, the open conversation on the right. On a phone
// they are two screens (the conversation has a back button).

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { state } from "../state.js";
import { createChatList } from "./chat-list.js";
import { createConversation } from "./conversation.js";

/** options: {socket, navigate(hash)} -> {el, show(chatId), destroy} */
export function createChatsView({ socket, navigate }) {
  const list = createChatList({ onOpen: (id) => navigate(`#/chats/${id}`) });
  const intro = h("div", { class: "intro", test: "no-chat-selected" },
    h("div", { class: "intro-logo", "aria-hidden": "true" }, "A"),
    h("h2", { text: t("intro.title") }),
    h("p", { class: "muted", text: t("intro.text") }));
  const right = h("div", { class: "conversation-slot" }, intro);
  const el = h("div", { class: "chats-view" }, list.el, right);
  let conversation = null;
  let currentId = null;

  function show(chatId) {
    if (chatId === currentId) return;
    if (conversation) {
      conversation.destroy();
      conversation = null;
    }
    currentId = chatId || null;
    state.openChatId = currentId;
    list.setActive(currentId);
    el.classList.toggle("show-conversation", !!currentId);
    if (!currentId) {
      right.replaceChildren(intro);
      return;
    }
    conversation = createConversation({
      chatId: currentId,
      socket,
      onBack: () => navigate("#/chats"),
      onOpenChat: (id) => navigate(`#/chats/${id}`),
    });
    right.replaceChildren(conversation.el);
  }

  return {
    el,
    show,
    reloadList: () => list.reload(),
    destroy() {
      if (conversation) conversation.destroy();
      conversation = null;
      state.openChatId = null;
      list.destroy();
    },
  };
}
