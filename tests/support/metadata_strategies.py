"""Hypothesis strategies for dispatch metadata, and a fixed list of cases drawn from them.

The unit fuzz (tests/unit/test_metadata.py) runs the strategies through the parser;
the dispatch fuzz (dispatch_fuzz.py) sends `metadata_cases` through real dispatches.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from agent.metadata import DispatchMetadata, parse_dispatch_metadata

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELD_VALUES = st.dictionaries(
    st.sampled_from([*DispatchMetadata.model_fields, "unknown", "__proto__", ""]) | st.text(max_size=20),
    JSON_VALUES | st.sampled_from(["en-GB", "zh-CN", "xh", "default", "../etc", "google", "offline"]),
    max_size=8,
)
RAW_METADATA = FIELD_VALUES.map(json.dumps) | st.text(max_size=200) | JSON_VALUES.map(json.dumps)
"""What a dispatcher may send: objects with known and unknown fields, any text, any JSON."""


def metadata_cases(count: int, *, seed: int = 15, known_avatars: frozenset[str] = frozenset({"default"})) -> list[str]:
    """`count` distinct raw metadata strings the parser finds problems in, the same ones on every run.

    Drawn from RAW_METADATA with a fixed seed and no example database, so nothing from earlier
    runs changes the draw.
    """
    cases: dict[str, None] = {}

    @hypothesis_seed(seed)
    @settings(
        max_examples=count * 20,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(RAW_METADATA)
    def draw(raw: str) -> None:
        if len(cases) < count and parse_dispatch_metadata(raw, known_avatars=set(known_avatars)).problems:
            cases[raw] = None

    draw()
    return list(cases)
