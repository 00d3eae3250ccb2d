// renraku: on a school whose LINE channel has a LIFF app, the registration page proves
// that the parent's LINE user is the one the link was sent to. The LIFF SDK gives an ID
// token; the server verifies it at LINE and, when it matches, binds the link to this
// browser. Without that proof the server refuses to save.
// A rich menu page opened through the LIFF app (meta data-open) works the same way, and
// the server answers with the parent's own page to open ({"next": URL}). Reached first
// with liff.state (LINE's first redirect, to the app's endpoint), the page only runs
// liff.init, which goes on to the page liff.state names.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="renraku-liff"]');
  if (!meta || !window.liff) {
    return;
  }
  var status = document.querySelector('[data-testid="liff-status"]');
  function done(state) {
    document.body.setAttribute("data-liff", state);
    if (status) {
      status.textContent = status.getAttribute(state === "verified" ? "data-ok" : "data-ng");
    }
    if (state !== "verified") {
      document.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = true; });
    }
  }
  var forwarding = new URLSearchParams(window.location.search).has("liff.state");
  window.liff.init({ liffId: meta.getAttribute("content") }).then(function () {
    if (forwarding) {
      return null;
    }
    if (!window.liff.isLoggedIn()) {
      window.liff.login({ redirectUri: window.location.href });
      return null;
    }
    return fetch(meta.getAttribute("data-verify"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "id_token=" + encodeURIComponent(window.liff.getIDToken() || ""),
    });
  }).then(function (res) {
    if (!res) {
      return;
    }
    done(res.ok ? "verified" : "refused");
    if (res.ok && meta.hasAttribute("data-open")) {
      return res.json().then(function (j) {
        window.location.replace(j.next);
      });
    }
    if (res.ok && document.querySelector("[data-reload-on-verify]")) {
      window.location.reload();
    }
  }).catch(function () {
    done("error");
  });
})();
