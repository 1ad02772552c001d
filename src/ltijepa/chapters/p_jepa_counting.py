"""The driver of ``notebooks/p_jepa_counting.ipynb`` ("No unhealthy representation collapse").

The counting experiment of Yu et al. (2025), §2.3 and Fig. 2: four ablations of P-JEPA.

What reaches the encoder in each ablation (the authors' configs, see the chapter):

=================  =========================  ===========================================
ablation           auxiliary task             encoder objective
=================  =========================  ===========================================
``pjepa``          reward ``1{k_t = 4}``      ``2 L_dyn + 10 CE(P(z_t), r_pre)``
``random_aux``     frozen random 256-D map    ``2 L_dyn + 1 MSE(P(z_t), W vec(o_t) + b)``
``reward_only``    reward                     ``10 CE`` (T learns on detached latents)
``dynamics_only``  reward (head detached)     ``2 L_dyn`` (P learns on detached latents)
=================  =========================  ===========================================

The data is an offline replay buffer of random-policy episodes (:func:`make_transitions`):
with random actions and every other head detached, the encoder's objective in the authors'
online TD-MPC2 loop is exactly this one on such transitions.

:class:`Config` holds every size; :meth:`Config.for_profile` resolves
them for the book's profiles (``ci``: 32-pixel frames, a small CNN, CPU minutes; ``full``:
the paper's 64 pixels, ResNet encoder, 300k steps, 5 seeds). :func:`run_ablation` trains one
ablation and returns the embeddings of its best checkpoint (selected, as the authors, by the
in-sample nearest-centroid accuracy) and of its final weights; :func:`fit_decoder` trains a
pixel decoder on the frozen, detached latents for the reconstructions of Fig. 2.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ltijepa import parallel
from ltijepa.envs.counting import CountingEnv, Transitions, make_probe, make_transitions
from ltijepa.envs.counting_mdp import CountingConfig
from ltijepa.errors import ParameterError
from ltijepa.jepa import metrics
from ltijepa.jepa.layers import ConvDecoder
from ltijepa.jepa.losses import reconstruction_loss
from ltijepa.jepa.model import PJepaConfig, WorldModel, build_pjepa
from ltijepa.jepa.training import PJepaTrainConfig, TransitionBuffer, train_pjepa
from ltijepa.profiles import by_profile

__all__ = [
    "Ablation",
    "ABLATIONS",
    "Config",
    "Probe",
    "AblationResult",
    "run_ablations",
    "make_probes",
    "buffer_of",
    "encode_frames",
    "run_ablation",
    "fit_decoder",
]


@dataclass(frozen=True)
class Ablation:
    """One row of the paper's Fig. 2: which auxiliary task, and which losses train the encoder."""

    name: str
    """key in ABLATIONS"""
    title: str
    """the paper's description, for figures"""
    aux: str
    """'reward' or 'random' (PJepaConfig.aux)"""
    dynamics_to_encoder: bool
    """whether the latent transition loss trains the encoder"""
    aux_to_encoder: bool
    """whether the auxiliary loss trains the encoder"""
    aux_coef: float
    """weight c_p of the auxiliary loss (10 for the reward, 1 for the random map)"""


#: The four ablations, in the order of the chapter.
ABLATIONS: dict[str, Ablation] = {
    a.name: a
    for a in (
        Ablation("pjepa", "(a) dynamics + reward auxiliary (P-JEPA)", "reward", True, True, 10.0),
        Ablation("random_aux", "(b) dynamics + 256-D random auxiliary", "random", True, True, 1.0),
        Ablation("reward_only", "(c) reward loss only", "reward", False, True, 10.0),
        Ablation("dynamics_only", "(d) dynamics loss only", "reward", True, False, 10.0),
    )
}


def _ablation(name: str) -> Ablation:
    if name not in ABLATIONS:
        raise ParameterError(f"ablation == {name!r}, must be one of {list(ABLATIONS)}", name="ablation", value=name)
    return ABLATIONS[name]


@dataclass(frozen=True)
class Config:
    """Every size of the counting experiment. Build it with :meth:`for_profile`."""

    env: CountingEnv
    """frame size, object size, k_max = 8 and target n = 4"""
    n_episodes: int
    """random-policy episodes in the replay buffer"""
    episode_length: int
    """steps per episode (the authors' episode_length: 4)"""
    probe_size: int
    """frames of each probe set (the authors' baseline set: 256)"""
    model: PJepaConfig
    """the world model (its auxiliary task, encoder flags and aux_coef are set per ablation)"""
    train: PJepaTrainConfig
    """optimisation (its learning rates are set for the reward-only ablation)"""
    reward_only_lr: float
    """learning rate of the reward-only ablation (the paper: 1e-5 for every module)"""
    reward_only_encoder_lr_scale: float
    """the encoder's learning-rate factor in the reward-only ablation (the paper: 1.0)"""
    seeds: int
    """independent runs per ablation"""
    decoder_steps: int
    """steps of the pixel decoder trained on the frozen latents"""
    tabular: CountingConfig
    """the counting MDP of the exact tabular check (``thm-pjepa-no-collapse``)"""

    @classmethod
    def for_profile(cls, profile: str) -> Config:
        """The experiment of a book profile.

        ``full`` is the paper's scale (Appendix D): 64-pixel frames, the ResNet encoder
        (latent 256, hidden width 512, a reward head with two hidden layers), batch 256, Adam
        3e-4 with the encoder at 0.3x, 300k steps, a 100k replay buffer (25k episodes of 4
        steps), 5 seeds, evaluation every 6k steps, and the paper's 1e-5 for every module in
        the reward-only ablation.

        ``ci`` fits the four ablations in minutes on one CPU thread: 32-pixel frames (r = 2), a
        3-layer CNN with 16 channels, latent 64, hidden width 256, a reward head with *one*
        hidden layer (with two, P-JEPA stayed on the constant-prediction plateau for 6k steps
        in our trials), batch 64, Adam 2e-3 for every ablation (reward-only included) with the
        encoder at 0.3x, 8k steps, 20k transitions, one seed.
        """
        size = by_profile(profile, ci=32, full=64)
        env = CountingEnv(size=size, radius=by_profile(profile, ci=2, full=3), max_count=8, target=4)
        model = by_profile(
            profile,
            ci=PJepaConfig(image_size=size, latent_dim=64, encoder="cnn", encoder_channels=16, encoder_depth=3,
                           dynamics_hidden=(256,), head_hidden=(256,), aux_dim=256),
            full=PJepaConfig(image_size=size),
        )
        train_config = by_profile(
            profile,
            ci=PJepaTrainConfig(steps=8_000, batch_size=64, lr=2e-3, encoder_lr_scale=0.3, eval_every=250),
            full=PJepaTrainConfig(steps=300_000, batch_size=256, lr=3e-4, encoder_lr_scale=0.3, eval_every=6_000),
        )
        return cls(
            env=env,
            n_episodes=by_profile(profile, ci=5_000, full=25_000),
            episode_length=4,
            probe_size=256,
            model=model,
            train=train_config,
            reward_only_lr=by_profile(profile, ci=2e-3, full=1e-5),
            reward_only_encoder_lr_scale=by_profile(profile, ci=0.3, full=1.0),
            seeds=by_profile(profile, ci=1, full=5),
            decoder_steps=by_profile(profile, ci=1_500, full=20_000),
            tabular=by_profile(
                profile,
                ci=CountingConfig(n_appearances=12, layouts_per_count=10),   # 972 states
                full=CountingConfig(n_appearances=64, layouts_per_count=20),  # 10,304 states
            ),
        )

    def model_config(self, ablation: str) -> PJepaConfig:
        """The model of ``ablation``: its auxiliary task, which losses reach the encoder, ``c_p``.

        Raises
        ------
        ParameterError
            If ``ablation`` is not a key of :data:`ABLATIONS`.
        """
        spec = _ablation(ablation)
        return replace(
            self.model,
            aux=spec.aux,
            dynamics_to_encoder=spec.dynamics_to_encoder,
            aux_to_encoder=spec.aux_to_encoder,
            aux_coef=spec.aux_coef,
        )

    def train_config(self, ablation: str) -> PJepaTrainConfig:
        """The optimisation of ``ablation`` (the reward-only ablation has its own learning rates).

        Raises
        ------
        ParameterError
            If ``ablation`` is not a key of :data:`ABLATIONS`.
        """
        _ablation(ablation)
        if ablation == "reward_only":
            return replace(self.train, lr=self.reward_only_lr, encoder_lr_scale=self.reward_only_encoder_lr_scale)
        return self.train

    def transitions(self, rng) -> Transitions:
        """The replay buffer: :func:`make_transitions` with this experiment's sizes.

        Parameters
        ----------
        rng : numpy.random.Generator or int
            Source of every random draw (passed to :func:`make_transitions`).
        """
        return make_transitions(self.env, self.n_episodes, self.episode_length, rng=rng)


@dataclass(frozen=True)
class Probe:
    """Labelled frames to measure a representation on."""

    frames: np.ndarray
    """uint8 (n, 3, size, size)"""
    counts: np.ndarray
    """int64 (n,): the number of objects, the label"""


def make_probes(config: Config, rng) -> tuple[Probe, Probe]:
    """Two independent probe sets: the *fit* set (centroids, in-sample scores, figures) and the
    *held-out* set, each as the authors' baseline set (:func:`make_probe`).

    Parameters
    ----------
    config : Config
        Provides the environment and the number of frames per set (``probe_size``).
    rng : numpy.random.Generator or int
        Seed or generator; the two sets are drawn from two independent generators spawned
        from it.

    Returns
    -------
    fit, heldout : Probe
    """
    rng = np.random.default_rng(rng)
    fit, heldout = rng.spawn(2)
    return (
        Probe(*make_probe(config.env, config.probe_size, rng=fit)),
        Probe(*make_probe(config.env, config.probe_size, rng=heldout)),
    )


def buffer_of(data: Transitions, *, device: str | torch.device = "cpu") -> TransitionBuffer:
    """The transitions on ``device``, with the current reward ``1{k_t = n}`` as scalar target.

    Parameters
    ----------
    data : Transitions
        The dataset; its frames are stored once, its transitions index them.
    device : str or torch.device, default "cpu"
        Where the buffer's tensors live.

    Returns
    -------
    TransitionBuffer
    """
    return TransitionBuffer(data.frames, data.src, data.dst, data.actions, data.reward_pre, device=device)


def encode_frames(model: WorldModel, frames: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """``E(o)`` of uint8 frames ``(n, 3, H, W)`` as a float64 array ``(n, latent_dim)``.

    Parameters
    ----------
    model : WorldModel
        The encoder; run in eval mode under ``torch.no_grad`` on the device of its parameters,
        its training mode restored afterwards.
    frames : numpy.ndarray of uint8, shape (n, C, H, W)
        Observations of the model's channel count and image size.
    batch_size : int, default 1024
        Frames encoded per forward pass (bounds the memory, not the result).
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        z = [model.encode(torch.as_tensor(frames[i : i + batch_size], device=device)).cpu()
             for i in range(0, len(frames), batch_size)]
    model.train(was_training)
    return torch.cat(z).double().numpy()


@dataclass(frozen=True)
class AblationResult:
    """One trained ablation: the training history and the embeddings of the probe sets."""

    ablation: str
    """key in ABLATIONS"""
    seed: int
    """the seed of the weights and of the batches"""
    info: dict
    """the training loop's history (losses per step, metrics per evaluation)"""
    best_step: int
    """the step of the best checkpoint (largest in-sample nearest-centroid accuracy)"""
    best: WorldModel
    """the model with the best checkpoint's weights"""
    final: WorldModel
    """the model after the last step"""
    best_metrics: dict
    """metrics.summary of the best checkpoint on the fit probe (held-out NC on the other)"""
    final_metrics: dict
    """metrics.summary of the final weights"""
    z_best: np.ndarray
    """(n, latent_dim): the best checkpoint's embeddings of the fit probe"""
    z_final: np.ndarray
    """(n, latent_dim): the final embeddings of the fit probe"""


def run_ablation(
    config: Config,
    ablation: str,
    buffer: TransitionBuffer,
    probes: tuple[Probe, Probe],
    *,
    seed: int,
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
) -> AblationResult:
    """Train one ablation on ``buffer`` and measure it on the probe sets.

    Parameters
    ----------
    config : Config
        Sizes and optimisation.
    ablation : str
        A key of :data:`ABLATIONS`.
    buffer : TransitionBuffer
        The replay buffer (its device is the training device).
    probes : (Probe, Probe)
        The fit and the held-out probe sets (:func:`make_probes`).
    seed : int
        Seed of the initial weights and of the batch sampler.
    checkpoint_dir : str or Path, optional
        Where :func:`ltijepa.jepa.training.train_pjepa` writes ``final.pt`` and ``best.pt``.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    AblationResult

    Raises
    ------
    ParameterError
        If ``ablation`` is not a key of :data:`ABLATIONS`.
    """
    model_config = config.model_config(ablation)
    model = build_pjepa(model_config, seed=seed, device=buffer.device)
    fit, heldout = probes

    def measure(m: WorldModel) -> tuple[np.ndarray, dict[str, float]]:
        z_fit = encode_frames(m, fit.frames)
        return z_fit, metrics.summary(z_fit, fit.counts, encode_frames(m, heldout.frames), heldout.counts)

    info = train_pjepa(
        model, buffer, config.train_config(ablation), seed=seed, evaluate=lambda m: measure(m)[1],
        best_by="nc_accuracy", checkpoint_dir=checkpoint_dir, progress=progress,
    )
    best = build_pjepa(model_config, seed=seed, device=buffer.device)
    best.load_state_dict(info["best_state"])
    (z_best, best_metrics), (z_final, final_metrics) = measure(best), measure(model)
    return AblationResult(
        ablation=ablation,
        seed=seed,
        info=info,
        best_step=int(info["best_step"]),
        best=best,
        final=model,
        best_metrics=best_metrics,
        final_metrics=final_metrics,
        z_best=z_best,
        z_final=z_final,
    )


def _train_item(config: Config, buffer: TransitionBuffer, probes: tuple[Probe, Probe], item: tuple[str, int]) -> AblationResult:
    """:func:`run_ablation` of one ``(ablation, seed)`` item, without a progress bar."""
    ablation, seed = item
    return run_ablation(config, ablation, buffer, probes, seed=seed, progress=False)


def run_ablations(
    config: Config, buffer: TransitionBuffer, probes: tuple[Probe, Probe], seeds: dict[str, list[int]],
) -> dict[str, list[AblationResult]]:
    """:func:`run_ablation` for every ablation and seed, as independent items of
    :func:`ltijepa.parallel.map` (a Dask cluster, or local processes on a CPU buffer; a buffer on
    a GPU trains in this process, or on Dask workers with a GPU each).

    Each run is seeded by its own integer, so the results are those of the plain loop over
    ``seeds``, wherever the runs go.

    Parameters
    ----------
    config : Config
        Sizes and optimisation.
    buffer : TransitionBuffer
        The replay buffer (its device is the training device).
    probes : (Probe, Probe)
        The fit and the held-out probe sets (:func:`make_probes`).
    seeds : dict
        Ablation name (a key of :data:`ABLATIONS`) -> the seeds of its runs.

    Returns
    -------
    dict
        Ablation name -> its runs, in the order of ``seeds``.
    """
    items = [(name, seed) for name, runs in seeds.items() for seed in runs]
    on_gpu = buffer.device.type != "cpu"
    results = parallel.map(partial(_train_item, config, buffer, probes), items,
                           processes=1 if on_gpu else None, resources={"GPU": 1} if on_gpu else None)
    out: dict[str, list[AblationResult]] = {name: [] for name in seeds}
    for (name, _), result in zip(items, results):
        out[name].append(result)
    return out


def fit_decoder(
    model: WorldModel,
    data: Transitions,
    *,
    steps: int,
    seed: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    channels: int = 32,
    progress: bool = False,
) -> tuple[ConvDecoder, np.ndarray]:
    """Train a pixel decoder ``D(sg(E(o)))`` on the frozen encoder of ``model``.

    The latents of every frame are computed once, detached: the decoder cannot change the
    encoder (the paper's decoder also gets no gradient into the encoder). It is trained with
    :func:`ltijepa.jepa.losses.reconstruction_loss` (MSE to pixels in ``[-1, 1]``).

    Parameters
    ----------
    model : WorldModel
        Provides the frozen encoder and the device.
    data : Transitions
        Frames to reconstruct.
    steps, batch_size, lr : int, int, float
        Adam steps, batch size and learning rate.
    channels : int
        Channels of the decoder's hidden feature maps.
    seed : int
        Seed of the decoder's weights and of its batches.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    decoder : ConvDecoder
    losses : numpy.ndarray (steps,)
    """
    device = next(model.parameters()).device
    cfg = model.config
    z_all = torch.as_tensor(encode_frames(model, data.frames), dtype=torch.float32, device=device)
    frames = torch.as_tensor(data.frames, device=device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        decoder = ConvDecoder(cfg.latent_dim, cfg.image_size, channels=channels, out_channels=cfg.in_channels)
        decoder = decoder.to(device)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=lr)
    generator = torch.Generator(device=device).manual_seed(seed)
    losses = []
    for _ in tqdm(range(steps), disable=not progress, mininterval=5.0, ascii=True):
        idx = torch.randint(len(frames), (batch_size,), generator=generator, device=device)
        loss = reconstruction_loss(decoder(z_all[idx]), frames[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return decoder, torch.stack(losses).cpu().numpy()
