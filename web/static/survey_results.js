// survey_results.js keeps a survey's results page in step with the answers: live.js
// tells the page of every survey_answer event (IDs only); for this page's survey the
// results section is fetched again (at most once a second, however fast answers come)
// and swapped in by htmx. A reconnected stream fetches it too, for what it missed. No
// inline script: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  var timer = null;
  var again = false;

  function section() {
    return document.getElementById("survey-results");
  }

  function refresh() {
    var el = section();
    if (!el || !window.htmx) {
      return;
    }
    if (timer) {
      again = true;
      return;
    }
    window.htmx.ajax("GET", el.getAttribute("data-rows-url"), { target: "#survey-results", swap: "outerHTML" });
    timer = window.setTimeout(function () {
      timer = null;
      if (again) {
        again = false;
        refresh();
      }
    }, 1000);
  }

  document.body.addEventListener("live-survey_answer", function (ev) {
    var el = section();
    if (el && ev.detail && String(ev.detail.survey) === el.getAttribute("data-survey")) {
      refresh();
    }
  });
  document.body.addEventListener("live-open", function (ev) {
    if (ev.detail && ev.detail.reconnect) {
      refresh();
    }
  });
})();
