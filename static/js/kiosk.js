// Kiosk idle timeout: after the configured seconds without a touch or key, post "Start again" so the next
// patient never sees the previous one's check-in (the server drops it after the same time too).
(function () {
  "use strict";
  var kiosk = document.querySelector("[data-kiosk-idle]");
  if (!kiosk) { return; }
  var seconds = parseInt(kiosk.getAttribute("data-kiosk-idle"), 10) || 120;
  var clear = kiosk.querySelector("form.kiosk-clear");
  var timer = null;
  function reset() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { clear.submit(); }, seconds * 1000);
  }
  ["pointerdown", "keydown", "input"].forEach(function (name) { document.addEventListener(name, reset, true); });
  reset();
})();
