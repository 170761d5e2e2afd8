"""Attribute vectors: directions in latent space that add or remove an attribute, how well they separate it,
and edits along them.

Every vector comes from encoded latents Z [N, D] and binary labels [N], and every method returns it on the same
scale (see `scale_to_mean_difference`): adding it once (strength 1) moves a latent's projection on the direction by
the average gap between the positive and the negative group along that direction. For the mean difference that is
the vector itself, so stats' attribute_vectors / class_vectors (latent.stats) are already on this scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.svm import LinearSVC

from .checks import binary_labels, latent_batch
from .stats import mean_difference

ATTRIBUTE_METHODS = ("mean_difference", "balanced", "svm", "conditional")
DEFAULT_STRENGTH = 1.0  # the explorer's starting strength, and the one metrics.edit_scorecard measures


def stratified_difference(z: torch.Tensor, labels, strata) -> torch.Tensor:
    """Balanced ("bias-corrected") attribute vector [D] from latents z [N, D], labels [N] and the other attributes
    to balance, strata [N, K] (binary).

    Why: when another attribute goes with the target (in CelebA, smiling faces are more often female) the plain
    mean(z | A) - mean(z | not A) also carries that attribute's direction. Within a stratum -- the images sharing
    one combination of values of the K other attributes -- those attributes are constant, so the mean difference
    of the target there holds them fixed. The per-stratum differences are averaged with weights
    n1 * n0 / (n1 + n0), the inverse of their variance under equal within-group variance (the Mantel-Haenszel
    weighting); strata lacking either group say nothing about the target and are skipped.
    Exact stratification was chosen over reweighting the images (inverse propensity weights): with a few binary
    attributes it needs no propensity model and removes their confounding exactly. K attributes make up to 2^K
    strata, so balance on the few that matter.
    """
    z = latent_batch(z)
    y = binary_labels(labels, len(z))
    s = torch.as_tensor(strata)
    if s.ndim != 2 or len(s) != len(z):
        raise ValueError(f"strata must be [N, K] = [{len(z)}, K]: the values of the attributes to balance, got {tuple(s.shape)}")
    _, stratum = torch.unique(s.long(), dim=0, return_inverse=True)  # [N] id of each latent's stratum
    total, weight = torch.zeros(z.shape[1], dtype=torch.float64), 0.0
    for k in stratum.unique().tolist():
        inside = stratum == k
        n1, n0 = int((inside & y).sum()), int((inside & ~y).sum())
        if n1 and n0:
            w = n1 * n0 / (n1 + n0)
            total += w * mean_difference(z[inside].double(), y[inside])
            weight += w
    if weight == 0:
        raise ValueError(
            "no stratum of the balanced attributes holds both positives and negatives of the target: "
            "the target is confounded with them completely; balance on fewer attributes"
        )
    return (total / weight).to(z.dtype)


def svm_normal(z: torch.Tensor, labels, C: float = 1.0, standardize: bool = True, seed: int = 0) -> torch.Tensor:
    """Unit normal [D] of a linear SVM separating labels [N] in latent space, pointing towards the positive class
    (InterFaceGAN, Shen et al. 2020: the hyperplane's normal is the editing direction).

    standardize=True fits the SVM on latents scaled to unit variance per dimension (so C does not depend on a
    deterministic autoencoder's arbitrary code scale); the decision function w . (z - mu) / sigma + b then has
    normal w / sigma in latent space, which is what is returned.
    """
    z = latent_batch(z)
    y = binary_labels(labels, len(z)).numpy()
    x = z.detach().double().cpu().numpy()
    sigma = x.std(0) if standardize else np.ones(x.shape[1])
    sigma[sigma == 0] = 1.0  # a constant dimension: nothing to scale
    x = (x - x.mean(0)) / sigma
    svm = LinearSVC(C=C, random_state=seed, max_iter=10_000).fit(x, y)
    w = svm.coef_[0] / sigma  # classes_ = [False, True]: w points towards True
    return torch.from_numpy(w / np.linalg.norm(w)).to(z.dtype)


def project_out(v: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """v [D] minus its projection on the span of the rows of others [K, D] (conditional manipulation,
    InterFaceGAN, Shen et al. 2020: n1 - (n1 . n2) n2 for one unit n2; for several, the least-squares residual,
    which is Gram-Schmidt against the others without assuming they are orthonormal or independent).
    Batched too: v [N, D] with others [N, K, D], each row against its own K."""
    a = others.transpose(-1, -2).double()  # [..., D, K]
    vd = v.double()[..., None]  # [..., D, 1]
    return (vd - a @ (torch.linalg.pinv(a) @ vd))[..., 0].to(v.dtype)


SEPARABLE = 0.5  # independent_directions projects another attribute out only if the direction keeps this share of its length


def independent_directions(vectors: torch.Tensor, held: Sequence[int] = ()) -> torch.Tensor:
    """[A, D]: a direction per attribute vector of vectors [A, D] that leaves the other attributes alone, for sliders
    that do not drag each other (InterFaceGAN's conditional manipulation, Shen et al. 2020, for every slider at once).

    Each vector gets the other vectors projected out (project_out) -- the held ones (indices into vectors) always, the
    others one at a time, most correlated first, as long as the direction keeps SEPARABLE of its length: attributes
    that exclude each other (one hair colour or another) cannot be separated, since making a face blond takes its
    black hair away. Each direction is then rescaled so that its component along its own vector equals the vector
    (strength 1 moves the attribute as far as the vector does). A held attribute's own direction, and a direction that
    the held ones leave nothing of, are zero."""
    vectors = latent_batch(vectors)
    held = sorted(set(held))
    directions = torch.zeros_like(vectors)
    for i, v in enumerate(vectors):
        if i in held or not v.norm() > 0:
            continue
        removed = [j for j in held if j != i]
        others = sorted(set(range(len(vectors))) - {i, *removed}, key=lambda j: -abs(float(_cosine(v, vectors[j]))))
        for j in others:
            if project_out(v, vectors[[*removed, j]]).norm() >= SEPARABLE * v.norm():
                removed.append(j)
        d = project_out(v, vectors[removed]) if removed else v
        along = d @ v  # = |d|^2: d is v minus its projection on a subspace
        if along > 1e-6 * (v @ v):
            directions[i] = d * (v @ v) / along
    return directions


def _cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b) / (a.norm() * b.norm()).clamp_min(1e-12)


def scale_to_mean_difference(direction: torch.Tensor, z: torch.Tensor, labels) -> torch.Tensor:
    """direction [D] rescaled to |m . u| u, with u = direction / |direction| and m = mean(z | positive) -
    mean(z | negative): strength 1 moves a latent along u by the gap between the groups' average projections on u.
    The mean difference itself is unchanged by this (m . m/|m| m/|m| = m)."""
    z = latent_batch(z, len(direction))
    y = binary_labels(labels, len(z))
    norm = direction.norm()
    if norm == 0:
        raise ValueError("the attribute direction is zero (the target lies in the span of the attributes conditioned on)")
    u = direction / norm
    return (mean_difference(z, y) @ u).abs() * u


def attribute_vector(
    z: torch.Tensor,
    attributes,
    names: Sequence[str],
    name: str,
    method: str = "mean_difference",
    given: Sequence[str] = (),
    C: float = 1.0,
    seed: int = 0,
) -> torch.Tensor:
    """The vector [D] that adds attribute `name`, from latents z [N, D] and binary attributes [N, A] named `names`
    (for class labels pass one-hot columns named by class), on the scale of `scale_to_mean_difference`.

    method
      "mean_difference"  mean(z | name) - mean(z | not name) (White 2016, "Sampling Generative Networks")
      "balanced"         mean difference within strata of the `given` attributes (stratified_difference)
      "svm"              normal of a linear SVM (svm_normal; InterFaceGAN, Shen et al. 2020)
      "conditional"      the SVM normal with the `given` attributes' SVM normals projected out (project_out;
                         InterFaceGAN's conditional manipulation)
    `given` names the other attributes to balance or condition on; only "balanced" and "conditional" take them.
    """
    if method not in ATTRIBUTE_METHODS:
        raise ValueError(f"unknown attribute method {method!r}; accepted: {', '.join(ATTRIBUTE_METHODS)}")
    z = latent_batch(z)
    a = torch.as_tensor(attributes)
    names = list(names)
    if a.ndim != 2 or a.shape != (len(z), len(names)):
        shape = f"[N, A] = [{len(z)}, {len(names)}]"
        raise ValueError(f"attributes must be {shape} (a row per latent, a column per name), got {tuple(a.shape)}")
    unknown = [n for n in [name, *given] if n not in names]
    if unknown:
        raise ValueError(f"unknown attribute(s) {', '.join(map(repr, unknown))}; known: {', '.join(names)}")
    if name in given:
        raise ValueError(f"attribute {name!r} cannot be balanced or conditioned on itself")
    if given and method in ("mean_difference", "svm"):
        raise ValueError(f"method {method!r} takes no `given` attributes; use 'balanced' or 'conditional'")
    if not given and method in ("balanced", "conditional"):
        raise ValueError(f"method {method!r} needs `given`: the other attributes to balance or condition on")
    y = binary_labels(a[:, names.index(name)], len(z), name=f"attribute {name!r}")
    others = a[:, [names.index(g) for g in given]]  # [N, K]
    if method == "mean_difference":
        direction = mean_difference(z, y)
    elif method == "balanced":
        direction = stratified_difference(z, y, others)
    elif method == "svm":
        direction = svm_normal(z, y, C=C, seed=seed)
    else:
        labels_given = [binary_labels(others[:, k], len(z), name=f"held-fixed attribute {g!r}") for k, g in enumerate(given)]
        normals = torch.stack([svm_normal(z, y_k, C=C, seed=seed) for y_k in labels_given])  # [K, D]
        direction = project_out(svm_normal(z, y, C=C, seed=seed), normals)
    return scale_to_mean_difference(direction, z, y)


def roc_auc(vector: torch.Tensor, z: torch.Tensor, labels) -> float:
    """ROC-AUC of the projections z @ vector of held-out latents z [N, D] against their labels [N]: 1 when the
    direction ranks every positive above every negative, 0.5 for a direction unrelated to the attribute."""
    z = latent_batch(z, len(vector))
    y = binary_labels(labels, len(z))
    return float(roc_auc_score(y.numpy(), (z.double() @ vector.double()).detach().cpu().numpy()))


def edit(z: torch.Tensor, vector: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
    """z + strength * vector for latents z [N, D] or [D] and a vector [D] (White 2016)."""
    if not torch.is_tensor(z) or z.ndim not in (1, 2) or vector.shape != (z.shape[-1],):
        got = tuple(z.shape) if torch.is_tensor(z) else type(z).__name__
        raise ValueError(f"edit needs latents [N, D] or [D] and a vector [D] of the same D, got {got} and {tuple(vector.shape)}")
    return z + strength * vector.to(z)


def custom_vector(z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
    """mean(z_a) - mean(z_b) [D] of two sets of latents [Na, D] and [Nb, D]: the vector from group B to group A
    (e.g. images a user picked as "with" and "without" a feature)."""
    z_a = latent_batch(z_a, name="z_a")
    z_b = latent_batch(z_b, z_a.shape[1], name="z_b")
    return z_a.mean(0) - z_b.mean(0)


GUIDED_STEPS = 8  # steps of a guided edit
GUIDED_STEP = 0.5  # length in latent units of each step at strength 1


def guided_edit(
    model,
    classifier,
    z: torch.Tensor,
    attribute: str,
    strength: float = 1.0,
    hold: Sequence[str] | None = None,
    y: torch.Tensor | None = None,
    steps: int = GUIDED_STEPS,
    step_length: float = GUIDED_STEP,
) -> torch.Tensor:
    """Latents z [N, D] moved so the classifier's logit of `attribute` rises (strength > 0) or falls (< 0) while the
    logits of the `hold` attributes (default: all the classifier's others) stay put, in `steps` steps of length
    |strength| * step_length.

    Each step follows the gradient of the attribute's logit with respect to z, with the gradients of the held
    attributes' logits projected out (project_out): InterFaceGAN's conditional manipulation (Shen et al. 2020,
    sec. 2.2) applied to the local linearisation at each latent instead of one hyperplane for the whole space, as
    GANalyze (Goetschalckx et al. 2019) steers a latent with an assessor's gradient. Where an attribute is not
    linearly separable in the latent space (a small GAN's z), one global direction cannot add it everywhere; the
    local direction can. The classifier's verdict on the result is no independent check: score such edits with
    another classifier (metrics.edits)."""
    names = list(classifier.names)
    hold = [n for n in names if n != attribute] if hold is None else list(hold)
    unknown = [n for n in [attribute, *hold] if n not in names]
    if unknown:
        raise ValueError(f"the classifier does not predict {', '.join(map(repr, unknown))}; it predicts: {', '.join(names)}")
    if attribute in hold:
        raise ValueError(f"attribute {attribute!r} cannot be held fixed while it is edited")
    z = latent_batch(z).detach().to(model.device)
    columns = [names.index(attribute)] + [names.index(n) for n in hold]
    with torch.enable_grad():
        for _ in range(steps):
            z.requires_grad_(True)
            logits = classifier.logits(model.decode(z, y))
            grads = [torch.autograd.grad(logits[:, j].sum(), z, retain_graph=True)[0] for j in columns]  # rows are independent
            z = z.detach()
            direction = project_out(grads[0], torch.stack(grads[1:], 1)) if hold else grads[0]  # others: [N, K, D]
            z = z + strength * step_length * direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return z.cpu()


VECTOR_KEY = "vector"  # the tensor's name in a vector file


def save_vector(path, vector: torch.Tensor, **metadata: str) -> None:
    """An attribute vector [D] as a safetensors file (float32 tensor "vector"; metadata: strings, e.g. the model, the
    attribute and the method it came from), so it can leave the explorer and come back (load_vector)."""
    from safetensors.torch import save_file

    save_file({VECTOR_KEY: vector.detach().float().cpu().contiguous()}, str(path), metadata={k: str(v) for k, v in metadata.items()})


def load_vector(path, latent_dim: int) -> tuple[torch.Tensor, dict[str, str]]:
    """(vector [latent_dim], metadata) from a file save_vector wrote; ValueError naming what is wrong: not
    safetensors, no "vector", another latent size, a value that is not finite."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            if VECTOR_KEY not in f.keys():
                raise ValueError(f"it holds no {VECTOR_KEY!r} tensor (it holds {', '.join(f.keys()) or 'nothing'})")
            vector = f.get_tensor(VECTOR_KEY)
    except ValueError as err:
        raise ValueError(f"not an attribute vector file: {err}") from None
    except Exception as err:  # safetensors' own error for a damaged header, OSError for the rest
        raise ValueError(f"not an attribute vector file (a .safetensors file the explorer saved): {type(err).__name__}") from None
    if vector.ndim != 1 or vector.shape[0] != latent_dim or not vector.is_floating_point():
        raise ValueError(f"the vector has shape {list(vector.shape)} ({vector.dtype}); this model's latent takes [{latent_dim}] floats")
    if not torch.isfinite(vector).all():
        raise ValueError("the vector holds a value that is not a finite number")
    return vector.float(), metadata
