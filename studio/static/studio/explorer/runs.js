// The runs list: rows update in place and new runs are prepended as they start.
import { format, gettext } from "../js/i18n.js";
import { humanMs, judgeFrame, openLive, showLiveState } from "./live.js";

const config = JSON.parse(document.getElementById("explorer-live").textContent);
const body = document.getElementById("runs-body");
const empty = document.getElementById("runs-empty");
const indicator = document.getElementById("live-indicator");
const seen = new Map(); // run id -> seq of the frame shown

function matchesFilters(run) {
  const f = config.filters;
  if (f.workflow && String(run.workflow_id) !== f.workflow) return false;
  if (f.status && run.status !== f.status) return false;
  if (f.trace && run.trace_id !== f.trace) return false;
  if (f.until) return false; // a closed time range never gains new runs
  return true;
}

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

function el(tag, props = {}, text = "") {
  const node = document.createElement(tag);
  Object.assign(node, props);
  if (text) node.textContent = text;
  return node;
}

function runUrl(id) {
  return config.run_url.replace(config.run_url_placeholder, id);
}

function buildRow(run) {
  const tr = document.createElement("tr");
  tr.dataset.runId = run.id;
  const status = el("a", { href: runUrl(run.id) }, run.status);
  status.dataset.field = "status";
  const name = el("a", { href: runUrl(run.id), className: "strong" }, run.workflow);
  const created = el("time", { dateTime: run.created_at || "" }, (run.created_at || "").replace("T", " ").slice(0, 19));
  const duration = cell();
  duration.dataset.field = "duration";
  const trace = el("a", { className: "trace", href: `?trace=${encodeURIComponent(run.trace_id)}` });
  trace.append(el("code", {}, run.trace_id.length > 13 ? `${run.trace_id.slice(0, 12)}…` : run.trace_id));
  tr.append(
    cell(status),
    cell(name, " ", el("span", { className: "muted small" }, `v${run.version}`)),
    cell(el("code", {}, run.event_type), " ", el("span", { className: "muted small" }, format(gettext("from %(source)s"), { source: run.event_source }))),
    cell(created),
    duration,
    cell(trace),
  );
  return tr;
}

function paint(tr, run) {
  tr.dataset.status = run.status;
  const status = tr.querySelector('[data-field="status"]');
  status.textContent = run.status;
  status.className = `status status-${run.status}`;
  tr.querySelector('[data-field="duration"]').textContent = humanMs(run.duration_ms) || "—";
}

let live = null;

function apply(run, seq, { isNew, snapshot = false }) {
  // Each run's frames are numbered by the server (a database counter).
  const verdict = judgeFrame(seen.has(run.id) ? seen.get(run.id) : -1, seq, { snapshot });
  if (verdict === "drop") return;
  if (verdict === "resync" && live) live.resync();
  seen.set(run.id, seq);
  let tr = body.querySelector(`tr[data-run-id="${CSS.escape(run.id)}"]`);
  if (!tr) {
    if (!config.first_page || !matchesFilters(run)) return;
    // Only runs newer than the newest row shown belong at the top of the first page.
    const first = body.querySelector("tr time");
    if (!isNew && first && first.dateTime && run.created_at < first.dateTime) return;
    tr = buildRow(run);
    body.prepend(tr);
    tr.classList.add("flash");
    while (body.rows.length > config.limit) body.deleteRow(body.rows.length - 1);
  }
  paint(tr, run);
  empty.hidden = body.rows.length > 0;
}

if (body) live = openLive("/ws/runs/", {
  onState: (state) => showLiveState(indicator, state),
  onFrame(frame) {
    if (frame.type === "runs") {
      // Snapshot: oldest first so prepending keeps newest on top.
      [...frame.runs].reverse().forEach((run) => apply(run, run.seq, { isNew: false, snapshot: true }));
    } else if (frame.type === "run_summary") {
      apply(frame.run, frame.seq, { isNew: true });
    }
  },
});
