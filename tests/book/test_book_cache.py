"""The content cache key: it changes exactly when an input of the execution changes."""

import hashlib
import json

import nbformat
import pytest

from ltijepa.book.cache import NotebookCache, cache_key

from minibook import write_notebook


@pytest.fixture
def inputs(tmp_path):
    src = tmp_path / "src" / "ltijepa"
    (src / "lqr").mkdir(parents=True)
    (src / "lqr" / "task.py").write_text("def cost(): return 1\n")
    (src / "__init__.py").write_text("")
    lock = tmp_path / "lock.txt"
    lock.write_text("numpy==2.4.6\n")
    notebook = write_notebook(tmp_path / "nb.ipynb", "x = 1")
    return notebook, src, lock


def key(inputs, params=None):
    notebook, src, lock = inputs
    return cache_key(notebook, src_dir=src, lock_files=(lock,), params=params or {"profile": "ci", "seed": 0})


def test_key_is_stable_when_nothing_changes(inputs):
    assert key(inputs) == key(inputs)


def test_key_changes_when_a_file_in_src_changes(inputs):
    before = key(inputs)
    (inputs[1] / "lqr" / "task.py").write_text("def cost(): return 2\n")
    assert key(inputs) != before


def test_key_changes_when_a_file_is_added_to_src(inputs):
    before = key(inputs)
    (inputs[1] / "lqr" / "new.py").write_text("")
    assert key(inputs) != before


def test_key_ignores_bytecode_caches(inputs):
    before = key(inputs)
    (inputs[1] / "lqr" / "__pycache__").mkdir()
    (inputs[1] / "lqr" / "__pycache__" / "task.cpython-311.pyc").write_bytes(b"\0" * 16)
    assert key(inputs) == before


def test_key_ignores_outputs_but_not_sources(inputs):
    notebook = inputs[0]
    before = key(inputs)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[-1].execution_count = 7
    nbformat.write(nb, notebook)
    assert key(inputs) == before
    nb.cells[-1].source = "x = 2"
    nbformat.write(nb, notebook)
    assert key(inputs) != before


def test_key_changes_with_parameters_and_lock(inputs):
    before = key(inputs)
    assert key(inputs, {"profile": "full", "seed": 0}) != before
    assert key(inputs, {"profile": "ci", "seed": 1}) != before
    inputs[2].write_text("numpy==2.4.7\n")
    assert key(inputs) != before


def test_key_covers_the_peers_pins_beside_the_lock(tmp_path, inputs):
    notebook, src, lock = inputs
    peers = tmp_path / "peers.txt"
    without = cache_key(notebook, src_dir=src, lock_files=(lock, peers), params={"profile": "ci", "seed": 0})
    peers.write_text("mpc==0.0.6\n")
    pinned = cache_key(notebook, src_dir=src, lock_files=(lock, peers), params={"profile": "ci", "seed": 0})
    peers.write_text("mpc==0.0.7\n")
    bumped = cache_key(notebook, src_dir=src, lock_files=(lock, peers), params={"profile": "ci", "seed": 0})
    assert len({without, pinned, bumped}) == 3


def test_cache_round_trip(tmp_path, inputs):
    cache = NotebookCache(tmp_path / "cache")
    assert cache.get("abc") == (None, None)
    cache.put("abc", inputs[0].read_bytes(), {"seconds": 1.5})
    (stored, record), problem = cache.get("abc")
    assert problem is None and stored.read_bytes() == inputs[0].read_bytes()
    assert record == {"seconds": 1.5, "sha256": hashlib.sha256(inputs[0].read_bytes()).hexdigest()}
    assert not list((tmp_path / "cache").glob("*.tmp"))
    json.loads((tmp_path / "cache" / "abc.json").read_text())


@pytest.mark.parametrize("damage", ["empty notebook", "half notebook", "edited notebook", "empty record",
                                    "no checksum", "no notebook"])
def test_a_damaged_entry_is_reported_and_discarded(tmp_path, inputs, damage):
    cache = NotebookCache(tmp_path / "cache")
    cache.put("abc", inputs[0].read_bytes(), {"seconds": 1.5})
    notebook, record = tmp_path / "cache" / "abc.ipynb", tmp_path / "cache" / "abc.json"
    data = notebook.read_bytes()
    if damage == "empty notebook":
        notebook.write_bytes(b"")
    elif damage == "half notebook":
        notebook.write_bytes(data[: len(data) // 2])
    elif damage == "edited notebook":
        notebook.write_bytes(data.replace(b"x = 1", b"x = 2"))
    elif damage == "empty record":
        record.write_bytes(b"")
    elif damage == "no checksum":
        record.write_text(json.dumps({"seconds": 1.5}))
    else:
        notebook.unlink()
    hit, problem = cache.get("abc")
    assert hit is None and problem.startswith("cache entry abc discarded: ")
    assert not notebook.exists() and not record.exists()
    assert cache.get("abc") == (None, None)
