"""The composition root: builds every component of one instance in order and wires them
to its runtime in one visible list (docs/architecture.md, "The composition root").

It sits above ``router.service`` and ``channels``: no component registers itself with the
runtime or with another component, and no module keeps a registry of instances. A route
provider is a pure function of the components it needs (``Instance.routes``), so building
the routes (or the app) again adds no listener and delivers no decision twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from channels.callback import CallbackChannel
from channels.chat import (
    ChatAttached,
    ChatDetached,
    ChatDropped,
    ChatOpened,
    ChatSaid,
)
from channels.chat_channel import ChatChannel
from channels.phone import PhoneChannel
from channels.status import arrivals
from channels.status import decisions as books
from channels.web import WebChannel
from channels.workitems import WorkItemChannel
from router.core.estimate import OBSERVED, HandleTimes
from router.service import (
    agent_routes,
    alerts,
    audit,
    charts,
    desk,
    faces,
    feedback_api,
    linked,
    ops,
    public,
    reports,
    staffing_view,
    supervisor,
)
from router.service.audit import PART, Audit, AuditCollector, AuditSettings, Refusal, Removal
from router.service.charts import Charts
from router.service.feedback import Feedback, FeedbackAnswered, FeedbackOptedOut
from router.service.linked import LinkedContacts
from router.service.metrics import Metrics
from router.service.notify import NotificationSent
from router.service.regionfile import reconcile
from router.service.replicated import ReplicatedRuntime
from router.service.reports import Reports
from router.service.routes import Route
from router.service.runtime import Part, handles
from router.service.service import Service
from router.service.stats import Stats
from router.service.supervisor import SupervisorApi


@dataclass(eq=False)
class Instance:
    """Every component of one instance; ``service`` holds its region, settings, runtime,
    tokens, agents, handle times and notifier."""

    service: Service
    metrics: Metrics
    linked: LinkedContacts
    phone: PhoneChannel
    chat: ChatChannel
    web: WebChannel
    workitems: WorkItemChannel
    callback: CallbackChannel
    stats: Stats
    audit: Audit
    feedback: Feedback
    supervisor: SupervisorApi
    reports: Reports
    charts: Charts

    def routes(self) -> list[Route]:
        """The API's routes, each module's from the components it needs (pure: building
        them again changes nothing)."""
        service = self.service
        return [
            *ops.routes(service, self.metrics),
            *agent_routes.routes(service),
            *linked.routes(self.linked),
            *self.phone.routes(),
            *self.chat.routes(),
            *self.web.routes(),
            *self.workitems.routes(),
            *self.callback.routes(),
            *supervisor.routes(self.supervisor),
            *alerts.routes(service),
            *audit.routes(self.audit),
            *reports.routes(self.reports),
            *charts.routes(self.charts),
            *staffing_view.routes(service, self.audit, self.stats),
            *feedback_api.routes(self.feedback),
            *public.routes(service),
            *desk.routes(service, self.audit),
            *faces.routes(service),
        ]


def compose(service: Service, audit_settings: AuditSettings | None = None) -> Instance:
    """Builds every component of ``service``'s instance and wires them all to its runtime."""
    metrics = Metrics(service)
    contacts = LinkedContacts(service)
    phone = PhoneChannel(service)
    chat = ChatChannel(service)
    web = WebChannel(service)
    workitems = WorkItemChannel(service)
    callback = CallbackChannel(service)
    stats = Stats(service)
    kept = Audit(service, metrics, audit_settings)
    survey = Feedback(service, kept)
    daily = Reports(service, kept, survey)
    instance = Instance(
        service=service,
        metrics=metrics,
        linked=contacts,
        phone=phone,
        chat=chat,
        web=web,
        workitems=workitems,
        callback=callback,
        stats=stats,
        audit=kept,
        feedback=survey,
        supervisor=SupervisorApi(service, stats, kept),
        reports=daily,
        charts=Charts(service, kept, daily),
    )
    runtime, hub, notifier = service.runtime, service.agents, service.notifier
    times = service.handle_times

    # The one list. Order matters: listeners run in it for every decision (an agent's
    # websocket hears of an offer before the metrics count it), and parts are captured
    # in it into a snapshot.
    runtime.listeners.extend(
        [
            # Handle times and abandonment, for wait estimates: told only the kinds it
            # learns from (a core method, marked here for the dispatch loop).
            handles(*OBSERVED)(partial(HandleTimes.observe, times)),
            hub.on_decision,  # offers, assignments, presence to agents' websockets
            notifier.on_decision,  # callback attempts and survey requests to the SMS hook
            metrics.on_decision,  # counters and histograms for /metrics
            contacts.on_decision,  # one person's open contacts (linked.py)
            # Phone calls', web requests', work items' and callbacks' status: one entry,
            # each decision passed to the book of its contact id's prefix.
            books(phone.book, web.book, workitems.book, callback.book),
            chat.on_decision,  # offers and closes to the customer's chat socket
            stats.on_decision,  # the supervisor's live figures and alerts
            instance.supervisor.versions.on_decision,  # when the console reloads a table
            kept.on_decision,  # every contact's record (audit.py)
            survey.on_decision,  # who gets asked for feedback (feedback.py)
        ]
    )
    runtime.applied_listeners.extend(
        [
            hub.on_applied,  # agents' own events (login, presence) to their websockets
            notifier.on_applied,  # callback numbers to call
            contacts.on_applied,  # arrivals indexed by person
            # Work items' labels, kept past their close; what each web and callback
            # request asked, and by which integration (Idempotency-Key retries).
            arrivals(workitems.book, web.book, callback.book),
            kept.on_applied,  # arrivals and agents' events into the records
            instance.supervisor.versions.on_applied,  # ... and agents' own events
            survey.on_applied,  # the numbers a survey may ask
        ]
    )
    runtime.latency_observers.append(metrics.observe_dispatch)  # yhteys_dispatch_seconds
    runtime.notes.update(
        {
            NotificationSent: notifier.on_sent,  # the hook took a notification
            ChatOpened: chat.on_opened,  # a customer opened a chat
            ChatDropped: chat.on_dropped,  # a chat session ended
            ChatAttached: chat.on_attached,  # a customer's socket connected (this instance)
            ChatDetached: chat.on_detached,  # ... and went away
            ChatSaid: chat.on_said,  # a chat message, either way
            Removal: kept.on_removal,  # a supervisor removed a contact
            Refusal: kept.on_refusal,  # a contact turned away after hours
            FeedbackAnswered: survey.on_answered,  # a customer's answer
            FeedbackOptedOut: survey.on_opted_out,  # a number asked to be left alone
        }
    )
    runtime.parts.update(
        {
            "handle_times": Part(times.capture, times.restore),
            "notify": Part(notifier.capture, notifier.restore),
            "linked": Part(contacts.capture, contacts.restore),
            "status:phone-": Part(phone.book.capture, phone.book.restore),
            "chat": Part(chat.capture, chat.restore),
            "status:web-": Part(web.book.capture, web.book.restore),
            "status:wi-": Part(workitems.book.capture, workitems.book.restore),
            "status:cb-": Part(callback.book.capture, callback.book.restore),
            "stats": Part(stats.capture, stats.restore),
            PART: Part(kept.capture, kept.restore),
            "feedback": Part(survey.capture, survey.restore),
        }
    )
    runtime.resynced.append(hub.refresh_all)  # a loaded snapshot: agents get state afresh
    runtime.resynced.append(instance.supervisor.versions.on_resynced)  # ... consoles too
    # Between components: what one asks of another.
    hub.merge_check = contacts.check_merge  # may an agent merge these contacts
    hub.chat_sender = chat.agent_says  # an agent's chat message to the customer
    hub.on_connect.append(chat.agent_connected)  # a reconnecting agent's transcripts
    kept.feedback_of = survey.audit_fields  # a record's feedback columns
    metrics.registry.register(AuditCollector(kept))  # the audit's size, when scraped
    service.background.append(("notification-hook", notifier.run))
    service.background.append(("chat-grace-upgrade", chat.grace_upgrade))  # old snapshots
    service.background.append(("chat-sightings", chat.report_sightings))  # Redis mode
    if isinstance(runtime, ReplicatedRuntime):
        # Redis mode: the region file against the stored one, once caught up (regionfile.py).
        apply = service.settings.apply_region_changes
        runtime.before_ready.append(lambda: reconcile(service, apply))
    return instance


def instance_of(service: Service, audit_settings: AuditSettings | None = None) -> Instance:
    """The instance built around ``service``: composed on first use, then the same one.
    ``audit_settings`` apply only to that first use (tests tune the audit's bounds)."""
    if service.instance is None:
        service.instance = compose(service, audit_settings)
    elif audit_settings is not None and audit_settings != service.instance.audit.settings:
        raise ValueError(
            f"the audit is already built with {service.instance.audit.settings}; "
            f"got {audit_settings} too late: pass them to the first instance_of"
        )
    return service.instance


# Accessors for tests and tools that hold a ``Service``.


def audit_for(service: Service, settings: AuditSettings | None = None) -> Audit:
    return instance_of(service, settings).audit


def metrics_for(service: Service) -> Metrics:
    return instance_of(service).metrics


def stats_for(service: Service) -> Stats:
    return instance_of(service).stats


def feedback_for(service: Service) -> Feedback:
    return instance_of(service).feedback


def channel_of(service: Service) -> ChatChannel:
    """The chat channel (to tune ``grace_s``, or inspect sessions)."""
    return instance_of(service).chat
