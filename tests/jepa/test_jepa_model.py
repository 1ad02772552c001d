"""Tests of ltijepa.jepa.layers and ltijepa.jepa.model: sizes, seeding, checkpoints."""

import pytest
import torch

from ltijepa.errors import DataError, ParameterError, ShapeError
from ltijepa.jepa.layers import (
    ConvDecoder,
    ConvEncoder,
    ResNetEncoder,
    count_parameters,
    mlp,
)
from ltijepa.jepa.model import (
    Batch,
    PJepaConfig,
    build_pjepa,
    load_checkpoint,
    save_checkpoint,
)

SMALL = PJepaConfig(image_size=16, latent_dim=8, encoder="cnn", encoder_channels=4, encoder_depth=2,
                    dynamics_hidden=(16,), head_hidden=(16,), aux_dim=5, num_bins=11)


def test_the_paper_sizes_of_appendix_d():
    """Parameter counts printed in Appendix D: encoder, dynamics, reward head."""
    assert count_parameters(ResNetEncoder(64, 256)) == 12_260_192
    assert count_parameters(mlp(257, (512,), 256)) == 264_448
    assert count_parameters(mlp(256, (512, 512), 101)) == 448_101


def test_encoders_map_images_to_latents():
    obs = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    assert ConvEncoder(32, 7, channels=4)(obs).shape == (5, 7)
    assert ResNetEncoder(32, 6, channels=2, blocks_per_stage=1)(obs).shape == (5, 6)
    assert ConvDecoder(7, 32, channels=4)(torch.zeros(5, 7)).shape == (5, 3, 32, 32)


def test_zero_initialised_last_layer():
    head = mlp(4, (8,), 3, zero_init_last=True)
    assert torch.all(head(torch.randn(2, 4)) == 0)


def test_build_is_seeded_and_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    a, b = build_pjepa(SMALL, seed=3), build_pjepa(SMALL, seed=3)
    c = build_pjepa(SMALL, seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_random_projection_is_frozen_and_saved(tmp_path):
    model = build_pjepa(PJepaConfig(**{**SMALL.__dict__, "aux": "random"}), seed=0)
    names = {n for n, _ in model.named_parameters()}
    assert "aux.weight" not in names and "aux.weight" in model.state_dict()
    obs = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8)
    target = model.aux.target(obs)
    assert target.shape == (3, 5)
    path = save_checkpoint(model, tmp_path / "m.pt")
    loaded = load_checkpoint(model.config, path)
    torch.testing.assert_close(loaded.aux.target(obs), target)
    torch.testing.assert_close(loaded.encode(obs), model.encode(obs))


def test_a_checkpoint_of_another_config_is_named_not_a_torch_error(tmp_path):
    path = save_checkpoint(build_pjepa(SMALL, seed=0), tmp_path / "m.pt")
    other = PJepaConfig(**{**SMALL.__dict__, "aux": "random"})
    with pytest.raises(DataError, match=r"m\.pt: the weights do not fit this PJepaConfig"):
        load_checkpoint(other, path)


def test_role_methods_and_aux_loss():
    model = build_pjepa(SMALL, seed=0)
    obs = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    z = model.encode(obs)
    assert z.shape == (4, 8) and model.predict(z, torch.ones(4, 1)).shape == (4, 8)
    batch = Batch(obs, torch.ones(4, 1), obs, torch.tensor([0.0, 1.0, 0.0, 1.0]))
    # the reward head starts at the uniform distribution: loss = log(num_bins)
    assert model.aux_loss(z, batch).item() == pytest.approx(torch.log(torch.tensor(11.0)).item(), rel=1e-6)
    assert model.aux.predict(z).shape == (4,)


def test_errors():
    with pytest.raises(ParameterError, match="encoder == 'vit', must be one of"):
        PJepaConfig(encoder="vit")
    with pytest.raises(ParameterError, match="aux == 'none', must be one of"):
        PJepaConfig(aux="none")
    with pytest.raises(ParameterError, match="aux_coef == -2"):
        PJepaConfig(aux_coef=-2)
    with pytest.raises(ParameterError, match="seed == -1, must be an integer >= 0"):
        build_pjepa(SMALL, seed=-1)
    with pytest.raises(ParameterError, match="latent_dim == 0, must be an integer >= 1"):
        ConvEncoder(16, 0)
    with pytest.raises(ParameterError, match="image_size == 20, must be a multiple of 2\\^depth = 8"):
        ConvDecoder(4, 20)
    model = build_pjepa(SMALL, seed=0)
    with pytest.raises(ShapeError, match=r"expected images \(B, 3, 16, 16\), found \(2, 3, 8, 8\)"):
        model.encode(torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ShapeError, match=r"action \(B, 1\), found \(2, 8\) and \(2, 2\)"):
        model.predict(torch.zeros(2, 8), torch.zeros(2, 2))
