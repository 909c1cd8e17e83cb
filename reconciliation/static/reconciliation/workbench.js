// Reconciliation workbench: keyboard shortcuts over plain forms (everything works without JS).
//   j / ArrowDown  next proposal      k / ArrowUp  previous proposal
//   c  confirm the selected proposal  x  reject it     o  open the match
//   /  focus the search box            ?  help          Esc  close help
"use strict";
(() => {
  const root = document.querySelector(".recon-workbench");
  if (!root) return;
  const proposals = () => Array.from(root.querySelectorAll(".recon-proposal"));
  const help = document.getElementById("recon-help");
  let current = null;

  function highlightInvoices(proposal) {
    root.querySelectorAll("tr.recon-related").forEach((row) => row.classList.remove("recon-related"));
    if (!proposal) return;
    (proposal.dataset.invoiceIds || "").split(" ").filter(Boolean).forEach((id) => {
      const row = root.querySelector(`tr[data-invoice-id="${id}"]`);
      if (row) row.classList.add("recon-related");
    });
  }

  function select(proposal) {
    if (current) current.classList.remove("recon-selected");
    current = proposal;
    if (!proposal) return;
    proposal.classList.add("recon-selected");
    proposal.focus({ preventScroll: true });
    proposal.scrollIntoView({ block: "nearest" });
    highlightInvoices(proposal);
  }

  function move(step) {
    const list = proposals();
    if (!list.length) return;
    const index = current ? list.indexOf(current) : -1;
    const next = Math.min(list.length - 1, Math.max(0, index + step));
    select(list[index === -1 ? 0 : next]);
  }

  function press(action) {
    if (!current) return;
    const button = current.querySelector(`button[data-action="${action}"]`);
    if (button) {
      button.disabled = true;
      button.form.submit();
    }
  }

  root.addEventListener("focusin", (event) => {
    const proposal = event.target.closest(".recon-proposal");
    if (proposal && proposal !== current) select(proposal);
  });
  root.addEventListener("mouseover", (event) => {
    const proposal = event.target.closest(".recon-proposal");
    if (proposal) highlightInvoices(proposal);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, select, textarea, [contenteditable]");
    if (typing) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (help && help.open && event.key !== "?") return;
    switch (event.key) {
      case "j": case "ArrowDown": move(1); break;
      case "k": case "ArrowUp": move(-1); break;
      case "c": press("confirm"); break;
      case "x": press("reject"); break;
      case "o": if (current) window.location.href = current.dataset.detailUrl; break;
      case "/": {
        const search = document.getElementById("id_q");
        if (search) search.focus();
        break;
      }
      case "?":
        if (help && typeof help.showModal === "function") {
          if (help.open) help.close(); else help.showModal();
        }
        break;
      default: return;
    }
    event.preventDefault();
  });

  // Start on the first proposal, so "c" works straight away after a decision reloads the page.
  const first = proposals()[0];
  if (first) select(first);
})();
