"""The GitHub workflows: actionlint finds nothing, and book.yml publishes as the README says.

book.yml must run the very recipe of CI (.ci/run: make test, make book PROFILE=ci, make pdf),
upload the HTML on pull requests, deploy it to GitHub Pages with the official actions on pushes
to main, with least privileges, one deployment at a time and the two caches.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def actionlint() -> str:
    """The actionlint binary of the environment (the lock installs it), else the one on PATH."""
    found = Path(sys.executable).with_name("actionlint")
    if found.is_file():
        return str(found)
    on_path = shutil.which("actionlint")
    if on_path is None:
        pytest.fail("actionlint is not installed: it is in requirements/lock.txt (make venv)")
    return on_path


@pytest.fixture(scope="module")
def book_yml() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def uses(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if str(s.get("uses", "")).split("@")[0] == action]


def test_actionlint_finds_nothing_in_any_workflow():
    assert WORKFLOWS, "no workflow in .github/workflows"
    proc = subprocess.run([actionlint(), "-no-color", *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"actionlint:\n{proc.stdout}{proc.stderr}"


def test_triggers_are_pull_requests_and_pushes_to_main(book_yml):
    on = book_yml.get("on", book_yml.get(True))  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in on
    assert on["push"]["branches"] == ["main"]


def test_least_privilege_permissions(book_yml):
    assert book_yml["permissions"] == {"contents": "read"}
    jobs = book_yml["jobs"]
    assert "permissions" not in jobs["build"], "the build job keeps the workflow's read-only token"
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_build_runs_the_ci_recipe_and_uploads_the_html(book_yml):
    build = book_yml["jobs"]["build"]
    runs = [s["run"] for s in steps(build) if "run" in s]
    assert runs == ["bash .ci/run"], "one recipe: the workflow calls .ci/run and nothing else"
    recipe = (ROOT / ".ci" / "run").read_text()
    order = [recipe.index(command) for command in ("make test", "make book PROFILE=ci", "make pdf")]
    assert order == sorted(order)
    assert "apt-get install" in recipe and "chromium" in recipe
    [artifact] = uses(build, "actions/upload-artifact")
    assert "book/_build/html" in artifact["with"]["path"]
    [pages] = uses(build, "actions/upload-pages-artifact")
    assert pages["with"]["path"] == "book/_build/html"
    assert "refs/heads/main" in pages["if"] and "push" in pages["if"]


def test_deploy_is_the_official_action_only_on_main_one_at_a_time(book_yml):
    deploy = book_yml["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert "refs/heads/main" in deploy["if"] and "push" in deploy["if"]
    assert [s["uses"].split("@")[0] for s in steps(deploy)] == ["actions/deploy-pages"]
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"]["group"] == "pages"
    assert deploy["concurrency"]["cancel-in-progress"] is False, "a deployment in progress is never cancelled"


def test_pip_downloads_and_the_notebook_cache_are_cached_on_our_own_keys(book_yml):
    build = book_yml["jobs"]["build"]
    caches = {step["with"]["path"]: step["with"] for step in uses(build, "actions/cache")}
    pip_dir = build["env"]["PIP_CACHE_DIR"]
    assert set(caches) == {pip_dir, "book/.cache"}
    assert "hashFiles('requirements/lock.txt', 'requirements/peers.txt', 'pyproject.toml')" in caches[pip_dir]["key"]
    book_key = caches["book/.cache"]["key"]
    for inputs in ("requirements/lock.txt", "requirements/peers.txt", "notebooks/**", "src/ltijepa/**"):
        assert f"'{inputs}'" in book_key
    for cache in caches.values():
        restore = [line.strip() for line in cache.get("restore-keys", "").splitlines() if line.strip()]
        assert restore and all(cache["key"].startswith(prefix) for prefix in restore), "restore-keys are prefixes of our own key"
