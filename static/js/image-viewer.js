// Zoom and pan for one picture: buttons, mouse wheel, drag, and two-finger pinch on tablets.
// Styles are set through the CSSOM (element.style), which the strict CSP allows; no inline markup styles.
(function () {
  "use strict";
  var MIN = 1, MAX = 8, STEP = 1.25;

  function setUp(viewport) {
    var image = viewport.querySelector("[data-zoom-image]");
    var level = document.querySelector("[data-zoom-level]");
    var state = { scale: 1, x: 0, y: 0 };
    var pointers = new Map();
    var pinch = null;

    function clamp() {
      var w = image.clientWidth, h = image.clientHeight;
      state.x = Math.min(0, Math.max(w - w * state.scale, state.x));
      state.y = Math.min(0, Math.max(h - h * state.scale, state.y));
    }
    function apply() {
      clamp();
      image.style.transform = "translate(" + state.x + "px, " + state.y + "px) scale(" + state.scale + ")";
      viewport.classList.toggle("zoomed", state.scale > 1);
      if (level) { level.textContent = Math.round(state.scale * 100) + "%"; }
    }
    // Zoom by `factor` keeping the point (px, py) of the picture's box where it is on screen.
    function zoomAt(factor, px, py) {
      var next = Math.min(MAX, Math.max(MIN, state.scale * factor));
      var k = next / state.scale;
      state.x = px - (px - state.x) * k;
      state.y = py - (py - state.y) * k;
      state.scale = next;
      apply();
    }
    function local(clientX, clientY) {
      var box = viewport.getBoundingClientRect();
      return [clientX - box.left - image.offsetLeft, clientY - box.top - image.offsetTop];
    }
    function centre() { return [image.clientWidth / 2, image.clientHeight / 2]; }

    document.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        var c = centre();
        if (button.dataset.zoom === "in") { zoomAt(STEP, c[0], c[1]); }
        else if (button.dataset.zoom === "out") { zoomAt(1 / STEP, c[0], c[1]); }
        else { state = { scale: 1, x: 0, y: 0 }; apply(); }
      });
    });
    viewport.addEventListener("wheel", function (event) {
      event.preventDefault();
      var p = local(event.clientX, event.clientY);
      zoomAt(event.deltaY < 0 ? STEP : 1 / STEP, p[0], p[1]);
    }, { passive: false });
    viewport.addEventListener("dblclick", function (event) {
      var p = local(event.clientX, event.clientY);
      zoomAt(state.scale > 1 ? 1 / state.scale : 2, p[0], p[1]);
    });
    viewport.addEventListener("pointerdown", function (event) {
      viewport.setPointerCapture(event.pointerId);
      pointers.set(event.pointerId, [event.clientX, event.clientY]);
      if (pointers.size === 2) {
        var pts = Array.from(pointers.values());
        pinch = { distance: Math.hypot(pts[0][0] - pts[1][0], pts[0][1] - pts[1][1]) };
      }
    });
    viewport.addEventListener("pointermove", function (event) {
      if (!pointers.has(event.pointerId)) { return; }
      var last = pointers.get(event.pointerId);
      pointers.set(event.pointerId, [event.clientX, event.clientY]);
      if (pointers.size === 2 && pinch) {
        var pts = Array.from(pointers.values());
        var distance = Math.hypot(pts[0][0] - pts[1][0], pts[0][1] - pts[1][1]);
        var mid = local((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2);
        if (pinch.distance > 0) { zoomAt(distance / pinch.distance, mid[0], mid[1]); }
        pinch.distance = distance;
      } else if (pointers.size === 1 && state.scale > 1) {
        state.x += event.clientX - last[0];
        state.y += event.clientY - last[1];
        apply();
      }
    });
    function release(event) {
      pointers.delete(event.pointerId);
      if (pointers.size < 2) { pinch = null; }
    }
    viewport.addEventListener("pointerup", release);
    viewport.addEventListener("pointercancel", release);
    window.addEventListener("resize", apply);
    viewport.addEventListener("keydown", function (event) {
      var c = centre(), moves = { ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] };
      if (event.key === "+" || event.key === "=") { zoomAt(STEP, c[0], c[1]); }
      else if (event.key === "-") { zoomAt(1 / STEP, c[0], c[1]); }
      else if (event.key === "0") { state = { scale: 1, x: 0, y: 0 }; apply(); }
      else if (moves[event.key] && state.scale > 1) {
        state.x += moves[event.key][0];
        state.y += moves[event.key][1];
        apply();
      } else { return; }
      event.preventDefault();
    });
    viewport.dataset.ready = "true";
  }

  document.querySelectorAll("[data-zoom-viewport]").forEach(setUp);
})();
