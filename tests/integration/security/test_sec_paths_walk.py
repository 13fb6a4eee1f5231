"""test_sec_paths again, on a gateway whose kernel has no openat2.

The node is started through a small wrapper that installs a seccomp filter answering ENOSYS
to openat2 (what a kernel before 5.6, or a container's filter, says) and then execs unigw. The
gateway must notice, switch to resolving paths one component at a time with O_NOFOLLOW, and
give every answer of the openat2 suite.
"""
import os
import stat

import pytest

import util
from test_sec_paths import *  # noqa: F401,F403 -- the same tests, against this module's gw

GW_NODES = 1

# prctl(PR_SET_NO_NEW_PRIVS) + prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER): a four-instruction
# BPF program, "openat2 (x86_64 and aarch64: 437) -> ERRNO(ENOSYS), anything else -> ALLOW",
# inherited across the execv.
WRAPPER = r'''#!/usr/bin/python3
import ctypes, os, struct, sys
ins = lambda code, jt, jf, k: struct.pack("HBBI", code, jt, jf, k)
prog = (ins(0x20, 0, 0, 0) + ins(0x15, 0, 1, 437) + ins(0x06, 0, 0, 0x00050000 | 38)
        + ins(0x06, 0, 0, 0x7fff0000))
buf = ctypes.create_string_buffer(prog, len(prog))
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = Fprog(len(prog) // 8, ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
    sys.exit("seccomp: errno %d" % ctypes.get_errno())
os.execv(sys.argv[1], sys.argv[1:])
'''


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    base = tmp_path_factory.mktemp("gw-walk")
    real = util.unigw_bin()
    wrapper = base / "unigw-no-openat2"
    launcher = base / "unigw"
    wrapper.write_text(WRAPPER)
    launcher.write_text("#!/bin/sh\nexec /usr/bin/python3 %s %s \"$@\"\n" % (wrapper, real))
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    os.environ["UNIGW_BIN"] = str(launcher)  # read when the node starts
    try:
        c = util.Cluster(base, nodes=GW_NODES)
        c.start()
    finally:
        os.environ["UNIGW_BIN"] = real
    yield c
    c.stop()


def test_gateway_resolves_by_walk(gw):
    """The filter is in place and the gateway noticed (it logs the switch once)."""
    assert "openat2 is not available" in gw.node.log_text()
