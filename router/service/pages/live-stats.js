// Shared by the supervisor console and the wallboard: the supervisors' websocket
// (statistics every few seconds, alerts as they happen) and the sign-in around it.
import { Live, Session } from "/pages/api.js";
import { t } from "/pages/i18n.js";

const $ = (id) => document.getElementById(id);

/** Signs in with a supervisor token (kept in sessionStorage) and runs the socket;
 * ``onStart(session)`` once signed in, ``onMessage(msg)`` for every push. */
export function supervise({ onStart, onMessage }) {
  const session = new Session("yhteys.supervisor.token");
  let live = null;

  function start() {
    $("signin").classList.add("hidden");
    $("console").classList.remove("hidden");
    $("signout")?.classList.remove("hidden");
    live = new Live("/api/supervisor/ws", session, {
      onMessage,
      onOnline: (online) => {
        $("offline").classList.toggle("hidden", online);
        document.body.dataset.online = online ? "yes" : "no";
      },
      onRefused: () => { session.signOut(); show(t("signin.failed")); },
    });
    live.start();
    onStart(session, live);
  }

  function show(error) {
    live?.stop();
    $("offline").classList.add("hidden");
    $("console").classList.add("hidden");
    $("signout")?.classList.add("hidden");
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
  return session;
}

export function percent(block) {
  return block.service_level == null ? "–" : `${Math.round(block.service_level * 100)} %`;
}
