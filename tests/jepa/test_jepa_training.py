"""Tests of ltijepa.jepa.training and WorldModel.loss_terms: stop-gradients of the four ablations,
P-JEPA's training, the buffer."""

import numpy as np
import pytest
import torch

from ltijepa.envs.counting import CountingEnv, make_transitions
from ltijepa.errors import ParameterError, ShapeError
from ltijepa.envs.counting_mdp import CountingConfig
from ltijepa.chapters.p_jepa_counting import ABLATIONS, Config, buffer_of
from ltijepa.jepa.model import PJepaConfig, build_pjepa, load_checkpoint
from ltijepa.jepa.training import PJepaTrainConfig, TransitionBuffer, train_pjepa

ENV = CountingEnv(size=16, radius=1)
DATA = make_transitions(ENV, 40, 4, rng=0)
MODEL = PJepaConfig(image_size=16, latent_dim=8, encoder="cnn", encoder_channels=4, encoder_depth=2,
                    dynamics_hidden=(16,), head_hidden=(16,), aux_dim=5)
EXPERIMENT = Config(
    env=ENV, n_episodes=40, episode_length=4, probe_size=32, model=MODEL,
    train=PJepaTrainConfig(steps=30, batch_size=16, lr=1e-3, encoder_lr_scale=1.0, eval_every=10),
    reward_only_lr=1e-3, reward_only_encoder_lr_scale=1.0, seeds=1, decoder_steps=5,
    tabular=CountingConfig(n_appearances=2, layouts_per_count=2),
)


def _encoder_grads(model, loss):
    grads = torch.autograd.grad(loss, list(model.encoder.parameters()), retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, model.encoder.parameters())]


def _norm(grads):
    return float(sum(g.pow(2).sum() for g in grads) ** 0.5)


@pytest.mark.parametrize("name", list(ABLATIONS))
def test_only_the_ablations_terms_reach_the_encoder(name):
    """The encoder's gradient from a detached head is exactly zero (autograd), and nonzero
    from an attached one; the detached heads still get gradients."""
    spec = ABLATIONS[name]
    model = build_pjepa(EXPERIMENT.model_config(name), seed=0)
    with torch.no_grad():  # leave the zero-initialised reward head, so every path carries gradient
        for p in model.aux.head[-1].parameters():
            p.normal_(0.0, 0.1, generator=torch.Generator().manual_seed(1))
    batch = buffer_of(DATA).sample(16, torch.Generator().manual_seed(0))
    terms = model.loss_terms(batch)
    cons, aux = _norm(_encoder_grads(model, terms["consistency"])), _norm(_encoder_grads(model, terms["aux"]))
    assert (cons > 0) == spec.dynamics_to_encoder and (aux > 0) == spec.aux_to_encoder
    if not spec.dynamics_to_encoder:
        assert cons == 0.0
    if not spec.aux_to_encoder:
        assert aux == 0.0
    head_grads = torch.autograd.grad(terms["aux"], list(model.aux.head.parameters()), retain_graph=True)
    dyn_grads = torch.autograd.grad(terms["consistency"], list(model.dynamics.parameters()))
    assert _norm(head_grads) > 0 and _norm(dyn_grads) > 0


def test_no_stop_gradient_on_the_consistency_target():
    """P-JEPA trains E through E(o_{t+1}) too: detaching the target changes the gradient."""
    model = build_pjepa(MODEL, seed=0)
    batch = buffer_of(DATA).sample(16, torch.Generator().manual_seed(0))
    full = _encoder_grads(model, model.loss_terms(batch)["consistency"])
    z, z_next = model.encode(batch.obs), model.encode(batch.next_obs).detach()
    half = _encoder_grads(model, torch.nn.functional.mse_loss(model.predict(z, batch.action), z_next))
    assert _norm([a - b for a, b in zip(full, half)]) > 1e-3 * _norm(full)


def test_train_returns_named_losses_and_the_best_checkpoint(tmp_path):
    model = build_pjepa(MODEL, seed=0)
    config = PJepaTrainConfig(steps=25, batch_size=16, lr=1e-3, encoder_lr_scale=0.3, eval_every=10)
    calls = []

    def evaluate(m):
        assert not m.training and not torch.is_grad_enabled()
        calls.append(len(calls))
        return {"score": float([0.1, 0.9, 0.2, 0.3][len(calls) - 1])}

    info = train_pjepa(model, buffer_of(DATA), config, seed=0, evaluate=evaluate, best_by="score",
                 checkpoint_dir=tmp_path, progress=False)
    assert set(info) >= {"consistency", "aux", "total", "eval_step", "eval", "best_step", "best_state"}
    assert info["consistency"].shape == info["aux"].shape == (25,)
    np.testing.assert_allclose(info["total"], 2 * info["consistency"] + 10 * info["aux"], rtol=1e-5)
    np.testing.assert_array_equal(info["eval_step"], [0, 10, 20, 25])
    assert info["best_step"] == 10 and model.training
    assert (tmp_path / "final.pt").exists() and (tmp_path / "best.pt").exists()
    best = load_checkpoint(MODEL, tmp_path / "best.pt")
    for name, value in best.state_dict().items():
        torch.testing.assert_close(value, info["best_state"][name])


def test_training_is_reproducible_and_reduces_the_losses():
    config = PJepaTrainConfig(steps=60, batch_size=16, lr=1e-2, encoder_lr_scale=1.0, eval_every=60)
    runs = [train_pjepa(build_pjepa(MODEL, seed=1), buffer_of(DATA), config, seed=2, progress=False) for _ in range(2)]
    np.testing.assert_array_equal(runs[0]["total"], runs[1]["total"])
    assert runs[0]["total"][-10:].mean() < 0.5 * runs[0]["total"][:5].mean()


def test_errors():
    with pytest.raises(ParameterError, match="steps == 0, must be an integer >= 1"):
        PJepaTrainConfig(steps=0)
    with pytest.raises(ParameterError, match="lr == -1"):
        PJepaTrainConfig(lr=-1)
    with pytest.raises(ParameterError, match="best_by == 'x' needs an evaluate callback"):
        train_pjepa(build_pjepa(MODEL, seed=0), buffer_of(DATA), PJepaTrainConfig(steps=1), seed=0, best_by="x")
    with pytest.raises(ParameterError, match="best_by == 'x' is not an entry"):
        train_pjepa(build_pjepa(MODEL, seed=0), buffer_of(DATA), PJepaTrainConfig(steps=1, batch_size=4), seed=0,
              evaluate=lambda m: {"y": 1.0}, best_by="x", progress=False)
    with pytest.raises(ShapeError, match="frame indices must lie in \\[0, 2\\)"):
        TransitionBuffer(np.zeros((2, 3, 4, 4), np.uint8), [0], [2], [1.0], [0.0])
    with pytest.raises(ShapeError, match="expected src, dst, rewards"):
        TransitionBuffer(np.zeros((2, 3, 4, 4), np.uint8), [0, 1], [1], [1.0], [0.0])
