"""search_runs: every operator on every kind of field, OR and parentheses, ordering,
paging, views, several experiments, and the errors for bad requests."""

from __future__ import annotations

import base64
import functools
import json
import math
import re

import pytest

from conftest import unique
from keel.entities import RunStatus, ViewType
from keel.errors import InvalidArgument
from keel.store.sql import search
from store.support import RunSpec, assert_cases

T = 1_700_000_000_000
FINISHED, FAILED = RunStatus.FINISHED, RunStatus.FAILED

# Four runs that between them have, and lack, every kind of field.
SPECS = (
    RunSpec(
        "cv-1",
        T + 1000,
        params={"model": "rf", "lr": "0.1", "opt": "adam"},
        tags={"team": "Vision"},
        metrics={"acc": 0.9, "loss": 0.1, "val loss": 0.2},
        status=FINISHED,
        user_id="ada",
    ),
    RunSpec(
        "cv-2",
        T + 2000,
        params={"model": "cnn", "opt": "sgd"},
        tags={"team": "nlp", "note": 'it\'s "quoted"'},
        metrics={"acc": 0.7, "loss": 0.3},
        user_id="bob",
    ),
    RunSpec(
        "other",
        T + 3000,
        params={"model": "RF", "opt": "lbfgs"},
        metrics={"loss": 0.5},
        status=FAILED,
        user_id="ada",
    ),
    RunSpec(
        "cv-3", T + 4000, params={"model": "svm"}, tags={"team": "vision"}, metrics={"acc": 0.8}
    ),
)
FOUR = {"cv-1", "cv-2", "other", "cv-3"}


@pytest.fixture
def four(store, exp_id, make_runs) -> tuple[str, dict[str, str]]:
    ids = make_runs(exp_id, *SPECS)
    store.update_run(ids["cv-3"], status=FINISHED, end_time=T + 4500)
    return exp_id, ids


def names(store, exp_id: str, filter_string: str | None = None, **kwargs) -> list[str]:
    page = store.search_runs([exp_id], filter_string, **kwargs)
    return [run.info.run_name for run in page.runs]


FILTERS: list[tuple[str, set[str]]] = [
    # metrics
    ("metrics.acc = 0.9", {"cv-1"}),
    ("metrics.acc != 0.9", {"cv-2", "cv-3"}),
    ("metrics.acc < 0.8", {"cv-2"}),
    ("metrics.acc <= 0.8", {"cv-2", "cv-3"}),
    ("metrics.acc > 0.8", {"cv-1"}),
    ("metrics.acc >= 0.8", {"cv-1", "cv-3"}),
    ("metrics.acc == 0.7", {"cv-2"}),
    ("metrics.acc <> 0.7", {"cv-1", "cv-3"}),
    ("metrics.acc IS NULL", {"other"}),
    ("metrics.acc is not null", {"cv-1", "cv-2", "cv-3"}),
    ("metrics.loss >= 0.3 AND metrics.acc > 0", {"cv-2"}),
    ("metrics.`val loss` < 1", {"cv-1"}),
    ('metric."val loss" >= 0.2', {"cv-1"}),
    ("metrics.acc > -1e3", {"cv-1", "cv-2", "cv-3"}),
    ("metrics.missing > 0", set()),
    # params: strings, LIKE is case-sensitive and ILIKE is not
    ("params.model = 'rf'", {"cv-1"}),
    ('params.model = "RF"', {"other"}),
    ("params.model != 'rf'", {"cv-2", "other", "cv-3"}),
    ("params.model LIKE 'r%'", {"cv-1"}),
    ("params.model LIKE 'R%'", {"other"}),
    ("params.model LIKE '_f'", {"cv-1"}),
    ("params.model ILIKE 'r%'", {"cv-1", "other"}),
    ("params.model NOT LIKE 'r%'", {"cv-2", "other", "cv-3"}),
    ("params.model NOT ILIKE 'r%'", {"cv-2", "cv-3"}),
    ("params.model IN ('rf', 'svm')", {"cv-1", "cv-3"}),
    ("params.model NOT IN ('rf', 'svm')", {"cv-2", "other"}),
    ("params.opt IS NULL", {"cv-3"}),
    ("params.opt IS NOT NULL", {"cv-1", "cv-2", "other"}),
    ("params.lr = '0.1'", {"cv-1"}),
    ("param.`model` = 'cnn'", {"cv-2"}),
    # tags
    ("tags.team = 'vision'", {"cv-3"}),
    ("tags.team != 'nlp'", {"cv-1", "cv-3"}),
    ("tags.team LIKE 'V%'", {"cv-1"}),
    ("tags.team ILIKE 'VISION'", {"cv-1", "cv-3"}),
    ("tags.team IN ('nlp', 'none')", {"cv-2"}),
    ("tags.team NOT IN ('nlp')", {"cv-1", "cv-3"}),
    ("tags.team IS NULL", {"other"}),
    ("tags.team IS NOT NULL", {"cv-1", "cv-2", "cv-3"}),
    # attributes
    ("attributes.status = 'FINISHED'", {"cv-1", "cv-3"}),
    ("status = 'finished'", {"cv-1", "cv-3"}),
    ("attributes.status != 'FINISHED'", {"cv-2", "other"}),
    ("attributes.status IN ('RUNNING', 'FAILED')", {"cv-2", "other"}),
    ("attributes.status NOT IN ('FINISHED')", {"cv-2", "other"}),
    ("attributes.run_name LIKE 'cv-%'", {"cv-1", "cv-2", "cv-3"}),
    ("attributes.run_name LIKE 'CV-%'", set()),
    ("run_name ILIKE 'CV-%'", {"cv-1", "cv-2", "cv-3"}),
    ("attributes.run_name = 'other'", {"other"}),
    ("attributes.run_name != 'other'", {"cv-1", "cv-2", "cv-3"}),
    (
        f"attributes.start_time >= {T + 2000} AND attributes.start_time < {T + 4000}",
        {"cv-2", "other"},
    ),
    (f"attributes.start_time <= {T + 1000}", {"cv-1"}),
    (f"attributes.start_time > {T + 4000}", set()),
    (f"attributes.start_time != {T + 3000}", {"cv-1", "cv-2", "cv-3"}),
    (f"attributes.end_time = {T + 4500}", {"cv-3"}),
    ("attributes.end_time IS NULL", {"cv-2"}),
    ("attributes.user_id = 'ada'", {"cv-1", "other"}),
    ("attributes.user_id IN ('bob')", {"cv-2"}),
    ("attributes.name = 'other'", {"other"}),
    ("run.run_name = 'other'", {"other"}),
    ("attributes.lifecycle_stage = 'active'", FOUR),
    ("attributes.artifact_uri LIKE '%artifacts%'", FOUR),
    ("attributes.last_heartbeat > 0", FOUR),
    # quoting: doubled or backslashed quotes inside a string
    ("""tags.note = 'it''s "quoted"'""", {"cv-2"}),
    ("""tags.note = "it's \\"quoted\\"\"""", {"cv-2"}),
    ("""tags.note LIKE 'it\\'s%'""", {"cv-2"}),
    # OR and parentheses (AND binds tighter than OR)
    ("metrics.acc > 0.85 OR tags.team = 'nlp'", {"cv-1", "cv-2"}),
    ("metrics.acc > 0.85 or params.model = 'cnn'", {"cv-1", "cv-2"}),
    ("(params.model = 'rf' OR params.model = 'cnn') AND metrics.acc > 0.75", {"cv-1"}),
    ("params.model = 'svm' OR params.model = 'rf' AND metrics.acc < 0.5", {"cv-3"}),
    ("(params.model = 'svm' OR params.model = 'rf') AND metrics.acc < 0.85", {"cv-3"}),
    ("metrics.acc IS NULL OR params.opt IS NULL", {"other", "cv-3"}),
    ("tags.team IS NULL OR tags.team = 'nlp'", {"cv-2", "other"}),
    ("params.model != 'rf' OR metrics.acc = 0.9", FOUR),
    ("(((metrics.loss < 0.2)))", {"cv-1"}),
    (
        "(status = 'FINISHED' AND (tags.team LIKE 'v%' OR metrics.loss < 0.2)) OR "
        "(status = 'FAILED' AND params.model ILIKE 'rf')",
        {"cv-1", "cv-3", "other"},
    ),
    ("", FOUR),
]


def test_filters(store, four) -> None:
    exp_id, _ = four
    assert_cases(lambda case: (set(names(store, exp_id, case[0])), case[1]), FILTERS)


def test_filters_on_common_values(store, four, monkeypatch) -> None:
    """A condition that matches few runs drives the search from their ids, read first; one
    that matches many (here, any) is tested run by run: the answers are the same."""
    monkeypatch.setattr(search, "PROBE_LIMIT", 1)
    exp_id, _ = four
    assert_cases(lambda case: (set(names(store, exp_id, case[0])), case[1]), FILTERS)


def test_filter_on_run_id(store, four) -> None:
    exp_id, ids = four
    one, two = ids["cv-1"], ids["other"]
    cases = [
        (f"attributes.run_id = '{one}'", {"cv-1"}),
        (f"attributes.run_id IN ('{one}', '{two}')", {"cv-1", "other"}),
        (f"attributes.run_id NOT IN ('{one}', '{two}')", {"cv-2", "cv-3"}),
        (f"attributes.run_id != '{one}'", FOUR - {"cv-1"}),
    ]
    assert_cases(lambda case: (set(names(store, exp_id, case[0])), case[1]), cases)


ORDERS: list[tuple[list[str], str | None, list[str]]] = [
    (["metrics.acc DESC"], None, ["cv-1", "cv-3", "cv-2", "other"]),
    (["metrics.acc ASC"], None, ["cv-2", "cv-3", "cv-1", "other"]),
    (["metrics.acc"], None, ["cv-2", "cv-3", "cv-1", "other"]),
    (["metrics.loss DESC"], None, ["other", "cv-2", "cv-1", "cv-3"]),
    (["params.opt ASC"], None, ["cv-1", "other", "cv-2", "cv-3"]),
    (["params.opt DESC"], None, ["cv-2", "other", "cv-1", "cv-3"]),
    (["attributes.start_time ASC"], None, ["cv-1", "cv-2", "other", "cv-3"]),
    (["attributes.start_time DESC"], None, ["cv-3", "other", "cv-2", "cv-1"]),
    (["attributes.run_name DESC"], None, ["other", "cv-3", "cv-2", "cv-1"]),
    (["run_name ASC"], None, ["cv-1", "cv-2", "cv-3", "other"]),
    (["attributes.status ASC", "metrics.loss DESC"], None, ["other", "cv-1", "cv-3", "cv-2"]),
    (["metrics.acc ASC"], "metrics.acc > 0.75", ["cv-3", "cv-1"]),
    (["metrics.loss ASC"], "metrics.acc > 0", ["cv-1", "cv-2", "cv-3"]),
    (["tags.team DESC"], "tags.team != 'Vision' OR tags.team IS NULL", ["cv-3", "cv-2", "other"]),
    (["attributes.end_time DESC"], None, ["cv-3", "other", "cv-1", "cv-2"]),
    (["attributes.end_time ASC"], None, ["cv-1", "other", "cv-3", "cv-2"]),
    (
        ["attributes.user_id ASC", "attributes.start_time DESC"],
        None,
        ["other", "cv-1", "cv-2", "cv-3"],
    ),
    ([], None, ["cv-3", "other", "cv-2", "cv-1"]),  # default: newest first
]


def test_order_by(store, four) -> None:
    exp_id, _ = four
    assert_cases(
        lambda case: (names(store, exp_id, case[1], order_by=case[0]), case[2]),
        ORDERS,
    )


def test_nan_metrics_in_filters_and_order(store, exp_id, make_runs) -> None:
    make_runs(
        exp_id,
        RunSpec("nan", T + 1, metrics={"x": math.nan}),
        RunSpec("one", T + 2, metrics={"x": 1.0}),
        RunSpec("inf", T + 3, metrics={"x": math.inf}),
        RunSpec("none", T + 4),
    )
    cases = [
        ("metrics.x = NaN", {"nan"}),
        ("metrics.x > 0", {"one", "inf"}),
        ("metrics.x < 0", set()),
        ("metrics.x = Infinity", {"inf"}),
        ("metrics.x > 1e308", {"inf"}),
        ("metrics.x < -Infinity", set()),
        ("metrics.x IS NOT NULL", {"nan", "one", "inf"}),
        ("metrics.x IS NULL", {"none"}),
    ]
    assert_cases(lambda case: (set(names(store, exp_id, case[0])), case[1]), cases)
    # A NaN orders with no number: after them, whichever the direction.
    assert names(store, exp_id, order_by=["metrics.x DESC"])[:2] == ["inf", "one"]
    assert names(store, exp_id, order_by=["metrics.x ASC"])[:2] == ["one", "inf"]


def test_pages_cover_every_run_once(store, exp_id, make_runs) -> None:
    specs = [RunSpec(f"p{i}", T + i, metrics={"m": float(i % 3)}) for i in range(7)]
    make_runs(exp_id, *specs)
    for order_by, filter_string in (
        (None, None),
        (["metrics.m DESC"], None),
        (["attributes.run_name ASC"], "metrics.m >= 0"),
    ):
        whole = store.search_runs([exp_id], filter_string, order_by=order_by).runs
        assert len(whole) == 7
        seen, token, pages = [], None, 0
        while True:
            page = store.search_runs(
                [exp_id], filter_string, order_by=order_by, max_results=3, page_token=token
            )
            assert len(page.runs) <= 3
            seen.extend(run.run_id for run in page.runs)
            pages += 1
            token = page.next_page_token
            if token is None:
                break
            assert isinstance(token, str) and token
        assert pages == 3
        assert seen == [run.run_id for run in whole], order_by
        assert len(set(seen)) == 7

    exact = store.search_runs([exp_id], max_results=7)
    assert len(exact.runs) == 7 and exact.next_page_token is None
    first = store.search_runs([exp_id], max_results=1)
    assert len(first.runs) == 1 and first.next_page_token is not None


def test_views(store, four) -> None:
    exp_id, ids = four
    store.delete_run(ids["cv-2"])
    assert set(names(store, exp_id)) == FOUR - {"cv-2"}
    assert set(names(store, exp_id, view=ViewType.ACTIVE_ONLY)) == FOUR - {"cv-2"}
    assert names(store, exp_id, view=ViewType.DELETED_ONLY) == ["cv-2"]
    assert set(names(store, exp_id, view=ViewType.ALL)) == FOUR
    assert names(store, exp_id, "metrics.acc < 0.8", view=ViewType.ALL) == ["cv-2"]
    assert names(store, exp_id, "metrics.acc < 0.8") == []
    deleted = "attributes.lifecycle_stage = 'deleted'"
    assert names(store, exp_id, deleted, view=ViewType.ALL) == ["cv-2"]


def test_several_experiments(store, four, make_runs) -> None:
    first, _ = four
    second = store.create_experiment(unique())
    make_runs(second, RunSpec("elsewhere", T + 9000, metrics={"acc": 0.95}))
    empty = store.create_experiment(unique())

    both = store.search_runs([first, second], "metrics.acc > 0.85").runs
    assert {r.info.run_name for r in both} == {"cv-1", "elsewhere"}
    assert {r.info.experiment_id for r in both} == {first, second}
    assert names(store, second) == ["elsewhere"]
    assert names(store, empty) == []
    only_second = store.search_runs([first, second], f"attributes.experiment_id = '{second}'")
    assert [r.info.run_name for r in only_second.runs] == ["elsewhere"]
    assert store.search_runs([empty, "987654321"]).runs == []
    assert len(store.search_runs([first, second, empty]).runs) == 5


def test_results_carry_whole_runs(store, four) -> None:
    exp_id, ids = four
    (run,) = store.search_runs([exp_id], "params.model = 'rf'").runs
    assert run == store.get_run(ids["cv-1"])
    assert run.data.params == {"model": "rf", "lr": "0.1", "opt": "adam"}
    assert run.data.metrics == {"acc": 0.9, "loss": 0.1, "val loss": 0.2}
    assert run.data.tags == {"team": "Vision"}


BAD_FILTERS = [
    "metrics.acc >",
    "params.model = rf",
    "metrics.acc > 0.5 AND",
    "(metrics.acc > 0.5",
    "metrics.acc > 0.5)",
    "nonsense.key = 'x'",
    "metrics.acc LIKE 'x%'",
    "metrics.acc > 'high'",
    "status = 'SLEEPING'",
    "attributes.start_time > 'yesterday'",
    "params.model === 'rf'",
    "metrics.acc > 0.5 params.model = 'rf'",
]


def test_invalid_filter_names_the_position(store, four) -> None:
    exp_id, _ = four

    def check(bad: str) -> object:
        try:
            store.search_runs([exp_id], bad)
        except InvalidArgument as exc:
            return bool(re.search(r"position \d+", str(exc)))
        return "accepted"

    assert_cases(check, BAD_FILTERS, want=True)


def test_invalid_requests(store, four) -> None:
    exp_id, _ = four
    with pytest.raises(InvalidArgument, match="order_by"):
        store.search_runs([exp_id], order_by=["metrics.acc SIDEWAYS"])
    for token in ("garbage!!", "x", base64.urlsafe_b64encode(b'{"offset": -3}').decode()):
        with pytest.raises(InvalidArgument, match="page_token"):
            store.search_runs([exp_id], page_token=token)
    for n in (0, -1, 50_001):
        with pytest.raises(InvalidArgument, match="max_results"):
            store.search_runs([exp_id], max_results=n)
    with pytest.raises(InvalidArgument):
        store.search_runs(["not-an-id"])


# Keyset pages ---------------------------------------------------------------------------


def _paging_specs() -> list[RunSpec]:
    """30 runs with ties everywhere: three runs a start time, four metric values, and
    runs without the metric, with a NaN, without the param or the tag, not ended."""
    specs = []
    for i in range(30):
        metric = {} if i % 5 == 0 else {"m": math.nan if i % 5 == 1 else float(i * 7 % 4)}
        specs.append(
            RunSpec(
                f"r{i:02d}",
                T + i // 3,
                params={} if i % 3 == 0 else {"p": f"v{i % 4}"},
                tags={"t": f"t{i % 3}"} if i % 2 == 0 else {},
                metrics=metric,
                status=FINISHED if i % 4 == 0 else RunStatus.RUNNING,
            )
        )
    return specs


def _sort_value(run, entity: str, key: str):
    if entity == "metric":
        value = run.data.metrics.get(key)
        return None if value is None or math.isnan(value) else value
    if entity == "param":
        return run.data.params.get(key)
    if entity == "tag":
        return run.data.tags.get(key)
    attributes = {"end_time": "end_time", "start_time": "start_time", "run_name": "run_name"}
    return getattr(run.info, attributes.get(key, "run_id"))


def _expected_order(runs, order: list[tuple[str, str, bool]]) -> list[str]:
    """The search's order, computed here: NULLs last either way, then newest first, then
    run id."""
    keys = [*order, ("attribute", "start_time", False), ("attribute", "run_id", True)]

    def compare(a, b) -> int:
        for entity, key, ascending in keys:
            x, y = _sort_value(a, entity, key), _sort_value(b, entity, key)
            if x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1
            return (-1 if x < y else 1) * (1 if ascending else -1)
        return 0

    return [run.info.run_id for run in sorted(runs, key=functools.cmp_to_key(compare))]


def walk(store, exp_id: str, filter_string, order_by, per_page: int) -> list[str]:
    seen, token = [], None
    while True:
        page = store.search_runs(
            [exp_id], filter_string, order_by=order_by, max_results=per_page, page_token=token
        )
        assert len(page.runs) <= per_page
        seen.extend(run.info.run_id for run in page.runs)
        token = page.next_page_token
        if token is None:
            return seen
        assert len(page.runs) == per_page


PAGED = [
    # (order_by, filter, which runs the filter keeps)
    ([], None, lambda r: True),
    (["metrics.m DESC"], None, lambda r: True),
    (["metrics.m ASC"], None, lambda r: True),
    (["params.p DESC", "metrics.m ASC"], None, lambda r: True),
    (["tags.t ASC"], None, lambda r: True),
    (["attributes.end_time DESC"], None, lambda r: True),
    (["attributes.run_name ASC"], None, lambda r: True),
    (["metrics.m DESC"], "params.p != 'v1'", lambda r: r.data.params.get("p", "v1") != "v1"),
    (["metrics.m ASC"], "metrics.m >= 1", lambda r: r.data.metrics.get("m", 0) >= 1),
    (["metrics.m DESC"], "metrics.m IS NOT NULL", lambda r: "m" in r.data.metrics),
    (["params.p ASC"], "params.p LIKE 'v%'", lambda r: "p" in r.data.params),
]


def test_walking_every_page_gives_each_run_once_in_order(store, exp_id, make_runs) -> None:
    make_runs(exp_id, *_paging_specs())
    every = store.search_runs([exp_id], max_results=1000).runs
    assert len(every) == 30

    def check(case) -> object:
        order_by, filter_string, keeps = case
        parsed = []
        for clause in order_by:
            field, direction = clause.split()
            entity, key = field.split(".")
            parsed.append((entity.rstrip("s"), key, direction == "ASC"))
        want = _expected_order([r for r in every if keeps(r)], parsed)
        problems = []
        for per_page in (1, 4, 7, 100):
            got = walk(store, exp_id, filter_string, order_by, per_page)
            if got != want:
                problems.append((per_page, len(got), len(set(got)), len(want)))
        return problems

    assert_cases(check, PAGED, want=[])


def test_pages_stay_complete_while_runs_are_added(store, exp_id, make_runs) -> None:
    """A keyset page starts after the last run seen: runs added meanwhile never push a
    run seen onto the next page or one not yet seen off it."""
    make_runs(exp_id, *_paging_specs())
    first = store.search_runs([exp_id], order_by=["metrics.m DESC"], max_results=8)
    seen = [run.info.run_id for run in first.runs]
    added = make_runs(
        exp_id,
        *(RunSpec(f"new{i}", T + 100 + i, metrics={"m": float(i)}) for i in (-1, 2, 9)),
    )
    token = first.next_page_token
    while token is not None:
        page = store.search_runs(
            [exp_id], order_by=["metrics.m DESC"], max_results=8, page_token=token
        )
        seen.extend(run.info.run_id for run in page.runs)
        token = page.next_page_token
    assert len(seen) == len(set(seen))
    assert len(set(seen) - set(added.values())) == 30
    # Those sorting after the first page's last run are found; the one above it is not.
    assert added["new-1"] in seen and added["new9"] not in seen


def test_tampered_page_tokens_are_refused(store, exp_id, make_runs) -> None:
    make_runs(exp_id, *_paging_specs())
    order = ["metrics.m DESC"]
    token = store.search_runs([exp_id], order_by=order, max_results=5).next_page_token
    assert token is not None
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))

    def encoded(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    values = body["v"]
    bad = [
        token[:-3],
        token + "AAAA",
        encoded({"offset": 100}),
        encoded([1, 2, 3]),
        encoded({**body, "o": "0" * len(body["o"])}),
        encoded({**body, "v": values[:-1]}),
        encoded({**body, "v": ["high", *values[1:]]}),
        encoded({**body, "v": [{"f": "not hex"}, *values[1:]]}),
        encoded({**body, "v": [values[0], "yesterday", *values[2:]]}),
        encoded({**body, "v": [*values[:-1], None]}),
        encoded({**body, "x": 1}),
    ]

    def check(bad_token: str) -> object:
        try:
            store.search_runs([exp_id], order_by=order, max_results=5, page_token=bad_token)
        except InvalidArgument as exc:
            return "page_token" in str(exc)
        return "accepted"

    assert_cases(check, bad, want=True)
    # A token belongs to the order it was made for.
    with pytest.raises(InvalidArgument, match=r"page_token.*order_by"):
        store.search_runs([exp_id], order_by=["metrics.m ASC"], page_token=token)
