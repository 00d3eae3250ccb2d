// renraku's service worker for the staff pages (served as /staff/sw.js, scope /staff/).
// It shows Web Push notifications and the desktop notifications the open pages hand it,
// with the kind as tag, so a newer notification of a kind replaces the older one. A
// notification carries only what, where and a link into the staff pages; clicking it
// opens that page, where the person signs in if needed. It handles no requests.
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", function (event) {
  var n = {};
  try {
    n = event.data ? event.data.json() : {};
  } catch (err) {
    n = {};
  }
  event.waitUntil(self.registration.showNotification(n.title || "renraku", {
    body: n.body || "",
    tag: n.kind || "renraku",
    renotify: true,
    data: { link: n.link || "/staff/" }
  }));
});

// safeLink keeps a click inside renraku's staff pages.
function safeLink(link) {
  if (typeof link !== "string" || link.indexOf("/staff/") !== 0) {
    return "/staff/";
  }
  return link;
}

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var link = safeLink(event.notification.data && event.notification.data.link);
  var target = new URL(link, self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === target && "focus" in list[i]) {
        return list[i].focus();
      }
    }
    return self.clients.openWindow(link);
  }));
});
