// The calendar grids (day and week): one delegated handler for every slot and card, and moving appointments.
// Cells carry only what differs: a free slot its place (rs-/cs- classes) and name, a card its link and, when it can
// move, its provider and chair. Times come from the row labels (data-t), chairs and days from the column heads
// (data-chair, data-date), URLs from the grid (data-book, data-pick-up): nothing is repeated per slot.
// Tapping a slot opens the booking dialog, tapping a card opens its card (both into #dialog, as hx-get did).
// Moving: drag a card onto a place (pointer events, so touch, pen and mouse alike; the target is found by position,
// so it works where no slot element is, e.g. under other cards and on the week grid), or press "m" on a focused
// card to pick it up and choose a "Move here" slot with Tab and Enter. Both end in the same POST as the card's Move
// form (the boosted #move-form), so the same scheduling rule decides.
(function () {
  "use strict";
  if (window.chairsideCalendarGrid) {
    return; // htmx runs this again after each boosted page swap; the listeners below are on the document
  }
  window.chairsideCalendarGrid = true;
  var THRESHOLD = 10; // pixels before a press becomes a drag (a tap still opens the card)
  var EDGE = 40;
  var drag = null;
  var swallowClick = false;

  function placeOf(element, prefix) { // "cal-slot rs-12 cs-3", "rs" -> 12
    var found = element.className.match(new RegExp("(?:^|\\s)" + prefix + "-(\\d+)(?:\\s|$)"));
    return found ? parseInt(found[1], 10) : 0;
  }

  function rowLabel(grid, row) {
    return grid.querySelector(".cal-time.rs-" + row);
  }

  function columnHead(grid, column) {
    return grid.querySelector(".cal-head.cs-" + column);
  }

  function cellAt(grid, x, y) { // [row, column] under a point, from the row labels and column heads
    var row = 0;
    var column = 0;
    grid.querySelectorAll(".cal-time").forEach(function (label) {
      var box = label.getBoundingClientRect();
      if (y >= box.top && y < box.bottom) {
        row = placeOf(label, "rs");
      }
    });
    grid.querySelectorAll(".cal-head").forEach(function (head) {
      var box = head.getBoundingClientRect();
      if (x >= box.left && x < box.right) {
        column = placeOf(head, "cs");
      }
    });
    return row && column ? [row, column] : null;
  }

  function mark(cell) { // one outline the size of the card shows where it would land
    var key = cell ? cell.join(",") : "";
    if (drag.key === key) {
      return;
    }
    drag.key = key;
    drag.cell = cell;
    if (!cell) {
      drag.marker.remove();
      return;
    }
    var rows = drag.grid.querySelectorAll(".cal-time").length + 1;
    var span = Math.max(1, Math.min(placeOf(drag.card, "re"), rows - cell[0] + 1));
    drag.marker.className = "cal-drop rs-" + cell[0] + " re-" + span + " cs-" + cell[1];
    drag.grid.appendChild(drag.marker);
  }

  function finish() {
    if (drag) {
      drag.marker.remove();
      drag.card.classList.remove("dragging");
      drag = null;
    }
  }

  function submit(grid, card, cell) {
    var form = document.getElementById("move-form");
    var label = rowLabel(grid, cell[0]);
    var head = columnHead(grid, cell[1]);
    if (!form || !label || !head) {
      return;
    }
    var pick = form.querySelector("input[name=pick]");
    if (!pick) {
      pick = document.createElement("input");
      pick.type = "hidden";
      pick.name = "pick";
      form.appendChild(pick);
    }
    form.setAttribute("action", card.getAttribute("href") + "/move");
    if (window.htmx) {
      window.htmx.process(form); // htmx's boost read the action when the page loaded: let it read the new one
    }
    pick.value = [head.dataset.date || grid.dataset.date, label.dataset.t, head.dataset.chair || card.dataset.chair,
      card.dataset.provider].join("|");
    form.requestSubmit();
  }

  document.addEventListener("pointerdown", function (event) {
    swallowClick = false; // a touch drag is followed by no click at all: never swallow the next tap's
    var card = event.target.closest && event.target.closest(".cal-appt[data-provider]");
    if (card && event.isPrimary && event.button <= 0) {
      drag = { card: card, grid: card.closest(".cal-grid"), x: event.clientX, y: event.clientY, id: event.pointerId,
        moving: false, cell: null, key: "", marker: document.createElement("div") };
      drag.marker.setAttribute("aria-hidden", "true");
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
    mark(cellAt(drag.grid, event.clientX, event.clientY));
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
      if (drag.cell) {
        submit(drag.grid, drag.card, drag.cell);
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

  // One handler for every free slot and card of a grid that opens dialogs (the day grid's data-book).
  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest(".cal-slot:not([type=submit]), .cal-appt");
    var grid = target && target.closest(".cal-grid[data-book]");
    if (!grid || event.defaultPrevented || event.button > 0 || event.ctrlKey || event.metaKey || event.shiftKey ||
        event.altKey) {
      return; // a new tab or window gets the plain link
    }
    var url = target.getAttribute("href");
    if (!url) {
      var label = rowLabel(grid, placeOf(target, "rs"));
      var head = columnHead(grid, placeOf(target, "cs"));
      if (!label || !head) {
        return;
      }
      url = grid.dataset.book + "&time=" + label.dataset.t + "&chair=" + head.dataset.chair;
    }
    event.preventDefault();
    if (window.htmx) {
      window.htmx.ajax("GET", url, { source: target, target: "#dialog", swap: "outerHTML" });
    } else {
      window.location.assign(url);
    }
  });

  document.addEventListener("dragstart", function (event) {
    if (event.target.closest && event.target.closest(".cal-appt[data-provider]")) {
      event.preventDefault(); // a link's native drag would cancel the pointer events
    }
  });

  document.addEventListener("keydown", function (event) {
    var card = event.target.closest && event.target.closest(".cal-appt[data-provider]");
    var grid = card && card.closest(".cal-grid[data-pick-up]");
    if (grid && event.key === "m" && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      var id = card.getAttribute("href").split("/").pop();
      var head = columnHead(grid, placeOf(card, "cs"));
      var day = head && head.dataset.date ? "&date=" + head.dataset.date : "";
      window.location.assign(grid.dataset.pickUp + id + day);
    }
  });
})();
