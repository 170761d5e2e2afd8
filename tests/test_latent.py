"""latent/: interpolation, sliders, PCA, manifold grid, attribute vectors, latent map, Explorer."""

import numpy as np
import pytest
import torch

import latent
import models
import ui.latent_map
from latent import Explorer
from train.config import TrainConfig
from train.loop import train


def cosine(u, v):
    return float(u @ v / (u.norm() * v.norm()))


def gaussian_stats(n=500, kl=None, seed=0):
    """Stats of latents with per-dimension scales 1, 2, 0.5, 3 (and a KL per dimension when given)."""
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 4, generator=g) * torch.tensor([1.0, 2.0, 0.5, 3.0])
    per_image_kl = None if kl is None else torch.tensor(kl).expand(n, 4)
    return latent.latent_statistics(means, per_image_kl)[0], means


# ----------------------------------------------------------------------------- interpolation


def test_slerp_endpoints_and_norms():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 64, generator=g)
    z1 = z1 * z0.norm() / z1.norm()  # equal norms
    for method in latent.INTERPOLATIONS:
        path = latent.interpolate(z0, z1, 9, method)
        assert path.shape == (9, 64)
        assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    slerp_norms = latent.interpolate(z0, z1, 9, "slerp").norm(dim=1)
    assert torch.allclose(slerp_norms, z0.norm().expand(9), rtol=1e-4)  # slerp stays on the sphere
    lerp_mid = latent.interpolate(z0, z1, 9, "lerp")[4].norm()
    assert lerp_mid < 0.85 * z0.norm()  # lerp cuts through it: near-orthogonal vectors meet at ~1/sqrt(2) the norm


def test_slerp_falls_back_to_lerp_for_parallel_vectors():
    z0 = torch.tensor([1.0, 2.0, 3.0])
    t = torch.linspace(0, 1, 5)
    for z1 in (2 * z0, -z0, torch.zeros(3)):
        path = latent.slerp(z0, z1, t)
        assert torch.isfinite(path).all() and torch.allclose(path, latent.lerp(z0, z1, t))


def test_interpolate_rejects_bad_input():
    z = torch.zeros(4)
    with pytest.raises(ValueError, match="accepted: lerp, slerp"):
        latent.interpolate(z, z, 5, "cubic")
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        latent.interpolate(z, z, 1)
    with pytest.raises(ValueError, match=r"same size \[D\], got \(4,\) and \(5,\)"):
        latent.interpolate(z, torch.zeros(5), 5)


# ----------------------------------------------------------------------------- sliders, PCA, grid


def test_kl_sliders_order_flags_and_ranges():
    stats, _ = gaussian_stats(kl=[0.5, 0.001, 2.0, 0.2])
    z = torch.tensor([0.0, 0.0, 0.0, 100.0])  # dim 3 far outside the data
    specs = latent.slider_specs(z, stats)
    assert [s.index for s in specs] == [2, 0, 3, 1]  # by decreasing KL
    assert [s.active for s in specs] == [True, True, True, False]  # KL 0.001 < ACTIVE_KL
    assert [s.kl for s in specs] == pytest.approx([2.0, 0.5, 0.2, 0.001])
    for s in specs:
        assert s.min <= float(stats["p01"][s.index]) < float(stats["p99"][s.index]) <= s.max
        assert s.min < s.value < s.max and s.value == float(z[s.index])
    assert specs[2].max >= 100  # stretched to hold the current value
    assert [s.index for s in latent.slider_specs(z[None], stats, limit=2)] == [2, 0]  # [1, D] accepted


def test_sliders_without_kl_order_by_std():
    stats, _ = gaussian_stats()  # a deterministic autoencoder: no KL
    specs = latent.slider_specs(torch.zeros(4), stats)
    assert [s.index for s in specs] == [3, 1, 0, 2]  # scales 3, 2, 1, 0.5
    assert all(s.active and s.kl is None for s in specs)


def test_slider_errors():
    stats, _ = gaussian_stats()
    with pytest.raises(ValueError, match=r"one latent of size 4: a tensor \[4\] or \[1, 4\], got \(5,\)"):
        latent.slider_specs(torch.zeros(5), stats)
    with pytest.raises(ValueError, match="accepted: kl, pca"):
        latent.slider_specs(torch.zeros(4), stats, mode="ica")
    with pytest.raises(ValueError, match=r"slider indices \[7\] out of range"):
        latent.apply_sliders(torch.zeros(4), {7: 1.0}, stats)


def test_pca_round_trip_and_pca_sliders():
    stats, means = gaussian_stats()
    basis = latent.stats_pca(stats)
    z = means[:10]
    assert torch.allclose(latent.from_pca(latent.to_pca(z, basis), basis), z, atol=1e-5)  # all D components: identity
    specs = latent.slider_specs(z[0], stats, mode="pca")
    assert [s.index for s in specs] == [0, 1, 2, 3] and all(s.kl is None and s.active for s in specs)
    spread = 3 * basis.variance.sqrt()
    assert all(s.min <= -spread[s.index] and s.max >= spread[s.index] and s.min < s.value < s.max for s in specs)
    coords = latent.to_pca(z[0], basis)
    # same values back: same latent; move PC1 by +1: only that coordinate changes
    assert torch.allclose(latent.apply_sliders(z[0], {s.index: s.value for s in specs}, stats, "pca"), z[0], atol=1e-5)
    moved = latent.to_pca(latent.apply_sliders(z[0], {0: float(coords[0]) + 1}, stats, "pca"), basis)
    assert torch.allclose(moved - coords, torch.tensor([1.0, 0, 0, 0]), atol=1e-5)
    # dimension sliders set coordinates directly
    assert latent.apply_sliders(z[0], {2: 5.0}, stats).tolist()[2] == 5.0


@pytest.mark.parametrize("mode", ["kl", "pca"])
def test_slider_axes_are_the_affine_map_apply_sliders_computes(mode):
    """What the page decodes from (ui/static/local_decode.js): z + (v - at) @ directions == apply_sliders(z, v)."""
    stats, means = gaussian_stats()
    z = means[3]
    indices = [2, 0, 3]
    values = {2: 1.5, 0: -0.25, 3: 0.75}
    at, directions = latent.slider_axes(z, indices, stats, mode)
    assert at.shape == (3,) and directions.shape == (3, 4)
    target = torch.tensor([values[i] for i in indices])
    expected = latent.apply_sliders(z, values, stats, mode)
    assert torch.allclose(z + (target - at) @ directions, expected, atol=1e-6)
    assert not torch.allclose(expected, z)  # the values moved the latent: the check above is not vacuous
    with pytest.raises(ValueError, match=r"slider indices \[9\] out of range"):
        latent.slider_axes(z, [9], stats, mode)


def test_aggregate_sampler_matches_the_data():
    stats, means = gaussian_stats(n=2000)
    samples = latent.sample_aggregate(stats, 4000, torch.Generator().manual_seed(0))
    assert samples.shape == (4000, 4)
    assert torch.allclose(samples.std(0), means.std(0), rtol=0.1)
    again = latent.sample_aggregate(stats, 4000, torch.Generator().manual_seed(0), temperature=0.5)
    assert torch.allclose(again - stats["pca_mean"], 0.5 * (samples - stats["pca_mean"]), atol=1e-5)


def test_mixture_sampler_keeps_the_labelled_groups_apart():
    """Two groups of codes, far apart along dimension 0, labelled by an attribute: the mixture draws each sample near
    one group's mean, as often as the group holds codes, with the spread within a group; a single fitted Gaussian
    would put a third of its draws in between."""
    g = torch.Generator().manual_seed(0)
    labels = (torch.arange(3000) < 1000).float()[:, None]  # a third of the codes carry the attribute
    codes = 0.1 * torch.randn(3000, 3, generator=g)
    codes[:, 0] += torch.where(labels[:, 0] > 0, 5.0, -5.0)
    stats = {"heldout_latents": codes, "heldout_attributes": labels}
    samples = latent.fit_mixture(stats).sample(6000, torch.Generator().manual_seed(1))
    assert samples.shape == (6000, 3) and torch.equal(samples, latent.fit_mixture(stats).sample(6000, torch.Generator().manual_seed(1)))
    upper = samples[:, 0] > 0
    assert (samples[:, 0].abs() > 4).all()  # none between the groups
    assert upper.float().mean().item() == pytest.approx(1 / 3, abs=0.02)
    assert samples[upper, 1].std().item() == pytest.approx(0.1, rel=0.1)  # the within-group spread
    narrow = latent.fit_mixture(stats).sample(6000, torch.Generator().manual_seed(1), temperature=0.5)
    assert narrow[narrow[:, 0] > 0, 1].std().item() == pytest.approx(0.05, rel=0.1)
    with pytest.raises(ValueError, match="labels or attributes"):
        latent.fit_mixture({"heldout_latents": codes})


def test_manifold_grid():
    g = torch.Generator().manual_seed(0)
    stats, _ = latent.latent_statistics(torch.randn(400, 2, generator=g) * torch.tensor([1.0, 3.0]), torch.ones(400, 2))
    grid = latent.manifold_grid(stats, n=5)
    assert grid.latents.shape == (25, 2) and grid.xs.shape == grid.ys.shape == (5,)
    assert torch.allclose(grid.xs[[0, -1]], torch.stack([stats["p01"][0], stats["p99"][0]]))
    assert torch.allclose(grid.ys[[0, -1]], torch.stack([stats["p99"][1], stats["p01"][1]]))  # top row: largest z_1
    assert (grid.xs.diff() > 0).all() and (grid.ys.diff() < 0).all()
    assert torch.equal(grid.latents[2 * 5 + 3], torch.stack([grid.xs[3], grid.ys[2]]))  # row i, column j
    gaussian = latent.manifold_grid(stats, n=5, spacing="gaussian")  # stats with KL: prior quantiles
    assert torch.allclose(gaussian.xs, -gaussian.xs.flip(0)) and gaussian.xs[2] == 0
    with pytest.raises(ValueError, match="needs a 2-D latent space; this one has 4"):
        latent.manifold_grid(gaussian_stats()[0])
    with pytest.raises(ValueError, match="accepted: percentile, gaussian"):
        latent.manifold_grid(stats, spacing="uniform")


# ----------------------------------------------------------------------------- attribute vectors


@pytest.fixture(scope="module")
def entangled():
    """Latents with a target attribute along e1 and a nuisance attribute along e2 that agrees with it 85% of the time."""
    g = torch.Generator().manual_seed(0)
    n, d = 1200, 8
    target = torch.rand(n, generator=g) < 0.5
    nuisance = torch.where(torch.rand(n, generator=g) < 0.85, target, ~target)
    e = torch.linalg.qr(torch.randn(d, d, generator=g))[0].T  # orthonormal rows
    z = 6 * target.float()[:, None] * e[0] + 6 * nuisance.float()[:, None] * e[1] + torch.randn(n, d, generator=g)
    return z, torch.stack([target, nuisance], 1), ["Target", "Nuisance"], e


def test_attribute_methods_disentangle_the_nuisance(entangled):
    z, attributes, names, e = entangled
    train_z, train_a = z[:1000], attributes[:1000]
    vectors = {
        method: latent.attribute_vector(train_z, train_a, names, "Target", method, given=given)
        for method, given in [("mean_difference", ()), ("balanced", ["Nuisance"]), ("svm", ()), ("conditional", ["Nuisance"])]
    }
    assert cosine(vectors["mean_difference"], e[1]) > 0.4  # entangled with the correlated nuisance
    assert abs(cosine(vectors["balanced"], e[1])) < 0.1 and cosine(vectors["balanced"], e[0]) > 0.99
    assert abs(cosine(vectors["conditional"], e[1])) < 0.1
    assert cosine(vectors["svm"], e[0]) > 0.9
    m = latent.mean_difference(train_z, train_a[:, 0])
    assert torch.allclose(vectors["mean_difference"], m, atol=1e-5)  # White 2016's vector as is
    for v in vectors.values():  # one scale: strength 1 moves by the groups' gap along the direction
        assert float(m @ v / v.norm()) == pytest.approx(float(v.norm()), rel=1e-4)
    assert float(vectors["balanced"].norm()) == pytest.approx(6.0, rel=0.05)  # the true effect, nuisance held fixed


def test_roc_auc_of_true_and_random_directions(entangled):
    z, attributes, _, e = entangled
    held_out, labels = z[1000:], attributes[1000:, 0]
    assert latent.roc_auc(e[0], held_out, labels) > 0.99
    random = latent.project_out(torch.randn(8, generator=torch.Generator().manual_seed(1)), e[:2])  # unrelated to both
    assert latent.roc_auc(random, held_out, labels) == pytest.approx(0.5, abs=0.1)


def test_project_out_and_custom_vector_and_edit():
    n1, n2 = torch.tensor([0.6, 0.8, 0.0]), torch.tensor([1.0, 0.0, 0.0])
    assert torch.allclose(latent.project_out(n1, n2[None]), n1 - (n1 @ n2) * n2)  # InterFaceGAN, one condition
    dependent = torch.stack([n2, 2 * n2, torch.tensor([0.0, 0.0, 1.0])])  # rank 2: least squares copes
    assert torch.allclose(latent.project_out(n1, dependent), torch.tensor([0.0, 0.8, 0.0]), atol=1e-6)
    a, b = torch.ones(3, 3), torch.zeros(5, 3)
    assert torch.equal(latent.custom_vector(a, b), torch.ones(3))
    assert torch.equal(latent.edit(b, torch.ones(3), 2.0), torch.full((5, 3), 2.0))
    with pytest.raises(ValueError, match="same D"):
        latent.edit(b, torch.ones(4))


def test_attribute_vector_errors(entangled):
    z, attributes, names, _ = entangled
    with pytest.raises(ValueError, match="unknown attribute\\(s\\) 'Smiling'; known: Target, Nuisance"):
        latent.attribute_vector(z, attributes, names, "Smiling")
    with pytest.raises(ValueError, match="accepted: mean_difference, balanced, svm, conditional"):
        latent.attribute_vector(z, attributes, names, "Target", "lda")
    with pytest.raises(ValueError, match="needs `given`"):
        latent.attribute_vector(z, attributes, names, "Target", "balanced")
    with pytest.raises(ValueError, match="same group"):
        latent.attribute_vector(z, torch.ones_like(attributes), names, "Target")
    with pytest.raises(ValueError, match=r"attributes must be \[N, A\] = \[1200, 2\]"):
        latent.attribute_vector(z, attributes[:10], names, "Target")


# ----------------------------------------------------------------------------- latent map


def test_latent_map_click_maps_back_to_the_point():
    g = torch.Generator().manual_seed(0)
    plane = torch.linalg.qr(torch.randn(6, 2, generator=g))[0].T  # [2, 6] orthonormal rows
    z = 5 + torch.randn(200, 2, generator=g) * torch.tensor([3.0, 1.0]) @ plane  # latents on a 2-D plane in 6-D
    labels = torch.arange(200) % 3
    xy, basis = latent.latent_map(z)
    assert xy.shape == (200, 2)
    assert torch.allclose(latent.from_pca(xy, basis), z, atol=1e-4)  # on the plane the map is exact
    image, pixels = ui.latent_map.render_scatter(xy, labels, size=256, mark=xy[7])
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    for i in (0, 7, 123):
        col, row = pixels.to_pixel(*xy[i].tolist())
        assert 0 <= col < 256 and 0 <= row < 256
        click = pixels.to_map(round(col), round(row))  # a click lands on a whole pixel
        back = latent.from_pca(torch.tensor(click, dtype=torch.float32), basis)
        assert (back - z[i]).norm() <= pixels.scale  # within one pixel of the clicked point
    col, row = map(round, pixels.to_pixel(*xy[123].tolist()))
    assert image[row, col].tolist() in [list(c) for c in ui.latent_map.PALETTE[:3]]  # a point is drawn there, in a class colour
    stats_xy, _ = latent.latent_map(z, latent.latent_statistics(z)[0])
    assert torch.allclose(stats_xy.abs(), xy.abs(), atol=1e-3)  # same PCA up to the sign of each axis


# ----------------------------------------------------------------------------- Explorer


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A VAE on 16x16 digits after one epoch (~2 s), with stats.safetensors."""
    out = tmp_path_factory.mktemp("explorer") / "vae"
    config = TrainConfig(
        data="digits", data_options={"size": 16}, out=str(out), epochs=1, batch_size=64, threads=1, sample_every=0, stats_images=300
    )
    return train("vae", {"mlp": True, "hidden_dims": (64,), "latent_dim": 4}, config)


def test_explorer_on_a_trained_vae(checkpoint):
    ex = Explorer.load(checkpoint)
    images = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    z = ex.encode(images)
    assert z.shape == (3, 4) and ex.decode(z).shape == (3, 1, 16, 16) and ex.reconstruct(images).shape == (3, 1, 16, 16)
    assert torch.equal(ex.sample(4, seed=1), ex.sample(4, seed=1)) and not torch.equal(ex.sample(4, seed=1), ex.sample(4, seed=2))
    assert ex.interpolate(z[0], z[1], steps=6).shape == (6, 4)
    specs = ex.sliders(z[0])
    kl = ex.stats["kl"]
    assert [s.index for s in specs] == torch.argsort(kl, descending=True).tolist()
    top = specs[0]
    moved = ex.apply_sliders(z[0], {top.index: top.max})
    assert not torch.allclose(ex.decode(moved[None]), ex.decode(z[:1]), atol=1e-3)  # the top slider changes the image
    assert list(ex.vectors) == [str(k) for k in range(10)]  # digits: class vectors
    edited = ex.edit(z, "3", strength=2.0)
    assert torch.allclose(edited, z + 2 * ex.stats["class_vectors"][3])
    assert (ex.decode(edited) - ex.decode(z)).abs().max() > 1e-2
    with pytest.raises(ValueError, match="unknown attribute or class 'Smiling'; known: 0, 1, 2"):
        ex.edit(z, "Smiling")
    with pytest.raises(ValueError, match="needs encoded latents"):
        ex.attribute_vector("3", method="svm")
    with pytest.raises(ValueError, match=r"latents \[N, 4\]"):
        ex.decode(torch.zeros(2, 5))


def test_explorer_on_an_autoencoder_samples_the_aggregate_posterior(tmp_path):
    model = models.AE(models.AEConfig(image_size=8, mlp=True, hidden_dims=(16,), latent_dim=3))
    model.save(tmp_path)
    with pytest.raises(ValueError, match="no stats.safetensors; the explorer needs the latent statistics"):
        Explorer.load(tmp_path)
    means = 10 + torch.randn(100, 3, generator=torch.Generator().manual_seed(0))  # far from N(0, I)
    latent.save_stats(tmp_path / latent.STATS_NAME, *latent.latent_statistics(means))
    ex = Explorer.load(tmp_path)
    z = ex.sample_latent(50, seed=3)
    assert torch.equal(z, ex.sample_latent(50, seed=3)) and (z.mean(0) - 10).abs().max() < 1
    assert ex.default_source == "fitted"  # an AE has no prior: its codes' Gaussian by default
    assert ex.sample_latent(50, seed=3, source="prior").mean().abs() < 1  # N(0, I) when asked
    with pytest.raises(ValueError, match="unknown sample source 'posterior'; accepted: prior, standard_normal, fitted, mixture"):
        ex.sample_latent(2, source="posterior")
    assert ex.sample(2).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="known: none"):
        ex.attribute_vector("Smiling")
