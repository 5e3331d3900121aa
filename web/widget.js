/*
 * Haven Pre-Screen web chat widget. Plain JavaScript, no framework, no build step.
 *
 *   <script src="https://www.example-clinic.com/haven/widget.js"
 *           data-server="https://chat.example-clinic.com"
 *           data-phone="(818) 555-0134" data-clinic="Haven Ketamine Clinic"></script>
 *
 * It talks to the Rasa server's REST channel (POST {data-server}/webhooks/rest/webhook, {"sender","message"}).
 * Every text, the visitor's and the bot's, is put on the page with textContent, never as HTML.
 * docs/widget.md lists every data- attribute and what the widget keeps in the visitor's browser.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.HavenChat) {
    return;
  }
  var data = script.dataset;

  function number(value, fallback) {
    var parsed = parseInt(value || "", 10);
    return isFinite(parsed) && parsed > 0 ? parsed : fallback;
  }

  var config = {
    server: (data.server || "").replace(/\/+$/, ""),
    phone: data.phone || "",
    clinic: data.clinic || "the clinic",
    css: data.css || (script.src ? script.src.replace(/widget\.js(\?.*)?$/, "widget.css") : ""),
    timeoutMs: number(data.timeoutMs, 30000), // a reply slower than this is given up on, and the visitor told
    slowMs: number(data.slowMs, 8000), // after this long, "still working on it"
    keepHours: number(data.keepHours, 24), // the local copy of the conversation is dropped after this long
    maxChars: number(data.maxChars, 2000), // the server's MAX_MESSAGE_CHARS
  };
  var WEBHOOK = config.server + "/webhooks/rest/webhook";
  var STORE_KEY = "havenChat:" + config.server;
  var OPENING = "hi"; // sent, not shown, when a visitor opens an empty chat: the bot greets and asks consent
  var START_OVER = "Start over";
  var TALK_TO_PERSON = "Talk to a person";

  // --- the crisis reply, recognised by its content ------------------------------------------------------
  // The REST channel sends text only, no flag. Every crisis reply (data/clinic/crisis_responses.yml, English and
  // Spanish) gives 988 and the emergency room; no other text does (the greeting gives 988 and 911 only).
  // tests/e2e/test_widget_e2e.py checks this against every text the bot can send.
  function isCrisisReply(text) {
    return /\b988\b/.test(text) && /emergency room|sala de emergencias/i.test(text);
  }

  // --- what the browser keeps: the sender id and a copy of the conversation ------------------------------
  function newSenderId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // crypto.randomUUID needs a secure context (https or loopback); getRandomValues does not: 122 random bits.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function loadState() {
    var fresh = { sender: newSenderId(), messages: [], open: false, savedAt: Date.now() };
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORE_KEY) || "null");
      var expired = !saved || Date.now() - saved.savedAt > config.keepHours * 3600 * 1000;
      if (!expired && typeof saved.sender === "string" && Array.isArray(saved.messages)) {
        return saved;
      }
    } catch (ignored) {
      // unreadable or no storage (private mode): a fresh conversation that lives as long as the page
    }
    return fresh;
  }

  var state = loadState();

  function saveState() {
    state.savedAt = Date.now();
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (ignored) {
      // storage full or refused: the conversation still works, it just won't survive a reload
    }
  }

  // --- building the window --------------------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function telHref(phone) {
    return "tel:" + phone.replace(/[^0-9+]/g, "");
  }

  function link(href, text, className) {
    var a = el("a", className, text);
    a.href = href;
    return a;
  }

  var sheet = null;
  if (config.css) {
    sheet = document.createElement("link");
    sheet.rel = "stylesheet";
    sheet.href = config.css;
    document.head.appendChild(sheet);
  }

  var root = el("div", "hc-root");
  var launcher = el("button", "hc-launcher", "Chat with us");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "hc-panel");

  var panel = el("section", "hc-panel");
  panel.id = "hc-panel";
  panel.setAttribute("aria-label", "Chat with " + config.clinic);
  panel.hidden = true;

  var header = el("div", "hc-header");
  var title = el("h2", "hc-title", "Chat with " + config.clinic);
  var closeButton = el("button", "hc-close", "Close");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", "Close chat");
  header.appendChild(title);
  header.appendChild(closeButton);

  // Visible whenever the chat is open (in a short window, where the chat scrolls, it stays at the top).
  var standing = el("p", "hc-standing", "Not a diagnosis · In crisis? Call or text ");
  standing.appendChild(link("tel:988", "988"));
  var topBar = el("div", "hc-top");
  topBar.appendChild(header);
  topBar.appendChild(standing);

  var log = el("div", "hc-log"); // a log, not a list: role="log" would hide a list's semantics
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  log.tabIndex = 0; // scrollable with the keyboard

  var typing = el("div", "hc-typing");
  typing.setAttribute("role", "status");
  var typingDots = el("span", "hc-dots", "");
  typingDots.setAttribute("aria-hidden", "true");
  typingDots.appendChild(el("span"));
  typingDots.appendChild(el("span"));
  typingDots.appendChild(el("span"));
  var typingText = el("span", "hc-typing-text", "");
  typing.appendChild(typingDots);
  typing.appendChild(typingText);
  typing.hidden = true;

  var notice = el("div", "hc-notice");
  notice.setAttribute("role", "alert");
  notice.hidden = true;

  var replies = el("div", "hc-replies");
  replies.setAttribute("role", "group");
  replies.setAttribute("aria-label", "Answer choices");
  replies.hidden = true;

  var form = el("form", "hc-form");
  form.noValidate = true;
  var label = el("label", "hc-label", "Type your message");
  label.htmlFor = "hc-input";
  var row = el("div", "hc-row");
  var input = el("input", "hc-input");
  input.id = "hc-input";
  input.type = "text";
  input.autocomplete = "off";
  input.maxLength = config.maxChars;
  var sendButton = el("button", "hc-send", "Send");
  sendButton.type = "submit";
  row.appendChild(input);
  row.appendChild(sendButton);
  // Near the limit, say so: maxlength cuts pasted text without a word.
  var limit = el("p", "hc-limit");
  limit.id = "hc-limit";
  limit.setAttribute("aria-live", "polite");
  limit.hidden = true;
  input.setAttribute("aria-describedby", "hc-limit");
  form.appendChild(label);
  form.appendChild(row);
  form.appendChild(limit);

  var quick = el("div", "hc-quick");
  quick.setAttribute("role", "group");
  quick.setAttribute("aria-label", "Quick actions");
  var startOverButton = el("button", "hc-quick-button", START_OVER);
  startOverButton.type = "button";
  var personButton = el("button", "hc-quick-button", TALK_TO_PERSON);
  personButton.type = "button";
  quick.appendChild(startOverButton);
  quick.appendChild(personButton);

  [topBar, log, typing, notice, replies, form, quick].forEach(function (part) {
    panel.appendChild(part);
  });
  // The launcher first: Tab goes from it into the open chat, Shift+Tab from the chat back to it.
  root.appendChild(launcher);
  root.appendChild(panel);

  // --- the conversation on screen --------------------------------------------------------------------------
  function messageNode(message) {
    var classes = "hc-msg hc-" + message.from;
    if (message.crisis) {
      classes += " hc-crisis";
    }
    if (message.failed) {
      classes += " hc-failed";
    }
    var item = el("div", classes);
    item.appendChild(el("span", "hc-sr", message.from === "bot" ? "Assistant said: " : "You said: "));
    if (message.crisis) {
      item.appendChild(el("strong", "hc-crisis-label", "Help is available right now"));
    }
    item.appendChild(message.from === "bot" ? textWithPhoneLinks(message.text) : el("p", "hc-text", message.text));
    if (message.crisis) {
      var actions = el("p", "hc-crisis-actions");
      actions.appendChild(link("tel:988", "Call 988"));
      actions.appendChild(link("sms:988", "Text 988"));
      actions.appendChild(link("tel:911", "Call 911"));
      item.appendChild(actions);
    }
    if (message.failed) {
      item.appendChild(el("span", "hc-failed-note", message.noReply ? "No reply yet" : "Not sent"));
    }
    return item;
  }

  // A bot text with its US phone numbers as tel: links: text nodes and <a> elements, never HTML.
  var PHONE_NUMBER = /\(?\b\d{3}\)?[ .-]?\d{3}[ .-]\d{4}\b/g;

  function textWithPhoneLinks(text) {
    var paragraph = el("p", "hc-text");
    var at = 0;
    text.replace(PHONE_NUMBER, function (found, offset) {
      paragraph.appendChild(document.createTextNode(text.slice(at, offset)));
      paragraph.appendChild(link("tel:+1" + found.replace(/[^0-9]/g, ""), found));
      at = offset + found.length;
      return found;
    });
    paragraph.appendChild(document.createTextNode(text.slice(at)));
    return paragraph;
  }

  function renderLog() {
    log.textContent = "";
    state.messages.forEach(function (message) {
      log.appendChild(messageNode(message));
    });
    scrollToEnd();
  }

  // What the log keeps in view: its end, or the top of a crisis reply (its heading and Call 988 first). Applied
  // again whenever the log changes size: the stylesheet arriving after a reload, answer choices or a notice.
  var scrollAnchor = null;

  function keepInView() {
    if (scrollAnchor && scrollAnchor.isConnected) {
      log.scrollTop = Math.max(0, scrollAnchor.offsetTop - 8);
    } else {
      log.scrollTop = log.scrollHeight;
    }
  }

  function scrollToEnd() {
    scrollAnchor = null;
    keepInView();
  }

  function addMessage(message) {
    state.messages.push(message);
    saveState();
    var node = messageNode(message);
    log.appendChild(node);
    scrollToEnd();
    return node;
  }

  function lastButtons() {
    var last = state.messages[state.messages.length - 1];
    return last && last.from === "bot" && Array.isArray(last.buttons) ? last.buttons : [];
  }

  function renderReplies() {
    var hadFocus = replies.contains(document.activeElement);
    replies.textContent = "";
    var buttons = busy ? [] : lastButtons();
    buttons.forEach(function (choice) {
      var button = el("button", "hc-reply", choice.title);
      button.type = "button";
      button.addEventListener("click", function () {
        send(choice.payload, { shown: choice.title, fromChoice: true });
      });
      replies.appendChild(button);
    });
    replies.hidden = buttons.length === 0;
    keepInView(); // the choices take room from the conversation
    if (hadFocus && !buttons.length) {
      input.focus();
    }
    return buttons.length;
  }

  // --- telling the visitor what went wrong, without losing their words --------------------------------------
  function hideNotice() {
    notice.hidden = true;
    notice.textContent = "";
  }

  function showSlow() {
    typingText.textContent = "Still working on it. This is taking longer than usual…";
  }

  function failureText(kind, detail) {
    if (kind === "opening") {
      return "The chat can't connect right now.";
    }
    if (kind === "reloaded") {
      return "The page was reloaded before the reply came, so your message may not have arrived.";
    }
    if (kind === "timeout") {
      return "The assistant did not answer in time, so your message may not have arrived.";
    }
    if (kind === "refused") {
      return "Your message was not accepted" + (detail ? ": " + detail : ".");
    }
    if (kind === "server") {
      return "Something went wrong on our side, and your message was not answered.";
    }
    return "Your message could not be sent: there seems to be no connection.";
  }

  function showFailure(kind, detail, retry) {
    notice.textContent = "";
    notice.appendChild(el("p", "hc-notice-text", failureText(kind, detail)));
    var help = el("p", "hc-notice-help");
    if (retry.restored) {
      help.appendChild(document.createTextNode("What you typed is back in the message box. "));
    }
    if (config.phone) {
      help.appendChild(document.createTextNode("You can also call " + config.clinic + " at "));
      help.appendChild(link(telHref(config.phone), config.phone));
      help.appendChild(document.createTextNode(". "));
    }
    help.appendChild(document.createTextNode("In crisis? Call or text "));
    help.appendChild(link("tel:988", "988"));
    help.appendChild(document.createTextNode(" now."));
    notice.appendChild(help);
    var again = el("button", "hc-retry", "Try again");
    again.type = "button";
    again.addEventListener("click", retry.run);
    notice.appendChild(again);
    notice.hidden = false;
  }

  // Try again: the failed bubble goes (the resend puts it back), and the text leaves the box if it was put there.
  function retryOf(sent, text, options) {
    return function () {
      if (sent && state.messages.indexOf(sent) >= 0) {
        state.messages.splice(state.messages.indexOf(sent), 1);
        saveState();
        renderLog();
      }
      if (input.value === text) {
        input.value = "";
        showLimit();
      }
      send(text, options);
      input.focus();
    };
  }

  function showLimit() {
    var length = input.value.length;
    limit.hidden = length < config.maxChars * 0.9;
    limit.textContent =
      length >= config.maxChars
        ? "That is the limit, " + config.maxChars + " characters: anything longer was cut off."
        : length + " of " + config.maxChars + " characters";
  }

  // --- sending ----------------------------------------------------------------------------------------------
  var busy = false;

  function setBusy(value) {
    busy = value;
    [sendButton, startOverButton, personButton].forEach(function (button) {
      // aria-disabled, not disabled: a focused button keeps the focus while a reply is on its way.
      button.setAttribute("aria-disabled", value ? "true" : "false");
    });
    typing.hidden = !value;
    typingText.textContent = value ? "The assistant is typing…" : "";
  }

  // A click or Enter while a reply is on its way is not sent; say so rather than drop it without a word.
  function askToWait() {
    typingText.textContent = "Please wait for the reply.";
  }

  function botMessages(list) {
    if (!Array.isArray(list)) {
      throw new Error("unexpected reply");
    }
    return list
      .filter(function (m) {
        return m && typeof m.text === "string" && m.text.trim();
      })
      .map(function (m) {
        var buttons = Array.isArray(m.buttons)
          ? m.buttons
              .filter(function (b) {
                return b && typeof b.title === "string";
              })
              .map(function (b) {
                return { title: b.title, payload: typeof b.payload === "string" ? b.payload : b.title };
              })
          : [];
        var message = { from: "bot", text: m.text, crisis: isCrisisReply(m.text) };
        if (buttons.length) {
          message.buttons = buttons;
        }
        return message;
      });
  }

  // Send `text`. options: shown (the visitor's bubble, a button's title), silent (no bubble: the opening),
  // quick (Start over, Talk to a person: nothing to put back in the box), fromChoice (an answer button),
  // fresh (Start over: a new conversation under a new sender id; the old copy stays until it answers).
  function send(text, options) {
    options = options || {};
    text = (text || "").trim();
    if (busy) {
      askToWait();
      return false;
    }
    if (!text) {
      return false;
    }
    var sender = options.fresh ? newSenderId() : state.sender;
    var sent = null;
    if (!options.silent && !options.fresh) {
      // pending until the reply comes: a reload in between finds it so and tells the visitor (resumePending)
      sent = { from: "visitor", text: options.shown || text, pending: true };
      if (options.shown && options.shown !== text) {
        sent.payload = text;
      }
      addMessage(sent);
    }
    hideNotice();
    setBusy(true);
    renderReplies();
    var controller = new AbortController();
    var timedOut = false;
    var giveUp = window.setTimeout(function () {
      timedOut = true;
      controller.abort();
    }, config.timeoutMs);
    var slow = window.setTimeout(showSlow, config.slowMs);
    window
      .fetch(WEBHOOK, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: sender, message: text }),
        signal: controller.signal,
        credentials: "omit",
      })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { response: response, body: body };
          },
          function () {
            return { response: response, body: null };
          }
        );
      })
      .then(function (result) {
        if (result.response.status >= 400 && result.response.status < 500) {
          var detail = result.body && typeof result.body.detail === "string" ? result.body.detail : "";
          throw { kind: "refused", detail: detail };
        }
        if (!result.response.ok) {
          throw { kind: "server" };
        }
        var messages = botMessages(result.body);
        finish();
        if (options.fresh) {
          // The new conversation answered: only now forget the old one, its copy and its sender id.
          state.sender = sender;
          state.messages = [];
          renderLog();
          addMessage({ from: "visitor", text: options.shown || text });
        }
        if (sent) {
          delete sent.pending;
          saveState();
        }
        var crisisNode = null;
        messages.forEach(function (message) {
          var node = addMessage(message);
          crisisNode = crisisNode || (message.crisis ? node : null);
        });
        if (crisisNode) {
          scrollAnchor = crisisNode;
          keepInView();
        }
        afterReply(Boolean(options.fromChoice));
      })
      .catch(function (error) {
        finish();
        var kind = timedOut ? "timeout" : error && error.kind ? error.kind : error instanceof TypeError ? "offline" : "server";
        if (sent) {
          delete sent.pending;
          sent.failed = true;
          saveState();
          renderLog();
        }
        // Keep what they typed: back in the box unless they have started typing something new.
        var restored = !options.silent && !options.quick && !input.value;
        if (restored) {
          input.value = text;
          showLimit();
        }
        showFailure(options.silent ? "opening" : kind, error && error.detail, {
          restored: restored,
          run: retryOf(sent, text, options),
        });
        renderReplies();
      });

    function finish() {
      window.clearTimeout(giveUp);
      window.clearTimeout(slow);
      setBusy(false);
    }
    return true;
  }

  function afterReply(fromChoice) {
    var count = renderReplies();
    var active = document.activeElement;
    // After an answer button (gone now), the focus moves on to the next answers, or to the message box; a
    // visitor who typed keeps the focus in the box.
    if (!active || active === document.body || (fromChoice && active === input)) {
      (count ? replies.firstChild : input).focus();
    }
  }

  // A reload while a reply was on its way: the reply is lost. Mark the message and offer to send it again.
  function resumePending() {
    var last = state.messages[state.messages.length - 1];
    var wasPending = Boolean(last && last.from === "visitor" && last.pending);
    state.messages.forEach(function (message) {
      delete message.pending;
    });
    if (!wasPending) {
      return;
    }
    last.failed = true;
    last.noReply = true;
    saveState();
    renderLog();
    var text = last.payload || last.text;
    var options = last.payload ? { shown: last.text, fromChoice: true } : {};
    showFailure("reloaded", "", { restored: false, run: retryOf(last, text, options) });
  }

  // --- full screen (phones, short windows such as 200% zoom): a modal dialog that keeps the focus ----------------
  var fullScreen = window.matchMedia ? window.matchMedia("(max-width: 480px), (max-height: 560px)") : null;

  function isFullScreen() {
    return Boolean(fullScreen && fullScreen.matches);
  }

  function applyMode() {
    if (isFullScreen()) {
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-modal", "true");
    } else {
      panel.removeAttribute("role");
      panel.removeAttribute("aria-modal");
    }
  }

  function focusables() {
    return Array.prototype.filter.call(
      panel.querySelectorAll("a[href], button, input, [tabindex='0']"),
      function (node) {
        return node.getClientRects().length > 0;
      }
    );
  }

  function trapTab(event) {
    var items = focusables();
    if (!items.length) {
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !panel.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  // --- opening, closing, the controls ------------------------------------------------------------------------
  function setOpen(open) {
    state.open = open;
    saveState();
    panel.hidden = !open;
    root.classList.toggle("hc-open", open);
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    launcher.textContent = open ? "Hide chat" : "Chat with us";
    if (open) {
      scrollToEnd();
      input.focus();
      if (!state.messages.length) {
        send(OPENING, { silent: true });
      }
    }
  }

  launcher.addEventListener("click", function () {
    setOpen(panel.hidden);
  });
  closeButton.addEventListener("click", function () {
    setOpen(false);
    launcher.focus();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      setOpen(false);
      launcher.focus();
    } else if (event.key === "Tab" && isFullScreen()) {
      trapTab(event);
    }
  });
  // Full screen, the page behind is covered: focus that lands there (a removed button's) comes back in.
  document.addEventListener("focusin", function (event) {
    if (!panel.hidden && isFullScreen() && !root.contains(event.target)) {
      input.focus();
    }
  });
  input.addEventListener("input", showLimit);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (send(input.value)) {
      input.value = "";
    }
  });
  startOverButton.addEventListener("click", function () {
    // A new sender id: on a shared computer the next person cannot go on with the old conversation.
    send(START_OVER, { quick: true, fresh: true });
  });
  personButton.addEventListener("click", function () {
    send(TALK_TO_PERSON, { quick: true });
  });

  function mount() {
    document.body.appendChild(root);
    applyMode();
    if (fullScreen && fullScreen.addEventListener) {
      fullScreen.addEventListener("change", applyMode);
    }
    if (window.ResizeObserver) {
      new window.ResizeObserver(keepInView).observe(log);
    }
    if (sheet) {
      sheet.addEventListener("load", keepInView);
    }
    renderLog();
    resumePending();
    renderReplies();
    if (state.open) {
      setOpen(true);
    }
  }

  window.HavenChat = {
    isCrisisReply: isCrisisReply,
    open: function () {
      setOpen(true);
    },
  };

  if (!config.server) {
    window.console.error("Haven chat: the script tag needs data-server (the chat server's URL)");
    return;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
