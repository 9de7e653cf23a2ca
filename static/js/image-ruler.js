// The X-ray viewer's ruler: drag a line across the picture (or tap its two ends) and read its length, in mm when
// the DICOM header gave a pixel spacing (data-spacing-row/-column, mm per pixel), in pixels otherwise. The line is
// kept in the image's own pixels, so zooming and panning (image-viewer.js) move it with the picture. Pointer events
// serve touch, pen and mouse alike; no inline script or style (the strict CSP), styles through classes and the CSSOM.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var TAP = 6;  // screen px a finger may wander and still count as a tap

  function svg(name, className) {
    var element = document.createElementNS(SVG, name);
    element.setAttribute("class", className);
    return element;
  }

  function setUp(viewport) {
    var image = viewport.querySelector("[data-zoom-image]");
    var toggle = document.querySelector("[data-ruler-toggle]");
    var output = document.querySelector("[data-ruler-length]");
    if (!image || !toggle || !output) { return; }
    var width = Number(viewport.dataset.width), height = Number(viewport.dataset.height);
    var rowMm = Number(viewport.dataset.spacingRow), columnMm = Number(viewport.dataset.spacingColumn);
    var calibrated = rowMm > 0 && columnMm > 0;
    var hint = output.textContent;
    var number = new Intl.NumberFormat(document.documentElement.lang || undefined,
                                       { minimumFractionDigits: calibrated ? 1 : 0,
                                         maximumFractionDigits: calibrated ? 1 : 0 });
    var layer = svg("svg", "ruler-layer");
    layer.setAttribute("aria-hidden", "true");
    var line = svg("line", "ruler-line"), label = svg("text", "ruler-label");
    var ends = [svg("circle", "ruler-end"), svg("circle", "ruler-end")];
    ends.forEach(function (end) { end.setAttribute("r", "6"); layer.appendChild(end); });
    layer.appendChild(line);
    layer.appendChild(label);
    viewport.appendChild(layer);
    var start = null, end = null, pointer = null, down = null;

    // Screen point -> image pixel (clamped to the picture), and back, through the picture's box as now transformed.
    function toImage(clientX, clientY) {
      var box = image.getBoundingClientRect();
      return [Math.min(width, Math.max(0, (clientX - box.left) * width / box.width)),
              Math.min(height, Math.max(0, (clientY - box.top) * height / box.height))];
    }
    function toLayer(point) {
      var box = image.getBoundingClientRect(), frame = viewport.getBoundingClientRect();
      return [box.left - frame.left + point[0] * box.width / width, box.top - frame.top + point[1] * box.height / height];
    }
    function length() {
      var dx = end[0] - start[0], dy = end[1] - start[1];
      return calibrated ? Math.hypot(dx * columnMm, dy * rowMm) : Math.hypot(dx, dy);
    }
    function draw() {
      layer.classList.toggle("shown", start !== null);
      if (start === null) { return; }
      var a = toLayer(start), b = toLayer(end || start);
      ends[0].setAttribute("cx", a[0]); ends[0].setAttribute("cy", a[1]);
      ends[1].setAttribute("cx", b[0]); ends[1].setAttribute("cy", b[1]);
      line.setAttribute("x1", a[0]); line.setAttribute("y1", a[1]);
      line.setAttribute("x2", b[0]); line.setAttribute("y2", b[1]);
      var text = end ? (calibrated ? viewport.dataset.rulerMm : viewport.dataset.rulerPx)
        .replace("{length}", number.format(length())) : "";
      label.textContent = text;
      label.setAttribute("x", (a[0] + b[0]) / 2 + 8);
      label.setAttribute("y", (a[1] + b[1]) / 2 - 8);
      if (end) { output.textContent = text; }
    }
    function clear() {
      start = end = pointer = down = null;
      output.textContent = hint;
      draw();
    }

    toggle.addEventListener("click", function () {
      var on = toggle.getAttribute("aria-pressed") !== "true";
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
      viewport.classList.toggle("measuring", on);
      clear();
    });
    // While measuring, the layer takes the pointer, and its events stop here: the viewer does not pan under them.
    layer.addEventListener("pointerdown", function (event) {
      event.stopPropagation();
      if (pointer !== null) { return; }  // one finger measures; a second is ignored
      pointer = event.pointerId;
      layer.setPointerCapture(pointer);
      down = [event.clientX, event.clientY];
      if (start === null || end !== null || !layer.classList.contains("pending")) {
        start = toImage(event.clientX, event.clientY);
        end = null;
      }
      draw();
    });
    layer.addEventListener("pointermove", function (event) {
      event.stopPropagation();
      if (event.pointerId !== pointer) { return; }
      if (Math.hypot(event.clientX - down[0], event.clientY - down[1]) < TAP && !end) { return; }
      end = toImage(event.clientX, event.clientY);
      layer.classList.remove("pending");
      draw();
    });
    function release(event) {
      event.stopPropagation();
      if (event.pointerId !== pointer) { return; }
      pointer = null;
      var tapped = Math.hypot(event.clientX - down[0], event.clientY - down[1]) < TAP;
      if (tapped && layer.classList.contains("pending")) {  // the second tap of a two-tap measurement
        end = toImage(event.clientX, event.clientY);
        layer.classList.remove("pending");
      } else if (tapped && !end) {  // the first tap: the next one ends the line
        layer.classList.add("pending");
      }
      draw();
    }
    layer.addEventListener("pointerup", release);
    layer.addEventListener("pointercancel", function (event) {
      event.stopPropagation();
      if (event.pointerId === pointer) { pointer = null; }
    });
    // Two quick taps are a measurement here, not the viewer's double-tap zoom.
    layer.addEventListener("dblclick", function (event) { event.stopPropagation(); });
    new MutationObserver(draw).observe(image, { attributes: true, attributeFilter: ["style"] });
    window.addEventListener("resize", draw);
    viewport.dataset.rulerReady = "true";
  }

  document.querySelectorAll("[data-ruler]").forEach(setUp);
})();
