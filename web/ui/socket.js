// The realtime socket at /api/v1/ws: authenticates with the first frame, remembers the last
// event seq and resumes from it after a reconnect (with backoff), pings every 20 s so the
// server's 30 s silence timeout never fires.

import { accessToken, refresh } from "./api.js";

const PING_EVERY = 20000;
const MAX_BACKOFF = 30000;

export class Socket {
  /**
   * handlers: {onEvent(name, data, seq), onReady(resumed), onResync(), onState(connected),
   *            onUnauthorized()}
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.lastSeq = null;
    this.connected = false;
    this.stopped = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.onOnline = () => this.reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.open();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, "signed out");
      this.ws = null;
    }
    this.setConnected(false);
  }

  send(frame) {
    if (this.ws && this.connected) this.ws.send(JSON.stringify(frame));
  }

  setConnected(value) {
    if (this.connected === value) return;
    this.connected = value;
    this.handlers.onState && this.handlers.onState(value);
  }

  open() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws`);
    } catch (e) {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: "auth", token: accessToken(), resume_from: this.lastSeq }));
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => this.closed(e);
    ws.onerror = () => {};
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (e) {
      return;
    }
    switch (frame.type) {
      case "ready": {
        const resumed = this.lastSeq !== null;
        if (this.lastSeq === null) this.lastSeq = frame.seq;
        this.attempt = 0;
        this.setConnected(true);
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_EVERY);
        this.handlers.onReady && this.handlers.onReady(resumed);
        break;
      }
      case "resync":
        this.handlers.onResync && this.handlers.onResync();
        break;
      case "event":
        if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;
        this.lastSeq = frame.seq;
        this.handlers.onEvent(frame.event, frame.data, frame.seq);
        break;
      case "error":
        console.warn("socket:", frame.code, frame.message);
        break;
      default:
        break;
    }
  }

  async closed(e) {
    clearInterval(this.pingTimer);
    this.ws = null;
    this.setConnected(false);
    if (this.stopped) return;
    if (e.code === 4401) {
      // The access token expired or the session ended: one refresh decides which.
      try {
        await refresh();
        this.open();
      } catch (err) {
        if (err.status === 401) this.handlers.onUnauthorized && this.handlers.onUnauthorized();
        else this.scheduleRetry();
      }
      return;
    }
    if (e.code === 4409) {
      // Fell behind: reconnect at once and resume from the last seq.
      this.open();
      return;
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    if (this.stopped) return;
    const base = Math.min(MAX_BACKOFF, 1000 * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 10);
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.connected) return;
    this.attempt = 0;
    if (this.ws) return;
    this.open();
  }
}
