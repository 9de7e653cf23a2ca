// Perio keypad: every value typed once, the cursor moving on in the probing order the page gives (data-order);
// each tooth is saved (its form submitted, which htmx sends: hx-post) when the cursor leaves it. Fields are found
// by id (pd-18-0, gm-18-0) or by name in their tooth's form (b0 ... c5); a field's accessible name is its
// aria-labelledby (the tooth's legend and a site label). Also wires the Print button of the comparison page.
// Without this script the fields are typed and saved per tooth (the page's <noscript> link gives each form its
// CSRF field).
(function () {
  "use strict";

  function wirePrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function wireKeypad(pad) {
    var order = pad.dataset.order.trim().split(/\s+/).map(function (pair) { return pair.split(":"); });
    if (!order.length || !order[0][0]) { return; }
    var state = { mode: "pd", pos: 0, tens: 0, negative: false, last: null };
    var cursor = document.getElementById("perio-cursor");

    function field(mode, index) {
      var spot = order[index];
      return spot ? document.getElementById(mode + "-" + spot[0] + "-" + spot[1]) : null;
    }
    function save(tooth) {
      var form = document.getElementById("tooth-" + tooth);
      if (form && window.htmx) { form.requestSubmit(); }
    }
    function nameOf(input) {
      return input.getAttribute("aria-labelledby").split(" ").map(function (id) {
        var label = document.getElementById(id);
        return label ? label.textContent : "";
      }).join(" ");
    }
    function keypadOnly(root) {  // the on-screen keypad replaces the system keyboard
      root.querySelectorAll(".perio-sites input:not([type=checkbox])").forEach(function (el) {
        el.setAttribute("inputmode", "none");
      });
    }
    function show() {
      document.querySelectorAll(".perio-current").forEach(function (el) { el.classList.remove("perio-current"); });
      var input = field(state.mode, state.pos);
      if (input) {
        input.classList.add("perio-current");
        cursor.textContent = nameOf(input) + (state.tens ? " +10" : "") + (state.negative ? " −" : "");
        input.scrollIntoView({ block: "nearest" });
      } else {
        cursor.textContent = "";
      }
    }
    function moveTo(pos) {
      var before = order[state.pos];
      state.pos = Math.max(0, Math.min(order.length - 1, pos));
      if (before && before[0] !== order[state.pos][0]) { save(before[0]); }
      show();
    }
    function advance() {
      if (state.pos === order.length - 1) { save(order[state.pos][0]); show(); return; }
      moveTo(state.pos + 1);
    }
    function type(digit) {
      var input = field(state.mode, state.pos);
      if (!input) { return; }
      var value = state.tens + digit;
      input.value = String(state.mode === "gm" && state.negative ? -value : value);
      state.tens = 0;
      state.negative = false;
      state.last = state.pos;
      advance();
    }
    function flag(key) {
      var index = state.last === null ? state.pos : state.last;
      var spot = order[index];
      var form = document.getElementById("tooth-" + spot[0]);
      var box = form && form.elements[key + spot[1]];
      if (!box) { return; }
      box.checked = !box.checked;
      if (spot[0] !== order[state.pos][0]) { save(spot[0]); }  // that tooth was saved already: save it again
    }
    function setMode(mode) {
      state.mode = mode;
      pad.querySelectorAll("[data-mode]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.dataset.mode === mode));
      });
      show();
    }

    pad.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      if (button.dataset.digit !== undefined) { type(parseInt(button.dataset.digit, 10)); }
      else if (button.dataset.flag) { flag(button.dataset.flag); }
      else if (button.dataset.mode) { setMode(button.dataset.mode); }
      else if (button.dataset.key === "tens") { state.tens = state.tens ? 0 : 10; show(); }
      else if (button.dataset.key === "minus") { state.negative = !state.negative; show(); }
      else if (button.dataset.key === "back") { state.last = null; moveTo(state.pos - 1); }
      else if (button.dataset.key === "skip") { state.last = null; advance(); }
    });
    // Tapping a depth or margin field moves the cursor there (the on-screen keypad replaces the system keyboard).
    document.addEventListener("focusin", function (event) {
      var parts = /^(pd|gm)-(\d+)-(\d)$/.exec(event.target.id || "");
      if (!parts) { return; }
      for (var i = 0; i < order.length; i += 1) {
        if (order[i][0] === parts[2] && order[i][1] === parts[3]) {
          state.mode = parts[1];
          setMode(state.mode);
          moveTo(i);
          state.last = null;
          return;
        }
      }
    });
    document.body.addEventListener("htmx:afterSwap", function () {
      keypadOnly(document);
      show();
    });
    keypadOnly(document);
    pad.hidden = false;
    show();
  }

  function start() {
    wirePrint();
    var pad = document.getElementById("perio-keypad");
    if (pad) { wireKeypad(pad); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
