// renraku: keeps an open inbox current. The server sends an event when a parent writes
// in a conversation this person may see; htmx then fetches the list again.
(function () {
  "use strict";
  var list = document.getElementById("inbox-list");
  if (!list || !window.EventSource) {
    return;
  }
  var source = new EventSource(list.getAttribute("data-live"));
  source.addEventListener("message", function () {
    document.body.dispatchEvent(new Event("inbox-update"));
  });
})();
