"""pytest harness of the unigw integration tests.

Fixtures:
  gw          one cluster per test module (N nodes, N = module attribute GW_NODES, default 1;
              extra daemon flags from GW_ARGS, config text from GW_CONFIG)
  gw_fresh    the same, but a fresh cluster (mount + data) for one test
  gw_factory  callable(nodes=1, args=(), mount=None, config=None) -> started Cluster,
              stopped at the end of the test
  s3          boto3 client of `gw` (path style, one attempt, region us-east-1)

After every test each running cluster is checked: a node that exited unexpectedly or whose
log shows an AddressSanitizer / UBSan ("runtime error:") report fails the test.  On teardown
the nodes get SIGTERM (SIGKILL after 10 s) and must exit 0.  Node logs are attached to
every failing test's report.
"""
import os
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import util  # noqa: E402

# Clients never read the host's AWS configuration or CA bundle.
_AWS_TMP = tempfile.mkdtemp(prefix="unigw-itest-aws-")
for _k in list(os.environ):
    if _k.startswith("AWS_"):
        del os.environ[_k]
with open(os.path.join(_AWS_TMP, "config"), "w") as _f:
    _f.write("[default]\nregion = us-east-1\n")
with open(os.path.join(_AWS_TMP, "credentials"), "w") as _f:
    _f.write("")
os.environ["AWS_CONFIG_FILE"] = os.path.join(_AWS_TMP, "config")
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(_AWS_TMP, "credentials")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_k, None)
os.environ["NO_PROXY"] = "*"


def _start(base, nodes=1, args=(), mount=None, config=None):
    c = util.Cluster(base, nodes=nodes, extra_args=args, mount=mount, config=config)
    c.start()
    return c


@pytest.fixture(scope="module")
def gw(request, tmp_path_factory):
    mod = request.module
    c = _start(tmp_path_factory.mktemp("gw"), nodes=getattr(mod, "GW_NODES", 1),
               args=getattr(mod, "GW_ARGS", ()), config=getattr(mod, "GW_CONFIG", None))
    yield c
    c.stop()


@pytest.fixture
def gw_fresh(request, tmp_path):
    mod = request.module
    c = _start(tmp_path / "gw", nodes=getattr(mod, "GW_NODES", 1),
               args=getattr(mod, "GW_ARGS", ()), config=getattr(mod, "GW_CONFIG", None))
    yield c
    c.stop()


@pytest.fixture
def gw_factory(tmp_path):
    started = []

    def make(nodes=1, args=(), mount=None, config=None):
        c = _start(tmp_path / ("gw%d" % len(started)), nodes=nodes, args=args, mount=mount,
                   config=config)
        started.append(c)
        return c
    yield make
    errors = []
    for c in started:
        try:
            c.stop()
        except util.GatewayError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture(scope="module")
def s3(gw):
    return gw.boto3()


@pytest.fixture(autouse=True)
def _nodes_healthy():
    yield
    problems = []
    for c in list(util.ACTIVE_CLUSTERS):
        problems += c.problems()
    if problems:
        logs = "\n".join(c.logs() for c in util.ACTIVE_CLUSTERS)
        pytest.fail("\n".join(problems) + "\n" + logs, pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and util.ACTIVE_CLUSTERS:
        for c in util.ACTIVE_CLUSTERS:
            rep.sections.append(("unigw logs (%s)" % c.base, c.logs()))


def pytest_sessionfinish(session, exitstatus):
    # "no tests collected" must never look like success or a neutral outcome to ctest.
    if exitstatus == 5:
        session.exitstatus = 1


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size) mounts a fresh tmpfs of @size ("8m") and returns its path: a disk that a
    test can fill.  Skips where mounting is not allowed; unmounted after the test."""
    made = []

    def mount(size="8m"):
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        d = tmp_path / ("tmpfs-%d" % len(made))
        d.mkdir()
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", str(d)],
                           capture_output=True, timeout=30)
        if p.returncode != 0:
            pytest.skip("mount -t tmpfs not permitted here: %s" % p.stderr.decode().strip())
        made.append(d)
        return str(d)
    yield mount
    for d in made:
        subprocess.run(["umount", "-l", str(d)], timeout=30)


@pytest.fixture
def small_tmpfs(tmpfs):
    """An 8 MiB tmpfs: big bodies fill it."""
    return tmpfs("8m")
