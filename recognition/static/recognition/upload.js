// Drag and drop onto the form, and an upload progress bar: the file goes to the REST API with
// XMLHttpRequest (fetch cannot report upload progress), then the browser opens the job's page.
// Without JavaScript the form posts as usual.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  const input = form.querySelector("input[type=file]");
  const zone = document.getElementById("drop-zone");
  const progress = document.getElementById("upload-progress");
  const error = document.getElementById("upload-error");

  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer.files.length) input.files = event.dataTransfer.files;
  });

  form.addEventListener("submit", (event) => {
    if (!input.files.length) return;
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.apiUrl);
    request.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (progressEvent) => {
      if (progressEvent.lengthComputable) progress.value = (100 * progressEvent.loaded) / progressEvent.total;
    });
    request.addEventListener("load", () => {
      const body = JSON.parse(request.responseText || "{}");
      if (request.status === 201) {
        window.location.assign(body.page_url);
      } else {
        error.textContent = body.detail || "The upload failed (" + request.status + ").";
        error.hidden = false;
        progress.hidden = true;
      }
    });
    request.addEventListener("error", () => {
      error.textContent = "The upload could not reach the server.";
      error.hidden = false;
    });
    error.hidden = true;
    progress.hidden = false;
    progress.value = 0;
    const data = new FormData(form);
    data.delete("csrfmiddlewaretoken");
    if (!data.get("review_threshold")) data.delete("review_threshold");
    request.send(data);
  });
})();
