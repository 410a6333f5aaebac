// Follows a job without reloading: polls its status, and the current page of results while it has
// pending rows; stops once the job has ended and the page is complete. Rows can be corrected from
// the keyboard: on a row read as one digit a digit key sets it; on a line, typing opens a box for the
// whole line (Enter saves it, Escape leaves it; F2 opens it on any row). Enter or the arrow keys move
// between rows.
(function () {
  "use strict";
  const section = document.getElementById("job");
  const jobUrl = section.dataset.jobUrl;
  const resultsUrl = section.dataset.resultsUrl;
  const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const pageSize = 100;
  const finished = new Set(["done", "failed", "cancelled"]);
  let page = 1;
  let timer = null;
  let editing = false; // a correction box is open: the results are not redrawn under it
  let jobEnded = false;
  let reviewThreshold = 0;

  const byId = (id) => document.getElementById(id);
  const reviewOnly = () => byId("review-only").checked;

  function showJob(job) {
    for (const field of ["status", "processed", "total", "failed", "flagged"]) byId(field).textContent = job[field];
    const percent = job.total ? Math.floor((100 * job.processed) / job.total) : (finished.has(job.status) ? 100 : 0);
    byId("progress").value = percent;
    byId("percent").textContent = percent + "%";
    byId("job-error").hidden = !job.error;
    byId("job-error").textContent = job.error || "";
    byId("cancel").hidden = finished.has(job.status);
    byId("reread").hidden = !finished.has(job.status);
    jobEnded = finished.has(job.status);
    reviewThreshold = job.review_threshold;
  }

  // The text read (separators too), each character in its own span; digits less confident than the
  // job's review threshold are marked.
  function readingCell(row, result) {
    const td = row.insertCell();
    td.className = "digit";
    if (result.status !== "done") {
      td.textContent = "…";
      return;
    }
    const digits = result.digits || [{ digit: result.digit, confidence: result.confidence }];
    const characters = result.text ? Array.from(result.text) : digits.map((reading) => String(reading.digit));
    let next = 0;
    for (const character of characters) {
      const span = document.createElement("span");
      span.textContent = character;
      const reading = /[0-9]/.test(character) ? digits[next++] : null;
      if (reading && reading.confidence < reviewThreshold) {
        span.className = "doubtful";
        span.title = "confidence " + (100 * reading.confidence).toFixed(1) + "%";
      }
      td.appendChild(span);
    }
  }

  const isOneDigit = (text) => /^[0-9]$/.test(text || "");

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text === null || text === undefined ? "" : text;
    if (className) td.className = className;
    return td;
  }

  function showRow(body, result) {
    const row = body.insertRow();
    row.className = result.status + (result.needs_review ? " flagged" : "");
    row.dataset.status = result.status;
    row.dataset.id = result.id;
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
      cell(row, result.error, "reason").colSpan = 4;
      return;
    }
    readingCell(row, result);
    cell(row, result.status === "done" ? (100 * result.confidence).toFixed(1) + "%" : "", "confidence");
    cell(row, result.corrected_text, "corrected");
    cell(row, result.model_version, "model");
    if (result.status === "done") {
      row.tabIndex = 0;
      row.dataset.kind = isOneDigit(result.text) ? "digit" : "line";
      const how = row.dataset.kind === "digit" ? "press a digit key to correct" : "type the line to correct it";
      row.setAttribute("aria-label", result.name + ": read as " + result.text + "; " + how);
    }
  }

  function showResults(data) {
    const body = document.querySelector("#results tbody");
    const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.id : null;
    body.replaceChildren();
    data.results.forEach((result) => showRow(body, result));
    if (focusedId) {
      const again = body.querySelector(`tr[data-id="${focusedId}"]`);
      if (again) again.focus();
    }
    const pageCount = Math.max(1, Math.ceil(data.count / pageSize));
    byId("page-label").textContent = "Page " + page + " of " + pageCount;
    byId("previous").disabled = page <= 1;
    byId("next").disabled = page >= pageCount;
    return data.results.some((result) => result.status === "pending");
  }

  // The URL and ETag of what the page shows, per endpoint. Sent back as If-None-Match, the ETag lets
  // the server answer an empty 304 when nothing changed; the page then keeps what it shows.
  const shown = { job: {}, results: {} };
  let pagePending = true;

  // The JSON at url, or null when it is still what `last` describes.
  async function getJsonIfChanged(url, last) {
    const headers = { Accept: "application/json" };
    if (last.url === url && last.etag) headers["If-None-Match"] = last.etag;
    const response = await fetch(url, { headers: headers, cache: "no-store" });
    if (response.status === 304) return null;
    if (!response.ok) throw new Error(url + " answered " + response.status);
    const data = await response.json();
    Object.assign(last, { url: url, etag: response.headers.get("ETag") });
    return data;
  }

  async function refresh() {
    timer = null;
    let keepPolling = true;
    try {
      const job = await getJsonIfChanged(jobUrl, shown.job);
      if (job) showJob(job);
      if (!editing) {
        const review = reviewOnly();
        const query = "?page=" + page + "&page_size=" + pageSize + (review ? "&needs_review=true" : "");
        const results = await getJsonIfChanged(resultsUrl + query, shown.results);
        if (results) pagePending = showResults(results);
        section.dataset.shown = review ? "review" : "all";
      }
      keepPolling = !jobEnded || pagePending;
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

  // Sends the correction; true once stored. A refused one (400) says why in the row's tooltip.
  async function correct(row, text) {
    const response = await fetch(resultsUrl + row.dataset.id + "/", {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ text: text }),
    });
    const answer = await response.json().catch(() => ({ detail: "The server answered " + response.status + "." }));
    if (!response.ok) {
      row.title = Object.values(answer).flat().join(" ");
      return false;
    }
    row.querySelector("td.corrected").textContent = answer.corrected_text;
    row.classList.toggle("corrected", answer.corrected_text !== "");
    row.removeAttribute("title");
    return true;
  }

  // A box in the row's "Corrected" cell for the whole line: Enter saves it and goes to the next row;
  // Escape, or leaving the box, goes back to the row unchanged. The page is not redrawn while it is open.
  function openEditor(row, typed) {
    const td = row.querySelector("td.corrected");
    const before = td.textContent;
    const input = document.createElement("input");
    input.className = "correction";
    input.inputMode = "decimal";
    input.maxLength = 64;
    input.setAttribute("aria-label", "The line the image shows");
    input.value = typed === undefined ? before : typed;
    td.replaceChildren(input);
    editing = true;
    input.focus();
    let saving = false;
    const leave = () => {
      if (!editing || saving) return;
      editing = false;
      td.textContent = before;
    };
    input.addEventListener("blur", leave);
    input.addEventListener("keydown", async (event) => {
      event.stopPropagation();
      if (event.key === "Escape") {
        leave();
        row.focus();
      } else if (event.key === "Enter") {
        event.preventDefault();
        saving = true;
        const saved = await correct(row, input.value.trim()).catch(() => false); // offline: stays open
        saving = false;
        if (saved) {
          editing = false;
          row.focus();
          moveFocus(row, 1);
        } else {
          input.setAttribute("aria-invalid", "true");
          input.title = row.title;
        }
      }
    });
  }

  function moveFocus(row, step) {
    const target = step > 0 ? row.nextElementSibling : row.previousElementSibling;
    if (target && target.tabIndex === 0) target.focus();
  }

  document.querySelector("#results tbody").addEventListener("keydown", (event) => {
    const row = event.target.closest("tr");
    if (!row || row.tabIndex !== 0 || event.target !== row) return;
    if (row.dataset.kind === "digit" && /^[0-9]$/.test(event.key)) {
      event.preventDefault();
      correct(row, event.key);
    } else if (/^[0-9.,-]$/.test(event.key) || event.key === "F2") {
      event.preventDefault();
      openEditor(row, event.key === "F2" ? undefined : event.key);
    } else if (event.key === "Enter" || event.key === "ArrowDown") {
      event.preventDefault();
      moveFocus(row, 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      moveFocus(row, -1);
    }
  });

  byId("cancel").addEventListener("click", async (event) => {
    await fetch(event.target.dataset.cancelUrl, { method: "POST", headers: { "X-CSRFToken": csrfToken } });
    goTo(page);
  });
  // After a new network version is promoted: the whole job, or only the results to review.
  byId("reread").addEventListener("click", async (event) => {
    const response = await fetch(event.target.dataset.rereadUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ flagged_only: reviewOnly() }),
    });
    if (!response.ok) {
      byId("job-error").hidden = false;
      byId("job-error").textContent = "The job could not be read again (" + response.status + ").";
    }
    goTo(page);
  });
  // Deleting is final: the job, its results and every image it stored.
  byId("delete").addEventListener("click", async (event) => {
    if (!window.confirm("Delete this job, its results and all its images? This cannot be undone.")) return;
    const { deleteUrl, homeUrl } = event.target.dataset;
    const response = await fetch(deleteUrl, { method: "DELETE", headers: { "X-CSRFToken": csrfToken } });
    if (response.status === 204) {
      if (timer) clearTimeout(timer);
      window.location.assign(homeUrl);
    } else {
      byId("job-error").hidden = false;
      byId("job-error").textContent = "The job could not be deleted (" + response.status + ").";
    }
  });
  byId("review-only").addEventListener("change", () => goTo(1));
  byId("grid-toggle").addEventListener("click", (event) => {
    const grid = byId("results").classList.toggle("grid");
    event.target.setAttribute("aria-pressed", String(grid));
  });
  byId("previous").addEventListener("click", () => goTo(page - 1));
  byId("next").addEventListener("click", () => goTo(page + 1));
  refresh();
})();
