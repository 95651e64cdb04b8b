"""Property-based bad input (issue 7 item 2): hotlist bundles and CSVs, MQTT commands, config
files, images and model files. Every generated case must end in a clear error of the right type
(naming the file, field or line) or a valid result, never an unexpected exception, and a rejected
bundle must leave the store and the index as they were.

CI runs a few examples per test (the file takes well under a minute); ANPR_EDGE_LONG_TESTS=1
scales every test so that the file tries at least 10,000 generated cases in all. The number run
per area is counted and printed by the last test (run with `-s` to see it).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import shutil
import string
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config import ConfigError, load_config
from edge.errors import UserError
from edge.hotlist.apply import BundleApplier
from edge.hotlist.bundle import wrap
from edge.hotlist.csv_import import CsvProblems, read_changes, read_entries
from edge.hotlist.index import IndexHolder
from edge.hotlist.payload import ENTRY_COLUMNS, PAYLOAD_SCHEMA
from edge.hotlist.rejections import BundleRejected, Reason
from edge.uplink.commands import Command, Rejected, parse_command
from edge.vision.detector import Detector
from edge.vision.evaluate import load_image
from edge.vision.reader import PlateReader
from edge.vision.recogniser import Recogniser
from edge.vision.runtime import BUNDLED_MODELS, TfliteModel
from tests.support.hotlist import ISSUED, Centre, entry, open_store

LONG = os.environ.get("ANPR_EDGE_LONG_TESTS") == "1"
MB = 1024 * 1024
CASES: Counter[str] = Counter()  # generated cases run, by area


def examples(ci: int, long: int):
    return settings(
        deadline=None,
        max_examples=long if LONG else ci,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# ---------------------------------------------------------------------------------------------
# Hotlist bundles
# ---------------------------------------------------------------------------------------------

HELD = 5  # the unit holds national v5
GOOD = [
    entry("AB12CDE"),
    entry("BD51SMR", "no-insurance", 4, "monitor", "no MOT"),
    entry("X1", "drugs", 2, "monitor", expires_at="2030-01-01T00:00:00Z"),
]
REASONS = set(Reason)


class Unit:
    """A unit with a real SQLite store holding national v5 and an index; `fresh()` starts over
    (only needed when a mutated bundle turned out to be equivalent to the valid one)."""

    def __init__(self, folder: Path, centre: Centre):
        self.folder, self.centre, self.count = folder, centre, 0
        self.fresh()

    def fresh(self) -> None:
        self.count += 1
        self.applier = BundleApplier(
            open_store(self.folder / f"anpr-{self.count}.db"),
            self.centre.trusted(),
            max_payload_bytes=4 * MB,
            lists=["national", "county"],
            holder=IndexHolder(),
        )
        self.applier.apply(self.centre.snapshot("national", HELD, GOOD))

    def state(self) -> tuple:
        store = self.applier.store
        return (
            [(i.list_id, i.version, i.entries) for i in store.lists()],
            list(store.iter_entries()),
            self.applier.holder.versions(),
        )

    def rejects(self, bundle: bytes, *reasons: Reason, area: str) -> BundleRejected:
        """Apply `bundle`: it must be refused (for one of `reasons`, any when none given) and
        leave the store and index as they were."""
        CASES[area] += 1
        before = self.state()
        with pytest.raises(BundleRejected) as caught:
            self.applier.apply(bundle)
        rejection = caught.value
        assert rejection.reason in (reasons or REASONS), rejection
        assert rejection.detail and str(rejection).startswith("bundle rejected (")
        assert self.state() == before, "a rejected bundle changed the store or the index"
        return rejection


@pytest.fixture
def centre(tmp_path):
    return Centre(tmp_path / "keys")


@pytest.fixture
def unit(tmp_path, centre):
    return Unit(tmp_path, centre)


def signed(centre: Centre, payload: bytes) -> bytes:
    return wrap(payload, centre.keys["a"], "none")


def header(**fields) -> dict:
    return {
        "schema": PAYLOAD_SCHEMA,
        "kind": "snapshot",
        "list": "national",
        "version": HELD + 1,
        "issued_at": ISSUED,
        "entries": 1,
        "columns": ENTRY_COLUMNS,
        **fields,
    }


def lines(*rows) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


vrms = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=10)
good_entries = st.lists(
    st.builds(
        entry,
        vrms,
        st.sampled_from(["stolen", "drugs", "no-insurance"]),
        st.integers(1, 5),
        st.sampled_from(["intercept", "monitor"]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda e: e[0],
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)


def json_containers(children):
    return st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=8), children, max_size=4
    )


json_values = st.recursive(json_scalars, json_containers, max_leaves=12)


@examples(ci=25, long=700)
@given(data=st.binary(max_size=600))
def test_random_bytes_are_rejected(unit, data):
    unit.rejects(data, Reason.MALFORMED, Reason.WRONG_TYPE, area="bundle: random bytes")


@examples(ci=25, long=500)
@given(rows=good_entries, cut=st.floats(0, 1, exclude_max=True))
def test_truncated_bundles_are_rejected(unit, centre, rows, cut):
    bundle = centre.snapshot("national", HELD + 1, rows).rstrip()  # no trailing whitespace
    unit.rejects(bundle[: int(len(bundle) * cut)], Reason.MALFORMED, area="bundle: truncated")


@examples(ci=25, long=700)
@given(rows=good_entries, where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_bit_flips_are_rejected(unit, centre, rows, where, bit):
    bundle = bytearray(centre.snapshot("national", HELD + 1, rows))
    bundle[int(len(bundle) * where)] ^= 1 << bit
    try:
        unit.rejects(bytes(bundle), area="bundle: bit flip")
    except pytest.fail.Exception:
        # Accepted: allowed only if the flip did not change what was signed (a spare bit of
        # the last base64 character), and then the unit must hold exactly that list.
        original = json.loads(centre.snapshot("national", HELD + 1, rows))
        assert meaning(json.loads(bytes(bundle))) == meaning(original)
        unit.fresh()


def meaning(envelope: dict) -> dict:
    """The envelope with its base64 fields decoded (spare bits of the last character ignored)."""
    return {
        key: base64.b64decode(value) if key in ("payload", "signature") else value
        for key, value in envelope.items()
    }


@examples(ci=20, long=400)
@given(rows=good_entries, version=st.integers(HELD + 1, 10**6))
def test_signed_by_an_unknown_key(unit, centre, rows, version):
    rejection = unit.rejects(
        centre.snapshot("national", version, rows, key="rogue"),
        Reason.UNKNOWN_KEY,
        area="bundle: unknown key",
    )
    assert centre.keys["rogue"].key_id in rejection.detail


@examples(ci=20, long=400)
@given(rows=good_entries, version=st.integers(1, HELD), delta=st.booleans())
def test_replay_and_rollback(unit, centre, rows, version, delta):
    bundle = (
        centre.delta("national", version, version - 1, [["remove", "X1"]])
        if delta and version > 1
        else centre.snapshot("national", version, rows)
    )
    unit.rejects(bundle, Reason.STALE_VERSION, area="bundle: rollback/replay")


@examples(ci=20, long=400)
@given(base=st.integers(1, 10**6).filter(lambda b: b != HELD), ahead=st.integers(1, 100))
def test_delta_from_the_wrong_base(unit, centre, base, ahead):
    bundle = centre.delta("national", max(base, HELD) + ahead, base, [["remove", "X1"]])
    unit.rejects(bundle, Reason.BASE_MISMATCH, area="bundle: wrong base")


@examples(ci=10, long=200)
@given(
    count=st.integers(60, 200),
    reason=st.integers(50, 200),
    compression=st.sampled_from(["none", "gzip"]),
)
def test_oversized(unit, centre, count, reason, compression):
    """Over 4 KiB of payload (≥ 60 lines of ≥ 70 bytes), sent as is or as a gzip bomb."""
    unit.applier.max_payload_bytes = 4096
    rows = [entry(f"A{i:05d}", reason="r" * reason) for i in range(count)]
    unit.rejects(
        centre.snapshot("national", HELD + 1, rows, compression=compression),
        Reason.OVERSIZED,
        area="bundle: oversized",
    )


@examples(ci=25, long=700)
@given(
    junk=st.lists(
        st.binary(max_size=60) | st.text(max_size=60).map(str.encode), min_size=1, max_size=4
    ),
    good=st.integers(0, 2),
)
def test_malformed_payload_lines(unit, centre, junk, good):
    """A valid header and `good` valid entries, then lines of junk (bytes or text)."""
    rows = [entry(f"A{i}") for i in range(good)]
    body = lines(header(entries=good + len(junk)), *rows)
    body += b"".join(line.replace(b"\n", b" ") + b"\n" for line in junk)
    rejection = unit.rejects(
        signed(centre, body), Reason.MALFORMED, Reason.WRONG_TYPE, area="bundle: bad lines"
    )
    assert "line" in rejection.detail or "payload" in rejection.detail, rejection


FIELD_TYPES = {  # field → a strategy for values of a type it never takes
    "vrm": json_values.filter(lambda v: not isinstance(v, str)),
    "category": json_values.filter(lambda v: not isinstance(v, str)),
    "priority": json_values.filter(lambda v: type(v) is not int),
    "action": json_values.filter(lambda v: not isinstance(v, str)),
    "reason": json_values.filter(lambda v: not isinstance(v, str)),
    "expires_at": json_values.filter(lambda v: v is not None and not isinstance(v, str)),
}


@examples(ci=25, long=700)
@given(data=st.data(), field=st.sampled_from(sorted(FIELD_TYPES)))
def test_wrong_types_in_entries_name_line_and_field(unit, centre, data, field):
    row = entry("A1")
    row[ENTRY_COLUMNS.index(field)] = data.draw(FIELD_TYPES[field], label="value")
    rejection = unit.rejects(
        signed(centre, lines(header(), row)),
        Reason.WRONG_TYPE,
        Reason.MALFORMED,
        area="bundle: wrong types",
    )
    assert f"payload line 2: field {field}" in rejection.detail, rejection


# ---------------------------------------------------------------------------------------------
# Hotlist CSVs
# ---------------------------------------------------------------------------------------------

CSV_COLUMNS = ["vrm", "category", "priority", "action", "reason", "expires_at"]
csv_fields = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["AB12CDE", "stolen", "1", "5", "intercept", "", "2031-01-01T00:00:00Z"]),
    st.integers(-10, 10).map(str),
)


@examples(ci=40, long=1500)
@given(
    rows=st.lists(st.lists(csv_fields, min_size=4, max_size=7), max_size=5),
    changes=st.booleans(),
)
def test_csv_rows_import_or_name_line_and_field(tmp_path, rows, changes):
    CASES["csv"] += 1
    path = tmp_path / "h.csv"
    head = (["op"] if changes else []) + CSV_COLUMNS
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([head, *rows])  # fields quoted as CSV needs
    try:
        (read_changes if changes else read_entries)(path)
    except CsvProblems as problems:
        assert problems.problems
        for problem in problems.problems:
            assert problem.startswith(f"{path}: line "), problem
            assert "field " in problem or "fields; the header has" in problem, problem


@examples(ci=25, long=800)
@given(data=st.binary(max_size=300))
def test_csv_random_bytes(tmp_path, data):
    CASES["csv"] += 1
    path = tmp_path / "h.csv"
    path.write_bytes(data)
    try:
        read_entries(path)
    except UserError as error:  # CsvProblems is a UserError too
        assert str(error).startswith(f"{path}:"), error


# ---------------------------------------------------------------------------------------------
# MQTT commands
# ---------------------------------------------------------------------------------------------


def check_command(payload: bytes, retained: bool) -> None:
    CASES["command"] += 1
    result = parse_command(payload, retained)
    assert isinstance(result, Command | Rejected)
    if isinstance(result, Rejected):
        assert isinstance(result.reason, str) and result.reason
    else:
        assert not retained and result.name in ("ping", "health", "retry")


@examples(ci=100, long=2000)
@given(payload=st.binary(max_size=5000), retained=st.booleans())
def test_commands_from_random_bytes(payload, retained):
    check_command(payload, retained)


command_objects = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.sampled_from(["anpr.cmd/1", "anpr.cmd/2"]) | json_values,
        "id": st.from_regex(r"[A-Za-z0-9._-]{1,70}", fullmatch=True) | json_values,
        "command": st.sampled_from(["ping", "health", "retry", "reboot"]) | json_scalars,
        "args": st.just({}) | json_values,
    },
).flatmap(
    lambda known: st.dictionaries(st.text(max_size=8), json_values, max_size=3).map(
        lambda extra: {**extra, **known}
    )
)


@examples(ci=100, long=2000)
@given(body=command_objects | json_values, retained=st.booleans())
def test_commands_from_json(body, retained):
    check_command(json.dumps(body).encode(), retained)


@pytest.mark.parametrize("value", [[], {}], ids=["list", "object"])
def test_a_command_that_is_a_list_or_object(value):
    body = {"schema": "anpr.cmd/1", "id": "a", "command": value}
    check_command(json.dumps(body).encode(), False)


def test_a_deeply_nested_command():
    check_command(b"[" * 3000, False)


# ---------------------------------------------------------------------------------------------
# Config files
# ---------------------------------------------------------------------------------------------

VALID_CONFIG = {
    "unit": {"id": "u1"},
    "hotlist": {"trusted_keys": ["a.pub", "b.pub"]},
    "mqtt": {"host": "127.0.0.1", "port": 1883},
}
KNOWN_KEYS = [
    ("unit", "id"),
    ("hotlist", "trusted_keys"),
    ("hotlist", "lists"),
    ("mqtt", "host"),
    ("mqtt", "port"),
    ("mqtt", "tls"),
    ("camera", "source"),
    ("camera", "resolution"),
    ("storage", "path"),
    ("recognition", "region"),
]


def toml_string(text: str) -> str:
    """A TOML basic string: control characters, DEL, quote and backslash escaped."""
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or c in '\x7f"\\' else c for c in text)
    return f'"{escaped}"'


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


def toml_containers(children):
    return st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=6), children, max_size=3
    )


toml_values = st.recursive(
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    toml_containers,
    max_leaves=6,
)


def load_or_config_error(path: Path):
    CASES["config"] += 1
    try:
        return load_config(path)
    except ConfigError as error:
        assert error.issues
        for issue in error.issues:
            assert issue.file == str(path)
            if issue.key == "":  # a whole-file problem: unreadable or not TOML (with its line)
                assert issue.message.startswith(("invalid TOML", "cannot read")), issue
        return None


@examples(ci=60, long=1000)
@given(text=st.text(alphabet=st.sampled_from("[]{}=\"'.,#\n \tabcport1-_\\"), max_size=120))
def test_toml_ish_text(tmp_path, text):
    path = tmp_path / "unit.toml"
    path.write_text(text, encoding="utf-8")
    load_or_config_error(path)


@examples(ci=60, long=1000)
@given(key=st.sampled_from(KNOWN_KEYS), value=toml_values)
def test_random_values_for_known_keys(tmp_path, key, value):
    table, name = key
    data = json.loads(json.dumps(VALID_CONFIG))
    data.setdefault(table, {})[name] = value
    text = "".join(
        f"[{t}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in keys.items())
        for t, keys in data.items()
    )
    path = tmp_path / "unit.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
        CASES["config"] += 1
    except ConfigError as error:
        CASES["config"] += 1
        assert all(issue.file == str(path) for issue in error.issues)
        # The key path is the issue's key, or (a rule across keys of a table, such as two
        # different trusted keys) the table's, with the message naming the key path.
        assert any(
            issue.key.startswith(f"{table}.{name}")
            or (issue.key == table and f"{table}.{name}" in issue.message)
            for issue in error.issues
        ), error


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader(Detector(threads=1), Recogniser(threads=1), region="gb")


@examples(ci=8, long=60)
@given(
    height=st.integers(1, 700),
    width=st.integers(1, 900),
    channels=st.sampled_from([None, 1, 3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_size_of_uint8_frame_reads(reader, height, width, channels, seed):
    CASES["image"] += 1
    shape = (height, width) if channels is None else (height, width, channels)
    image = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    for result in reader.read(image):
        assert result.text.text
    assert isinstance(reader.recogniser.read(image).text, str)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(np.zeros((1, 20000, 3), np.uint8), id="very-wide"),
        pytest.param(np.zeros((8000, 2, 3), np.uint8), id="very-tall"),
        pytest.param(np.zeros((50, 50, 4), np.uint8), id="bgra"),
        *[
            pytest.param(
                image,
                id=name,
            )
            for name, image, error, raises in [
                (
                    "zero-size",
                    np.zeros((0, 0, 3), np.uint8),
                    "cv2.error (!_src.empty())",
                    cv2.error,
                ),
                (
                    "zero-width",
                    np.zeros((10, 0, 3), np.uint8),
                    "cv2.error (!_src.empty())",
                    cv2.error,
                ),
                (
                    "2-channel",
                    np.zeros((50, 50, 2), np.uint8),
                    "cv2.error (bad channels)",
                    cv2.error,
                ),
                ("bool", np.zeros((50, 50), bool), "cv2.error (resize func != 0)", cv2.error),
                (
                    "1-d",
                    np.zeros(50, np.uint8),
                    "ValueError (not enough values to unpack)",
                    ValueError,
                ),
            ]
        ],
    ],
)
def test_odd_frames_to_the_reader(reader, image):
    CASES["image"] += 1
    try:
        results = reader.read(image)
    except UserError:
        return
    assert isinstance(results, list)


@pytest.mark.parametrize(
    "dtype",
    [
        pytest.param(
            dtype,
            id=np.dtype(dtype).name,
        )
        for dtype, error, raises in [
            (np.float32, "TypeError (np.bincount: cannot cast float32 to int64)", TypeError),
            (
                np.uint16,
                "ValueError from the interpreter (UINT16, expected UINT8) when flat",
                ValueError,
            ),
        ]
    ],
)
def test_wrong_dtype_crops_to_the_recogniser(reader, dtype):
    """A crop of another dtype than uint8: a UserError, or a reading."""
    CASES["image"] += 1
    crop = np.full((48, 160, 3), 128, dtype)  # flat: passed on without the uint8 stretch
    try:
        text = reader.recogniser.read(crop).text
    except UserError:
        return
    assert isinstance(text, str)


def a_jpeg() -> bytes:
    image = np.random.default_rng(3).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


@examples(ci=20, long=300)
@given(
    how=st.sampled_from(["random", "truncated", "flipped", "empty"]),
    data=st.binary(max_size=400),
    where=st.floats(0, 1, exclude_max=True),
)
def test_corrupt_image_files(tmp_path, how, data, where):
    CASES["image file"] += 1
    jpeg = a_jpeg()
    cut = int(len(jpeg) * where)
    content = {
        "random": data,
        "truncated": jpeg[:cut],
        "flipped": jpeg[:cut] + bytes([jpeg[cut] ^ 0xFF]) + jpeg[cut + 1 :],
        "empty": b"",
    }[how]
    path = tmp_path / "frame.jpg"
    path.write_bytes(content)
    try:
        image = load_image(path)
    except UserError as error:
        assert str(path) in str(error)
        return
    assert image.ndim == 3 and image.shape[2] == 3 and image.size > 0


@pytest.mark.parametrize(("width", "height"), [(65500, 65500), (1, 60000), (0, 10)])
def test_image_files_claiming_huge_or_zero_dimensions(tmp_path, width, height):
    """A PNG header claiming a huge (or zero) size, with no pixel data behind it."""
    import struct
    import zlib

    CASES["image file"] += 1
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
    png += struct.pack(">I", zlib.crc32(chunk)) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    path = tmp_path / "huge.png"
    path.write_bytes(png)
    # over 50 megapixels: refused from the header, before any decoding (edge.vision.image_files)
    expected = "declares" if width * height > 50_000_000 else "not a readable image"
    with pytest.raises(UserError, match=f"{path}: {expected}"):
        load_image(path)


# ---------------------------------------------------------------------------------------------
# Model files
# ---------------------------------------------------------------------------------------------

KINDS = ("detector", "recogniser")


@examples(ci=10, long=200)
@given(
    kind=st.sampled_from(KINDS),
    how=st.sampled_from(["truncated", "random", "flipped", "other model"]),
    data=st.binary(max_size=2000),
    where=st.floats(0, 1, exclude_max=True),
)
def test_bad_model_files_name_the_file(tmp_path, kind, how, data, where):
    """The manifest beside the file is the real one: any change of bytes fails its sha256."""
    CASES["model"] += 1
    folder = tmp_path / f"m-{CASES['model']}"
    folder.mkdir()
    for suffix in (".tflite", ".json"):
        shutil.copy(BUNDLED_MODELS / f"{kind}{suffix}", folder / f"{kind}{suffix}")
    path = folder / f"{kind}.tflite"
    real = path.read_bytes()
    cut = int(len(real) * where)
    other = "recogniser" if kind == "detector" else "detector"
    path.write_bytes(
        {
            "truncated": real[:cut],
            "random": data,
            "flipped": real[:cut] + bytes([real[cut] ^ 0x10]) + real[cut + 1 :],
            "other model": (BUNDLED_MODELS / f"{other}.tflite").read_bytes(),
        }[how]
    )
    with pytest.raises(UserError, match=rf"^{path}: sha256 .* does not match its manifest"):
        TfliteModel(path, kind=kind)
    shutil.rmtree(folder)


@pytest.mark.parametrize(("stage", "kind"), [(Detector, "recogniser"), (Recogniser, "detector")])
def test_the_other_models_file_with_its_manifest(tmp_path, stage, kind):
    CASES["model"] += 1
    for suffix in (".tflite", ".json"):
        shutil.copy(BUNDLED_MODELS / f"{kind}{suffix}", tmp_path / f"{kind}{suffix}")
    path = tmp_path / f"{kind}.tflite"
    with pytest.raises(UserError, match=f"^{path}: is a '{kind}' model"):
        stage(path)


@examples(ci=3, long=30)
@given(data=st.binary(min_size=0, max_size=300).map(lambda b: b"TFL3" + b))
def test_garbage_with_a_matching_manifest(tmp_path, data):
    """Bytes whose sha256 is in the manifest still fail to load, with the file named."""
    CASES["model"] += 1
    shutil.copy(BUNDLED_MODELS / "recogniser.json", tmp_path / "recogniser.json")
    path = tmp_path / "recogniser.tflite"
    path.write_bytes(data)
    manifest = json.loads(path.with_suffix(".json").read_text())
    manifest["sha256"] = hashlib.sha256(data).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match=f"^{path}: "):
        TfliteModel(path)


# ---------------------------------------------------------------------------------------------


def test_zz_count_of_generated_cases():
    """Last in the file: print the cases run per area (and check the long run's total)."""
    total = sum(CASES.values())
    print(f"\nbad-input cases ({'long' if LONG else 'CI'} mode): {total} in all")
    for area, count in sorted(CASES.items()):
        print(f"  {area}: {count}")
    if LONG and len(CASES) >= 10:  # the whole file ran
        assert total >= 10_000, total
