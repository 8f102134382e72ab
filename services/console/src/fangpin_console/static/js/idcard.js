/* Resident ID (GB 11643-1999) checked as it is typed: shape, birth date and the check digit.
   The service checks the same again; this only spares a round trip. Also fills in the
   birth date and sex the number encodes, when those are still empty. */
(function () {
  "use strict";
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  function checkDigit(first17) {
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
    return CHECK[sum % 11];
  }

  function problem(value) {
    if (!/^\d{17}[\dX]$/.test(value)) return "身份证号应为18位，前17位为数字，最后一位为数字或X";
    var y = Number(value.slice(6, 10)), m = Number(value.slice(10, 12)), d = Number(value.slice(12, 14));
    var born = new Date(Date.UTC(y, m - 1, d));
    if (born.getUTCFullYear() !== y || born.getUTCMonth() !== m - 1 || born.getUTCDate() !== d)
      return "身份证号中的出生日期 " + value.slice(6, 14) + " 不是有效日期";
    var expected = checkDigit(value.slice(0, 17));
    if (value[17] !== expected) return "身份证号校验位错误：应为 " + expected + "，实为 " + value[17];
    return null;
  }

  function messageBox(field) {
    var box = field.querySelector(".error[data-local]");
    if (!box) {
      box = document.createElement("div");
      box.className = "error";
      box.setAttribute("data-local", "");
      box.setAttribute("role", "alert");
      field.appendChild(box);
    }
    return box;
  }

  function fill(input, value) {
    var fieldset = input.closest("fieldset");
    if (!fieldset) return;
    var birth = fieldset.querySelector('input[name$=".birth_date"]');
    var sex = fieldset.querySelector('select[name$=".sex"]');
    if (birth && !birth.value) birth.value = value.slice(6, 10) + "-" + value.slice(10, 12) + "-" + value.slice(12, 14);
    if (sex && !sex.value) sex.value = Number(value[16]) % 2 === 1 ? "男" : "女";
  }

  function check(input, final) {
    var value = input.value.trim().toUpperCase();
    if (input.value !== value) input.value = value;
    var field = input.closest(".field");
    var box = messageBox(field);
    var server = field.querySelector(".error:not([data-local])");
    // Partial input is only judged when complete or when the person leaves the field.
    var reason = value.length === 18 || (final && value) ? problem(value) : null;
    box.textContent = reason || "";
    box.hidden = !reason;
    if (server && (value.length === 18 || reason)) server.hidden = true;
    field.classList.toggle("invalid", !!reason);
    input.setCustomValidity(reason || "");
    if (!reason && value.length === 18) fill(input, value);
  }

  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("input[data-idcard]")) check(e.target, false);
  });
  document.addEventListener("focusout", function (e) {
    if (e.target.matches && e.target.matches("input[data-idcard]")) check(e.target, true);
  });
  window.fangpinIdCard = { problem: problem, checkDigit: checkDigit };
})();
