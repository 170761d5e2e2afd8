"""An evaluate() result (metrics/evaluate.py) as a model card shows it: the held-out table's (metric, value) rows
(summary; `python -m metrics` prints them, `python -m train card --stored` rewrites cards from them) and the main
numbers the card's model-index reports (headline).

summary builds its rows one entry of the result at a time, in SECTIONS' order: each section turns its entry into rows;
an entry the result does not have adds none.
"""

from __future__ import annotations

from .edits import most_changed_other

DETAIL_ATTRIBUTES = ("Smiling", "Eyeglasses", "Mustache", "Mouth_Slightly_Open")  # small details a card reports the reconstructions keep

Rows = list[tuple[str, str]]


def summary(result: dict) -> list[tuple[str, str]]:
    """(metric, value) rows of an evaluate() result, for model cards and the command line."""
    return [row for key, section in SECTIONS.items() if key in result for row in section(result[key])]


def _accuracy(accuracy: dict) -> Rows:
    return [(f"accuracy: {name}", f"{value:.2%}") for name, value in accuracy.items()]


def _reconstruction(rec: dict) -> Rows:
    rows = []
    if rec:
        rows += [("PSNR", f"{rec['psnr']:.2f} dB ({rec['images']} images)"), ("MSE per pixel", f"{rec['mse']:.5f}")]
    if "elbo" in rec:
        rows += [
            ("ELBO", f"{rec['elbo']:.1f} nats"),
            ("KL", f"{rec['kl']:.1f} nats"),
            ("active units (KL > 0.01 nats)", str(rec["active_units"])),
        ]
    return rows


def _edits(edits: dict, kind: str = "") -> Rows:
    return [row for attribute, card in edits.items() for row in _edit_scorecard(f"{attribute} {kind}edit", card)]


def _edit_scorecard(name: str, card: dict) -> Rows:
    """The two rows of one edit scorecard (metrics.edits): its flip rate, and the most another attribute changed."""
    worst = max(card["changed"], key=card["changed"].get)
    how = f"strength {card['strength']:g}" if "strength" in card else "condition switched on"
    what = {"vector": "samples without it, stored vector", "guided": "samples without it, classifier-guided"}.get(
        card.get("edit"), "faces without it"
    )
    judged = "; judged by a second classifier" if "edit" in card else ""
    return [
        (f"{name}: flip rate", f"{card['flip_rate']:.1%} of {card['n']} {what} (unedited: {card['baseline']:.1%}; {how}{judged})"),
        (f"{name}: other attributes changed", f"at most {card['changed'][worst]:.1%} ({worst})"),
    ]


def _details_kept(d: dict) -> Rows:
    kept = d["reconstruction"]
    lowest = min(kept, key=kept.get)
    return [
        (
            "reconstructions that keep an attribute (the judge agrees with the truth)",
            ", ".join(f"{a} {kept[a]:.1%} (inputs {d['input'][a]:.1%})" for a in DETAIL_ATTRIBUTES if a in kept)
            + f"; the lowest of all {len(kept)}: {lowest} {kept[lowest]:.1%} ({d['images']} images)",
        )
    ]


SOURCE_NAMES = {
    "prior": "prior",
    "standard_normal": "N(0, I)",
    "fitted": "fitted-Gaussian",
    "mixture": "labelled-mixture",
}  # in the card's rows


def _sample_cells(sample_cells: dict) -> Rows:
    return [
        (
            f"attribute cells covered by {SOURCE_NAMES[source]} samples",
            f"{c['coverage']:.1%} of {c['cells']} (KL(samples ‖ data) over the cells {c['cell_kl']:.3f}; {c['outside']:.1%} of {c['n']} samples outside every cell)",
        )
        for source, c in sample_cells.items()
    ]


def _inversion(i: dict) -> Rows:
    return [
        (
            "inversion of test images (latent.invert)",
            f"PSNR {i['psnr']:.2f} dB on average, {i['psnr_min']:.2f} dB the worst ({i['images']} images)",
        )
    ]


def _prior_samples(p: dict) -> Rows:
    rows = []
    if "frechet_distance" in p:
        rows.append(("domain Frechet distance of prior samples to test images", f"{p['frechet_distance']:.2f} ({p['n']} samples)"))
    if "component_agreement" in p:
        rows.append(("test codes nearest their class's mixture component", f"{p['component_agreement']:.1%}"))
    return rows


def _prior_fd(p: dict) -> Rows:
    rows = [
        (
            "domain Frechet distance of prior samples to test images",
            f"{p['frechet_distance']:.1f} ({p['n']} samples of {p['prior']}); floor {p['floor']:.1f} ({p.get('floor_model', 'its')} "
            f"reconstructions of {p['n']} of those test images), {p['ratio']:.2f}x the floor; features: the judge ({p['features']})",
        )
    ]
    if "standard_normal_frechet_distance" in p:
        sn = p["standard_normal_frechet_distance"]
        rows.append(("domain Frechet distance of N(0, I) samples (the first stage alone)", f"{sn:.1f} ({sn / p['floor']:.2f}x the floor)"))
    if "rejection" in p:
        r = p["rejection"]
        rows.append(
            (
                f"the same prior with rejection sampling (confidence >= {r['threshold']:g})",
                f"Frechet distance {r['frechet_distance']:.1f} ({r['ratio']:.2f}x the floor); {r['acceptance_rate']:.1%} of draws "
                f"accepted ({r['never_accepted']} of {p['n']} never); the confidence is the guide classifier's ({r['classifier']}), the distance the judge's",
            )
        )
    if "sharpness" in p:
        rows.append(
            (
                "sharpness of prior samples (high-frequency energy / the test images')",
                f"{p['sharpness']:.2f}; the floor's reconstructions {p['floor_sharpness']:.2f}",
            )
        )
    return rows


def _slider_edits(cards: dict) -> Rows:
    rows = []
    for name, card in cards.items():
        worst = max(card["changed"], key=card["changed"].get)
        strength = card["strengths"][name]
        rows.append(
            (
                f"{name} slider at {strength:+g} (independent direction)",
                f"{card['flip_rates'][name]:.1%} of {card['n']} faces without it (unedited: {card['baseline'][name]:.1%}); "
                f"others changed at most {card['changed'][worst]:.1%} ({worst})",
            )
        )
    return rows


def _noise(n: dict) -> Rows:
    return [
        (
            f"{n['corruption']} noise ({n['level']:.0%} of the pixels) on {n['images']} test images",
            f"moves a code {n['code_shift']:.2f} of the way to another image's; reconstructed from the noisy input: "
            f"{n['psnr_noisy']:.2f} dB (the noisy input itself: {n['psnr_input']:.2f} dB)",
        )
    ]


def _codebook(c: dict) -> Rows:
    levels = {"": c} if "codes_used" in c else {f" ({level} level)": u for level, u in c.items() if isinstance(u, dict)}
    return [
        (
            f"codebook usage{name}",
            f"{u['codes_used']:.1%} of the codes used on {c['images']} images ({u['dead_codes']} dead), perplexity {u['perplexity']:.1f}",
        )
        for name, u in levels.items()
    ]


def _prior(p: dict) -> Rows:
    rows = [("bits per code", f"{p['bits_per_code']:.3f} ({p['images']} images)")]
    if "seconds_per_image" not in p:  # one level's prior of a VQ-VAE-2: pictures need every level's codes
        return [*rows, ("samples", "measured on the card of the last code level's prior, which completes each picture")]
    rows.append(("sampling time", f"{p['seconds_per_image'] * 1000:.0f} ms per image ({p['samples']} samples, CPU)"))
    if "frechet_distance" in p:
        rows.append(
            (
                "domain Frechet distance to test images",
                f"{p['frechet_distance']:.2f} (uniform random codes: {p['uniform_frechet_distance']:.2f}; "
                f"reconstructions: {p['reconstruction_frechet_distance']:.2f})",
            )
        )
    if "class_coverage" in p:
        c = p["class_coverage"]
        rows.append(
            (
                "samples classified as their condition",
                f"{c['condition_accuracy']:.1%} (classes covered: {c['classes_covered']} of {len(c['fractions'])})",
            )
        )
        r = p["rejection"]
        rows.append(
            (
                f"rejection sampling at p >= {r['threshold']:g}",
                f"{r['acceptance_rate']:.1%} of draws accepted ({r['never_accepted']} of {r['n']} never)"
                + (
                    f"; accepted / all draws: precision {r['precision']:.2f} / {r['drawn_precision']:.2f}, recall {r['recall']:.2f} / "
                    f"{r['drawn_recall']:.2f}, Frechet distance {r['frechet_distance']:.2f} / {p['frechet_distance']:.2f}"
                    if "precision" in r
                    else ""
                ),
            )
        )
    return rows


def _gan(g: dict) -> Rows:
    rows = [
        ("domain Frechet distance to test images", f"{g['frechet_distance']:.2f} ({g['n']} samples)"),
        ("KID", f"{g['kid']:.4f}"),
        ("precision / recall (k = 3)", f"{g['precision']:.3f} / {g['recall']:.3f}"),
    ]
    if "cell_kl" in g:
        rows.append(
            (
                "attribute cells covered",
                f"{g['coverage']:.1%} (KL(samples || data) over the cells {g['cell_kl']:.3f}; {g['outside']:.1%} of samples outside every cell)",
            )
        )
    elif "coverage" in g:
        rows.append(("classes covered (>= 1% of samples)", f"{g['coverage']:.0%}"))
    if "condition_accuracy" in g:
        rows.append(("samples classified as their condition", f"{g['condition_accuracy']:.1%}"))
    if "code_agreement" in g:
        rows.append(("categorical code vs classes (best one-to-one matching)", f"{g['code_agreement']:.1%}"))
    return rows


def _mig(m: dict) -> Rows:
    return [
        (
            "MIG",
            f"{m['mig']:.3f} ({m['n']} images, {m['bins']} bins; per factor: "
            + ", ".join(f"{n} {g:.2f}" for n, g in zip(m["factor_names"], m["per_factor"]))
            + ")",
        )
    ]


def _disentanglement(d: dict) -> Rows:
    dci = d["dci"]
    return [
        (
            "SAP, DCI, FactorVAE score",
            f"SAP {d['sap']:.3f}; DCI disentanglement {dci['disentanglement']:.3f}, completeness {dci['completeness']:.3f}, "
            f"informativeness {dci['informativeness']:.3f}; FactorVAE score {d['factor_vae']:.3f} ({d['n']} images)",
        )
    ]


def _factor_sliders(f: dict) -> Rows:
    """One row per factor: of the dims labelled with it, the slider that changes it most."""
    dims = [(int(dim), card) for dim, card in f.items() if dim != "n"]
    rows = []
    for factor in dict.fromkeys(card["factor"] for _, card in dims):
        dim, card = max(((d, c) for d, c in dims if c["factor"] == factor), key=lambda item: item[1]["changes"][factor])
        worst = most_changed_other(card)
        rows.append(
            (
                f"{factor} slider (z{dim}, {card['score']:.2f} of the factor's information), dragged across its range",
                f"changes {factor} on {card['changes'][factor]:.0%} of {f['n']} test faces; the most of another factor: "
                f"{worst} {card['changes'][worst]:.0%}",
            )
        )
    return rows


def _seed_spread(s: dict) -> Rows:
    names = {"mig": "MIG", "sap": "SAP", "dci_disentanglement": "DCI disentanglement", "dci_completeness": "DCI completeness"}
    names |= {"dci_informativeness": "DCI informativeness", "factor_vae": "FactorVAE score"}
    seeds = ", ".join(map(str, s["seeds"]))
    return [
        (
            f"across seeds {seeds}: median (range)",
            "; ".join(f"{label} {s['median'][key]:.3f} ({s['range'][key][0]:.3f}-{s['range'][key][1]:.3f})" for key, label in names.items())
            + f"; this checkpoint is seed {s['shipped_seed']}, the median by MIG",
        )
    ]


def _samples(c: dict) -> Rows:
    low = min(c["fractions"], key=c["fractions"].get)
    rows = [
        (
            "sample classes covered",
            f"{c['classes_covered']} of {len(c['fractions'])} (rarest: {low}, {c['fractions'][low]:.1%} of {c['n']})",
        )
    ]
    if "condition_accuracy" in c:
        rows.append(("samples classified as their condition", f"{c['condition_accuracy']:.1%}"))
    return rows


# the card's sections: the result's entry each one shows, in the order its table lists them
SECTIONS = {
    "accuracy": _accuracy,
    "reconstruction": _reconstruction,
    "noise": _noise,
    "edits": _edits,
    "guided_edits": lambda edits: _edits(edits, "guided "),
    "slider_edits": _slider_edits,
    "details_kept": _details_kept,
    "sample_cells": _sample_cells,
    "inversion": _inversion,
    "prior_fd": _prior_fd,
    "prior_samples": _prior_samples,
    "codebook": _codebook,
    "prior": _prior,
    "gan": _gan,
    "mig": _mig,
    "disentanglement": _disentanglement,
    "factor_sliders": _factor_sliders,
    "seed_spread": _seed_spread,
    "samples": _samples,
}


def headline(result: dict) -> list[tuple[str, str, float]]:
    """(metric type, display name, value) of the main numbers of an evaluate() result: a model card's model-index,
    which the Hub shows as the model's evaluation results."""
    rows = []
    rec = result.get("reconstruction", {})
    if rec:
        rows.append(("psnr", "PSNR (dB)", rec["psnr"]))
    if "elbo" in rec:
        rows.append(("elbo", "ELBO (nats)", rec["elbo"]))
    rows += [("accuracy", f"accuracy: {name}", value) for name, value in result.get("accuracy", {}).items()]
    for key in ("edits", "guided_edits"):
        rows += [
            ("flip_rate", f"{attribute} {'guided ' if key == 'guided_edits' else ''}edit flip rate", card["flip_rate"])
            for attribute, card in result.get(key, {}).items()
        ]
    for source in ("prior_fd", "gan", "prior_samples", "prior"):  # the first that has one
        if "frechet_distance" in result.get(source, {}):
            rows.append(("frechet_distance", "domain Frechet distance of samples", result[source]["frechet_distance"]))
            break
    if "prior" in result:
        rows.append(("bits_per_code", "bits per code", result["prior"]["bits_per_code"]))
    if "perplexity" in result.get("codebook", {}):  # one level of codes (a VQ-VAE-2's levels are in the table above)
        rows.append(("perplexity", "codebook perplexity", result["codebook"]["perplexity"]))
    if "mig" in result:
        rows.append(("mig", "MIG", result["mig"]["mig"]))
    if "seed_spread" in result:
        rows.append(("mig", f"MIG, median of {len(result['seed_spread']['seeds'])} seeds", result["seed_spread"]["median"]["mig"]))
    return [(kind, name, float(value)) for kind, name, value in rows]
