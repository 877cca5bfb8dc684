// Shared by the supervisor console and the wallboard: the supervisors' websocket
// (statistics every few seconds, alerts as they happen) and the sign-in around it.
import { Session, signInAround } from "/pages/api.js";
import { t } from "/pages/i18n.js";

/** Signs in with a supervisor token (kept in sessionStorage) and runs the socket;
 * ``onStart(session)`` once signed in, ``onMessage(msg)`` for every push,
 * ``onOnline(online)`` when the socket connects (again) or drops. */
export function supervise({ onStart, onMessage, onOnline = () => {} }) {
  const session = new Session("yhteys.supervisor.token");
  signInAround({
    session,
    path: "/api/supervisor/ws",
    shown: ["console", "signout"],
    onMessage,
    onOnline,
    refusedText: () => t("signin.failed"),
    onStart: (live) => onStart(session, live),
  });
  return session;
}

export function percent(block) {
  return block.service_level == null ? "–" : `${Math.round(block.service_level * 100)} %`;
}
