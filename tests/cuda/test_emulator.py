"""The emulated CUDA backend itself (csrc/emu, docs/cuda_emu.md): what a correct kernel may do
runs, and every kernel error the emulator promises to find becomes a Python exception naming
the kernel and the source line, never an abort. Runs only on the emulated backend
(``--cuda-emu`` / ``DEEPKERN_CUDA_EMU_BUILD``), under each of its executors."""
import re
import struct
import sys

import numpy as np
import pytest

from tests import cuda_emu

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not cuda_emu.active(), reason="needs the emulated CUDA backend (--cuda-emu)")]


@pytest.fixture(params=["fibers", "threads"])
def emu(request):
    """The emulated module, set to one executor for the test (restored afterwards)."""
    ext = sys.modules["deepkern._cuda"]
    before = ext.emu_info()
    ext.emu_configure(executor=request.param, watchdog=5.0)
    yield ext
    ext.emu_reset()
    ext.emu_configure(executor=before["executor"], watchdog=before["watchdog_seconds"])


def test_partial_mask_groups_of_one_warp_run_at_once(emu):
    out = np.array(emu.emu_selftest("partial_groups"))
    lanes = np.arange(32)
    np.testing.assert_array_equal(out[:32], np.where(lanes < 16, sum(range(16)), sum(range(16, 32))))
    odd = sum(1 << k for k in range(1, 32, 2))
    np.testing.assert_array_equal(out[32:], np.where(lanes < 16, odd & 0xFFFF, odd & 0xFFFF0000))


def test_shared_memory_starts_as_nan(emu):
    out = np.array(emu.emu_selftest("shared_poison"))
    assert np.isnan(out).all(), "static and dynamic shared memory must read as NaN before any write"
    assert np.isnan(emu.emu_selftest("shared_poison_opt_in")).all()


def test_each_block_has_its_own_shared_memory(emu):
    emu.emu_configure(blocks=4)
    try:
        assert emu.emu_selftest("per_block_shared") == [0.0]
    finally:
        emu.emu_configure(blocks=2)


def test_counting_barriers(emu):
    n, all_, any_ = emu.emu_selftest("syncthreads_count")
    assert (n, all_, any_) == (len(range(0, 100, 3)), 1, 1)


def test_returned_threads_leave_the_barrier(emu):
    # Warp 1 returns at once; warp 0's two __syncthreads complete without it.
    assert emu.emu_selftest("early_exit") == [2.0] * 32


# scenario -> (error text, source line marker in selftest.cpp)
FAULTS = {
    "barrier_divergence": r"barrier divergence: __syncthreads at emu/selftest\.cpp:\d+ while other threads of the "
                          r"block wait at emu/selftest\.cpp:\d+",
    # Lanes 16-31 call outside the mask; with OS threads any of them may be first.
    "lane_not_in_mask": r"__shfl_xor_sync\(mask 0x0000ffff\) at emu/selftest\.cpp:\d+: the calling lane "
                        r"(1[6-9]|2\d|3[01]) is not in the mask",
    "read_outside_mask": r"lane \d+ reads lane 20, which is not in the mask 0x0000ffff",
    "lane_exits": r"lane 5 returned while lanes 0x[0-9a-f]+ wait for it at __shfl_down_sync",
    "deadlock": r"deadlock",
}
KERNELS = {"barrier_divergence": "barrier_divergence_kernel", "lane_not_in_mask": "lane_not_in_mask_kernel",
           "read_outside_mask": "read_outside_mask_kernel", "lane_exits": "lane_exits_kernel",
           "deadlock": "deadlock_kernel"}


@pytest.mark.parametrize("scenario", sorted(FAULTS))
def test_kernel_faults_are_sticky_python_errors(emu, scenario):
    with pytest.raises(RuntimeError) as info:
        emu.emu_selftest(scenario)
    message = str(info.value)
    assert message.startswith("CUDA error: "), message
    assert re.search(FAULTS[scenario], message), message
    assert f"{KERNELS[scenario]} (DK_LAUNCH at emu/selftest.cpp:" in message, message
    # Sticky, as a faulted CUDA context: the next launch of a correct kernel fails the same way.
    with pytest.raises(RuntimeError, match=re.escape(message.split(" (cudaGetLastError")[0])):
        emu.emu_selftest("partial_groups")
    assert emu.emu_sticky_error()
    emu.emu_reset()
    assert emu.emu_sticky_error() == ""
    emu.emu_selftest("partial_groups")


@pytest.mark.parametrize("scenario, text", [
    ("block_too_large", r"invalid configuration argument: .*empty_kernel .*block \(2048,1,1\)"),
    ("grid_y_too_large", r"invalid configuration argument: .*empty_kernel .*grid \(1,70000,1\)"),
    ("dynamic_shared_too_large", r"invalid argument: .*shared_poison_kernel .*65536 bytes of dynamic shared memory, "
                                 r"more than the 49152 allowed"),
])
def test_bad_launch_configurations_fail_the_launch_only(emu, scenario, text):
    with pytest.raises(RuntimeError, match=text):
        emu.emu_selftest(scenario)
    assert emu.emu_sticky_error() == "", "a configuration error is not sticky"
    emu.emu_selftest("partial_groups")


def _cub_key(value, dtype):
    """CUB's radix key of a float: sign-flipped bits, all bits flipped for negatives, -0 as +0."""
    fmt, ufmt, bits = {"float32": ("<f", "<I", 32), "float64": ("<d", "<Q", 64)}[dtype]
    u = struct.unpack(ufmt, struct.pack(fmt, value))[0]
    high = 1 << (bits - 1)
    if u == high:
        u = 0
    return (~u & ((1 << bits) - 1)) if u & high else u ^ high


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("descending", [False, True])
def test_radix_sort_stand_in_keeps_cub_order(emu, dtype, descending):
    nan = float("nan")
    neg_nan = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000000))[0]
    keys = [3.0, -0.0, 0.0, nan, -1.5, float("inf"), neg_nan, 0.0, -float("inf"), 3.0, -0.0, 2.5] * 3
    out = emu.emu_radix_sort(keys, dtype, descending)
    n = len(keys)
    got_keys, got_order = out[:n], [int(v) for v in out[n:]]
    # Stable in both directions: equal keys keep their input order.
    expected = sorted(range(n), key=lambda i: (-_cub_key(keys[i], dtype) if descending else _cub_key(keys[i], dtype), i))
    assert got_order == expected
    for k, i in zip(got_keys, got_order):
        want = 0.0 if keys[i] == 0 else keys[i]  # CUB writes -0.0 out as +0.0
        assert (np.isnan(k) and np.isnan(want)) or k == want
        assert np.signbit(k) == np.signbit(want)


def test_radix_sort_stand_in_orders_signed_integers(emu):
    keys = [5, -3, 0, -2147483648, 2147483647, -3, 7]
    out = emu.emu_radix_sort(keys, "int32", False)
    n = len(keys)
    assert out[:n] == sorted(keys)
    assert [int(v) for v in out[n:]] == sorted(range(n), key=lambda i: (keys[i], i))
