// renraku: live updates of staff pages. A page that wants them has an element with
// data-live-page; this opens one event stream (/staff/live) for it and tells the page
// of every change as DOM events on document.body:
//   live-<kind>   (message, reply, conversation_state, absence, absence_ack,
//                  registration, registration_decided, delivery, survey_answer) with
//                 the event's data in detail: {conversation: ID, staff: ID or 0[, change]
//                 [, survey]} — IDs only;
//   work-changed  for any of them but survey_answer (detail: {kind, conversation, staff});
//   live-open     when the stream (re)connects (detail: {reconnect}), so a page can
//                 catch up on what it may have missed.
// A dropped stream reconnects by EventSource's own retry. A stream the server refused
// (say 503 while the database is away) is closed for good by the browser: a new one is
// opened after a while.
(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector("[data-live-page]")) {
    return;
  }
  var kinds = ["message", "reply", "conversation_state", "absence", "absence_ack",
    "registration", "registration_decided", "delivery", "survey_answer"];
  var body = document.body;
  var opened = false;

  function tell(name, detail) {
    body.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function connect() {
    var source = new EventSource("/staff/live");
    source.addEventListener("open", function () {
      body.setAttribute("data-live", "open");
      tell("live-open", { reconnect: opened });
      opened = true;
    });
    source.addEventListener("error", function () {
      body.setAttribute("data-live", "closed");
      if (source.readyState === EventSource.CLOSED) {
        window.setTimeout(connect, 15000);
      }
    });
    kinds.forEach(function (kind) {
      source.addEventListener(kind, function (ev) {
        var data = {};
        try {
          data = JSON.parse(ev.data) || {};
        } catch (e) {
          data = {};
        }
        tell("live-" + kind, data);
        if (kind === "survey_answer") {
          return; // only a survey's results page waits for answers, not the work queue
        }
        tell("work-changed", { kind: kind, conversation: data.conversation || 0, staff: data.staff || 0 });
      });
    });
  }
  connect();
})();
