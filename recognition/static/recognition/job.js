// Follows a job without reloading: polls its status, and the current page of results while it has
// pending rows; stops once the job has ended and the page is complete.
(function () {
  "use strict";
  const section = document.getElementById("job");
  const jobUrl = section.dataset.jobUrl;
  const resultsUrl = section.dataset.resultsUrl;
  const pageSize = 100;
  const finished = new Set(["done", "failed", "cancelled"]);
  let page = 1;
  let pageCount = 1;
  let timer = null;

  const byId = (id) => document.getElementById(id);

  function showJob(job) {
    byId("status").textContent = job.status;
    byId("processed").textContent = job.processed;
    byId("total").textContent = job.total;
    byId("failed").textContent = job.failed;
    const percent = job.total ? Math.floor((100 * job.processed) / job.total) : (finished.has(job.status) ? 100 : 0);
    byId("progress").value = percent;
    byId("percent").textContent = percent + "%";
    const error = byId("job-error");
    error.hidden = !job.error;
    error.textContent = job.error || "";
    byId("cancel").hidden = finished.has(job.status);
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function showResults(data) {
    const body = document.querySelector("#results tbody");
    body.replaceChildren();
    for (const result of data.results) {
      const row = body.insertRow();
      row.className = result.status;
      row.dataset.status = result.status;
      cell(row, result.position + 1);
      const image = row.insertCell();
      if (result.thumbnail_url) {
        const img = document.createElement("img");
        img.src = result.thumbnail_url;
        img.alt = "Thumbnail of " + result.name;
        img.loading = "lazy";
        image.appendChild(img);
      }
      cell(row, result.name, "name");
      if (result.status === "error") {
        const td = cell(row, result.error, "reason");
        td.colSpan = 2;
      } else {
        cell(row, result.status === "done" ? result.digit : "…", "digit");
        cell(row, result.status === "done" ? (100 * result.confidence).toFixed(1) + "%" : "", "confidence");
      }
    }
    pageCount = Math.max(1, Math.ceil(data.count / pageSize));
    byId("page-label").textContent = "Page " + page + " of " + pageCount;
    byId("previous").disabled = page <= 1;
    byId("next").disabled = page >= pageCount;
    return data.results.some((result) => result.status === "pending");
  }

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + " answered " + response.status);
    return response.json();
  }

  async function refresh() {
    timer = null;
    let keepPolling = true;
    try {
      const job = await getJson(jobUrl);
      showJob(job);
      const results = await getJson(resultsUrl + "?page=" + page + "&page_size=" + pageSize);
      const pagePending = showResults(results);
      keepPolling = !finished.has(job.status) || pagePending;
    } catch (error) {
      console.error(error);
    }
    if (keepPolling) timer = setTimeout(refresh, 1000);
    section.dataset.polling = keepPolling ? "yes" : "no";
  }

  function goTo(newPage) {
    page = newPage;
    if (timer) clearTimeout(timer);
    refresh();
  }

  byId("cancel").addEventListener("click", async (event) => {
    const token = document.querySelector("[name=csrfmiddlewaretoken]").value;
    await fetch(event.target.dataset.cancelUrl, { method: "POST", headers: { "X-CSRFToken": token } });
    goTo(page);
  });
  byId("previous").addEventListener("click", () => goTo(page - 1));
  byId("next").addEventListener("click", () => goTo(page + 1));
  refresh();
})();
