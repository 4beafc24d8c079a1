// Small enhancements; every page works without them. No inline scripts (CSP).
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  // The menu is open in the page (so it shows without JavaScript); on a phone it folds away.
  const menu = document.querySelector("details.menu");
  const phone = window.matchMedia("(max-width: 48rem)");
  if (menu) {
    menu.open = !phone.matches;
    phone.addEventListener("change", () => { menu.open = !phone.matches; });
  }
  // A select marked data-autosubmit sends its form when changed (the language switch).
  for (const form of document.querySelectorAll("form[data-autosubmit]")) {
    for (const field of form.querySelectorAll("select")) {
      field.addEventListener("change", () => form.requestSubmit());
    }
  }
  // <button data-copy="#id"> copies the text of the element it names.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.querySelector(button.dataset.copy);
      if (!source) return;
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = button.dataset.copied || button.textContent;
    });
  }
});

// --- Orders (web/orders/) ------------------------------------------------------
// The order form: runs and interval show only while the drip-feed box is ticked
// (without JS they are always shown, and count only when it is ticked), and a new
// category starts a new search.
(() => {
  const syncDripfeed = () => {
    const box = document.getElementById("id_dripfeed");
    const fields = document.getElementById("dripfeed-fields");
    if (box && fields) fields.hidden = !box.checked;
  };
  document.addEventListener("DOMContentLoaded", syncDripfeed);
  document.addEventListener("htmx:afterSettle", syncDripfeed);
  document.addEventListener("change", (event) => {
    if (event.target.id === "id_dripfeed") syncDripfeed();
    if (event.target.id === "id_category") {
      const search = document.getElementById("id_search");
      if (search) search.value = "";
    }
  });
})();

// --- Console lists ---------------------------------------------------------------
// <input type="checkbox" data-select-all="NAME"> ticks or unticks every checkbox named NAME in
// its form (the rows shown); without JavaScript it is hidden (.js-only) and rows are ticked one by one.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  const scope = box.form || document;
  for (const item of scope.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`)) {
    item.checked = box.checked;
  }
});
