/* A large import that a worker checks or writes: polls the import's status API every second and
 * moves the progress bar (#import-progress); once the import has finished (valid, imported,
 * invalid, refused or failed), opens the page's result view (data-done-url). */
(function () {
  "use strict";

  const bar = document.getElementById("import-progress");
  if (!bar) {
    return;
  }
  const POLL_MS = 1000;
  const PENDING = new Set(["queued", "running"]);

  function poll() {
    fetch(bar.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (result) {
        bar.value = result.progress;
        bar.textContent = result.progress + " %";
        if (PENDING.has(result.status)) {
          window.setTimeout(poll, POLL_MS);
        } else {
          window.location.assign(bar.dataset.doneUrl);
        }
      })
      .catch(function () {
        // A lost connection or a restarting server: keep trying, a little more slowly.
        window.setTimeout(poll, POLL_MS * 2);
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
