/* Review queue keyboard shortcuts: j / k next and previous row, Enter or o open it, x tick it for
   "approve selected". The queue works without this script (links, checkboxes and the form post as
   they are); keys typed into a text field, a select or with a modifier are left alone. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var table = document.getElementById("queue-table");
    if (!table) { return; }
    var rows = table.querySelectorAll("tbody tr");
    var current = -1;

    function typing(el) {
      if (!el || !el.tagName) { return false; }
      var tag = el.tagName.toLowerCase();
      if (tag === "textarea" || tag === "select" || el.isContentEditable) { return true; }
      return tag === "input" && !/^(checkbox|radio|button|submit|reset)$/i.test(el.type || "");
    }

    function move(to) {
      if (!rows.length) { return; }
      to = Math.max(0, Math.min(rows.length - 1, to));
      if (current >= 0) { rows[current].classList.remove("current"); rows[current].removeAttribute("aria-current"); }
      current = to;
      rows[current].classList.add("current");
      rows[current].setAttribute("aria-current", "true");
      var link = rows[current].querySelector("a");
      if (link) { link.focus(); }
    }

    function open() {
      var link = current >= 0 ? rows[current].querySelector("a") : null;
      if (link) { window.location.href = link.href; }
    }

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
      var key = event.key;
      var on = event.target.tagName ? event.target.tagName.toLowerCase() : "";
      if (key === "j") {
        move(current + 1);
      } else if (key === "k") {
        move(current < 0 ? 0 : current - 1);
      } else if (key === "o" || (key === "Enter" && current >= 0 && on !== "a" && on !== "button")) {
        open();  /* Enter on the focused link opens it without us */
      } else if (key === "x" && current >= 0) {
        var box = rows[current].querySelector("input[type=checkbox]");
        if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
      } else {
        return;
      }
      event.preventDefault();
    });
  });
})();
