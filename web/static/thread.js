// renraku: keeps an open conversation current (live.js brings the events). When a parent
// writes in it, the messages after the last one shown are fetched and added (the server
// marks them read as it returns them); when a colleague replies, hands it on or changes
// its state, the server names them in a notice with a link to show the thread again.
// The fetches run one after another, each from the last message shown.
(function () {
  "use strict";
  var list = document.querySelector("[data-live-thread]");
  var notice = document.getElementById("thread-notice");
  if (!list || !notice || !window.fetch || !window.DOMParser) {
    return;
  }
  var id = Number(list.getAttribute("data-live-thread"));
  var url = list.getAttribute("data-news");
  var chain = Promise.resolve();

  function last() {
    var items = list.querySelectorAll("[data-message-id]");
    return items.length ? items[items.length - 1].getAttribute("data-message-id") : "0";
  }

  function news(by, what) {
    var q = "?after=" + encodeURIComponent(last());
    if (by) {
      q += "&by=" + encodeURIComponent(by) + "&notice=" + encodeURIComponent(what);
    }
    return fetch(url + q, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        return res.ok ? res.text() : "";
      })
      .then(function (html) {
        if (!html) {
          return;
        }
        var doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll("[data-testid=thread-news] > [data-message-id]").forEach(function (li) {
          var mid = li.getAttribute("data-message-id");
          if (!list.querySelector("[data-message-id=\"" + mid + "\"]")) {
            list.appendChild(document.importNode(li, true));
          }
        });
        var n = doc.querySelector("[data-testid=thread-notice]");
        if (n) {
          notice.replaceChildren(document.importNode(n, true));
          notice.hidden = false;
        }
      })
      .catch(function () { /* the next event or reconnection catches up */ });
  }

  function queue(by, what) {
    chain = chain.then(function () {
      return news(by, what);
    });
  }

  function mine(ev) {
    return ev.detail && Number(ev.detail.conversation) === id;
  }

  document.body.addEventListener("live-open", function () {
    queue(0, "");
  });
  document.body.addEventListener("live-message", function (ev) {
    if (mine(ev)) {
      queue(0, "");
    }
  });
  document.body.addEventListener("live-reply", function (ev) {
    if (mine(ev)) {
      queue(ev.detail.staff, "reply");
    }
  });
  document.body.addEventListener("live-conversation_state", function (ev) {
    if (mine(ev) && ev.detail.change && ev.detail.change !== "read") {
      queue(ev.detail.staff, ev.detail.change);
    }
  });
})();
