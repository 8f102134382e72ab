/* Small page behaviours; everything works without them except adding a member row. */
(function () {
  "use strict";
  // A form's summary need not repeat a message already shown at its field.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".alert [data-error-for]").forEach(function (item) {
      var name = item.getAttribute("data-error-for");
      if (document.querySelector('[data-field="' + CSS.escape(name) + '"] .error')) item.remove();
    });
  });
  document.addEventListener("click", function (e) {
    var add = e.target.closest && e.target.closest("[data-add-member]");
    if (!add) return;
    var list = document.getElementById("members");
    var rows = list.querySelectorAll("fieldset.member");
    var last = rows[rows.length - 1];
    var index = rows.length;
    var copy = last.cloneNode(true);
    copy.setAttribute("data-index", String(index));
    copy.querySelector("legend").textContent = "家庭成员 " + (index + 1);
    copy.querySelectorAll("[name]").forEach(function (el) {
      el.name = el.name.replace(/^members\.\d+\./, "members." + index + ".");
      if (el.id) el.id = "f-" + el.name;
      if (el.type === "hidden") return;
      if (el.type === "checkbox") el.checked = false; else el.value = "";
    });
    copy.querySelectorAll("label[for]").forEach(function (el) {
      el.htmlFor = el.htmlFor.replace(/members\.\d+\./, "members." + index + ".");
    });
    copy.querySelectorAll(".error").forEach(function (el) { el.remove(); });
    copy.querySelectorAll(".field.invalid").forEach(function (el) { el.classList.remove("invalid"); });
    list.appendChild(copy);
    copy.querySelector("input").focus();
  });
})();
