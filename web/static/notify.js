// renraku: notifications for staff (issue 18). On every staff page it shows the
// person's notifications as desktop notifications while renraku is open, through the
// service worker (/staff/sw.js) with the kind as tag, so a Web Push of the same kind
// replaces it instead of stacking. On the account page it subscribes this browser to
// Web Push and removes the subscription. Notifications carry no personal data: what,
// where and a link.
(function () {
  "use strict";
  var OPT_IN = "renraku-notify";
  var supported = "Notification" in window && "serviceWorker" in navigator;
  var box = document.getElementById("notify-device");
  var listening = false;

  function registration() {
    return navigator.serviceWorker.register("/staff/sw.js", { scope: "/staff/" }).then(function () {
      return navigator.serviceWorker.ready;
    });
  }

  function show(n) {
    if (Notification.permission !== "granted" || !n || !n.title) {
      return;
    }
    registration().then(function (r) {
      return r.showNotification(n.title, { body: n.body || "", tag: n.kind, renotify: true, data: { link: n.link } });
    });
  }

  // One stream per open page, only once this browser has opted in and allows
  // notifications (browsers allow few open streams per site).
  function listen() {
    if (listening || !supported || !window.EventSource || Notification.permission !== "granted" ||
        window.localStorage.getItem(OPT_IN) !== "on") {
      return;
    }
    listening = true;
    var source = new EventSource("/staff/notifications/events");
    source.addEventListener("open", function () {
      document.documentElement.setAttribute("data-notify", "listening");
    });
    source.addEventListener("notify", function (e) {
      try {
        show(JSON.parse(e.data));
      } catch (err) {
        // A malformed event is dropped.
      }
    });
  }

  function setState(state) {
    if (!box) {
      return;
    }
    var el = document.getElementById("notify-state");
    var text = box.querySelector('[data-state-text="' + state + '"]');
    el.setAttribute("data-state", state);
    if (text) {
      el.textContent = text.textContent;
    }
    document.getElementById("notify-enable").hidden = state === "on" || state === "unsupported";
    document.getElementById("notify-disable").hidden = state !== "on";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": box.getAttribute("data-csrf") },
      body: JSON.stringify(body)
    }).then(function (resp) {
      if (!resp.ok) {
        throw new Error("renraku: " + resp.status);
      }
    });
  }

  function keyBytes(b64) {
    var s = (b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(s);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      out[i] = raw.charCodeAt(i);
    }
    return out;
  }

  // Web Push, when the server has a VAPID key and the browser a push service. A
  // browser without one still shows desktop notifications while renraku is open.
  function subscribe() {
    var key = box.getAttribute("data-key");
    if (!key || !("PushManager" in window)) {
      return Promise.resolve();
    }
    return registration().then(function (r) {
      return r.pushManager.getSubscription().then(function (sub) {
        return sub || r.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      });
    }).then(function (sub) {
      return post(box.getAttribute("data-subscribe"), sub.toJSON());
    }).catch(function () {
      // No push service here (or it refused): desktop notifications only.
    });
  }

  function unsubscribe() {
    if (!("PushManager" in window)) {
      return Promise.resolve();
    }
    return registration().then(function (r) {
      return r.pushManager.getSubscription();
    }).then(function (sub) {
      if (!sub) {
        return null;
      }
      return post(box.getAttribute("data-unsubscribe"), { endpoint: sub.endpoint }).then(function () {
        return sub.unsubscribe();
      });
    }).catch(function () {
      // Nothing to remove.
    });
  }

  if (!box) {
    listen();
    return;
  }
  if (!supported) {
    setState("unsupported");
    return;
  }
  if (Notification.permission === "denied") {
    setState("denied");
  } else if (Notification.permission === "granted" && window.localStorage.getItem(OPT_IN) === "on") {
    setState("on");
    listen();
  } else {
    setState("off");
  }
  document.getElementById("notify-enable").addEventListener("click", function () {
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        setState(permission === "denied" ? "denied" : "off");
        return null;
      }
      window.localStorage.setItem(OPT_IN, "on");
      setState("on");
      listen();
      return subscribe();
    });
  });
  document.getElementById("notify-disable").addEventListener("click", function () {
    window.localStorage.removeItem(OPT_IN);
    unsubscribe().then(function () {
      setState("off");
    });
  });
})();
