"""The two Asterisk labs the tests of several Asterisk hosts run against (tests/run: build/test-lab, and
build/test-lab-b whose root is a copy of the first one's, deploy/lib/asterisk-lab's PBX_LAB_ROOT_FROM) are two
hosts of their own:

- each answers on its own SSH port with host keys of its own (the copy made new ones), the ones its known_hosts
  trusts, and only its own portal key logs in;
- each runs its own Asterisk, reached over SSH as the portal reaches it, bound to its own SIP port;
- the second root holds none of the first lab's generated files: everything in its include directories was written
  after its root was made (a copied file keeps the source's older mtime);
- stopping one lab's sshd or Asterisk, or making its generated-file directory read-only (the lab.py helpers the
  multi-host tests use), leaves the other lab alone, and the lab comes back.
"""

from __future__ import annotations

import shlex

import lab as L


def test_each_lab_answers_on_its_ssh_port_with_host_keys_of_its_own(lab, lab_b):
    assert (lab.ssh_port, lab.sip_port) != (lab_b.ssh_port, lab_b.sip_port)
    assert lab.root.resolve() != lab_b.root.resolve()
    served = {}
    for the_lab in (lab, lab_b):
        assert the_lab.ssh_answers(), f"no SSH banner on {the_lab.ssh_host}:{the_lab.ssh_port} ({the_lab!r})"
        served[the_lab.ssh_port] = the_lab.served_host_keys()
        known = the_lab.known_host_keys()
        assert served[the_lab.ssh_port], f"ssh-keyscan got no host key from {the_lab!r}"
        assert served[the_lab.ssh_port] <= known, \
            f"{the_lab!r} presents host keys its known_hosts ({the_lab.known_hosts}) does not trust"
    shared = served[lab.ssh_port] & served[lab_b.ssh_port]
    assert not shared, f"the two labs present the same host keys: {sorted(k.split()[0] for k in shared)}"
    assert not lab.known_host_keys() & lab_b.known_host_keys(), "the two labs' known_hosts share a key"

    # Each lab lets in its own portal key only: the copy did not keep the first lab's authorized_keys.
    assert lab.ssh_key != lab_b.ssh_key
    for the_lab, other in ((lab, lab_b), (lab_b, lab)):
        own = the_lab.ssh("true")
        assert own.returncode == 0, f"{the_lab!r} refuses its own portal key: {own.stderr}"
        foreign = the_lab.ssh("true", key=other.ssh_key)
        assert foreign.returncode != 0, f"{the_lab!r} lets in the other lab's portal key"


def test_each_lab_runs_its_own_asterisk(lab, lab_b):
    pids = set()
    for the_lab in (lab, lab_b):
        assert the_lab.asterisk_running(), f"no Asterisk process in {the_lab.root}"
        pids.add((the_lab.root / "run" / "asterisk" / "asterisk.pid").read_text().strip())
        uptime = the_lab.ssh_cli("core show uptime")
        assert "System uptime:" in uptime, f"{the_lab!r}: core show uptime over SSH said {uptime!r}"
        transports = the_lab.ssh_cli("pjsip show transports")
        assert f"127.0.0.1:{the_lab.sip_port}" in transports, \
            f"{the_lab!r}: its Asterisk does not serve SIP on 127.0.0.1:{the_lab.sip_port}:\n{transports}"
    assert len(pids) == 2, f"both labs name one Asterisk process: {pids}"


def test_second_root_holds_none_of_the_first_labs_generated_files(lab, lab_b):
    made = lab_b.root_stamp().stat().st_mtime_ns
    for directory in (lab_b.pjsip_dir, lab_b.dialplan_dir):
        for entry in directory.iterdir():
            assert entry.stat().st_mtime_ns >= made, \
                f"{entry} predates the second lab's root ({lab_b.root_stamp()}): copied from another lab"
    assert lab_b.stray_files() == [], f"the second lab's include directories hold {lab_b.stray_files()}"
    for f in (lab_b.pjsip_file, lab_b.dialplan_file):
        assert f.exists(), f"{f} is missing: the second lab's Asterisk cannot load its configuration"
    assert not lab_b.pjsip_file.samefile(lab.pjsip_file) and not lab_b.dialplan_file.samefile(lab.dialplan_file)


def test_stopping_one_labs_sshd_or_asterisk_leaves_the_other_alone(lab, lab_b):
    with lab_b.sshd_stopped():
        assert not lab_b.ssh_answers(1) and lab_b.ssh("true").returncode != 0
        assert lab_b.answers(), "stopping sshd stopped the second lab's Asterisk"
        assert "System uptime:" in lab.ssh_cli("core show uptime")
    assert lab_b.ssh_answers() and lab_b.ssh("true").returncode == 0, "sshd did not come back"

    with lab_b.asterisk_stopped():
        assert not lab_b.answers() and not lab_b.asterisk_running()
        assert lab_b.ssh("true").returncode == 0, "stopping Asterisk stopped the second lab's sshd"
        assert lab.answers(), "stopping the second lab's Asterisk stopped the first one's"
    assert "System uptime:" in lab_b.ssh_cli("core show uptime"), "Asterisk did not come back"


def test_one_labs_generated_file_directory_read_only(lab_b):
    probe = shlex.quote(f"{L.PJSIP_PATH.rsplit('/', 1)[0]}/.e2e-write-probe")
    with lab_b.read_only(lab_b.pjsip_dir):
        r = lab_b.ssh(f"touch {probe}")
        assert r.returncode != 0, "the portal's account could write a read-only directory"
    r = lab_b.ssh(f"touch {probe} && rm {probe}")
    assert r.returncode == 0, f"the directory stayed unwritable after read_only: {r.stderr}"
    assert lab_b.stray_files() == []
