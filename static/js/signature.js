// Drawn signatures: pointer events (finger, stylus, mouse) on the canvas, strokes posted as JSON in the
// canvas's own coordinates (600 x 200). The server renders the image from these strokes; the typed name is the
// keyboard and no-script way to sign. Loaded by base.html, so pads arriving in a boosted page (htmx runs no
// script tags) are wired on htmx:load as well as on the first load; each pad is wired once.
(function () {
  "use strict";
  function wire(pad) {
    if (pad.dataset.signatureWired) { return; }
    pad.dataset.signatureWired = "1";
    var canvas = pad.querySelector("canvas");
    var form = pad.closest("form");
    var field = form.querySelector("input[name=strokes]");
    var clear = pad.querySelector(".signature-clear");
    var context = canvas.getContext("2d");
    var strokes = [];
    var current = null;
    context.lineWidth = 3;
    context.lineCap = "round";
    context.lineJoin = "round";
    clear.hidden = false;

    function point(event) {
      var box = canvas.getBoundingClientRect();
      var x = Math.round((event.clientX - box.left) * canvas.width / box.width);
      var y = Math.round((event.clientY - box.top) * canvas.height / box.height);
      return [Math.max(0, Math.min(canvas.width, x)), Math.max(0, Math.min(canvas.height, y))];
    }
    function save() { field.value = strokes.length ? JSON.stringify(strokes) : ""; }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      current = [point(event)];
      strokes.push(current);
      context.beginPath();
      context.moveTo(current[0][0], current[0][1]);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!current) { return; }
      var p = point(event);
      var last = current[current.length - 1];
      if (Math.abs(p[0] - last[0]) + Math.abs(p[1] - last[1]) < 3) { return; }  // keep the post small
      current.push(p);
      context.lineTo(p[0], p[1]);
      context.stroke();
    });
    function end() { if (current) { current = null; save(); } }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    clear.addEventListener("click", function () {
      strokes = [];
      context.clearRect(0, 0, canvas.width, canvas.height);
      save();
    });
  }
  function wireAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-signature-pad]").forEach(wire);
  }
  function start() {
    wireAll(document);
    document.body.addEventListener("htmx:load", function (event) { wireAll(event.target); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
