// Brightness, contrast and invert for the picture in the viewer: a CSS filter set through the CSSOM (element.style),
// which the strict CSP allows; the stored image never changes.
(function () {
  "use strict";
  function setUp(toolbar) {
    var image = document.querySelector("[data-zoom-image]");
    if (!image) {
      return;
    }
    var controls = toolbar.querySelectorAll("[data-adjust]");
    function apply() {
      var filter = [];
      controls.forEach(function (control) {
        var name = control.dataset.adjust;
        if (name === "invert") {
          filter.push("invert(" + (control.checked ? 1 : 0) + ")");
        } else {
          filter.push(name + "(" + Number(control.value) / 100 + ")");
        }
      });
      image.style.filter = filter.join(" ");
    }
    controls.forEach(function (control) {
      control.addEventListener("input", apply);
      control.addEventListener("change", apply);
    });
    var reset = toolbar.querySelector("[data-adjust-reset]");
    if (reset) {
      reset.addEventListener("click", function () {
        controls.forEach(function (control) {
          if (control.type === "checkbox") {
            control.checked = false;
          } else {
            control.value = control.defaultValue;
          }
        });
        apply();
      });
    }
  }
  document.querySelectorAll("[data-adjust-toolbar]").forEach(setUp);
})();
