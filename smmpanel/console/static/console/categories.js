// The categories page: drag a row by its handle to order the categories. Without JavaScript the
// up and down buttons do the same. The new order is posted to the page's order URL (CSRF token from
// the hidden form); on an error the page reloads to show the order as saved.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("categories-table");
  const form = document.getElementById("category-order-form");
  if (!table || !form) return;
  const body = table.tBodies[0];
  for (const shown of document.querySelectorAll(".js-only")) shown.hidden = false;
  let dragged = null;
  for (const row of body.rows) {
    row.draggable = true;
    row.addEventListener("dragstart", (event) => {
      dragged = row;
      row.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", row.dataset.category);
    });
    row.addEventListener("dragend", () => { row.classList.remove("dragging"); dragged = null; });
    row.addEventListener("dragover", (event) => {
      if (!dragged || dragged === row) return;
      event.preventDefault();
      const box = row.getBoundingClientRect();
      const after = event.clientY > box.top + box.height / 2;
      body.insertBefore(dragged, after ? row.nextSibling : row);
    });
    row.addEventListener("drop", (event) => { event.preventDefault(); save(); });
  }
  async function save() {
    const order = Array.from(body.rows, (row) => row.dataset.category).join(",");
    const data = new FormData(form);
    data.set("order", order);
    const answer = await fetch(table.dataset.orderUrl, {
      method: "POST", body: data, headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    // The up and down buttons and the row's place are the server's: reload to show them as saved.
    window.location.reload(answer.ok);
  }
});
