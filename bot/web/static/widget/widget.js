/*
 * KAP Assistant website widget. A clinic's site embeds it with one tag:
 *   <script src="https://BOT-HOST/widget.js" data-bot-url="https://RASA-HOST" defer></script>
 * It talks to Rasa's socket.io channel at data-bot-url and to the web app that served this file
 * (feedback, deleting a conversation). Everything the bot or the visitor writes is put on the
 * page with textContent: no message can inject markup or script.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.kapWidgetLoaded) return;
  window.kapWidgetLoaded = true;

  var HOST = new URL(".", script.src).href; // the web app that served widget.js
  var BOT_URL = script.getAttribute("data-bot-url") || HOST;
  var KEY_SESSION = "kapw.session";
  var KEY_TOKEN = "kapw.sessionToken";
  var KEY_OPEN = "kapw.open";
  var KEY_ACTIVE = "kapw.lastActive";
  // On a shared computer the next person must not find this conversation: after a day without
  // use the browser forgets it (the clinic's copy follows the clinic's retention).
  var FORGET_AFTER_MS = 24 * 60 * 60 * 1000;
  var MAX_HISTORY = 200;
  var MAX_CHARS = 2000;
  var URL_PATTERN = /https?:\/\/[^\s<>"']+/g;

  // ---- State kept in the browser: the conversation survives a reload or a second page. ----

  function store(key, value) {
    try {
      if (value === undefined) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* storage full or disabled: the widget still works for this page */ }
  }
  function load(key, fallback) {
    try {
      var raw = localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) { return fallback; }
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // The server names the conversation and signs it (session_confirm); until it has, sessionId is
  // null. Only with its token can this browser continue the conversation after a reload.
  var sessionId = load(KEY_SESSION, null);
  var sessionToken = load(KEY_TOKEN, null);
  if (sessionId && Date.now() - load(KEY_ACTIVE, 0) > FORGET_AFTER_MS) {
    store("kapw.history." + sessionId, undefined);
    store("kapw.queue." + sessionId, undefined);
    forgetSession();
  }
  function forgetSession() {
    sessionId = sessionToken = null;
    store(KEY_SESSION, undefined);
    store(KEY_TOKEN, undefined);
  }
  // Rasa's socket.io channel never re-sends a conversation, so the visible history lives here;
  // the queue holds what the visitor typed until the server acknowledged it.
  function historyKey() { return "kapw.history." + sessionId; }
  function queueKey() { return "kapw.queue." + sessionId; }
  var history = load(historyKey(), []);
  var queue = load(queueKey(), []);

  // ---- Building the widget's DOM. ----

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  var css = el("link", { rel: "stylesheet", href: HOST + "static/widget/widget.css" });
  document.head.appendChild(css);

  // The visible text is the accessible name, so voice-control users can say what they see.
  var launcher = el("button", {
    type: "button", "class": "kapw-launcher",
    "aria-expanded": "false", "aria-controls": "kapw-panel", text: "Open chat"
  });
  var state = el("span", { "class": "kapw-state", role: "status", text: "Connecting…" });
  var menuButton = el("button", {
    type: "button", "class": "kapw-icon", "aria-haspopup": "true", "aria-expanded": "false",
    "aria-controls": "kapw-menu", "aria-label": "Menu", text: "⋯"
  });
  var closeButton = el("button", { type: "button", "class": "kapw-icon", "aria-label": "Close chat", text: "×" });
  var deleteItem = el("button", { type: "button", text: "Delete this conversation" });
  var menu = el("div", { id: "kapw-menu", "class": "kapw-menu", hidden: "" }, [deleteItem]);
  var confirmYes = el("button", { type: "button", "class": "kapw-danger", text: "Delete" });
  var confirmNo = el("button", { type: "button", text: "Cancel" });
  var confirmBox = el("div", { "class": "kapw-confirm", role: "alertdialog", "aria-label": "Delete this conversation?", hidden: "" }, [
    el("p", { text: "Delete this conversation? It is removed from our records and cannot be recovered." }),
    confirmYes, confirmNo
  ]);
  var helpLink = el("a", { href: "#kapw-crisis", "class": "kapw-help", "aria-expanded": "false", "aria-controls": "kapw-crisis", text: "Need help now?" });
  var crisis = el("div", { id: "kapw-crisis", "class": "kapw-crisis", hidden: "" }, [
    el("p", { text: "If you or someone else is in danger, call 911 now." }),
    el("p", { text: "If you are thinking about suicide or are in crisis, call or text 988 (Suicide & Crisis Lifeline), any time, day or night." })
  ]);
  var hint = el("p", {
    "class": "kapw-hint",
    text: "Ask a question about the safety of ketamine-assisted psychotherapy, such as \u201cIs ketamine addictive?\u201d"
  });
  var log = el("div", { "class": "kapw-log", role: "log", "aria-live": "off", "aria-label": "Conversation", tabindex: "0" });
  // Only the bot's new messages are announced, once each (the log itself stays quiet).
  // One node per message: a reply arrives as several messages at once, and replacing one
  // node's text would let screen readers announce only the last of them.
  var announcer = el("div", {
    "class": "kapw-sr", "aria-live": "polite", "aria-atomic": "false", "aria-relevant": "additions"
  });
  var typing = el("div", { "class": "kapw-typing", hidden: "", text: "The assistant is typing…" });
  var input = el("input", {
    id: "kapw-input", type: "text", maxlength: String(MAX_CHARS), autocomplete: "off",
    placeholder: "Ask about KAP safety…"
  });
  var sendButton = el("button", { type: "submit", text: "Send" });
  var form = el("form", { "class": "kapw-form" }, [
    el("label", { "for": "kapw-input", "class": "kapw-sr", text: "Type your message" }), input, sendButton
  ]);
  var panel = el("section", { id: "kapw-panel", "class": "kapw-panel", role: "dialog", "aria-label": "KAP Assistant chat", hidden: "" }, [
    el("div", { "class": "kapw-header" }, [
      el("h2", { text: "KAP Assistant" }), state, menuButton, closeButton
    ]),
    menu, confirmBox,
    el("p", { "class": "kapw-disclaimer" }, [
      document.createTextNode("An automated assistant with general information, not medical advice. "),
      helpLink
    ]),
    crisis, hint, log, typing, announcer, form
  ]);
  var root = el("div", { "class": "kapw" }, [panel, launcher]);
  document.body.appendChild(root);

  // ---- Rendering messages: text nodes only; http(s) URLs become safe links. ----

  function appendText(parent, text) {
    var last = 0;
    text.replace(URL_PATTERN, function (found, at) {
      var url = found.replace(/[.,;:!?)\]]+$/, ""); // "see https://x.org." ends before the dot
      parent.appendChild(document.createTextNode(text.slice(last, at)));
      var link = el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url });
      parent.appendChild(link);
      last = at + url.length;
      return found;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function render(entry, index) {
    var bubble = el("div", { "class": "kapw-msg kapw-" + entry.from });
    var who = el("span", { "class": "kapw-sr", text: entry.from === "user" ? "You said: " : "Assistant: " });
    var body = el("span", { "class": "kapw-text" });
    appendText(body, entry.text);
    bubble.appendChild(who);
    bubble.appendChild(body);
    if (entry.queued) bubble.appendChild(el("span", { "class": "kapw-note", text: " (waiting to send)" }));
    if (entry.buttons && entry.buttons.length) {
      var group = el("div", { "class": "kapw-buttons", role: "group", "aria-label": "Suggested replies" });
      entry.buttons.forEach(function (button) {
        var b = el("button", { type: "button", text: button.title });
        if (entry.used) b.disabled = true;
        b.addEventListener("click", function () {
          if (entry.used) return;
          entry.used = true;
          save();
          Array.prototype.forEach.call(group.children, function (x) { x.disabled = true; });
          send(button.title, button.payload);
        });
        group.appendChild(b);
      });
      bubble.appendChild(group);
    }
    if (entry.answer) bubble.appendChild(voteControls(entry));
    bubble.setAttribute("data-index", String(index));
    return bubble;
  }

  function voteControls(entry) {
    var box = el("div", { "class": "kapw-vote", role: "group", "aria-label": "Was this answer helpful?" });
    box.appendChild(el("span", { "aria-hidden": "true", text: "Helpful?" }));
    [["up", "Helpful"], ["down", "Not helpful"]].forEach(function (v) {
      var b = el("button", { type: "button", "aria-label": v[1], "aria-pressed": String(entry.vote === v[0]) });
      b.appendChild(thumb(v[0] === "down"));
      if (entry.vote) b.disabled = true;
      b.addEventListener("click", function () { vote(entry, v[0]); });
      box.appendChild(b);
    });
    if (entry.vote) box.appendChild(el("span", { "class": "kapw-note", text: "Thank you for your feedback." }));
    return box;
  }

  // A drawn thumb rather than an emoji: not every visitor's device has an emoji font.
  var SVG = "http://www.w3.org/2000/svg";
  function thumb(down) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M2 10h4v11H2zM8 10l4-8c1.5 0 2.6 1.1 2.3 2.6L13.5 9H20a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.6 21H8z");
    path.setAttribute("fill", "currentColor");
    if (down) path.setAttribute("transform", "rotate(180 12 12)");
    svg.appendChild(path);
    return svg;
  }

  function redraw() {
    hint.hidden = history.length > 0;
    log.textContent = "";
    history.forEach(function (entry, i) { log.appendChild(render(entry, i)); });
    log.scrollTop = log.scrollHeight;
  }

  function save() {
    if (history.length > MAX_HISTORY) {
      history = history.slice(-MAX_HISTORY);
      redraw(); // the entries' indices changed
    }
    store(historyKey(), history);
    store(queueKey(), queue);
    store(KEY_ACTIVE, Date.now());
  }

  function announce(text) {
    announcer.appendChild(el("p", {}, [document.createTextNode(text)]));
    while (announcer.childNodes.length > 6) announcer.removeChild(announcer.firstChild);
  }

  function add(entry) {
    history.push(entry);
    hint.hidden = true;
    save();
    log.appendChild(render(entry, history.length - 1));
    log.scrollTop = log.scrollHeight;
    if (entry.from === "bot") announce(entry.text);
  }

  // ---- Talking to Rasa. ----

  var socket = null;
  var confirmed = false; // the server has put this page in the conversation's room

  function showState(text, online) {
    state.textContent = text;
    root.classList.toggle("kapw-offline", !online);
  }

  function connect() {
    if (typeof io !== "function") { showState("Offline", false); return; }
    // socket.io-client reconnects by itself, with growing delays, for as long as the page lives.
    socket = io(BOT_URL, { path: "/socket.io", transports: ["polling", "websocket"] });
    socket.on("connect", function () {
      confirmed = false;
      showState("Connecting…", false);
      socket.emit("session_request", { session_id: sessionId, session_token: sessionToken });
    });
    socket.on("session_confirm", function (data) {
      if (!data || typeof data.session_id !== "string" || typeof data.session_token !== "string") return;
      adopt(data.session_id, data.session_token);
      confirmed = true;
      showState("Online", true);
      flush();
    });
    socket.on("disconnect", offline);
    socket.on("connect_error", offline);
    socket.on("bot_uttered", receive);
  }

  // The conversation the server gave: what is on screen and still queued carries over to it
  // (a first visit, or an old conversation the server no longer continues).
  function adopt(id, token) {
    if (id !== sessionId) {
      store(historyKey(), undefined);
      store(queueKey(), undefined);
      sessionId = id;
      save();
    }
    sessionToken = token;
    store(KEY_SESSION, sessionId);
    store(KEY_TOKEN, sessionToken);
  }

  function offline() {
    confirmed = false;
    inFlight = null; // its acknowledgement will never come: flush() sends it again
    typing.hidden = true;
    showState("Offline – reconnecting…", false);
  }

  function receive(data) {
    if (!data || typeof data.text !== "string") return;
    typing.hidden = true;
    var buttons = (data.quick_replies || data.buttons || []).filter(function (b) {
      return b && typeof b.title === "string" && typeof b.payload === "string";
    }).map(function (b) { return { title: b.title, payload: b.payload }; });
    var entry = { from: "bot", text: data.text, buttons: buttons };
    // An FAQ answer arrives as two messages, the answer and then its "Source: ..." line: the
    // thumbs go under the source line and rate the answer before it.
    var previous = history[history.length - 1];
    if (/^Source: /.test(data.text) && previous && previous.from === "bot") entry.answer = previous.text;
    // A reply means Rasa has the message in flight: a reload from now on must not send it again.
    if (inFlight) delivered(inFlight);
    add(entry);
  }

  function send(text, payload) {
    var item = { id: newId(), message: payload || text };
    queue.push(item);
    add({ from: "user", text: text, queued: true, item: item.id });
    flush();
  }

  // One message at a time, oldest first, so the bot's replies come in the order they were asked.
  var inFlight = null;
  function flush() {
    if (!socket || !confirmed || inFlight || !queue.length) return;
    var item = inFlight = queue[0];
    typing.hidden = false;
    log.scrollTop = log.scrollHeight;
    // The acknowledgement comes once Rasa has handled the message; then the next one goes.
    // A message cut off by a disconnect stays queued and is sent again after reconnecting.
    socket.emit("user_uttered", { message: item.message, session_id: sessionId }, function () {
      delivered(item);
      inFlight = null;
      typing.hidden = true;
      flush();
    });
  }

  function delivered(item) {
    if (!queue.some(function (q) { return q.id === item.id; })) return;
    queue = queue.filter(function (q) { return q.id !== item.id; });
    history.forEach(function (entry, i) {
      if (entry.item !== item.id) return;
      delete entry.queued;
      var note = log.querySelector('[data-index="' + i + '"] .kapw-note');
      if (note) note.remove();
    });
    save();
  }

  // ---- Feedback and deletion, through the web app that served this script. ----

  function post(path, body) {
    return fetch(HOST + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response;
    });
  }

  function vote(entry, value) {
    if (entry.vote) return;
    post("api/feedback", { conversation_id: sessionId, answer_text: entry.answer, vote: value })
      .then(function () { entry.vote = value; save(); redraw(); })
      .catch(function () { showState("Feedback not sent", confirmed); });
  }

  function deleteConversation() {
    if (inFlight || queue.length) {
      // Rasa would write the conversation back when it finishes the reply it is working on.
      closeConfirm();
      announce("Please wait for the assistant's reply, then delete the conversation.");
      showState("Wait for the reply, then delete", confirmed);
      return;
    }
    post("api/conversations/delete", { conversation_id: sessionId }).then(function () {
      store(historyKey(), undefined);
      store(queueKey(), undefined);
      forgetSession(); // the server gives the new conversation on reconnecting
      history = []; queue = []; inFlight = null;
      redraw();
      closeConfirm();
      announce("The conversation was deleted. A new one has started.");
      // A new connection for the new session: Rasa never takes a connection out of the old
      // conversation's room, so late replies to it must not reach this one.
      confirmed = false;
      if (socket) { socket.disconnect(); socket.connect(); }
      input.focus();
    }).catch(function () {
      closeConfirm();
      announce("The conversation could not be deleted. Please try again later.");
    });
  }

  // ---- Opening, closing, keyboard. ----

  function setOpen(open, quietly) {
    panel.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute("aria-expanded", String(open));
    try { sessionStorage.setItem(KEY_OPEN, open ? "1" : ""); } catch (e) { /* private mode */ }
    if (open) {
      if (!socket) connect();
      redraw();
      // Restoring the open widget on a new page must not take focus away from that page.
      if (!quietly) input.focus();
    } else {
      closeMenu();
      if (!quietly) launcher.focus();
    }
  }
  function closeMenu() {
    menu.hidden = true;
    menuButton.setAttribute("aria-expanded", "false");
  }
  function closeConfirm() { confirmBox.hidden = true; }

  launcher.addEventListener("click", function () { setOpen(true); });
  closeButton.addEventListener("click", function () { setOpen(false); });
  menuButton.addEventListener("click", function () {
    var open = menu.hidden;
    menu.hidden = !open;
    menuButton.setAttribute("aria-expanded", String(open));
    if (open) deleteItem.focus();
  });
  deleteItem.addEventListener("click", function () {
    closeMenu();
    confirmBox.hidden = false;
    confirmNo.focus();
  });
  confirmNo.addEventListener("click", function () { closeConfirm(); input.focus(); });
  confirmYes.addEventListener("click", deleteConversation);
  helpLink.addEventListener("click", function (event) {
    // Crisis numbers come from this script, not the server: they show even when it is down.
    event.preventDefault();
    crisis.hidden = !crisis.hidden;
    helpLink.setAttribute("aria-expanded", String(!crisis.hidden));
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    if (!menu.hidden || !confirmBox.hidden) { closeMenu(); closeConfirm(); input.focus(); return; }
    setOpen(false);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault(); // Enter in the box submits the form too
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text.slice(0, MAX_CHARS));
  });

  // The socket.io client is vendored next to this script (no CDN): load it, then connect if
  // the widget was open before a reload, so the conversation picks up where it was.
  var client = document.createElement("script");
  client.src = HOST + "static/widget/vendor/socket.io.min.js";
  client.onload = function () {
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(KEY_OPEN) === "1"; } catch (e) { /* private mode */ }
    if (wasOpen) setOpen(true, true);
    else if (queue.length) connect();
  };
  client.onerror = function () { showState("Offline", false); };
  document.head.appendChild(client);
})();
