"""benchmarks/cpu_cap.py's checks and files, on a directory standing in for the cgroup controller
(the benchmark itself runs on the real one)."""

import pytest


def test_the_quota_is_the_share_of_each_period(cpu_cap):
    assert cpu_cap.quota_us(0.4, period_us=100_000, cpus=2) == 40_000
    assert cpu_cap.quota_us(2, period_us=100_000, cpus=2) == 200_000


@pytest.mark.parametrize(
    ("cores", "message"),
    [
        (0, "above 0 and at most the 2 CPUs here, not 0"),
        (-1, "above 0 and at most the 2 CPUs here, not -1"),
        (3, "above 0 and at most the 2 CPUs here, not 3"),
        (0.005, "below the kernel's least quota of 1 ms"),
    ],
)
def test_a_cap_the_kernel_would_refuse_or_the_machine_has_not_got_is_refused(cpu_cap, cores, message):
    with pytest.raises(ValueError, match=message):
        cpu_cap.quota_us(cores, period_us=100_000, cpus=2)


def test_a_bad_cap_is_refused_before_a_group_is_made(cpu_cap, tmp_path):
    (tmp_path / "cpu.cfs_quota_us").write_text("-1")

    with pytest.raises(ValueError), cpu_cap.cpu_capped("bench", 0, controller=tmp_path):
        pass

    assert not (tmp_path / "bench").exists()


def test_a_missing_or_read_only_controller_says_why(cpu_cap, tmp_path, monkeypatch):
    assert cpu_cap.unavailable(tmp_path) == f"no cgroup v1 cpu controller at {tmp_path}"

    (tmp_path / "cpu.cfs_quota_us").write_text("-1")
    assert cpu_cap.unavailable(tmp_path) == ""

    # Not root: the controller is there but cannot be written (root can write a 0o500 directory,
    # so the permission check itself answers no).
    monkeypatch.setattr(cpu_cap.os, "access", lambda path, mode: False)
    assert cpu_cap.unavailable(tmp_path) == f"{tmp_path} is not writable (needs root)"


def test_a_group_moves_a_process_in_by_its_id(cpu_cap, tmp_path):
    cpu_cap.CpuGroup(tmp_path).add(4242)

    assert (tmp_path / "cgroup.procs").read_text() == "4242"
