// Move an appointment on the day grid: drag it onto a slot (pointer events, so touch, pen and mouse alike), or
// press "m" on a focused appointment to pick it up and choose a "Move here" slot with Tab and Enter.
// Both end in the same POST as the card's Move form (the boosted #move-form), so the same scheduling rule decides.
(function () {
  "use strict";
  if (window.chairsideCalendarMove) {
    return; // htmx runs this again after each boosted page swap; the listeners below are on the document
  }
  window.chairsideCalendarMove = true;
  var THRESHOLD = 10; // pixels before a press becomes a drag (a tap still opens the card)
  var EDGE = 40;
  var drag = null;
  var swallowClick = false;

  function slotAt(x, y) {
    var stack = document.elementsFromPoint(x, y);
    for (var i = 0; i < stack.length; i++) {
      if (stack[i].matches(".cal-slot[data-time]")) {
        return stack[i];
      }
    }
    return null;
  }

  function mark(slot) {
    if (drag.target === slot) {
      return;
    }
    if (drag.target) {
      drag.target.classList.remove("drop-target");
    }
    drag.target = slot;
    if (slot) {
      slot.classList.add("drop-target");
    }
  }

  function finish() {
    if (drag) {
      mark(null);
      drag.card.classList.remove("dragging");
      drag = null;
    }
  }

  function submit(card, slot) {
    var form = document.getElementById("move-form");
    var grid = slot.closest(".cal-grid");
    if (!form || !grid) {
      return;
    }
    var pick = form.querySelector("input[name=pick]");
    if (!pick) {
      pick = document.createElement("input");
      pick.type = "hidden";
      pick.name = "pick";
      form.appendChild(pick);
    }
    form.setAttribute("action", card.dataset.move);
    if (window.htmx) {
      window.htmx.process(form); // htmx's boost read the action when the page loaded: let it read the new one
    }
    pick.value = [grid.dataset.date, slot.dataset.time, slot.dataset.chair, card.dataset.provider].join("|");
    form.requestSubmit();
  }

  document.addEventListener("pointerdown", function (event) {
    swallowClick = false; // a touch drag is followed by no click at all: never swallow the next tap's
    var card = event.target.closest && event.target.closest(".cal-appt[data-move]");
    if (card && event.isPrimary && event.button <= 0) {
      drag = { card: card, x: event.clientX, y: event.clientY, id: event.pointerId, moving: false, target: null };
    }
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.id) {
      return;
    }
    if (!drag.moving) {
      if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) < THRESHOLD) {
        return;
      }
      drag.moving = true;
      drag.card.classList.add("dragging");
      drag.card.setPointerCapture(event.pointerId);
    }
    event.preventDefault();
    if (event.clientY > window.innerHeight - EDGE) {
      window.scrollBy(0, EDGE / 2); // near the bottom or top edge the page follows the finger
    } else if (event.clientY < EDGE) {
      window.scrollBy(0, -EDGE / 2);
    }
    mark(slotAt(event.clientX, event.clientY));
  });

  document.addEventListener("pointerup", function (event) {
    if (!drag || event.pointerId !== drag.id) {
      return;
    }
    if (drag.moving) {
      // The click a mouse sends right after a drag must not open the card. A finger sends none, so nothing is
      // swallowed then, and the flag never outlives this gesture (it once ate the next tap on the card).
      swallowClick = event.pointerType === "mouse";
      setTimeout(function () { swallowClick = false; }, 0);
      if (drag.target) {
        submit(drag.card, drag.target);
      }
    }
    finish();
  });

  document.addEventListener("pointercancel", finish);

  document.addEventListener("click", function (event) {
    if (swallowClick) {
      swallowClick = false;
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("dragstart", function (event) {
    if (event.target.closest && event.target.closest(".cal-appt[data-move]")) {
      event.preventDefault(); // a link's native drag would cancel the pointer events
    }
  });

  document.addEventListener("keydown", function (event) {
    var card = event.target.closest && event.target.closest(".cal-appt[data-pick-up]");
    if (card && event.key === "m" && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      window.location.assign(card.dataset.pickUp);
    }
  });
})();
