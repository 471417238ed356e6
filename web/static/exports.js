// "Export what I see": downloads the export with a progress indicator. GeoJSON arrives
// streamed, so its features are counted as they come against /exports/count; GIS files
// are built first, so the bar waits, then counts bytes.
(function () {
  const form = document.getElementById('export-form');
  if (!form) return;
  const vi = form.dataset.lang !== 'en';
  const t = (a, b) => (vi ? a : b);
  const box = document.getElementById('export-progress');
  const bar = document.getElementById('export-bar');
  const text = document.getElementById('export-text');
  const number = (n) => n.toLocaleString(vi ? 'vi-VN' : 'en-GB');
  const mb = (n) => (n / 1048576).toLocaleString(vi ? 'vi-VN' : 'en-GB', { maximumFractionDigits: 1 }) + ' MB';

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const format = data.get('format');
    data.delete('format');
    const params = new URLSearchParams(data);
    const ext = format === 'shp' ? 'shp.zip' : format;
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    box.hidden = false;
    bar.removeAttribute('value');
    text.textContent = t('Đang đếm…', 'Counting…');
    try {
      const counted = await fetch('/exports/count?' + params, { credentials: 'same-origin' });
      const answer = await counted.json();
      if (!counted.ok) throw new Error(answer.error || counted.statusText);
      const total = answer.features;
      text.textContent = t('Đang tạo tệp: ', 'Building the file: ') + number(total) + t(' đối tượng…', ' features…');
      const response = await fetch('/exports/sites.' + ext + '?' + params, { credentials: 'same-origin' });
      if (!response.ok) {
        const err = await response.json().catch(() => ({}));
        throw new Error(err.error || response.statusText);
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const chunks = [];
      let bytes = 0, seen = 0, tail = '';
      bar.max = total || 1;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        bytes += value.length;
        if (format === 'geojson') {
          const piece = tail + decoder.decode(value, { stream: true });
          seen += piece.split('{"type":"Feature"').length - 1;
          tail = piece.slice(-20);
          bar.value = Math.min(seen, total);
          text.textContent = number(Math.min(seen, total)) + ' / ' + number(total) + ' · ' + mb(bytes);
        } else {
          bar.value = total;
          text.textContent = t('Đang tải: ', 'Downloading: ') + mb(bytes);
        }
      }
      const name = (response.headers.get('content-disposition') || '').match(/filename="([^"]+)"/);
      const url = URL.createObjectURL(new Blob(chunks, { type: response.headers.get('content-type') || '' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = name ? name[1] : 'kvpt-export.' + ext;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      bar.value = bar.max;
      text.textContent = t('Xong: ', 'Done: ') + number(total) + t(' đối tượng, ', ' features, ') + mb(bytes);
      box.dataset.done = 'true';
    } catch (err) {
      text.textContent = t('Không xuất được: ', 'Export failed: ') + err.message;
      box.dataset.error = 'true';
    } finally {
      button.disabled = false;
    }
  });
})();
