// The services list: a box in the heading ticks every service shown, and the bulk form shows only
// the fields of the chosen action. Without JavaScript every field shows, and "every service
// matching the filter" stands in for ticking them all.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-shown");
  const boxes = () => document.querySelectorAll('input[name="services"][form="bulk-form"]');
  if (all) {
    all.hidden = false;
    all.addEventListener("change", () => { for (const box of boxes()) box.checked = all.checked; });
  }
  const action = document.getElementById("id_action");
  const parts = document.querySelectorAll(".bulk-part");
  const sync = () => { for (const part of parts) part.hidden = part.dataset.for !== action.value; };
  if (action) {
    action.addEventListener("change", sync);
    sync();
  }
});
