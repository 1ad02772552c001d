"""Tests of ltijepa.train, the one training loop: the log, evaluations, NaN, bit-identity."""

import numpy as np
import pytest
import torch

from ltijepa.chapters.p_jepa_counting import ABLATIONS, buffer_of
from ltijepa.envs.counting import CountingEnv, make_transitions
from ltijepa.errors import ParameterError, SolverError
from ltijepa.jepa.losses import consistency_loss
from ltijepa.jepa.model import PJepaConfig, build_pjepa
from ltijepa.jepa.training import PJepaTrainConfig, train_pjepa
from ltijepa.train import RESERVED_KEYS, train


class Regression:
    """``y = x w*`` with 3 features; batches drawn uniformly with the generator."""

    def __init__(self, n: int = 64):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 3, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5])

    def sample(self, batch_size, generator):
        idx = torch.randint(len(self.x), (batch_size,), generator=generator)
        return self.x[idx], self.y[idx]


class Linear(torch.nn.Module):
    """A linear model with two named terms; ``nan_at`` makes the penalty NaN at that call."""

    def __init__(self, nan_at: int | None = None):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(3))
        self.calls, self.nan_at = 0, nan_at

    def loss_terms(self, batch):
        self.calls += 1
        x, y = batch
        fit = ((x @ self.w - y) ** 2).mean()
        penalty = 1e-3 * self.w.pow(2).sum() * (float("nan") if self.calls == self.nan_at else 1.0)
        return {"fit": fit, "penalty": penalty, "total": fit + penalty}


def reference(model, data, steps, batch_size, seed, lr):
    """The loop written out by hand: sample, loss, Adam step, record."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    totals = []
    for _ in range(steps):
        terms = model.loss_terms(data.sample(batch_size, generator))
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        optimizer.step()
        totals.append(terms["total"].detach())
    return torch.stack(totals).numpy()


def run(model, steps=30, **kwargs):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    kwargs.setdefault("generator", torch.Generator().manual_seed(1))
    return train(model, Regression(), optimizer, steps=steps, batch_size=8, progress=False, **kwargs)


def test_the_loop_is_the_plain_loop_and_logs_every_term():
    model, by_hand = Linear(), Linear()
    info = run(model)
    totals = reference(by_hand, Regression(), 30, 8, seed=1, lr=0.1)
    assert torch.equal(model.w, by_hand.w)
    np.testing.assert_array_equal(info["total"], totals)
    assert list(info)[:3] == ["fit", "penalty", "total"] and info["fit"].shape == (30,)
    np.testing.assert_array_equal(info["total"], info["fit"] + info["penalty"])
    assert info["total"][-1] < 0.1 * info["total"][0] and model.training
    assert info["best_step"] is None and info["best_state"] is None and info["eval_step"].size == 0


def test_gradient_clipping_bounds_the_step():
    free, clipped = Linear(), Linear()
    for model, clip in ((free, None), (clipped, 1e-3)):
        train(model, Regression(), torch.optim.SGD(model.parameters(), lr=1.0), steps=1, batch_size=8,
              generator=torch.Generator().manual_seed(1), grad_clip=clip, progress=False)
    assert float(clipped.w.detach().norm()) == pytest.approx(1e-3, rel=1e-5) and float(free.w.detach().norm()) > 1e-2


def test_evaluations_and_the_best_checkpoint():
    scores = iter([0.1, 0.9, 0.2, 0.3])
    seen = []

    def evaluate(m):
        assert not m.training and not torch.is_grad_enabled()
        seen.append(m.w.detach().clone())
        return {"score": next(scores)}

    info = run(Linear(), steps=25, evaluate=evaluate, eval_every=10, best_by="score")
    np.testing.assert_array_equal(info["eval_step"], [0, 10, 20, 25])
    np.testing.assert_array_equal(info["eval"]["score"], [0.1, 0.9, 0.2, 0.3])
    assert info["best_step"] == 10 and torch.equal(info["best_state"]["w"], seen[1])
    info = run(Linear(), steps=5, evaluate=lambda m: {"score": 1.0})
    np.testing.assert_array_equal(info["eval_step"], [0, 5])


@pytest.mark.parametrize("check_every", [1, 3, 1000])
def test_a_non_finite_loss_names_its_term_and_step(check_every):
    evaluated = []
    with pytest.raises(SolverError, match="loss term 'penalty' == nan at step 4") as error:
        run(Linear(nan_at=4), steps=12, check_every=check_every,
            evaluate=lambda m: evaluated.append(1) or {"w": float(m.w.sum())}, eval_every=5)
    assert (error.value.step, error.value.term, error.value.status) == (4, "penalty", "non-finite loss")
    assert len(evaluated) == 1, "the NaN is found before the weights it produced are evaluated"


def test_the_log_is_checked_once_per_check_every_steps(monkeypatch):
    import ltijepa.train as loop

    calls = []
    original = loop._check_finite
    monkeypatch.setattr(loop, "_check_finite", lambda *a: calls.append(a[2:]) or original(*a))
    run(Linear(), steps=25, check_every=10)
    assert calls == [(0, 10), (10, 20), (20, 25)]


def test_errors():
    with pytest.raises(ParameterError, match="steps == 0"):
        run(Linear(), steps=0)
    with pytest.raises(ParameterError, match="generator == None, must be a torch.Generator"):
        run(Linear(), generator=None)
    with pytest.raises(ParameterError, match="best_by == 'x' needs an evaluate callback"):
        run(Linear(), best_by="x")
    with pytest.raises(ParameterError, match="best_by == 'x' is not an entry"):
        run(Linear(), evaluate=lambda m: {"y": 1.0}, best_by="x")

    class Clash(Linear):
        def loss_terms(self, batch):
            terms = super().loss_terms(batch)
            return {"seconds": terms["fit"], "total": terms["total"]}

    with pytest.raises(ParameterError, match="must include 'total' and none of"):
        run(Clash())
    assert "eval" in RESERVED_KEYS


def old_pjepa_loop(model, buffer, config, seed):
    """The P-JEPA loop as it was before ``ltijepa.train`` (jepa/train.py, kept as the reference):
    terms by a function of the flags, the weighted total summed by the loop, Adam with a scaled
    encoder group, clipping, a generator on the buffer's device."""
    cfg = model.config
    generator = torch.Generator(device=buffer.device).manual_seed(seed)
    encoder = list(model.encoder.parameters())
    ids = {id(p) for p in encoder}
    rest = [p for p in model.parameters() if id(p) not in ids]
    optimizer = torch.optim.Adam([{"params": encoder, "lr": config.lr * config.encoder_lr_scale},
                                  {"params": rest, "lr": config.lr}])
    params = list(model.parameters())
    history = torch.empty(config.steps, 3, device=buffer.device)
    model.train()
    for step in range(1, config.steps + 1):
        batch = buffer.sample(config.batch_size, generator)
        z_both = model.encode(torch.cat([batch.obs, batch.next_obs]))
        z, z_next = z_both[: len(batch.obs)], z_both[len(batch.obs):]
        if not cfg.dynamics_to_encoder:
            z_dyn, z_next = z.detach(), z_next.detach()
        else:
            z_dyn = z
        z_aux = z if cfg.aux_to_encoder else z.detach()
        terms = {"consistency": consistency_loss(model.predict(z_dyn, batch.action), z_next),
                 "aux": model.aux_loss(z_aux, batch)}
        total = cfg.consistency_coef * terms["consistency"] + cfg.aux_coef * terms["aux"]
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        history[step - 1] = torch.stack([terms["consistency"], terms["aux"], total]).detach()
    return history.numpy()


@pytest.mark.parametrize("ablation", ["pjepa", "random_aux", "reward_only", "dynamics_only"])
def test_pjepa_trains_bit_identically_to_the_old_loop(ablation):
    """The JEPA chapter's claims rest on it: same weights, same logged terms, bit for bit."""
    spec = ABLATIONS[ablation]
    config = PJepaConfig(image_size=16, latent_dim=8, encoder="cnn", encoder_channels=4, encoder_depth=2,
                         dynamics_hidden=(16,), head_hidden=(16,), aux_dim=5, aux=spec.aux,
                         dynamics_to_encoder=spec.dynamics_to_encoder, aux_to_encoder=spec.aux_to_encoder,
                         aux_coef=spec.aux_coef)
    train_config = PJepaTrainConfig(steps=40, batch_size=16, lr=3e-3, encoder_lr_scale=0.3, grad_clip=0.5,
                                    eval_every=40)
    buffer = buffer_of(make_transitions(CountingEnv(size=16, radius=1), 40, 4, rng=0))
    new, old = build_pjepa(config, seed=7), build_pjepa(config, seed=7)
    info = train_pjepa(new, buffer, train_config, seed=3, progress=False)
    history = old_pjepa_loop(old, buffer, train_config, seed=3)
    for (name, a), b in zip(new.state_dict().items(), old.state_dict().values()):
        assert torch.equal(a, b), name
    for i, name in enumerate(("consistency", "aux", "total")):
        np.testing.assert_array_equal(info[name], history[:, i], err_msg=name)
