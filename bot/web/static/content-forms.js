// Saving a topic or an inbox example runs the content checks and Rasa's own validation first,
// which takes several seconds: say so, and stop a second click from sending the form twice.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-checking]");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (!button) return;
      // Disabled after this event, so the browser still sends the form.
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = form.getAttribute("data-checking");
      }, 0);
    });
  });
})();
