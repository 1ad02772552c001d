"""Tests of ltijepa.chapters.p_jepa_counting: profiles, ablation configs, one tiny end-to-end run."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ltijepa.envs.counting import CountingEnv  # noqa: E402
from ltijepa.errors import ParameterError  # noqa: E402
from ltijepa.chapters import p_jepa_counting  # noqa: E402
from ltijepa.jepa import figures  # noqa: E402
from ltijepa.envs.counting_mdp import CountingConfig  # noqa: E402
from ltijepa.jepa.model import PJepaConfig  # noqa: E402
from ltijepa.jepa.training import PJepaTrainConfig  # noqa: E402

TINY = p_jepa_counting.Config(
    env=CountingEnv(size=16, radius=1),
    n_episodes=60, episode_length=4, probe_size=40,
    model=PJepaConfig(image_size=16, latent_dim=8, encoder="cnn", encoder_channels=4, encoder_depth=2,
                      dynamics_hidden=(16,), head_hidden=(16,), aux_dim=5),
    train=PJepaTrainConfig(steps=20, batch_size=16, lr=1e-3, encoder_lr_scale=0.3, eval_every=10),
    reward_only_lr=1e-4, reward_only_encoder_lr_scale=1.0, seeds=1, decoder_steps=5,
    tabular=CountingConfig(n_appearances=2, layouts_per_count=2),
)


def test_full_profile_is_the_papers_scale():
    full = p_jepa_counting.Config.for_profile("full")
    assert (full.env.size, full.env.radius, full.env.max_count, full.env.target) == (64, 3, 8, 4)
    assert full.model == PJepaConfig()  # ResNet, latent 256, widths 512, 101 bins
    t = full.train
    assert (t.steps, t.batch_size, t.lr, t.encoder_lr_scale, t.grad_clip) == (300_000, 256, 3e-4, 0.3, 200.0)
    assert (full.model.consistency_coef, full.model.aux_coef, t.eval_every) == (2.0, 10.0, 6_000)
    assert full.n_episodes * full.episode_length == 100_000 and full.seeds == 5
    assert full.tabular.n_states >= 10_000, "the paper's tabular check has 10^4 states or more"
    assert full.train_config("reward_only").lr == 1e-5
    assert full.train_config("reward_only").encoder_lr_scale == 1.0
    ci = p_jepa_counting.Config.for_profile("ci")
    assert ci.env.size == 32 and ci.model.encoder == "cnn" and ci.seeds == 1
    with pytest.raises(ParameterError, match="profile == 'gpu'"):
        p_jepa_counting.Config.for_profile("gpu")


@pytest.mark.parametrize(
    "name, aux, dyn, aux_grad, coef",
    [("pjepa", "reward", True, True, 10.0), ("random_aux", "random", True, True, 1.0),
     ("reward_only", "reward", False, True, 10.0), ("dynamics_only", "reward", True, False, 10.0)],
)
def test_ablation_configs(name, aux, dyn, aux_grad, coef):
    config = TINY.model_config(name)
    flags = (config.aux, config.dynamics_to_encoder, config.aux_to_encoder, config.aux_coef)
    assert flags == (aux, dyn, aux_grad, coef)
    assert config.consistency_coef == 2.0
    assert TINY.train_config(name).lr == (1e-4 if name == "reward_only" else 1e-3)


def test_unknown_ablation():
    for method in (TINY.model_config, TINY.train_config):
        with pytest.raises(ParameterError, match="ablation == 'vicreg', must be one of") as error:
            method("vicreg")
        assert (error.value.name, error.value.value) == ("ablation", "vicreg")


def test_tiny_run_end_to_end():
    data = TINY.transitions(0)
    probes = p_jepa_counting.make_probes(TINY, 1)
    assert not np.array_equal(probes[0].frames, probes[1].frames)
    result = p_jepa_counting.run_ablation(TINY, "pjepa", p_jepa_counting.buffer_of(data), probes, seed=3, progress=False)
    np.testing.assert_array_equal(result.info["eval_step"], [0, 10, 20])
    assert result.z_final.shape == (40, 8) and result.best_step in (0, 10, 20)
    assert result.best_metrics["nc_accuracy"] == max(result.info["eval"]["nc_accuracy"])
    np.testing.assert_allclose(result.z_best, p_jepa_counting.encode_frames(result.best, probes[0].frames))
    decoder, losses = p_jepa_counting.fit_decoder(result.final, data, steps=5, seed=0)
    assert losses.shape == (5,)
    with torch.no_grad():
        recon = decoder(result.final.encode(torch.as_tensor(probes[1].frames[:2]))).numpy()
    assert recon.shape == (2, 3, 16, 16) and np.all(np.abs(recon) <= 1)

    fig, axes = plt.subplots(1, 4)
    figures.pca_panel(axes[0], result.z_final, probes[0].counts, title="pca")
    figures.distance_panel(axes[1], result.z_final, probes[0].counts)
    figures.reconstruction_grid(axes[2], probes[1].frames[:2], {"(a)": recon, "(b)": 0 * recon})
    assert [t.get_text() for t in axes[2].get_yticklabels()] == ["observation", "(a)", "(b)"]
    figures.curve_panel(axes[3], result.info["eval_step"], np.stack([result.info["eval"]["nc_accuracy"]] * 2), label="a")
    assert axes[0].get_xlabel().startswith("PC 1") and axes[1].get_ylabel()
    plt.close(fig)
