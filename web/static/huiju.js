/* Huiju: the one script, and the pages work without it.
   On a narrow screen the filter box starts folded, so results come first. */
(function () {
  "use strict";
  if (!window.matchMedia || !window.matchMedia("(max-width: 50rem)").matches) { return; }
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = document.querySelectorAll("details[data-collapse-narrow]");
    for (var i = 0; i < boxes.length; i++) {
      if (!boxes[i].querySelector("[aria-current]")) { boxes[i].removeAttribute("open"); }
    }
  });
})();
