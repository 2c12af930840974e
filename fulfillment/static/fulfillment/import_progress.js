// The tracking import's progress bar: polls the job's status until it is finished, then
// reloads the page, which then shows the row-by-row report.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box || box.dataset.finished === "true") {
    return;
  }
  var bar = document.getElementById("import-progress");
  var label = document.getElementById("import-progress-label");
  function show(state) {
    if (state.total) {
      bar.max = state.total;
    }
    bar.value = state.done;
    box.dataset.done = state.done;
    box.dataset.status = state.status;
    box.dataset.total = state.total;
    label.textContent = label.dataset.template
      .replace("{done}", state.done.toLocaleString())
      .replace("{total}", state.total.toLocaleString());
  }
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        return answer.ok ? answer.json() : null;
      })
      .then(function (state) {
        if (state) {
          show(state);
          if (state.status === "done" || state.status === "failed") {
            window.location.reload();
            return;
          }
        }
        window.setTimeout(poll, 500);
      })
      .catch(function () {
        window.setTimeout(poll, 2000);
      });
  }
  window.setTimeout(poll, 300);
})();
