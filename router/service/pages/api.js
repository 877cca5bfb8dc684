// The pages' one way to the server: REST with the bearer token, and a websocket that
// reconnects with back-off and tells the page when it is online or not.
export class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export class Session {
  constructor(storageKey) {
    this.key = storageKey;
    this.token = sessionStorage.getItem(storageKey);
  }

  signIn(token) { this.token = token; sessionStorage.setItem(this.key, token); }

  signOut() { this.token = null; sessionStorage.removeItem(this.key); }

  async request(method, path, body) {
    return (await this.exchange(method, path, body)).data;
  }

  /** A request with extra headers (``If-Match``); the answer's body and its ``ETag``. */
  async exchange(method, path, body, extra = {}) {
    const headers = { Authorization: `Bearer ${this.token}`, ...extra };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) throw new ApiFailure(response.status, data);
    return { data, etag: response.headers.get("ETag") };
  }

  async download(path, filename) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!response.ok) throw new ApiFailure(response.status, await response.json());
    const url = URL.createObjectURL(await response.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}

/** A websocket that reconnects; ``onMessage(msg)``, ``onOnline(bool)``, ``onRefused()``
 * when the server refuses the token (the socket then stays closed). */
export class Live {
  constructor(path, session, { onMessage, onOnline, onRefused }) {
    Object.assign(this, { path, session, onMessage, onOnline, onRefused });
    this.delay = 500;
    this.ws = null;
    this.stopped = false;
    this.online = false;
  }

  start() {
    this.stopped = false;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}${this.path}?access_token=${encodeURIComponent(this.session.token)}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => { opened = true; this.delay = 500; this.setOnline(true); };
    ws.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    ws.onclose = async () => {
      if (this.ws !== ws) return;
      this.setOnline(false);
      if (this.stopped) return;
      if (!opened && (await this.refused())) { this.onRefused?.(); return; }
      setTimeout(() => { if (!this.stopped) this.start(); }, this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }

  async refused() {
    // A websocket cannot show its HTTP status: ask the same route over plain HTTP.
    try {
      const r = await fetch(this.path, { headers: { Authorization: `Bearer ${this.session.token}` } });
      return r.status === 401 || r.status === 403;
    } catch { return false; }
  }

  setOnline(value) {
    if (value !== this.online) { this.online = value; this.onOnline?.(value); }
  }

  send(message) {
    if (!this.online || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  stop() { this.stopped = true; this.ws?.close(); this.setOnline(false); }
}

/** Element helper: h("td", {class: "num"}, "3"). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat(Infinity).filter((c) => c != null && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

/** Runs ``redraw`` and gives the focus back to the element with the same id, if the
 * redraw replaced the one that had it (keyboard users keep their place). */
export function keepFocus(redraw) {
  const id = document.activeElement?.id;
  redraw();
  if (id && document.activeElement?.id !== id) document.getElementById(id)?.focus();
}

/** The sign-in form around a page's live socket. Once a token is given (kept in
 * ``session``), hides the form, shows the elements ``shown`` (ids) and runs ``path``'s
 * websocket; a sign-out, or a token the server refuses (``refusedText()`` is said), brings
 * the form back. ``onOnline(online)`` after the offline banner is set, ``onStart(live)``
 * once the socket runs. Starts at once when a token is kept. */
export function signInAround({ session, path, shown, onMessage, refusedText, onOnline = () => {}, onStart = () => {} }) {
  const $ = (id) => document.getElementById(id);
  let live = null;

  function start() {
    $("signin").classList.add("hidden");
    for (const id of shown) $(id)?.classList.remove("hidden");
    live = new Live(path, session, {
      onMessage,
      onOnline: (online) => {
        $("offline").classList.toggle("hidden", online);
        document.body.dataset.online = online ? "yes" : "no";
        onOnline(online);
      },
      onRefused: () => { session.signOut(); show(refusedText()); },
    });
    live.start();
    onStart(live);
  }

  function show(error) {
    live?.stop();
    live = null;
    $("offline").classList.add("hidden");
    for (const id of shown) $(id)?.classList.add("hidden");
    $("signin").classList.remove("hidden");
    $("signin-error").classList.toggle("hidden", !error);
    $("signin-error").textContent = error || "";
  }

  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    session.signIn($("token").value.trim());
    $("token").value = "";
    start();
  });
  $("signout")?.addEventListener("click", () => { session.signOut(); show(); });
  if (session.token) start(); else show();
  return { live: () => live };
}
