// Plain chat page: talks to /api/chat, which relays to Rasa's REST channel.
// Everything is rendered with textContent, so no message can inject markup.
(function () {
  "use strict";
  var KEY = "kapbot.sender";
  var sender = localStorage.getItem(KEY);
  if (!sender) {
    sender = crypto.randomUUID();
    localStorage.setItem(KEY, sender);
  }
  var log = document.getElementById("log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("message");
  var status = document.getElementById("status");

  function show(text, who) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function showButtons(buttons) {
    var row = document.createElement("div");
    row.className = "buttons";
    buttons.forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.title;
      btn.addEventListener("click", function () {
        row.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        send(b.payload, b.title);
      });
      row.appendChild(btn);
    });
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }

  function send(message, shownAs) {
    show(shownAs || message, "user");
    status.textContent = "…";
    return fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, message: message })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      status.textContent = res.ok ? "" : res.body.error;
      (res.body.messages || []).forEach(function (m) {
        if (m.text) { show(m.text, "bot"); }
        if (m.buttons && m.buttons.length) { showButtons(m.buttons); }
      });
    }).catch(function () {
      status.textContent = "Could not reach the assistant. Check your connection and try again.";
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text);
  });
})();
