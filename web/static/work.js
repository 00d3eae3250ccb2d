// work.js keeps the browser tab's title in step with the work queue on the staff home
// page: when htmx has swapped in a fresh queue (fetched on the work-changed event), the
// title's "(n) " prefix follows the queue's data-work-total. No inline script: the
// Content-Security-Policy forbids it.
(function () {
  'use strict';
  function sync() {
    var el = document.getElementById('work-queue');
    if (!el) {
      return;
    }
    var n = parseInt(el.getAttribute('data-work-total') || '0', 10);
    var base = document.title.replace(/^\(\d+\) /, '');
    document.title = n > 0 ? '(' + n + ') ' + base : base;
  }
  document.addEventListener('htmx:afterSettle', sync);
  document.addEventListener('DOMContentLoaded', sync);
})();
