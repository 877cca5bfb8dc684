"""Events, contact specs and the engine's views are value classes
(router/core/values.py): plain slotted dataclasses when run, frozen to the type checker,
and pickled exactly as the frozen dataclasses they were, so the Redis log and snapshots
read across versions."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

from router.core.events import ContactArrived, CustomerAway, OfferAccepted
from router.core.model import Channel, ContactSpec
from router.store import codec

ROOT = Path(__file__).resolve().parent.parent

SPEC = ContactSpec(
    "c1",
    Channel.VOICE,
    "nursing_advice",
    urgency="P5",
    language="sv",
    attributes={"topic": "x"},
    due_at=12.5,
)

# Written (protocol 5) by the code before this change, when these were
# ``@dataclass(frozen=True, slots=True)``.
FROZEN_PICKLES = {
    "arrived": (
        ContactArrived(SPEC),
        "800595ba000000000000008c12726f757465722e636f72652e6576656e7473948c0e436f6e7461637441"
        "7272697665649493942981945d948c11726f757465722e636f72652e6d6f64656c948c0b436f6e746163"
        "74537065639493942981945d94288c0263319468058c074368616e6e656c9493948c05766f6963659485"
        "9452948c0e6e757273696e675f616476696365948c025035944e8c027376944e4e4e4e4e4e7d948c0574"
        "6f706963948c017894734e4740290000000000004e4e4e4e656261622e",
    ),
    "accepted": (
        OfferAccepted("c1", "a1"),
        "8005953a000000000000008c12726f757465722e636f72652e6576656e7473948c0d4f66666572416363"
        "65707465649493942981945d94288c026331948c0261319465622e",
    ),
    "away": (
        CustomerAway("c1", 30.0, 2),
        "8005953f000000000000008c12726f757465722e636f72652e6576656e7473948c0c437573746f6d6572"
        "417761799493942981945d94288c0263319447403e0000000000004b0265622e",
    ),
}


# The store's codec (Redis log, snapshots) on a batch of the three, by the same old code:
# ``(cls, values)`` per value, rebuilt by calling the class.
FROZEN_LOG_BATCH = (
    "800595fb000000000000005d94288c12726f757465722e636f72652e6576656e7473948c0e436f6e7461"
    "6374417272697665649493948c11726f757465722e636f72652e6d6f64656c948c0b436f6e7461637453"
    "706563949394288c0263319468048c074368616e6e656c9493948c05766f69636594859452948c0e6e75"
    "7273696e675f616476696365948c025035944e8c027376944e4e4e4e4e4e7d948c05746f706963948c01"
    "7894734e4740290000000000004e4e4e4e749452948594529468018c0d4f666665724163636570746564"
    "94939468078c026131948694529468018c0c437573746f6d657241776179949394680747403e00000000"
    "00004b0287945294652e"
)


def test_the_store_writes_a_log_batch_byte_for_byte_as_for_the_frozen_classes() -> None:
    batch = [made for made, _old in (FROZEN_PICKLES[k] for k in ("arrived", "accepted", "away"))]
    assert codec.decode(bytes.fromhex(FROZEN_LOG_BATCH)) == batch
    assert codec.encode(batch).hex() == FROZEN_LOG_BATCH


@pytest.mark.parametrize("name", sorted(FROZEN_PICKLES))
def test_a_value_pickles_byte_for_byte_as_the_frozen_dataclass_did(name: str) -> None:
    made, old = FROZEN_PICKLES[name]
    assert pickle.loads(bytes.fromhex(old)) == made  # old log entries load
    assert pickle.dumps(made, protocol=5).hex() == old  # and new ones load in old code


def test_a_spec_pickled_before_a_field_was_added_takes_the_default() -> None:
    state = [getattr(SPEC, name) for name in ("id", "channel", "service", "urgency")]
    spec = ContactSpec.__new__(ContactSpec)
    spec.__setstate__(state)
    assert spec == ContactSpec("c1", Channel.VOICE, "nursing_advice", urgency="P5")
    assert spec.attributes == {}


def test_values_are_equal_and_hash_alike_by_their_fields() -> None:
    assert OfferAccepted("c1", "a1") == OfferAccepted("c1", "a1")
    assert OfferAccepted("c1", "a1") != OfferAccepted("c1", "a2")
    assert len({OfferAccepted("c1", "a1"), OfferAccepted("c1", "a1")}) == 1


def test_the_type_checker_refuses_to_change_a_value(tmp_path: Path) -> None:
    code = tmp_path / "mutates.py"
    code.write_text(
        textwrap.dedent(
            """
            from router.core.events import OfferAccepted
            from router.core.model import Channel, ContactSpec
            from router.core.state import AgentView, ContactView

            spec = ContactSpec("c1", Channel.VOICE, "s")
            spec.language = "fi"
            event = OfferAccepted("c1", "a1")
            event.agent_id = "a2"

            def move(view: ContactView) -> None:
                view.urgency = "P1"

            def rename(view: AgentView) -> None:
                view.reason = "lunch"
            """
        )
    )
    out, _err, status = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(code),
        ]
    )
    assert status == 1, out
    assert 'Property "language" defined in "ContactSpec" is read-only' in out
    assert 'Property "agent_id" defined in "OfferAccepted" is read-only' in out
    assert 'Property "urgency" defined in "ContactView" is read-only' in out
    assert 'Property "reason" defined in "AgentView" is read-only' in out
