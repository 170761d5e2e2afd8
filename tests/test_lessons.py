"""Lessons (metrics.lessons, ui.lessons): each verdict follows the numbers it is computed from; a lesson whose models
are not served is hidden; a lesson whose card lacks a number says which; the README's Lessons section is what the
shipped cards give; the tab draws each shown lesson's picture once, and a shared link opens a chosen lesson.

The app and browser tests serve a few shipped checkpoints (faces-ae, faces-dae, faces-vae, fashion-infogan and the
Fashion-MNIST VQ-VAE with its prior): five lessons show, the others are hidden."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import test_browser
from PIL import Image

from metrics import lessons
from metrics.lessons import HOLDS, NOT_MEASURED, NOT_YET, PARTLY, Facts

ROOT = Path(__file__).resolve().parents[1]
SERVED = ("faces-ae", "faces-dae", "faces-vae", "fashion-infogan", "fashion-vqvae", "fashion-vqvae-prior", "classifiers")
SHOWN = ["generate", "denoising", "infogan", "arithmetic", "rejection"]  # the lessons of SERVED, in LESSONS' order
browser = test_browser.browser


def shipped() -> dict[str, Facts]:
    return lessons.catalog_facts(ROOT / "checkpoints")


def lesson(lesson_id: str) -> lessons.Lesson:
    return next(found for found in lessons.LESSONS if found.id == lesson_id)


def verdict_of(lesson_id: str, facts: dict[str, Facts]) -> lessons.Verdict:
    found = lesson(lesson_id)
    return found.verdict(facts, found.chosen(facts))


def edited(facts: dict[str, Facts], key: str, path: tuple[str, ...], value) -> dict[str, Facts]:
    """A copy of facts with key's evaluation at path set to value (None: removed)."""
    facts = copy.deepcopy(facts)
    node = facts[key].evaluation
    for part in path[:-1]:
        node = node[part]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return facts


@pytest.mark.parametrize("flip, worst, expected", [(0.95, 0.05, HOLDS), (0.9, 0.1, HOLDS), (0.89, 0.05, NOT_YET), (0.95, 0.11, NOT_YET)])
def test_the_arithmetic_verdict_follows_the_flip_rate_and_the_worst_other_attribute(flip, worst, expected):
    facts = edited(shipped(), "faces-vae", ("edits", "Smiling", "flip_rate"), flip)
    changed = {name: 0.0 for name in facts["faces-vae"].evaluation["edits"]["Smiling"]["changed"]} | {"Mustache": worst}
    facts = edited(facts, "faces-vae", ("edits", "Smiling", "changed"), changed)
    result = verdict_of("arithmetic", facts)
    assert result.verdict == expected
    assert ("faces-vae", "worst other attribute changed (Mustache)", f"{worst:.1%}") in result.numbers


@pytest.mark.parametrize(
    "dae_shift, dae_psnr, expected", [(0.1, 30.0, HOLDS), (0.1, 10.0, PARTLY), (0.9, 30.0, PARTLY), (0.9, 10.0, NOT_YET)]
)
def test_the_denoising_verdict_needs_both_steadier_codes_and_cleaner_reconstructions(dae_shift, dae_psnr, expected):
    facts = edited(shipped(), "faces-dae", ("noise", "code_shift"), dae_shift)
    facts = edited(facts, "faces-dae", ("noise", "psnr_noisy"), dae_psnr)
    result = verdict_of("denoising", facts)
    assert result.verdict == expected
    assert ("faces-dae", "reconstruction of the noisy faces (PSNR to the clean ones)", f"{dae_psnr:.2f} dB") in result.numbers


def test_the_generation_verdict_compares_the_two_priors_samples():
    facts = shipped()
    ae_fd = facts["faces-ae"].evaluation["prior_fd"]["frechet_distance"]
    assert verdict_of("generate", edited(facts, "faces-vae", ("prior_fd", "frechet_distance"), ae_fd / 2 - 1)).verdict in (HOLDS, PARTLY)
    worse = edited(facts, "faces-vae", ("prior_fd", "frechet_distance"), ae_fd)
    worse = edited(worse, "faces-vae", ("sample_cells", "prior", "coverage"), 0.0)
    assert verdict_of("generate", worse).verdict == NOT_YET


def test_the_conditioning_verdict_holds_in_part_when_one_model_is_under_the_bar():
    facts = edited(shipped(), "fashion-cvae", ("samples", "condition_accuracy"), 0.5)
    facts = edited(facts, "fashion-cgan", ("gan", "condition_accuracy"), 0.95)
    assert verdict_of("conditioning", facts).verdict == PARTLY
    facts = edited(facts, "fashion-cvae", ("samples", "condition_accuracy"), 0.85)
    assert verdict_of("conditioning", facts).verdict == HOLDS


def test_a_missing_measurement_is_named_and_the_verdict_is_not_measured():
    result = verdict_of("denoising", edited(shipped(), "faces-dae", ("noise",), None))
    assert result.verdict == NOT_MEASURED
    assert "faces-dae's card lacks noise" in result.note and "python -m metrics checkpoints/faces-dae --write" in result.note


def test_a_lesson_whose_model_is_missing_is_hidden():
    facts = shipped()
    assert "denoising" in [found.id for found, _, _ in lessons.shown(facts)]
    del facts["faces-dae"]
    assert "denoising" not in [found.id for found, _, _ in lessons.shown(facts)]


def test_the_latent_size_lesson_picks_plain_face_vaes_smallest_first():
    facts = shipped()
    assert "latent-size" not in [found.id for found, _, _ in lessons.shown(facts)]  # one plain face VAE ships
    small = copy.deepcopy(facts["faces-vae"])
    small.config["latent_dim"] = 16
    small.evaluation["reconstruction"]["psnr"] = 20.0
    facts["faces-vae-16"] = small
    found = {found.id: (keys, verdict) for found, keys, verdict in lessons.shown(facts)}
    keys, verdict = found["latent-size"]
    assert keys == ("faces-vae-16", "faces-vae") and verdict.verdict == HOLDS
    small.evaluation["reconstruction"]["psnr"] = 30.0
    assert verdict_of("latent-size", facts).verdict == NOT_YET


def test_the_readme_section_and_the_lessons_page_are_what_the_shipped_cards_give(tmp_path):
    (tmp_path / "docs").mkdir()
    for name in ("README.md", lessons.PAGE):
        (tmp_path / name).write_text((ROOT / name).read_text())
    stale = lessons.write(tmp_path, shipped())
    assert not stale, f"{', '.join(p.name for p in stale)} stale: python -m metrics.lessons --write"


@pytest.fixture(scope="module")
def served(launch_app, tmp_path_factory):
    root = tmp_path_factory.mktemp("lessons")
    for name in SERVED:
        (root / name).symlink_to(ROOT / "checkpoints" / name)
    with launch_app(root) as app:
        yield app


def test_the_tab_draws_each_shown_lesson_once_and_refuses_a_hidden_one(served):
    from gradio_client import Client

    client = Client(served.url, verbose=False)
    pictures = {}
    for lesson_id in SHOWN:
        text, picture = client.predict(lesson_id, api_name="/lesson")
        assert text.startswith(f"### {lesson(lesson_id).title}") and "**Verdict: " in text
        pictures[lesson_id] = np.asarray(Image.open(picture))
    # the denoising picture: the clean faces, the noisy faces, then each model's reconstruction: 4 rows of 128 pixels
    assert pictures["denoising"].shape[0] == 4 * 128
    clean, noisy = pictures["denoising"][:128, 200:].astype(int), pictures["denoising"][128:256, 200:].astype(int)
    assert np.abs(clean - noisy).mean() > 10
    again, _ = client.predict("generate", api_name="/lesson")
    assert again.startswith("### An autoencoder")
    with pytest.raises(Exception, match="collapse"):  # its models are not served: not a choice
        client.predict("collapse", api_name="/lesson")


@pytest.mark.slow  # the shipped checkpoints in a browser
def test_the_browser_shows_every_lessons_picture_and_verdict_and_a_link_opens_one(browser, served):
    from ui import views

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(test_browser.TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(served.url)
        page.locator("button[role=tab]").first.wait_for()
        test_browser.open_tab(page, "lessons")
        for found in map(lesson, SHOWN):
            page.locator("#lesson-choice").get_by_label(found.title, exact=True).check()
            page.locator("#lesson-text h3").filter(has_text=found.title).wait_for()
            assert "Verdict: " in page.locator("#lesson-text").inner_text()
            page.wait_for_function(
                "() => { const img = document.querySelector('#lesson-picture img'); return img && img.naturalWidth > 0; }"
            )
        token = views.encode({"v": views.VERSION, "model": "faces-vae", "tab": "lessons", "lesson": "denoising"})
        page.goto(f"{served.url}?{views.PARAMETER}={token}")
        page.locator('button[role=tab][data-tab-id="lessons"][aria-selected="true"]').wait_for()
        page.locator("#lesson-text h3").filter(has_text="A denoising AE").wait_for()
        assert page.locator("#lesson-choice").get_by_label(lesson("denoising").title, exact=True).is_checked()
        assert errors == []
    finally:
        page.close()
