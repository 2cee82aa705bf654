// The insights charts: reads the panel's JSON (json_script "insights-data") and draws the
// runs-by-outcome and dead-letter charts with Chart.js (window.Chart, vendor/chartjs).
// Draws on page load and again each time the range picker swaps the panel in (HTMX).
import { gettext } from "../js/i18n.js";
import { cssColour, onThemeChange } from "../js/theme.js";

const OUTCOMES = [
  ["succeeded", gettext("Succeeded")],
  ["failed", gettext("Failed")],
  ["cancelled", gettext("Cancelled")],
  ["running", gettext("Running")],
  ["pending", gettext("Pending")],
];

const charts = new Map();

function colour(name) {
  return cssColour(`--st-${name}`, "#9aa3b2");
}

/** Axis labels, legend text and grid lines in the theme's colours (light or dark). */
function themeDefaults() {
  window.Chart.defaults.color = cssColour("--muted", "#626a7a");
  window.Chart.defaults.borderColor = cssColour("--border", "#e3e6eb");
}

function bucketLabel(iso, bucket) {
  const lang = document.documentElement.lang || undefined;
  const options = bucket === "hour"
    ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" }
    : { month: "short", day: "numeric", timeZone: "UTC" };
  return new Intl.DateTimeFormat(lang, options).format(new Date(iso));
}

function draw(canvas, config) {
  charts.get(canvas.id)?.destroy();
  charts.set(canvas.id, new window.Chart(canvas, config));
}

function barOptions(stacked) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    scales: {
      x: { stacked, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
      y: { stacked, beginAtZero: true, ticks: { precision: 0 } },
    },
  };
}

function drawPanel(panel) {
  const source = panel.querySelector("#insights-data");
  if (!source || typeof window.Chart !== "function") return;
  themeDefaults();
  const data = JSON.parse(source.textContent);
  const labels = data.labels.map((iso) => bucketLabel(iso, data.bucket));
  // Periods before the count cap's cut are not counted: drawn as gaps, not as zeros.
  const counted = (values) => values.map((v, i) => (data.counted_from && data.labels[i] < data.counted_from ? null : v));
  const runs = panel.querySelector("#ins-runs-chart");
  if (runs) {
    draw(runs, {
      type: "bar",
      data: {
        labels,
        datasets: OUTCOMES.filter(([status]) => data.totals[status] > 0 || status === "succeeded" || status === "failed")
          .map(([status, label]) => ({ label, data: counted(data.series[status]), backgroundColor: colour(status), stack: "runs" })),
      },
      options: barOptions(true),
    });
  }
  const dead = panel.querySelector("#ins-dead-chart");
  if (dead) {
    const options = barOptions(false);
    options.plugins.legend.display = false;
    draw(dead, {
      type: "bar",
      data: { labels, datasets: [{ label: gettext("Dead letters"), data: data.dead_letters, backgroundColor: colour("retrying") }] },
      options,
    });
  }
  panel.dataset.drawn = data.range;
}

function showCustomDates(panel) {
  const select = panel.querySelector("#ins-range-select");
  const custom = panel.querySelector(".ins-custom");
  if (!select || !custom) return;
  // "Custom…" shows the two dates and waits for "Show"; the other ranges reload at once.
  select.addEventListener("change", (event) => {
    custom.hidden = select.value !== "custom";
    if (select.value === "custom") event.stopImmediatePropagation();
  }, { capture: true });
}

function setUp(root) {
  const panel = root.id === "insights" ? root : root.querySelector?.("#insights");
  if (!panel) return;
  showCustomDates(panel);
  drawPanel(panel);
}

function start() {
  setUp(document);
  document.body.addEventListener("htmx:afterSettle", (event) => setUp(event.detail.elt));
  // The system switched between light and dark: draw again in the new colours.
  onThemeChange(() => {
    const panel = document.getElementById("insights");
    if (panel) drawPanel(panel);
  });
}

// chart.umd.min.js is a deferred classic script: it has run by DOMContentLoaded.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
