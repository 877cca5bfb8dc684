// The status page works without this script; with it, the figures refresh in place
// every 30 seconds (the same server-rendered page, fetched again).
const REFRESH_MS = 30000;

async function refresh() {
  try {
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.querySelector("#status table");
    const table = document.querySelector("#status table");
    if (fresh && table) table.replaceWith(fresh);
  } catch { /* keep what is shown; try again later */ }
}

setInterval(refresh, REFRESH_MS);
