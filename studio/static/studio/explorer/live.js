// A websocket that reconnects with backoff and hands each frame to the page.
// The server sends a full snapshot on every (re)connect, so a page never needs to replay
// what it missed while offline; frames older than what is shown (lower seq) are dropped
// by the page.

import { gettext } from "../js/i18n.js";

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const REFUSED = new Set([4401, 4403]);

export function openLive(path, { onFrame, onState }) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}${path}`;
  let delay = MIN_DELAY_MS;
  let socket = null;
  let stopped = false;

  const setState = (state) => onState && onState(state);

  function connect() {
    setState("connecting");
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      delay = MIN_DELAY_MS;
      setState("live");
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_) {
        return; // not ours
      }
      onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (stopped) return;
      if (REFUSED.has(event.code)) {
        setState(event.code === 4401 ? "logged-out" : "forbidden");
        return; // retrying cannot help
      }
      setState("offline");
      // Exponential backoff with jitter, so a restarted server is not stampeded.
      const wait = delay * (0.75 + Math.random() * 0.5);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
      setTimeout(connect, wait);
    });
  }

  connect();
  return {
    close() {
      stopped = true;
      if (socket) socket.close();
    },
  };
}

export function showLiveState(element, state) {
  if (!element) return;
  const labels = {
    connecting: gettext("connecting…"),
    live: gettext("live"),
    offline: gettext("offline, reconnecting…"),
    "logged-out": gettext("logged out"),
    forbidden: gettext("not allowed"),
  };
  element.textContent = labels[state] || state;
  element.className = `live live-${state === "live" ? "on" : "off"}`;
}

export function humanMs(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.floor(ms / 1000);
  return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
}
