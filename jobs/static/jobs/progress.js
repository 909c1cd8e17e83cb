// Jobs in the back office: progress bars follow the work without a page reload.
// Every second, while a job on the page is queued or running, ask the jobs admin's
// progress view (JSON) for those jobs and update their bars; stop when none is active.
"use strict";
(() => {
  const POLL_MS = 1000;
  const ACTIVE = new Set(["queued", "running"]);
  const bars = () => Array.from(document.querySelectorAll(".job-progress[data-job-id]"));
  const activeIds = () =>
    bars().filter((el) => ACTIVE.has(el.dataset.jobStatus)).map((el) => el.dataset.jobId);
  const progressUrl = () => {
    const match = window.location.pathname.match(/^(.*\/jobs\/job\/)/);
    return match ? `${match[1]}progress/` : null;
  };

  function update(id, job) {
    for (const el of bars().filter((bar) => bar.dataset.jobId === id)) {
      el.dataset.jobStatus = job.status;
      const bar = el.querySelector("progress");
      if (job.percent === null) bar.removeAttribute("value");
      else bar.value = job.percent;
      el.querySelector(".job-progress-text").textContent = job.text;
      const row = el.closest("tr");
      const status = row && row.querySelector("td.field-status");
      if (status) status.textContent = job.status_label;
    }
  }

  async function poll() {
    const ids = activeIds();
    const url = progressUrl();
    if (!ids.length || !url) return;
    try {
      const response = await fetch(`${url}?ids=${ids.join(",")}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const { jobs } = await response.json();
        for (const [id, job] of Object.entries(jobs)) update(id, job);
      }
    } catch (error) {
      // A lost connection: try again at the next tick.
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => window.setTimeout(poll, POLL_MS));
})();
