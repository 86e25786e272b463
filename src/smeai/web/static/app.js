/* smeai's own script (no framework; htmx does the rest). Three jobs, each on every page:
   - the phone menu: a button that opens and closes the navigation (below 760 px);
   - confirmation before a destructive action: a form or button with data-confirm="question" asks first;
   - tables that become cards on phones: each cell gets its column's heading as data-label. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-menu]");
    if (!button) return;
    var header = button.closest("header");
    var open = header.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Capture phase on the document: runs before htmx's own listeners, so a cancelled submit goes nowhere.
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // The heading row is the table's thead, or else its first row when that row holds only <th> cells.
  function headingRow(table) {
    var row = table.tHead ? table.tHead.rows[0] : table.rows[0];
    if (!row) return null;
    var all = Array.prototype.every.call(row.cells, function (cell) { return cell.tagName === "TH"; });
    return all ? row : null;
  }
  function labelTables(root) {
    var tables = root.querySelectorAll ? root.querySelectorAll("table.data") : [];
    Array.prototype.forEach.call(tables, function (table) {
      var head = headingRow(table);
      if (!head) return;
      head.classList.add("head");
      var heads = [];
      Array.prototype.forEach.call(head.cells, function (th) {
        for (var i = 0; i < (th.colSpan || 1); i++) heads.push(th.textContent.trim());
      });
      Array.prototype.forEach.call(table.rows, function (row) {
        if (row === head || row.parentNode.tagName === "THEAD") return;
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (heads[column] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[column]);
          column += cell.colSpan || 1;
        });
      });
      table.classList.add("cards");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { labelTables(document); });
  document.addEventListener("htmx:afterSettle", function () { labelTables(document); });
})();
