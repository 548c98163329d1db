/* A report being generated: polls the reports API every 2 seconds and moves the progress bar;
 * once the version is ready, signed or failed, reloads the page, which then shows what can be
 * done with it. Status names come translated from the page (#report-status-labels). */
(function () {
  "use strict";

  const state = document.getElementById("report-state");
  const bar = document.getElementById("report-progress");
  if (!state || !bar) {
    return;
  }
  const labels = JSON.parse(document.getElementById("report-status-labels").textContent);
  const statusText = document.getElementById("report-status");
  const percentText = document.getElementById("report-percent");
  const POLL_MS = 2000;
  const IN_PROGRESS = new Set(["queued", "running"]);

  function show(report) {
    bar.value = report.progress;
    bar.textContent = report.progress + " %";
    percentText.textContent = report.progress + " %";
    statusText.textContent = labels[report.status] || report.status;
    statusText.className = "report-status status-" + report.status;
    state.dataset.status = report.status;
    const delayed = document.getElementById("report-delayed");
    if (delayed) {
      delayed.hidden = !report.delayed;
    }
  }

  function poll() {
    fetch(state.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (report) {
        show(report);
        if (IN_PROGRESS.has(report.status)) {
          window.setTimeout(poll, POLL_MS);
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        // A lost connection or a restarting server: keep trying, a little more slowly.
        window.setTimeout(poll, POLL_MS * 2);
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
