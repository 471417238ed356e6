// Imports: the upload shows its progress in bytes, then the check's progress in rows
// until the report opens. Without this script the form posts normally and the job page
// refreshes itself.
(function () {
  "use strict";
  const form = document.getElementById("import-form");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const box = document.getElementById("import-upload");
      const bar = document.getElementById("import-upload-bar");
      const text = document.getElementById("import-upload-text");
      box.hidden = false;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          bar.max = e.total;
          bar.value = e.loaded;
          text.textContent = Math.round((100 * e.loaded) / e.total) + "%";
        }
      });
      xhr.addEventListener("load", () => {
        if (xhr.status < 400 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
        } else {
          document.open();
          document.write(xhr.responseText);
          document.close();
        }
      });
      xhr.addEventListener("error", () => {
        text.textContent = form.dataset.lang === "en" ? "The upload failed." : "Tải lên thất bại.";
      });
      xhr.send(new FormData(form));
    });
  }
  const job = document.getElementById("import-job");
  if (job) {
    const lang = job.dataset.lang;
    const stages = lang === "en"
      ? ["reading", "checking", "writing", "done"]
      : ["Đọc tệp", "Kiểm tra", "Ghi", "Xong"];
    const tick = async () => {
      try {
        const res = await fetch("/api/imports/jobs/" + job.dataset.job, { credentials: "same-origin" });
        if (res.ok) {
          const s = await res.json();
          document.getElementById("import-stage").textContent = stages[s.stage] || "";
          const bar = document.getElementById("import-bar");
          bar.max = Math.max(1, s.total);
          bar.value = s.done;
          document.getElementById("import-count").textContent = s.done + " / " + s.total;
          if (s.report) {
            window.location.assign(s.report + "?lang=" + lang);
            return;
          }
          if (s.error) {
            window.location.reload();
            return;
          }
        }
      } catch (e) {
        // The page's own refresh takes over.
      }
      setTimeout(tick, 400);
    };
    tick();
  }
})();
