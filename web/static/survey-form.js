// renraku: the survey form (issue 19). The form works without this script: every
// question block shows every field, and 質問を追加 sends the form back with one block
// more. Here the parts a choice does not use are hidden: an attendance check's
// standard questions replace the question blocks, and a question shows only the
// fields of its kind (choices, number range, consent text). Hidden fields keep what
// was typed.
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) {
    return;
  }

  function surveyKind() {
    var checked = form.querySelector('input[name="kind"]:checked');
    if (checked) {
      return checked.value;
    }
    var hidden = form.querySelector('input[name="kind"]');
    return hidden ? hidden.value : "";
  }

  function showKind() {
    var kind = surveyKind();
    form.querySelectorAll("[data-survey-kind]").forEach(function (el) {
      el.hidden = el.getAttribute("data-survey-kind") !== kind;
    });
  }

  function showQuestion(select) {
    var block = select.closest("[data-question]");
    if (!block) {
      return;
    }
    block.querySelectorAll("[data-for-kinds]").forEach(function (el) {
      el.hidden = el.getAttribute("data-for-kinds").split(" ").indexOf(select.value) < 0;
    });
  }

  form.addEventListener("change", function (e) {
    var t = e.target;
    if (t.name === "kind") {
      showKind();
    } else if (t.hasAttribute && t.hasAttribute("data-question-kind")) {
      showQuestion(t);
    }
  });
  if (form.querySelector('input[type="radio"][name="kind"]')) {
    showKind();
  }
  form.querySelectorAll("[data-question-kind]").forEach(showQuestion);
})();
