// Follows a training run on /staff/content/training/<id>: polls its status and reloads the page
// when it has finished, so the comparison (or the failure) appears. An external file, because the
// console's Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var box = document.getElementById("training-progress");
  if (!box) return;
  var bar = document.getElementById("progress-bar");
  var step = document.getElementById("progress-step");
  var url = box.getAttribute("data-status-url");
  var failures = 0;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (status) {
        failures = 0;
        bar.value = status.progress;
        bar.textContent = status.progress + "%";
        if (step.textContent !== status.step) step.textContent = status.step;
        if (status.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () {
        failures += 1;
        if (failures === 3) step.textContent = "Cannot reach the console; still trying…";
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, 2000);
})();
