"""Lessons: the comparative claims the course notes make about the model families, each tested on the shipped
checkpoints by the numbers their cards carry (evaluation.json, written by `python -m metrics --write`).

A lesson names its models, the rule its verdict follows, and the measurements it reads; `verdict` turns a catalog's
measurements into "holds", "holds in part", "does not hold yet" or "not measured" (a card lacks a number), with the
numbers it used. Nothing here is typed in by hand: change a checkpoint, re-run `python -m metrics --write`, and the
verdicts (the app's Lessons tab, the README's Lessons section) follow.

    python -m metrics.lessons           # every lesson's verdict on checkpoints/
    python -m metrics.lessons --write   # rewrite the README's Lessons section and docs/lessons.md from them
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

HOLDS, PARTLY, NOT_YET, NOT_MEASURED = "holds", "holds in part", "does not hold yet", "not measured"
VERDICTS = (HOLDS, PARTLY, NOT_YET, NOT_MEASURED)
README_START, README_END = "<!-- lessons:start -->", "<!-- lessons:end -->"
PAGE = "docs/lessons.md"  # the lessons in full, beside the README's summary
ROOT = Path(__file__).resolve().parent.parent
# the bars an attribute edit is held to everywhere (the edit scorecards, issue bars): flips, others changed
EDIT_FLIP, EDIT_OTHERS = 0.9, 0.1
CONDITION_BAR = 0.8  # samples that show the class asked for: conditioning "controls" what is drawn


@dataclass(frozen=True)
class Facts:
    """What a lesson reads of one checkpoint: its card's measurements, its config.json and its dataset."""

    evaluation: dict
    config: dict
    dataset: str

    @classmethod
    def read(cls, path: str | Path) -> Facts:
        """A checkpoint directory's facts (an absent evaluation.json reads as no measurements)."""
        path = Path(path)
        evaluation = path / "evaluation.json"
        return cls(
            json.loads(evaluation.read_text()) if evaluation.exists() else {},
            json.loads((path / "config.json").read_text()),
            json.loads((path / "training.json").read_text())["data"],
        )


class Missing(Exception):
    """A measurement a lesson needs is not on a card."""

    def __init__(self, key: str, path: tuple[str, ...]):
        super().__init__(f"{key}'s card lacks {'.'.join(path)} (python -m metrics checkpoints/{key} --write measures it)")


@dataclass
class Verdict:
    verdict: str  # one of VERDICTS
    numbers: list[tuple[str, str, str]] = field(default_factory=list)  # (model, measure, value as shown)
    note: str = ""  # what the numbers say, in a sentence or two
    models: str = ""  # the models compared, with their image sizes (set by Lesson.verdict): unequal footing shows


@dataclass(frozen=True)
class Lesson:
    id: str  # a short name: the shared view link carries it
    title: str
    claim: str  # one sentence
    source: str  # where the claim comes from
    rule: str  # when the verdict is "holds"
    picture: str  # what the pictures show (ui.lessons draws them): a kind of PICTURES
    judge: Callable[[Callable, tuple[str, ...]], Verdict]  # judge(read, models); read(key, *path): a card's number, or Missing
    models: tuple[str, ...] = ()  # the checkpoints it compares; all must be served for the lesson to show
    choose: Callable[[Mapping[str, Facts]], tuple[str, ...]] | None = None  # instead of models: picks them from the catalog

    def chosen(self, facts: Mapping[str, Facts]) -> tuple[str, ...] | None:
        """The lesson's models in this catalog, or None when one is missing (the lesson is hidden)."""
        if self.choose is not None:
            return self.choose(facts) or None
        return self.models if all(key in facts for key in self.models) else None

    def verdict(self, facts: Mapping[str, Facts], keys: tuple[str, ...]) -> Verdict:
        """The verdict on these models' facts (chosen()): NOT_MEASURED naming the missing number if a card lacks one."""

        def read(key: str, *path: str):
            value = facts[key].evaluation
            for part in path:
                if not isinstance(value, dict) or part not in value:
                    raise Missing(key, path)
                value = value[part]
            return value

        try:
            verdict = self.judge(read, keys)
        except Missing as missing:
            verdict = Verdict(NOT_MEASURED, note=str(missing))
        sizes = [facts[key].config.get("image_size") for key in keys]
        verdict.models = ", ".join(f"{key} ({size}x{size})" if size else key for key, size in zip(keys, sizes))
        return verdict


def _score(parts: list[bool]) -> str:
    return HOLDS if all(parts) else PARTLY if any(parts) else NOT_YET


def _fd(value: float, floor: float) -> str:
    return f"{value:.0f} ({value / floor:.1f}x the floor)"


def _ae_vs_vae(read, keys) -> Verdict:
    ae, vae = keys
    ae_fd, vae_fd = read(ae, "prior_fd", "frechet_distance"), read(vae, "prior_fd", "frechet_distance")
    floor = read(vae, "prior_fd", "floor")
    ae_cells, vae_cells = read(ae, "sample_cells", "prior", "coverage"), read(vae, "sample_cells", "prior", "coverage")
    numbers = [
        (ae, "Frechet distance of N(0, I) samples", _fd(ae_fd, floor)),
        (vae, f"Frechet distance of its prior's samples ({read(vae, 'prior_fd', 'prior')})", _fd(vae_fd, floor)),
        (ae, "attribute cells its samples draw", f"{ae_cells:.0%}"),
        (vae, "attribute cells its samples draw", f"{vae_cells:.0%}"),
    ]
    note = ""
    if "standard_normal_frechet_distance" in read(vae, "prior_fd"):
        plain = read(vae, "prior_fd", "standard_normal_frechet_distance")
        numbers.insert(2, (vae, "Frechet distance of N(0, I) samples (the first stage alone)", _fd(plain, floor)))
        if plain >= ae_fd / 2:
            note = f"Its first stage's N(0, I) draws alone are at {plain:.0f}: the faces come from the second-stage prior over its codes."
    return Verdict(_score([vae_fd < ae_fd / 2, vae_cells > ae_cells]), numbers, note)


def _blur(read, keys) -> Verdict:
    vae, gan, vaegan = keys
    sharp = {key: read(key, "prior_fd", "sharpness") for key in keys}
    psnr = {key: read(key, "reconstruction", "psnr") for key in (vae, vaegan)}
    numbers = [(key, "sharpness of prior samples (test faces: 1.00)", f"{value:.2f}") for key, value in sharp.items()]
    numbers += [(key, "Frechet distance of prior samples", f"{read(key, 'prior_fd', 'frechet_distance'):.0f}") for key in keys]
    numbers += [(key, "reconstruction PSNR", f"{value:.2f} dB") for key, value in psnr.items()]
    fd = {key: read(key, "prior_fd", "frechet_distance") for key in keys}
    gan_sharper = sharp[gan] > sharp[vae]
    parts = {
        "sharper than the VAE's": sharp[vaegan] > sharp[vae],
        "as close to the test faces as the GAN's": fd[vaegan] <= fd[gan],
        "reconstructs within 1 dB of the VAE": psnr[vaegan] >= psnr[vae] - 1,
    }
    both = all(parts.values())
    missing = [what for what, holds in parts.items() if not holds]
    note = f"GAN samples {'sharper' if gan_sharper else 'not sharper'} than the VAE's; the VAE-GAN's " + (
        f"samples are sharper ({sharp[vaegan]:.2f} against {sharp[vae]:.2f}; the GAN's {sharp[gan]:.2f}) and as good as the GAN's, "
        "and it reconstructs."
        if both
        else "fall short: not " + "; not ".join(missing) + "."
    )
    noisy = [key for key, value in sharp.items() if value > 1.2]
    if noisy:
        note += f" Above 1 ({', '.join(noisy)}): more high-frequency energy than real faces, speckle as well as detail."
    return Verdict(_score([gan_sharper, both]), numbers, note)


def _details(read, key: str) -> float:
    """The least an attribute among Smiling, Eyeglasses, Mustache, Mouth_Slightly_Open is kept in key's reconstructions."""
    kept = read(key, "details_kept", "reconstruction")
    return min(kept[name] for name in ("Smiling", "Eyeglasses", "Mustache", "Mouth_Slightly_Open"))


def _vq_recon(read, keys) -> Verdict:
    psnr = {key: read(key, "reconstruction", "psnr") for key in keys}
    numbers = [(key, "reconstruction PSNR", f"{value:.2f} dB") for key, value in psnr.items()]
    numbers += [(key, "least kept of Smiling, Eyeglasses, Mustache, Mouth open (judge)", f"{_details(read, key):.1%}") for key in keys]
    vq, vae = psnr.values()
    return Verdict(HOLDS if vq > vae else NOT_YET, numbers, f"{vq - vae:+.2f} dB for the VQ-VAE.")


def _plain_face_vaes(facts: Mapping[str, Facts]) -> tuple[str, ...]:
    """Plain (beta 1, no capacity, unconditional) face VAEs, one per latent size, smallest first: two or more, else ()."""
    by_size = {}
    for key in sorted(facts):
        cfg = facts[key].config
        plain = cfg.get("model_type") == "vae" and cfg.get("beta", 1.0) == 1.0 and not cfg.get("gamma", 0.0)
        if plain and facts[key].dataset == "faces":
            by_size.setdefault(cfg["latent_dim"], key)
    return tuple(by_size[size] for size in sorted(by_size)) if len(by_size) > 1 else ()


def _latent_size(read, keys) -> Verdict:
    psnr = [read(key, "reconstruction", "psnr") for key in keys]
    numbers = [(key, "reconstruction PSNR", f"{value:.2f} dB") for key, value in zip(keys, psnr)]
    rising = all(b > a for a, b in zip(psnr, psnr[1:]))
    return Verdict(
        HOLDS if rising else NOT_YET, numbers, "PSNR rises with the latent size." if rising else "PSNR does not rise with the latent size."
    )


def _beta(read, keys) -> Verdict:
    beta, vae = (read(key, "reconstruction", "psnr") for key in keys)
    numbers = [(key, "reconstruction PSNR", f"{value:.2f} dB") for key, value in zip(keys, (beta, vae))]
    mig = {key: read(key, "mig", "mig") for key in keys if "mig" in read(key)}
    numbers += [(key, "MIG", f"{value:.3f}") for key, value in mig.items()]
    sharper = vae > beta
    if len(mig) < 2:  # the trade needs both sides measured
        return Verdict(
            PARTLY if sharper else NOT_YET,
            numbers,
            f"Sharpness: the beta-VAE gives up {vae - beta:.1f} dB. Disentanglement is not measured on both cards: "
            f"MIG on the faces' factors is missing from {', '.join(key for key in keys if key not in mig)} (python -m metrics CHECKPOINT --write).",
        )
    return Verdict(_score([sharper, mig[keys[0]] > mig[keys[1]]]), numbers)


def _denoising(read, keys) -> Verdict:
    noise = {key: read(key, "noise") for key in keys}
    numbers = [
        (key, "code shift under masking noise (0: none, 1: another face's code)", f"{n['code_shift']:.2f}") for key, n in noise.items()
    ]
    numbers += [
        (key, "reconstruction of the noisy faces (PSNR to the clean ones)", f"{n['psnr_noisy']:.2f} dB") for key, n in noise.items()
    ]
    ae, dae = noise.values()
    numbers.append(("(input)", "the noisy faces themselves", f"{ae['psnr_input']:.2f} dB"))
    return Verdict(_score([dae["code_shift"] < ae["code_shift"], dae["psnr_noisy"] > ae["psnr_noisy"]]), numbers)


def _collapse(read, keys) -> Verdict:
    gan = {key: read(key, "gan") for key in keys}
    numbers = [(key, "recall", f"{g['recall']:.2f}") for key, g in gan.items()]
    numbers += [(key, "attribute cells drawn", f"{g['coverage']:.0%}") for key, g in gan.items()]
    dc, w = gan.values()
    return Verdict(_score([w["recall"] > dc["recall"], w["coverage"] > dc["coverage"]]), numbers)


def _conditioning(read, keys) -> Verdict:
    cvae, cgan = keys
    accuracy = {cvae: read(cvae, "samples", "condition_accuracy"), cgan: read(cgan, "gan", "condition_accuracy")}
    numbers = [(key, "samples classified as the class asked for (chance 10%)", f"{value:.1%}") for key, value in accuracy.items()]
    return Verdict(_score([value >= CONDITION_BAR for value in accuracy.values()]), numbers)


def _infogan(read, keys) -> Verdict:
    (key,) = keys
    agreement = read(key, "gan", "code_agreement")
    verdict = HOLDS if agreement >= CONDITION_BAR else PARTLY if agreement >= 0.5 else NOT_YET
    return Verdict(verdict, [(key, "samples whose categorical code matches their class (chance 10%)", f"{agreement:.1%}")])


def _arithmetic(read, keys) -> Verdict:
    (key,) = keys
    card = read(key, "edits", "Smiling")
    worst = max(card["changed"], key=card["changed"].get)
    numbers = [
        (key, f"non-smiling test faces made to smile ({card['n']})", f"{card['flip_rate']:.1%}"),
        (key, f"worst other attribute changed ({worst})", f"{card['changed'][worst]:.1%}"),
    ]
    return Verdict(HOLDS if card["flip_rate"] >= EDIT_FLIP and card["changed"][worst] <= EDIT_OTHERS else NOT_YET, numbers)


def _rejection(read, keys) -> Verdict:
    classes, faces = keys
    rejection = read(classes, "prior", "rejection")
    accepted = read(classes, "prior", "rejection", "precision")
    drawn, kept = read(faces, "prior_fd", "frechet_distance"), read(faces, "prior_fd", "rejection")
    numbers = [
        (classes, f"draws accepted (class probability >= {rejection['threshold']:.0%})", f"{rejection['acceptance_rate']:.1%}"),
        (classes, "precision: all draws / accepted", f"{rejection['drawn_precision']:.2f} / {accepted:.2f}"),
        (classes, "recall: all draws / accepted", f"{rejection['drawn_recall']:.2f} / {rejection['recall']:.2f}"),
        (
            classes,
            "Frechet distance: all draws / accepted",
            f"{read(classes, 'prior', 'frechet_distance'):.1f} / {rejection['frechet_distance']:.1f}",
        ),
        (faces, f"draws accepted (least sure attribute >= {kept['threshold']:.0%})", f"{kept['acceptance_rate']:.1%}"),
        (faces, "Frechet distance in the judge's features: all draws / accepted", f"{drawn:.1f} / {kept['frechet_distance']:.1f}"),
    ]
    note = (
        "Fashion-MNIST has no second classifier: its numbers are in the features of the classifier that rejects, which "
        "credits what it selected for. On faces the judge measures, a classifier that did not reject."
    )
    held = (accepted > rejection["drawn_precision"], kept["frechet_distance"] < drawn)
    return Verdict(HOLDS if all(held) else PARTLY if any(held) else NOT_YET, numbers, note)


LESSONS = (
    Lesson(
        "generate",
        "An autoencoder reconstructs but cannot generate; a VAE can",
        "Decode random codes: a plain AE's codes follow no known distribution, a VAE's are pulled towards its prior.",
        "Kingma & Welling 2014; course notes, 'VAE'",
        "the VAE's prior samples are at most half the AE's Frechet distance from test faces, and draw more attribute cells",
        "samples",
        _ae_vs_vae,
        ("faces-ae", "faces-vae"),
    ),
    Lesson(
        "blur",
        "VAE samples are blurrier than GAN samples; a VAE-GAN gets both",
        "A pixel likelihood averages what it cannot pin down into blur; a discriminator punishes blur, and a VAE-GAN adds one to a VAE.",
        "Goodfellow et al. 2014; Larsen et al. 2016",
        "the GAN's samples are sharper than the VAE's, and the VAE-GAN's samples are sharper than the VAE's and as close to the test faces (Frechet distance) as the GAN's while it reconstructs within 1 dB of the VAE",
        "samples",
        _blur,
        ("faces-vae", "faces-dcgan", "faces-vaegan"),
    ),
    Lesson(
        "vq-reconstructs",
        "A VQ-VAE reconstructs better than a VAE",
        "A grid of discrete codes carries more of the image than a small Gaussian code.",
        "van den Oord et al. 2017",
        "the VQ-VAE's reconstruction PSNR is above the VAE's on the same test faces",
        "reconstructions",
        _vq_recon,
        ("faces-vqvae", "faces-vae"),
    ),
    Lesson(
        "latent-size",
        "The latent size sets the blur",
        "A VAE with a smaller latent keeps less of each face and reconstructs it blurrier.",
        "course notes, 'latent 10 vs 32'",
        "PSNR rises with the latent size among plain face VAEs",
        "reconstructions",
        _latent_size,
        choose=_plain_face_vaes,
    ),
    Lesson(
        "beta",
        "A beta-VAE trades sharpness for disentanglement",
        "A stronger pull towards the factorised prior makes each latent dim carry one factor, and costs reconstruction detail.",
        "Higgins et al. 2017; Burgess et al. 2018",
        "the beta-VAE reconstructs blurrier (lower PSNR) and its MIG is higher than the VAE's",
        "traversals",
        _beta,
        ("faces-beta-vae", "faces-vae"),
    ),
    Lesson(
        "denoising",
        "A denoising AE learns codes that shrug off noise",
        "Trained to undo corruption, its encoder maps a corrupted face near the clean face's code.",
        "Vincent et al. 2008",
        "masking noise moves the DAE's codes less than the AE's, and its reconstructions of noisy faces are closer to the clean ones",
        "noisy",
        _denoising,
        ("faces-ae", "faces-dae"),
    ),
    Lesson(
        "collapse",
        "GANs can collapse onto a few modes; the Wasserstein loss helps",
        "A generator can fool its discriminator with a few kinds of picture; a critic's Wasserstein distance keeps a gradient towards the rest.",
        "Arjovsky et al. 2017; Gulrajani et al. 2017",
        "the WGAN-GP's recall and attribute-cell coverage are both above the DCGAN's",
        "samples",
        _collapse,
        ("faces-dcgan", "faces-wgan-gp"),
    ),
    Lesson(
        "conditioning",
        "Conditioning controls what is drawn",
        "A conditional VAE or GAN given a class draws that class.",
        "Sohn et al. 2015; Mirza & Osindero 2014",
        f"at least {CONDITION_BAR:.0%} of each model's samples are classified as the class asked for",
        "classes",
        _conditioning,
        ("fashion-cvae", "fashion-cgan"),
    ),
    Lesson(
        "infogan",
        "InfoGAN finds classes without labels",
        "Maximising the mutual information between a categorical code and the picture makes the code pick the classes.",
        "Chen et al. 2016",
        f"the categorical code's best match to the classes agrees with the classifier on at least {CONDITION_BAR:.0%} of samples (in part: half)",
        "codes",
        _infogan,
        ("fashion-infogan",),
    ),
    Lesson(
        "arithmetic",
        "Latent arithmetic: add a smile vector and a face smiles",
        "The difference of the mean codes of smiling and non-smiling faces, added to a code, adds a smile.",
        "White 2016",
        f"the Smiling vector makes at least {EDIT_FLIP:.0%} of non-smiling test faces smile (judge) and changes no other attribute on more than {EDIT_OTHERS:.0%}",
        "edit",
        _arithmetic,
        ("faces-vae",),
    ),
    Lesson(
        "rejection",
        "A classifier can reject bad samples",
        "Scoring samples with a classifier and keeping the confident ones trades sampling time for quality.",
        "Razavi et al. 2019 (VQ-VAE-2, sec. 3.3)",
        "more of the accepted samples than of all draws lie on the test images' manifold (precision, Kynkaanniemi et al. "
        "2019), and on faces the accepted draws lie nearer the test faces in the features of a classifier that did not "
        "reject them (the judge's Frechet distance)",
        "rejection",
        _rejection,
        ("fashion-vqvae-prior", "faces-vae"),
    ),
)
PICTURES = ("samples", "reconstructions", "traversals", "noisy", "classes", "codes", "edit", "rejection")


def shown(facts: Mapping[str, Facts]) -> list[tuple[Lesson, tuple[str, ...], Verdict]]:
    """(lesson, its models, its verdict) for every lesson whose models this catalog has, in LESSONS' order."""
    result = []
    for lesson in LESSONS:
        keys = lesson.chosen(facts)
        if keys is not None:
            result.append((lesson, keys, lesson.verdict(facts, keys)))
    return result


def markdown(lesson: Lesson, keys: tuple[str, ...], verdict: Verdict, heading: str = "###") -> str:
    """A lesson as Markdown: the claim, its source, the verdict with its rule, and the numbers as a table."""
    lines = [
        f"{heading} {lesson.title}",
        "",
        f"{lesson.claim} *({lesson.source})*",
        "",
        f"**Verdict: {verdict.verdict}.** Holds when {lesson.rule}." + (f" {verdict.note}" if verdict.note else ""),
    ]
    if verdict.numbers:
        lines += ["", "| model | measure | value |", "|---|---|---|"]
        lines += [f"| {model} | {measure} | {value} |" for model, measure, value in verdict.numbers]
    lines += ["", f"Models: {verdict.models or ', '.join(keys)}."]
    return "\n".join(lines)


def readme_section(facts: Mapping[str, Facts]) -> str:
    """The README's Lessons section body (between README_START and README_END): each shown lesson and its verdict,
    linked to its entry in docs/lessons.md."""
    rows = [f"| [{lesson.title}]({PAGE}#{_anchor(lesson.title)}) | {verdict.verdict} |" for lesson, _, verdict in shown(facts)]
    return "\n".join(["| lesson | verdict on the shipped checkpoints |", "|---|---|", *rows])


def page(facts: Mapping[str, Facts]) -> str:
    """docs/lessons.md: every shown lesson with its rule, numbers and models; the hidden ones named."""
    lessons = shown(facts)
    ids = {lesson.id for lesson, _, _ in lessons}
    hidden = [lesson.title for lesson in LESSONS if lesson.id not in ids]
    lines = [
        "# Lessons",
        "",
        "Each lesson is a claim from the course notes, tested on the shipped checkpoints by the numbers on their cards",
        "(`evaluation.json`, measured by `python -m metrics`). The app's Lessons tab shows the same lessons with pictures of",
        "the models side by side. This page and the README's Lessons section are written by `python -m metrics.lessons --write`",
        "(the rules are in `metrics/lessons.py`); a test checks both are current.",
    ]
    if hidden:
        lines += ["", "Hidden, because their models do not ship: " + "; ".join(hidden) + "."]
    for lesson, keys, verdict in lessons:
        lines += ["", markdown(lesson, keys, verdict, heading="##")]
    return "\n".join(lines) + "\n"


def _anchor(title: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return "".join(c for c in title.lower() if c.isalnum() or c in " -").replace(" ", "-")


def catalog_facts(checkpoints: str | Path) -> dict[str, Facts]:
    """Facts of every checkpoint directory under `checkpoints` that has a config.json and a training.json."""
    root = Path(checkpoints)
    return {
        path.name: Facts.read(path)
        for path in sorted(root.iterdir())
        if (path / "config.json").exists() and (path / "training.json").exists()
    }


def write(root: str | Path, facts: Mapping[str, Facts]) -> list[Path]:
    """Rewrite root/README.md's section between README_START and README_END and root/docs/lessons.md; the files that
    changed."""
    root = Path(root)
    readme = root / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme}: no {README_START} ... {README_END} markers to write the Lessons section between")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    wanted = {readme: f"{head}{README_START}\n{readme_section(facts)}\n{README_END}{tail}", root / PAGE: page(facts)}
    changed = [path for path, new in wanted.items() if not path.exists() or path.read_text() != new]
    for path in changed:
        path.write_text(wanted[path])
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m metrics.lessons", description="Each lesson's verdict on the shipped checkpoints.")
    parser.add_argument("--checkpoints", default="checkpoints", help="directory of checkpoint directories (default checkpoints/)")
    parser.add_argument("--write", action="store_true", help=f"rewrite the README's Lessons section and {PAGE} instead of printing")
    args = parser.parse_args(argv)
    facts = catalog_facts(args.checkpoints)
    if args.write:
        changed = write(ROOT, facts)
        print(
            "rewrote " + ", ".join(str(path.relative_to(ROOT)) for path in changed) if changed else f"README.md and {PAGE} already current"
        )
        return
    for lesson, _, verdict in shown(facts):
        print(f"{lesson.title}: {verdict.verdict}")
        for model, measure, value in verdict.numbers:
            print(f"    {model:<22} {measure}: {value}")
        if verdict.note:
            print(f"    {verdict.note}")


if __name__ == "__main__":
    main()
