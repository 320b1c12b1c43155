// Skip logic on questionnaire forms: a question asked only after a yes to an earlier one (the
// C-SSRS screener's Q3-5 after Q2) is hidden, and its answer cleared, until that one is yes.
// Without this script the questions stay on show, and the server refuses a yes to a question
// that should not have been asked.
(function () {
  "use strict";
  var inputs = document.querySelectorAll("[data-asked-after]");
  Array.prototype.forEach.call(inputs, function (input) {
    var form = input.form;
    var block = input.closest(".field, fieldset") || input;
    var after = form.elements[input.getAttribute("data-asked-after")];
    var skipWhen = input.getAttribute("data-skip-when");
    function update() {
      var skipped = Boolean(after) && (after.value === "" || after.value === skipWhen);
      // CSSOM, not a style attribute: the content security policy allows only our own sheets.
      block.style.display = skipped ? "none" : "";
      if (skipped) {
        if (input.type === "radio") {
          input.checked = false;
        } else {
          input.value = "";
        }
      }
    }
    form.addEventListener("change", update);
    update();
  });
})();
