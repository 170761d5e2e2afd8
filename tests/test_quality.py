"""Quality bars on the shipped checkpoints (checkpoints/), measured on held-out data with fixed seeds.

These are the numbers the model cards and the README report; a retrained preset that falls below
a bar fails here."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import data
import metrics
import models
import ui.sample
from latent import Explorer
from models import export
from train.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # minutes on the shipped checkpoints: `python -m pytest --all` runs them, as CI does


@pytest.fixture(autouse=True, scope="module")
def all_threads():
    torch.set_num_threads(max(1, torch.get_num_threads()))


def held_out(name: str) -> data.ImageDataset:
    """The test split of the dataset, data version and size that shipped checkpoint `name` trained on."""
    dataset, options = metrics.trained_on(ROOT / "checkpoints" / name)
    return data.load(dataset, split="test", **options)


def measuring(name: str, judge: bool = False) -> models.Classifier:
    """The shipped classifier (or judge) of checkpoint `name`'s dataset, data version and image size."""
    dataset, options = metrics.trained_on(ROOT / "checkpoints" / name)
    size = models.load(ROOT / "checkpoints" / name).config.image_size
    classifier = metrics.classifier_for(dataset, size, options, judge=judge)
    assert classifier is not None, f"no shipped {'judge' if judge else 'classifier'} for {name}'s data"
    return classifier


def shipped(name: str) -> dict:
    return json.loads((ROOT / "checkpoints" / name / metrics.EVALUATION_NAME).read_text())


@pytest.fixture(scope="module")
def faces_test():
    return held_out("faces-vae")


@pytest.fixture(scope="module")
def faces_judge():
    return measuring("faces-vae", judge=True)


def test_every_preset_is_shipped_and_small():
    for name, preset in PRESETS.items():
        out = ROOT / preset["out"]
        assert (out / "model.safetensors").exists(), f"preset {name}: no checkpoint in {out}"
        card = (out / "README.md").read_text()
        assert f"python -m train --preset {name}" in card and "Measured on the `test` split" in card, name
        if export.exportable(models.load(out)) is None:  # a decoder that can run in a page ships, made from these weights
            assert export.decoder_file(out) is not None, f"{name}: no decoder.onnx for these weights (python -m models.export)"
    shipped = [
        f for f in (ROOT / "checkpoints").rglob("*") if f.is_file() and "progress" not in f.parts and f.name != "resume.pt"
    ]  # as .gitignore
    total = sum(f.stat().st_size for f in shipped)
    # 64 MB of checkpoints and 16 MB for the decoders the page runs while a slider is dragged (62.6 and 13.6 with
    # faces-vqvae2 and its two priors' 10 MB); no file over 8 MB
    assert max(f.stat().st_size for f in shipped) <= 8e6, max(shipped, key=lambda f: f.stat().st_size)
    decoders = sum(f.stat().st_size for f in shipped if f.name == export.DECODER_NAME)
    assert total - decoders <= 64e6 and decoders <= 16e6, (
        f"checkpoints/ holds {(total - decoders) / 1e6:.1f} MB and {decoders / 1e6:.1f} MB of decoders"
    )


def test_faces_vae_reconstructs_test_faces_at_28_db(faces_test):
    result = metrics.reconstruction(models.load(ROOT / "checkpoints/faces-vae"), faces_test)
    assert result["psnr"] >= 28.0, result


@pytest.mark.parametrize("judge", [False, True], ids=["classifier", "judge"])
def test_face_classifiers_are_accurate_on_every_attribute(judge):
    for size_of in ("faces-vae", "faces-wgan-gp"):  # faces version 2 at 64x64 and 32x32
        classifier, faces = measuring(size_of, judge=judge), held_out(size_of)
        accuracy = metrics.accuracy(classifier, faces, faces.targets(classifier.names))
        assert set(accuracy) == {*data.face_factors.ATTRIBUTE_NAMES, "all"}
        assert min(accuracy.values()) >= 0.97, (size_of, accuracy)


def test_faces_vae_reconstructions_keep_the_small_details(faces_test, faces_judge):
    """An edit cannot add what the decoder cannot draw: the judge (trained on blurred copies too) reads Smiling,
    Eyeglasses, Mustache and Mouth_Slightly_Open in the reconstructions of test faces as the ground truth says.
    The bar is 95% for each; Smiling (94.7%), Eyeglasses (93.4%) and Mustache (94.95%) fall just short (README:
    known shortfalls)."""
    kept = metrics.details_kept(models.load(ROOT / "checkpoints/faces-vae"), faces_test, faces_judge)
    for attribute in metrics.DETAIL_ATTRIBUTES:
        assert kept["reconstruction"][attribute] >= 0.93, (attribute, kept)
    assert kept["reconstruction"]["Mouth_Slightly_Open"] >= 0.95, kept
    assert kept["reconstruction"] == pytest.approx(shipped("faces-vae")["details_kept"]["reconstruction"], abs=0.003)


@pytest.mark.parametrize("attribute, floor", [("Smiling", 0.9), ("Eyeglasses", 0.85)])
def test_faces_vae_attribute_vector_adds_the_attribute_and_only_it(faces_test, faces_judge, attribute, floor):
    """The headline: the stored vector at the default strength on 1,000 test faces without the attribute, judged by a
    classifier that did not make the vector and reads blurry images: >= 90% gain it (Eyeglasses: 85.2%, short of the
    bar; README), every other attribute changes on <= 10%. The card ships the same numbers."""
    card = metrics.edit_scorecard(Explorer.load(ROOT / "checkpoints/faces-vae"), faces_judge, faces_test, attribute)
    assert card["n"] == 1000 and card["strength"] == 1.0 and set(card["changed"]) == set(faces_judge.names) - {attribute}
    assert card["flip_rate"] >= floor and max(card["changed"].values()) <= 0.1, card
    assert card["flip_rate"] == pytest.approx(
        shipped("faces-vae")["edits"][attribute]["flip_rate"], abs=0.003
    )  # a face or three may flip with the thread count
    assert card["changed"] == pytest.approx(shipped("faces-vae")["edits"][attribute]["changed"], abs=0.003)


def test_faces_vae_opens_the_sample_tab_on_samples_spread_like_the_faces(faces_test, faces_judge):
    """The Sample tab's default for faces-vae, the mixture over the labelled codes: its samples, read by the judge,
    cover at least 90% of the attribute combinations holding >= 0.5% of the test faces (all 23), closer to the data's
    shares than the single fitted Gaussian's."""
    explorer = Explorer.load(ROOT / "checkpoints/faces-vae")
    entry = types.SimpleNamespace(model=explorer.model, explorer=explorer)
    assert ui.sample.opening_source(entry) == "mixture"
    mixture = metrics.sample_cell_coverage(explorer, faces_judge, faces_test, "mixture")
    assert mixture["coverage"] >= 0.9, mixture
    assert mixture == pytest.approx(shipped("faces-vae")["sample_cells"]["mixture"], abs=0.01)
    assert mixture["cell_kl"] < shipped("faces-vae")["sample_cells"]["fitted"]["cell_kl"]


def test_faces_vae_fitted_samples_cover_the_attribute_cells(faces_test, faces_judge):
    """Samples of the Gaussian fitted to the training codes, read by the judge, against the attribute combinations
    holding >= 0.5% of the test faces. The bar is 95%; 20 of the 23 cells (87%) are hit (README: known shortfalls).
    N(0, I) draws hit none: the sharp likelihood leaves holes in the prior (the Sample tab's note)."""
    explorer = Explorer.load(ROOT / "checkpoints/faces-vae")
    fitted = metrics.sample_cell_coverage(explorer, faces_judge, faces_test, "fitted")
    assert fitted["coverage"] >= 0.85, fitted
    assert fitted == pytest.approx(shipped("faces-vae")["sample_cells"]["fitted"], abs=0.01)
    assert metrics.sample_cell_coverage(explorer, faces_judge, faces_test, "standard_normal")["coverage"] < fitted["coverage"]


def test_faces_vae_second_stage_prior_draws_faces_near_the_floor(faces_test, faces_judge):
    """The prior faces-vae carries (a second-stage VAE over its codes, Dai & Wipf 2019): the domain Frechet distance of
    1,000 of its samples to the test faces (judge features) against the floor, faces-vae's reconstructions of 1,000 of
    those faces, far below N(0, I) of the first stage alone; the first stage is untouched (28 dB). The bar is 3x the
    floor: the shipped prior reaches 2.72x, drawing u at the spread fitted to the training codes (1.12); at spread 1,
    the second stage as trained, 3.2x (docs/checkpoints.md)."""
    stored = shipped("faces-vae")
    assert stored["reconstruction"]["psnr"] >= 28.0
    explorer = Explorer.load(ROOT / "checkpoints/faces-vae")
    assert explorer.model.latent_prior is not None and explorer.default_source == "prior"
    fresh = metrics.prior_fd(explorer, faces_test, faces_judge, None)  # its own reconstructions: the faces floor
    assert fresh["ratio"] <= 3.0 and explorer.model.latent_prior.config.spread > 1, fresh
    assert fresh["standard_normal_frechet_distance"] > 3 * fresh["frechet_distance"], fresh
    numbers = ("frechet_distance", "floor", "ratio", "standard_normal_frechet_distance")
    assert {k: fresh[k] for k in numbers} == pytest.approx({k: stored["prior_fd"][k] for k in numbers}, rel=0.02)
    assert fresh["prior"] == stored["prior_fd"]["prior"] == explorer.model.latent_prior.description


@pytest.mark.parametrize("attribute, floor", [("Smiling", 0.9), ("Eyeglasses", 0.5)])
def test_faces_cvae_switching_a_condition_on_adds_the_attribute(faces_judge, attribute, floor):
    """1,000 test faces without the attribute, encoded with their own conditions and decoded with the attribute's
    switched on, judged by the judge: Smiling reaches the bar (>= 90%, others <= 10%); Eyeglasses (52.7%) does not
    (README: known shortfalls). The card ships the same numbers."""
    explorer, faces = Explorer.load(ROOT / "checkpoints/faces-cvae"), held_out("faces-cvae")
    card = metrics.condition_scorecard(explorer, faces_judge, faces, attribute)
    assert card["flip_rate"] >= floor and max(card["changed"].values()) <= 0.11, card
    assert card["flip_rate"] == pytest.approx(shipped("faces-cvae")["edits"][attribute]["flip_rate"], abs=0.003)


DSPRITES_PRESETS = ("dsprites-beta-vae", "dsprites-beta-tcvae")


@pytest.mark.parametrize("name", DSPRITES_PRESETS)
def test_dsprites_cards_give_the_metric_suite_over_three_seeds_and_ship_the_median_seed(name):
    """Each dSprites disentanglement preset was trained on 3 seeds (`python -m metrics CHECKPOINT --seeds RUN RUN`):
    its card gives the median and range of MIG, SAP, DCI and the FactorVAE score, and the weights shipped are the
    median seed's by MIG -- a fresh measurement of the shipped weights is that seed's row and the median MIG."""
    from metrics.disentanglement import SPREAD_METRICS, disentanglement_suite

    card, seed = shipped(name), json.loads((ROOT / "checkpoints" / name / "training.json").read_text())["seed"]
    spread = card["seed_spread"]
    assert len(spread["seeds"]) == 3 and spread["shipped_seed"] == spread["median_seed"] == seed == PRESETS[name].get("seed", 0)
    fresh = metrics.suite_scores(disentanglement_suite(models.load(ROOT / "checkpoints" / name), data.load("dsprites")))
    assert fresh == pytest.approx(spread["runs"][str(seed)], abs=0.01)
    assert fresh["mig"] == pytest.approx(spread["median"]["mig"], abs=0.01)
    assert fresh["mig"] == pytest.approx(card["mig"]["mig"], abs=0.01)  # the card's MIG row is the same measure
    for metric in SPREAD_METRICS:
        low, high = spread["range"][metric]
        assert low <= spread["median"][metric] <= high, metric
    assert name != "dsprites-beta-tcvae" or spread["median"]["mig"] >= 0.2  # issue 34's bar for the best method: 0.250


@pytest.mark.parametrize("name", ["fashion-vae-2d", "fashion-cvae"])
def test_fashion_samples_cover_every_class(name):
    classifier = models.load(metrics.CLASSIFIERS / "fashion-mnist")
    ds = data.load("fashion-mnist", split="test")
    assert metrics.accuracy(classifier, ds, ds.targets())["all"] >= 0.88
    coverage = metrics.class_coverage(Explorer.load(ROOT / "checkpoints" / name), classifier)
    assert coverage["classes_covered"] == 10, coverage["fractions"]
    if name == "fashion-cvae":
        assert coverage["condition_accuracy"] >= 0.5, coverage  # chance is 0.1; blurry shirts, pullovers and coats are confused


# --- VQ-VAEs and their PixelCNN priors


@pytest.mark.parametrize("name", ["faces-vqvae", "fashion-vqvae"])
def test_vqvae_uses_at_least_90_percent_of_its_codebook_on_the_test_set(name):
    usage = metrics.codebook_usage(models.load(ROOT / "checkpoints" / name), held_out(name))
    assert usage["codes_used"] >= 0.9, usage


def test_faces_vqvae_reconstructs_test_faces_at_27_db():
    """On faces version 2, as its card says. (On version 1 the bar was 28 dB: version 2's face fills the frame, 2.6x
    the face pixels and their detail; faces-vae needed 12 epochs instead of 5 for 28 dB there.)"""
    result = metrics.reconstruction(models.load(ROOT / "checkpoints/faces-vqvae"), held_out("faces-vqvae"))
    assert result["psnr"] >= 27.0 and result["psnr"] == pytest.approx(shipped("faces-vqvae")["reconstruction"]["psnr"], abs=0.01), result


def test_faces_vqvae2_uses_both_codebooks_and_decodes_mostly_from_its_bottom_codes():
    """VQ-VAE-2's two levels (issue 33), on 200 test faces: each codebook is used, yet its decoder reads the bottom
    level far more than the top one. Every top code replaced by a random one moves about a quarter of the pixels by
    more than 0.05; every bottom code replaced, nearly all. The bottom grid (16x16 of 512 codes) holds the whole face,
    and the top level is left little to say: the finding docs/checkpoints.md reports (the top level's collapse)."""
    model, faces = models.load(ROOT / "checkpoints/faces-vqvae2"), held_out("faces-vqvae2")
    usage = metrics.codebook_usage(model, faces)
    assert usage["top"]["codes_used"] >= 0.9 and usage["bottom"]["codes_used"] >= 0.9, usage
    z, generator, moved = model.encode(faces.batch(np.arange(200))).mean, torch.Generator().manual_seed(0), {}
    codes = model.codes(z)
    kept = model.decode(model.embed(codes))
    for level in model.code_levels:
        other = {**codes, level: torch.randint(model.config.num_codes, codes[level].shape, generator=generator)}
        moved[level] = ((model.decode(model.embed(other)) - kept).abs().amax(1) > 0.05).float().mean().item()
    assert moved["bottom"] >= 0.95 and 0.1 <= moved["top"] <= 0.4, moved


def test_faces_vqvae2_priors_draw_faces_as_their_card_says(faces_test, faces_judge):
    """The VQ-VAE-2 sampled through its two priors (the top codes by a PixelCNN with self-attention, then the bottom
    codes given them): 1,000 samples against test faces in the judge's features, next to faces-vae's floor, as
    faces-vqvae2-prior-bottom's card says (851, 8.6x the floor; faces-vqvae's one prior: 1153; issue 33's bar, 2x, is not
    met: docs/checkpoints.md), and far below code grids drawn uniformly at random."""
    from metrics.evaluate import with_priors

    card = shipped("faces-vqvae2-prior-bottom")["prior_fd"]
    explorer = with_priors(ROOT / "checkpoints/faces-vqvae2")
    assert isinstance(explorer.prior, models.PriorStack)
    fresh = metrics.prior_fd(explorer, faces_test, faces_judge, ROOT / "checkpoints/faces-vae")
    numbers = ("frechet_distance", "floor", "ratio")
    assert {k: fresh[k] for k in numbers} == pytest.approx({k: card[k] for k in numbers}, rel=0.02)
    uniform = explorer.decode(explorer.model.sample_latent(1000, generator=torch.Generator().manual_seed(0)))
    real = metrics.dataset_features(faces_judge, faces_test)
    assert fresh["frechet_distance"] < metrics.frechet_distance(metrics.features(faces_judge, uniform), real) / 2


def vq_explorer(name: str) -> Explorer:
    return Explorer.load(ROOT / "checkpoints" / name, prior=models.load(ROOT / "checkpoints" / f"{name}-prior"))


def test_faces_prior_samples_look_like_faces_far_more_than_random_codes():
    """Domain Frechet distance (faces classifier features) to test faces. No prior can beat the VQ-VAE's own
    reconstructions (the floor its decoder sets), so the bar is on the gap between code grids drawn uniformly at
    random and that floor: prior samples must close at least half of it."""
    explorer, faces_test, classifier = vq_explorer("faces-vqvae"), held_out("faces-vqvae"), measuring("faces-vqvae")
    real = metrics.dataset_features(classifier, faces_test, n=2000)

    def distance(images):
        return metrics.frechet_distance(metrics.features(classifier, images), real)

    prior = distance(torch.cat(list(metrics.sample_batches(explorer, 500, seed=0, batch_size=250))))
    uniform = distance(explorer.decode(explorer.model.sample_latent(500, generator=torch.Generator().manual_seed(0))))
    floor = distance(explorer.reconstruct(faces_test.batch(np.arange(500))))
    assert uniform - prior >= 0.5 * (uniform - floor), (prior, uniform, floor)


def test_fashion_prior_samples_are_classified_as_the_requested_class():
    classifier = models.load(metrics.CLASSIFIERS / "fashion-mnist")
    coverage = metrics.class_coverage(vq_explorer("fashion-vqvae"), classifier, n=1000)
    assert coverage["condition_accuracy"] >= 0.8, coverage  # without rejection sampling


# --- GANs, measured by the training monitor's measures on test images (metrics.gan_quality)


def gan_quality(name: str, measured_as: str | None = None, model=None) -> dict:
    """metrics.gan_quality of checkpoint `name` (or `model`) on the test data and with the classifier of `measured_as`."""
    measured_as = measured_as or name
    return metrics.gan_quality(model or models.load(ROOT / "checkpoints" / name), held_out(measured_as), measuring(measured_as))


@pytest.mark.parametrize("name, floor", [("faces-dcgan", 0.9), ("faces-wgan-gp", 0.95)])
def test_face_gans_cover_the_attribute_cells(name, floor):
    """By the classifier of each GAN's size (faces-dcgan 64x64, faces-wgan-gp 32x32): the share of the attribute
    combinations holding >= 0.5% of the data that are drawn, as the card says (the bar is 95%: faces-dcgan's 91.3% falls
    short, docs/checkpoints.md)."""
    gan = gan_quality(name)
    assert gan["coverage"] >= floor, gan
    assert gan["coverage"] == pytest.approx(shipped(name)["gan"]["coverage"]) and gan["frechet_distance"] == pytest.approx(
        shipped(name)["gan"]["frechet_distance"], rel=0.01
    )


def test_faces_dcgan_samples_beat_the_vaes_prior_samples():
    """faces-vae's N(0, I) samples against faces-dcgan's, both 64x64, on the same faces version 2 test faces and
    classifier features: the GAN's look far more like faces (the first stage's N(0, I) has holes: sample it through
    its second stage, or from the fitted Gaussian)."""
    gan = gan_quality("faces-dcgan")
    first_stage = models.load(ROOT / "checkpoints/faces-vae")
    first_stage.set_latent_prior(None)  # N(0, I) of the first stage: the holes (its second stage is measured by prior_fd)
    vae = gan_quality("faces-vae", "faces-dcgan", model=first_stage)
    assert gan["frechet_distance"] < vae["frechet_distance"], (gan, vae)


def test_fashion_infogan_categorical_code_matches_the_classes():
    """Agreement of the categorical code with the classes (best one-to-one matching), and the card says what it is."""
    result = gan_quality("fashion-infogan")
    assert result["code_agreement"] >= 0.6, result
    shipped = json.loads((ROOT / "checkpoints/fashion-infogan" / metrics.EVALUATION_NAME).read_text())["gan"]
    assert result["code_agreement"] == pytest.approx(shipped["code_agreement"], abs=0.01), (result, shipped)


def test_fashion_cgan_samples_are_classified_as_the_requested_class():
    result = gan_quality("fashion-cgan")
    assert result["condition_accuracy"] >= 0.8, result


def test_faces_wgan_gp_inverts_held_out_faces_at_23_db():
    """Inversion (latent.invert) of the first 16 test faces, with the 32x32 classifier's feature loss. (24 dB on
    faces version 1, whose smaller faces left more flat background to match.)"""
    explorer = Explorer.load(ROOT / "checkpoints/faces-wgan-gp")
    explorer.classifier = measuring("faces-wgan-gp")
    result = metrics.inversion_quality(explorer, held_out("faces-wgan-gp"))
    assert result["images"] == 16 and result["psnr"] >= 23.0, result
    shipped = json.loads((ROOT / "checkpoints/faces-wgan-gp" / metrics.EVALUATION_NAME).read_text())["inversion"]
    assert result["psnr"] == pytest.approx(shipped["psnr"], abs=0.1), (result, shipped)


@pytest.mark.parametrize("name, guided_floor, gain, others", [("faces-dcgan", 0.65, -0.3, 0.1), ("faces-wgan-gp", 0.8, 0.2, 0.15)])
def test_gan_smiling_edits_in_the_card_are_what_a_fresh_measurement_gives(name, guided_floor, gain, others):
    """The Smiling edit of a face GAN's non-smiling samples, judged by the judge of its faces version: by the stored
    InterFaceGAN vector, and by the classifier-guided edit. Both are measured and shipped in the card. faces-wgan-gp's
    guided edit holds the bar (flip >= 80%, every other attribute <= 15%). The 64x64 faces-dcgan's vector flips more
    (91.2%) than its guided edit (67.3%) but drags Eyeglasses along on 41%; its guided edit changes no other attribute on
    more than 10% (docs/checkpoints.md: known shortfalls)."""
    explorer = Explorer.load(ROOT / "checkpoints" / name)
    explorer.classifier, judge = measuring(name), measuring(name, judge=True)
    card = shipped(name)
    vector = metrics.sample_edit_scorecard(explorer, judge, "Smiling")
    guided = metrics.sample_edit_scorecard(explorer, judge, "Smiling", n=300, edit="guided")
    for fresh, stored in ((vector, card["edits"]["Smiling"]), (guided, card["guided_edits"]["Smiling"])):
        assert fresh["n"] == stored["n"] and fresh["baseline"] == 0.0  # the judge's non-smiling samples
        assert fresh["flip_rate"] == pytest.approx(stored["flip_rate"], abs=0.01), (fresh, stored)
        assert fresh["changed"] == pytest.approx(stored["changed"], abs=0.01)
    assert guided["flip_rate"] >= guided_floor and guided["flip_rate"] > vector["flip_rate"] + gain, (guided, vector)
    assert max(guided["changed"].values()) <= others, guided


def test_faces_aae_prior_samples_beat_the_plain_aes():
    """The point of matching the prior: decoded draws of N(0, I) look like faces for the AAE, not for the AE."""
    classifier, faces = measuring("faces-aae"), held_out("faces-aae")
    aae = metrics.prior_frechet_distance(Explorer.load(ROOT / "checkpoints/faces-aae"), faces, classifier)
    ae = metrics.prior_frechet_distance(Explorer.load(ROOT / "checkpoints/faces-ae"), faces, classifier)
    assert aae < ae, (aae, ae)
    shipped = json.loads((ROOT / "checkpoints/faces-aae" / metrics.EVALUATION_NAME).read_text())["prior_samples"]
    assert aae == pytest.approx(shipped["frechet_distance"], rel=0.01)


def test_every_shipped_model_reconstructs_interpolates_and_edits_an_uploaded_face(launch_app, tmp_path):
    """In the app on the shipped checkpoints: every model takes an uploaded face through Reconstruct (a GAN by
    inversion) and Interpolate between two uploads, and every faces model applies the Smiling edit to it: by its
    stored vector and, where the catalog loaded an attribute classifier at its size, classifier-guided."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError
    from PIL import Image

    faces = held_out("faces-vae")
    uploads = []
    for i in (0, 1):
        path = tmp_path / f"face{i}.png"
        Image.fromarray(np.asarray(faces.images[i])).save(path)
        uploads.append(handle_file(str(path)))
    guided_models = set()
    with launch_app(ROOT / "checkpoints") as app:
        client = Client(app.url, verbose=False)
        for key, label in app.labels.items():
            entry = app.catalog.entries[label]
            condition = entry.default_condition
            _, reconstruction, _, note = client.predict(label, uploads[0], 0.0, *condition, api_name="/reconstruct")
            assert "PSNR" in note and np.asarray(Image.open(reconstruction)).std() > 0, (key, note)
            strip, _, note = client.predict(
                label, "images", uploads[0], uploads[1], None, None, 0, 1, "slerp", 4, *condition, api_name="/interpolate"
            )
            tiles = np.split(np.asarray(Image.open(strip)), 4, axis=1)
            assert "between the two images" in note and len(tiles) == 4, key
            if entry.dataset != "faces":  # a face means little to a digits or dSprites model: it only has to take it
                continue
            assert not np.array_equal(tiles[0], tiles[-1]), key
            if "Smiling" in entry.explorer.vectors:
                client.predict(label, uploads[0], 0.0, *condition, api_name="/reconstruct")  # the current image: the upload
                original, edited, note = client.predict(
                    label, "attribute", "Smiling", "mean_difference", [], [], [], 1.5, *condition, api_name="/edit_attribute"
                )
                assert "Smiling" in note and not np.array_equal(np.asarray(Image.open(original)), np.asarray(Image.open(edited))), key
            guide = (label, "attribute", "Smiling", "guided", [], [], [], 1.5, *condition)
            if "Smiling" in entry.explorer.guided_attributes:  # the catalog loaded an attribute classifier at the model's size
                _, guided, note = client.predict(*guide, api_name="/edit_attribute")
                assert "8 steps of 0.750 latent units" in note and not np.array_equal(
                    np.asarray(Image.open(edited)), np.asarray(Image.open(guided))
                ), (key, note)
                guided_models.add(key)
            elif not entry.model.gradient_editable:  # snapped codes: no gradient to follow, and a clear refusal
                with pytest.raises(AppError, match="a VQ-VAE snaps every grid cell"):
                    client.predict(*guide, api_name="/edit_attribute")
        faces_models = {key for key, label in app.labels.items() if app.catalog.entries[label].dataset == "faces"}
        edited = {key for key in faces_models if "Smiling" in app.catalog.entries[app.labels[key]].explorer.vectors}
        assert {"faces-aae", "faces-wgan-gp", "faces-dcgan", "faces-vae"} <= edited, edited
        assert {"faces-wgan-gp", "faces-dcgan", "faces-vae"} <= guided_models and "faces-vqvae" not in guided_models, guided_models


def test_fashion_aae_2d_puts_each_class_on_its_mixture_component():
    """The supervised 10-component mixture: a test image's code lies nearest its class's component (chance: 10%)."""
    agreement = metrics.component_agreement(models.load(ROOT / "checkpoints/fashion-aae-2d"), data.load("fashion-mnist", split="test"))
    assert agreement >= 0.7, agreement
    shipped = json.loads((ROOT / "checkpoints/fashion-aae-2d" / metrics.EVALUATION_NAME).read_text())["prior_samples"]
    assert agreement == pytest.approx(shipped["component_agreement"], abs=0.002)


def test_the_out_of_domain_warning_spares_test_faces_and_flags_other_pictures(faces_test):
    """faces-vae's upload warning (ui.reconstruct.unlike_data: error past the card's 99th percentile of test images
    500 onwards): silent on >= 95% of the first 500 test faces, which the percentiles did not see; raised for every
    Fashion-MNIST item and every smooth colour-field 'photo'."""
    from ui.catalog import load_entry
    from ui.reconstruct import unlike_data

    entry = load_entry(str(ROOT / "checkpoints/faces-vae"))
    torch.manual_seed(0)
    fashion = data.load("fashion-mnist", split="test").batch(np.arange(50)).repeat(1, 3, 1, 1)
    others = {
        "fashion": torch.nn.functional.interpolate(fashion, size=64, mode="bilinear"),
        "photo": torch.nn.functional.interpolate(torch.rand(50, 3, 8, 8), size=64, mode="bicubic").clamp(0, 1),
    }
    with torch.no_grad():
        error = lambda x: (entry.model.reconstruct(x) - x).pow(2).flatten(1).mean(1).tolist()  # noqa: E731
        silent = sum(not unlike_data(entry, e) for e in error(faces_test.batch(np.arange(500))))
        flagged = {name: sum(bool(unlike_data(entry, e)) for e in error(x)) for name, x in others.items()}
    assert silent >= 475, f"{silent} of 500 test faces passed silently"
    assert flagged == {"fashion": 50, "photo": 50}


@pytest.mark.parametrize("name", ["faces-vqvae", "fashion-vqvae"])
def test_vqvae_sliders_change_the_picture_on_most_ticks_of_a_drag(name):
    """A VQ-VAE's sliders open on the principal directions (ui.sliders.opening_mode): a drag of 40 ticks from an
    example's value to the slider's far end changes the decoded picture on >= 30 of them, for each of the four most
    informative sliders of three examples."""
    from ui.sliders import opening_mode

    explorer = Explorer.load(ROOT / "checkpoints" / name)
    mode = opening_mode(types.SimpleNamespace(model=explorer.model))
    assert mode == "pca"
    examples = torch.from_numpy(np.asarray(explorer.stats["examples"][:3])).permute(0, 3, 1, 2).float() / 255
    for image in examples:
        z = explorer.encode(image[None])[0]
        for spec in [s for s in explorer.sliders(z, mode) if s.active][:4]:
            end = spec.max if spec.max - spec.value > spec.value - spec.min else spec.min
            pictures = [
                explorer.decode(explorer.apply_sliders(z, {spec.index: float(v)}, mode)[None]) for v in np.linspace(spec.value, end, 41)
            ]
            changes = sum(not torch.equal(a, b) for a, b in zip(pictures, pictures[1:]))
            assert changes >= 30, f"{name}, slider {spec.label}: {changes} of 40 ticks changed the picture"


FACE_MODELS = ("faces-ae", "faces-vae", "faces-aae", "faces-beta-vae", "faces-vaegan", "faces-dcgan", "faces-wgan-gp")
PRIOR_ROWS = (*FACE_MODELS, "faces-vqvae", "faces-vqvae2")  # the VQ-VAEs sample through the priors beside them


def test_the_readme_picture_of_prior_samples_is_current():
    """docs/prior-samples.png (the README's row of 8 prior samples per face model, one display size) is what
    `python -m metrics ... --prior-rows` draws from the shipped checkpoints today."""
    from PIL import Image

    from metrics.evaluate import prior_rows

    picture = np.asarray(Image.open(ROOT / "docs/prior-samples.png").convert("RGB")).astype(int)
    fresh = prior_rows([ROOT / "checkpoints" / name for name in PRIOR_ROWS]).astype(int)
    assert picture.shape == fresh.shape and np.abs(picture - fresh).max() <= 2  # a thread count may round a pixel apart


def test_every_face_card_that_samples_measures_its_prior_against_one_floor():
    """The cards of the face models that sample give prior_fd: 1,000 samples of the model's own prior against test faces,
    next to the same floor (faces-vae's reconstructions of 1,000 test faces, judge features)."""
    cards = {name: shipped(name).get("prior_fd") for name in FACE_MODELS if name != "faces-ae"}
    assert all(cards.values()), {name: bool(card) for name, card in cards.items()}
    floors = [card["floor"] for name, card in cards.items() if name != "faces-wgan-gp"]  # 32x32: the 32x32 judge's floor
    assert floors == pytest.approx([floors[0]] * len(floors), rel=1e-6), floors
    assert all(card["ratio"] == pytest.approx(card["frechet_distance"] / card["floor"]) for card in cards.values())
    assert {card["floor_model"] for card in cards.values()} == {"faces-vae's"}


def test_faces_vaegan_reconstructs_edits_and_samples_as_its_card_says(faces_test, faces_judge):
    """The VAE-GAN (faces-vae's encoder and decoder fine-tuned against a discriminator): its reconstructions stay near
    faces-vae's, its Smiling vector works as faces-vae's does, and its second-stage prior (a VAE over its codes, as
    faces-vae carries, u at its fitted spread) draws faces at 3.04x the floor, against 13.9x for its first stage's
    N(0, I) (the bar, 3x, is missed by 1.3%: docs/checkpoints.md)."""
    card = shipped("faces-vaegan")
    assert card["reconstruction"]["psnr"] >= 27.0 and card["edits"]["Smiling"]["flip_rate"] >= 0.9, card["edits"]["Smiling"]
    assert max(card["edits"]["Smiling"]["changed"].values()) <= 0.05
    fresh = metrics.prior_fd(Explorer.load(ROOT / "checkpoints/faces-vaegan"), faces_test, faces_judge, ROOT / "checkpoints/faces-vae")
    numbers = ("frechet_distance", "floor", "ratio")
    assert {k: fresh[k] for k in numbers} == pytest.approx({k: card["prior_fd"][k] for k in numbers}, rel=0.02)
    assert fresh["frechet_distance"] < fresh["standard_normal_frechet_distance"] / 3, fresh
    assert fresh["standard_normal_frechet_distance"] < shipped("faces-vae")["prior_fd"]["standard_normal_frechet_distance"] / 1.5
