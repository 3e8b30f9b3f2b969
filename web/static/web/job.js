// The job page follows its job over server-sent events (/t/<slug>/jobs/<id>/events/): each `progress` event
// carries the progress part rendered anew, which replaces the one on the page, until the job ends. Where the
// stream cannot be had, the part is fetched every few seconds instead; without JavaScript the page reloads.
(function () {
  const FALLBACK_MS = 3000;

  function replace(html) {
    const current = document.getElementById("job-progress");
    const fresh = document.createRange().createContextualFragment(html).firstElementChild;
    if (!current || !fresh) return null;
    const wasOpen = current.querySelector("details")?.open; // keep a batch's parts as the reader left them
    current.replaceWith(fresh);
    const details = fresh.querySelector("details");
    if (details && wasOpen !== undefined) details.open = wasOpen;
    if (window.htmx) window.htmx.process(fresh);
    return fresh;
  }

  function poll(url) {
    const timer = window.setInterval(async () => {
      try {
        const response = await fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
        if (!response.ok) return;
        const fresh = replace(await response.text());
        if (fresh && !fresh.dataset.events) window.clearInterval(timer);
      } catch (error) {
        // offline for a moment: the next tick tries again
      }
    }, FALLBACK_MS);
  }

  function follow() {
    const section = document.getElementById("job-progress");
    if (!section || !section.dataset.events) return;
    const fallback = section.dataset.fallback;
    if (!window.EventSource) {
      poll(fallback);
      return;
    }
    const source = new EventSource(section.dataset.events);
    source.addEventListener("progress", (event) => {
      const data = JSON.parse(event.data);
      replace(data.html);
      if (data.terminal) source.close();
    });
    source.addEventListener("end", () => source.close());
    source.addEventListener("error", () => {
      // EventSource reconnects by itself after a dropped connection; one refused outright is closed for good.
      if (source.readyState === EventSource.CLOSED) poll(fallback);
    });
  }

  document.addEventListener("DOMContentLoaded", follow);
})();
