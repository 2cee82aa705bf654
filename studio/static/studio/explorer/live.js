// A websocket that reconnects with backoff and hands each frame to the page.
// The server sends a full snapshot on every (re)connect, so a page never needs to replay
// what it missed while offline. Frames are numbered per run by a database counter: the
// page drops frames not newer than what it shows (`isStale`) and, on a gap in the numbers
// or when it becomes visible again, asks for a fresh snapshot (`resync`).

import { format, gettext } from "../js/i18n.js";

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

  const resync = () => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "resync" }));
  };
  // A tab that slept may have missed the last frame of a burst: ask again when it wakes.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") resync();
  });

  connect();
  return {
    resync,
    close() {
      stopped = true;
      if (socket) socket.close();
    },
  };
}

// What to do with a frame numbered `seq` when the page shows `shown` (-1: nothing yet):
// "drop" it (stale), "apply" it, or apply it and "resync" (frames were missed).
// Snapshots are applied unless older than what is shown.
export function judgeFrame(shown, seq, { snapshot = false } = {}) {
  if (snapshot) return seq >= shown ? "apply" : "drop";
  if (seq <= shown) return "drop";
  return shown >= 0 && seq > shown + 1 ? "resync" : "apply";
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

// The same words as studio/durations.py human_duration: 99 ms, 1.2 s, 3 min 4 s, 2 h 5 min.
export function humanMs(ms) {
  if (ms === null || ms === undefined) return "";
  ms = Math.max(0, Math.floor(ms));
  if (ms < 1000) return format(gettext("%(ms)s ms"), { ms });
  const tenths = Math.floor((ms + 50) / 100);
  if (tenths < 600) {
    const seconds = (tenths / 10).toLocaleString(document.documentElement.lang || undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    return format(gettext("%(seconds)s s"), { seconds });
  }
  const minutes = Math.floor(ms / 60000);
  const seconds = Math.floor(ms / 1000) % 60;
  if (minutes < 60) return format(gettext("%(minutes)s min %(seconds)s s"), { minutes, seconds });
  return format(gettext("%(hours)s h %(minutes)s min"), { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
}
