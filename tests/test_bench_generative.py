import numpy as np

from deepkern import bench


def test_generative_step_cases_run_and_match_pytorchs_architectures():
    """Each case runs one step in every implementation; where PyTorch is installed, setup checks
    that its models have deepkern's parameter counts (it raises otherwise)."""
    ctx = bench.Context("cpu")
    cases = bench.load_cases(["generative"])
    assert [c.op for c in cases] == ["vae_adam_step", "dcgan_step"]
    for case in cases:
        fns = case.setup(ctx)
        assert "deepkern" in fns and ("torch" in fns) == (ctx.torch is not None)
        for fn in fns.values():
            fn()
    out = bench.load_cases(["generative"])[1].setup(ctx)["deepkern"]()
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"} and np.isfinite(list(out.values())).all()
