"""Explorer: a loaded model and its latent statistics, with the latent-space operations bound to them.

    >>> from latent import Explorer
    >>> ex = Explorer.load("runs/vae")                  # or a Hub repo id
    >>> z = ex.encode(images)                           # float32 [N, C, S, S] in [0, 1] -> [N, D]
    >>> path = ex.decode(ex.interpolate(z[0], z[1], steps=8))
    >>> smiling = ex.decode(ex.edit(z, "Smiling", strength=1.5))

Thin by design: every method delegates to a plain function of `latent`. Tensors come back on the CPU; images go to
and come from the model's device for the model calls only.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence

import torch

import models
from models import resolve_file

from .attributes import ATTRIBUTE_METHODS, attribute_vector, edit, guided_edit, independent_directions
from .checks import latent_batch, latent_vector
from .interpolate import interpolate
from .invert import Inversion, invert
from .pca import LabelledMixture, fit_mixture, labelled_codes, sample_aggregate
from .sliders import SliderSpec, apply_sliders, attribute_specs, slider_axes, slider_specs
from .stats import STATS_NAME, load_stats

# Where Explorer.sample_latent draws latents from: the single list of sources, each with a line the UI can show
# (Explorer.sample_sources: those a model offers; Explorer.source_description: the line for that model).
SAMPLE_SOURCES = {
    "prior": "the model's own prior: what it was trained to be sampled from",
    "standard_normal": "N(0, I) of the first stage, which its learned prior replaces: decoded, its draws fall between the codes",
    "fitted": "a Gaussian fitted to the training codes",
    "mixture": "a Gaussian mixture over the labelled codes, a component per label combination",
}


class Explorer:
    def __init__(self, model: models.LatentModel, stats: dict[str, torch.Tensor], metadata: dict, prior: models.PixelCNN | None = None):
        self.model = model.eval()
        self.prior: models.PixelCNN | models.PriorStack | None = None  # a VQ-VAE's sampler (set_prior)
        self.level_priors: dict[str, models.PixelCNN] = {}  # the priors set so far, by code level
        self.classifier: models.Classifier | None = None  # the dataset's classifier at the model's size: a GAN inversion's feature loss
        self.stats = stats  # latent.stats tensors, on the CPU
        self.metadata = metadata
        if stats["mean"].shape != tuple(model.latent_shape):
            raise ValueError(f"the stats describe latents of size {stats['mean'].shape[0]}, the model has {model.latent_shape}")
        # named vectors of the mean-difference method, read from the stats: classes, then attributes
        self.vectors: dict[str, torch.Tensor] = {}
        for key, names in (("class_vectors", "label_names"), ("attribute_vectors", "attribute_names")):
            if key in stats:
                self.vectors.update(zip(metadata[names], stats[key]))
        if prior is not None:
            self.set_prior(prior)

    def set_prior(self, prior: models.PixelCNN) -> None:
        """Sample a VQ-VAE through this PixelCNN prior; a VQ-VAE-2 through a prior per code level, once each level has
        one (models.PriorStack). ValueError unless the prior was trained on this model."""
        levels = self.model.code_levels
        if prior.config.level not in levels:
            has = f"its code levels are {', '.join(levels)}" if levels else "it has no codes"
            raise ValueError(f"a PixelCNN prior over {prior.config.level!r} codes cannot sample this {type(self.model).__name__}: {has}")
        prior.attach(self.model)
        self.level_priors[prior.config.level] = prior.eval()
        if set(self.level_priors) == set(levels):
            ordered = [self.level_priors[level] for level in levels]
            self.prior = ordered[0] if len(ordered) == 1 else models.PriorStack(ordered)

    @property
    def conditioner(self):
        """What takes the condition y: a conditional model, or a VQ-VAE's class-conditional prior (None: neither)."""
        return next((m for m in (self.model, self.prior) if m is not None and m.condition_labels), None)

    @property
    def condition_labels(self) -> list[str]:
        """Names of the classes or attributes y stands for; empty for an unconditional model."""
        return self.conditioner.condition_labels if self.conditioner else []

    @property
    def conditioned_on_classes(self) -> bool:
        return self.conditioner is not None and self.conditioner.config.num_classes > 0

    @classmethod
    def load(
        cls, path_or_repo_id: str | os.PathLike, device: str | torch.device = "cpu", prior: models.PixelCNN | None = None, **hub_kwargs
    ) -> Explorer:
        """A checkpoint directory or Hub repo id: the model (models.load) and its stats.safetensors, and for a VQ-VAE
        optionally its PixelCNN prior. hub_kwargs (revision, cache_dir, local_files_only, token) go to both downloads."""
        model = models.load(path_or_repo_id, device, **hub_kwargs)
        try:
            stats_file = resolve_file(path_or_repo_id, STATS_NAME, **hub_kwargs)
        except ValueError:
            raise ValueError(
                f"{path_or_repo_id}: no {STATS_NAME}; the explorer needs the latent statistics (ranges, KL per dimension, "
                "PCA, attribute vectors) that `python -m train` writes beside the weights at the end of a run"
            ) from None
        stats, metadata = load_stats(stats_file)  # ValueError naming the file unless shaped as training writes it
        if stats["mean"].shape != tuple(model.latent_shape):
            raise ValueError(
                f"{stats_file}: describes latents of size {stats['mean'].shape[0]}, the model in {models.WEIGHTS_NAME} has "
                f"{list(model.latent_shape)}; the statistics and the weights come from different runs"
            )
        pictures = (model.config.image_size, model.config.image_size, model.config.channels)
        if "examples" in stats and tuple(stats["examples"].shape[1:]) != pictures:
            raise ValueError(
                f"{stats_file}: its example pictures are {list(stats['examples'].shape[1:])} (height, width, channels), "
                f"the model takes {list(pictures)}; the statistics and the weights come from different runs"
            )
        return cls(model, stats, metadata, prior)

    @property
    def latent_dim(self) -> int:
        return self.stats["mean"].shape[0]

    # --- the model

    @torch.no_grad()
    def encode(self, images: torch.Tensor, y: torch.Tensor | None = None, progress=None) -> torch.Tensor:
        """Posterior means [N, D] of images [N, C, S, S]; for a GAN (no encoder), the latents `invert` finds
        (progress(fraction) follows the optimisation)."""
        if self.is_generator:
            return self.invert(images, y, progress).z
        if not self.model.has_encoder:
            raise ValueError(f"{type(self.model).__name__} has no encoder; it can decode and sample only")
        return self.model.encode(images.to(self.model.device), _to(y, self.model.device)).mean.cpu()

    def invert(self, images: torch.Tensor, y: torch.Tensor | None = None, progress=None, **options) -> Inversion:
        """A GAN's latents for images [N, C, S, S] by optimisation (latent.invert), with the classifier's feature loss
        when self.classifier is set; options go to latent.invert (starts, steps, ...)."""
        if not self.is_generator:
            raise ValueError(f"{type(self.model).__name__} has an encoder: use encode; inversion is for GANs")
        return invert(self.model, images, _to(y, self.model.device), self.classifier, progress=progress, **options)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images [N, C, S, S] in [0, 1] of latents z [N, D]."""
        z = latent_batch(z, self.latent_dim)
        return self.model.decode(z.to(self.model.device), _to(y, self.model.device)).cpu()

    def reconstruct(self, images: torch.Tensor, y: torch.Tensor | None = None, progress=None) -> torch.Tensor:
        """decode(encode(images)): the images through the posterior mean (a GAN: through the inverted latents)."""
        return self.decode(self.encode(images, y, progress), y)

    @property
    def default_source(self) -> str:
        """Where samples come from unless asked: the prior of a model that has one (a VAE, a GAN, an adversarial AE,
        each trained towards its prior; a VQ-VAE with its PixelCNN loaded; any model carrying a second stage), else the Gaussian fitted to the codes (a
        deterministic AE has no prior; a VQ-VAE without its PixelCNN would draw codes uniformly)."""
        matched = self.model.prior in ("kl", "adversarial", "noise") or self.prior is not None or self.model.latent_prior is not None
        return "prior" if matched else "fitted"

    @property
    def is_generator(self) -> bool:
        """A GAN: a generator without an encoder, whose latents for an image are found by inversion."""
        return not self.model.has_encoder

    def sample_latent(
        self,
        n: int,
        seed: int = 0,
        temperature: float = 1.0,
        source: str | None = None,
        y: torch.Tensor | None = None,
        truncation: float = 0.0,
    ) -> torch.Tensor:
        """n latents [n, D], the same for the same seed, drawn from `source` (default: default_source):

        prior   the model's own prior (model.sample_latent): a second-stage VAE over the codes where the checkpoint
                carries one (Dai & Wipf 2019; u ~ N(0, temperature^2 I) through its decoder), else N(0,
                temperature^2 I), the VAE prior; for a VQ-VAE, code grids from its PixelCNN prior (softmax
                temperature; y: the classes of a class-conditional prior), or uniformly random codes without one
        standard_normal  N(0, temperature^2 I), the first stage's prior, where the model's own prior differs (a
                second stage): the lesson of why the second stage is there
        fitted  the Gaussian fitted to the training set's posterior means (pca.sample_aggregate). A VAE whose
                posteriors do not fill the prior (a sharp likelihood, a high KL) has "holes": prior draws decode
                to blends, while draws from the codes' own Gaussian look like the data (Ghosh et al. 2020).
        mixture the Gaussian mixture fitted to the held-out codes, a component per label combination they carry
                (pca.fit_mixture): the groups a single Gaussian blends stay apart. Where mixture_available.
        truncation > 0 (GANs): each noise value drawn from N(0, 1) conditioned on |z| <= truncation (Brock et al. 2019).
        """
        source = source or self.default_source
        if source not in SAMPLE_SOURCES:
            raise ValueError(f"unknown sample source {source!r}; accepted: {', '.join(SAMPLE_SOURCES)}")
        if truncation < 0 or truncation > 0 and not (self.is_generator and source == "prior"):
            raise ValueError(
                f"truncation (the truncation trick of GAN noise) must be >= 0 and needs a GAN sampled from its prior, got {truncation}"
            )
        generator = torch.Generator().manual_seed(seed)  # a CPU generator: same latents whatever the device
        if truncation > 0:
            return self.model.sample_latent(n, generator=generator, temperature=temperature, truncation=truncation).cpu()
        if source == "prior" and self.prior is not None:
            return self.model.embed(self.prior.sample(n, y, temperature, generator)).cpu()
        if source == "prior":
            return self.model.sample_latent(n, generator=generator, temperature=temperature).cpu()
        if source == "standard_normal":
            if source not in self.sample_sources:
                raise ValueError(
                    "standard_normal is offered where a model's own prior differs from N(0, I) (a second-stage prior); "
                    f"this model's prior is {self.model.prior_description}: use prior"
                )
            return self.model.standard_normal(n, generator=generator, temperature=temperature).cpu()
        if source == "mixture":
            if not self.mixture_available:
                raise ValueError("the mixture source needs an unconditional model whose stats hold labelled held-out codes")
            return self.mixture.sample(n, generator, temperature)
        return sample_aggregate(self.stats, n, generator=generator, temperature=temperature)

    @property
    def sample_sources(self) -> list[str]:
        """The sources of SAMPLE_SOURCES this model offers, default_source first: "standard_normal" only where the
        model's own prior is a learned second stage (elsewhere "prior" is that very N(0, I), or N(0, I) means nothing:
        a GAN's noise is its prior, a VQ-VAE's latent is codes), "mixture" where mixture_available."""
        offered = ["prior", "fitted"]
        if self.model.latent_prior is not None:
            offered.insert(1, "standard_normal")
        if self.mixture_available:
            offered.append("mixture")
        return sorted(offered, key=lambda source: source != self.default_source)

    def source_description(self, source: str) -> str:
        """One line saying what `source` draws for this model: "prior" names the model's own prior."""
        if source not in SAMPLE_SOURCES:
            raise ValueError(f"unknown sample source {source!r}; accepted: {', '.join(SAMPLE_SOURCES)}")
        if source == "prior":
            if self.prior is not None:
                return f"the model's own prior: a {self.prior.kind} over its codes"
            if self.model.code_levels:
                return "code grids drawn uniformly at random (its PixelCNN prior is not loaded)"
            if self.model.prior == "none" and self.model.latent_prior is None:
                return "N(0, I), which nothing trained this autoencoder's codes towards"
            return f"the model's own prior: {self.model.prior_description}"
        return SAMPLE_SOURCES[source]

    @functools.cached_property
    def mixture(self) -> LabelledMixture:
        """The mixture over the stats' labelled codes, fitted on first use (tens of ms for a 64-d latent) and kept."""
        return fit_mixture(self.stats)

    @property
    def mixture_available(self) -> bool:
        """Whether sample_latent can draw from the mixture over labelled codes: the model encodes images (a GAN's
        stats describe its own prior draws), its latent is continuous (a VQ-VAE samples code grids through its
        PixelCNN; its flattened grid is thousands of numbers wide), it is unconditional (a conditional model's codes
        leave the label to y), and the stats hold held-out codes with labels or attributes."""
        usable = self.model.has_encoder and not self.model.code_levels and not self.condition_labels
        return usable and labelled_codes(self.stats) is not None

    def sample(
        self,
        n: int,
        seed: int = 0,
        temperature: float = 1.0,
        y: torch.Tensor | None = None,
        source: str | None = None,
        truncation: float = 0.0,
    ) -> torch.Tensor:
        """n images [n, C, S, S] decoded from sample_latent(n, seed, temperature, source, y, truncation)."""
        return self.decode(self.sample_latent(n, seed, temperature, source, y, truncation), y)

    @torch.no_grad()
    def sample_confident(
        self,
        n: int,
        classifier: models.Classifier,
        threshold: float,
        seed: int = 0,
        temperature: float = 1.0,
        y: torch.Tensor | None = None,
        source: str | None = None,
        truncation: float = 0.0,
        max_rounds: int = 10,
    ) -> tuple[torch.Tensor, float, int]:
        """n samples from `source` (as `sample`, truncation too; y: one condition per sample), each kept only if `classifier` is at
        least `threshold` sure of it (models.Classifier.confidence: the probability of its class y where the classifier
        has classes and y holds class ids, else of its top class or its least sure attribute): rejection sampling with
        a classifier, as VQ-VAE-2 does (Razavi et al. 2019, sec. 3.3), for any sampler. Rejected slots are drawn again,
        up to max_rounds times; a slot never accepted keeps its last draw.
        Returns (images [n, C, S, S], acceptance rate over every draw, slots never accepted)."""
        if not 0 <= threshold < 1:
            raise ValueError(f"the rejection threshold is a classifier's confidence in [0, 1), got {threshold}")
        by_class = classifier.config.num_classes > 0 and y is not None and y.ndim == 1
        images = torch.zeros(n, self.model.config.channels, self.model.config.image_size, self.model.config.image_size)
        pending, drawn, accepted = torch.arange(n), 0, 0
        for round_ in range(max_rounds):
            wanted = None if y is None else y[pending]
            batch = self.sample(len(pending), seed + round_, temperature, wanted, source, truncation)
            sure = classifier.confidence(batch, wanted if by_class else None) >= threshold
            keep = sure | (round_ == max_rounds - 1)
            images[pending[keep]] = batch[keep]
            drawn, accepted = drawn + len(pending), accepted + int(sure.sum())
            pending = pending[~keep]
            if not len(pending):
                break
        return images, accepted / drawn, n - accepted

    # --- latent-space operations

    def interpolate(self, z0: torch.Tensor, z1: torch.Tensor, steps: int = 8, method: str = "slerp") -> torch.Tensor:
        """[steps, D] from z0 to z1 (each [D] or [1, D]); method "slerp" or "lerp"."""
        return interpolate(latent_vector(z0, self.latent_dim, "z0"), latent_vector(z1, self.latent_dim, "z1"), steps, method)

    @property
    def attribute_names(self) -> list[str]:
        """The attributes the stats hold mean-difference vectors of (their order), [] for none."""
        return list(self.metadata.get("attribute_names") or []) if "attribute_vectors" in self.stats else []

    def attribute_directions(self, held: Sequence[str] = ()) -> torch.Tensor:
        """[A, D]: independent_directions of the stats' attribute vectors (attribute_names' order), the `held` ones
        always projected out (and their own directions zero)."""
        unknown = [name for name in held if name not in self.attribute_names]
        if unknown:
            raise ValueError(
                f"unknown attribute(s) to hold: {', '.join(map(repr, unknown))}; known: {', '.join(self.attribute_names) or 'none'}"
            )
        return self._directions(tuple(sorted({self.attribute_names.index(name) for name in held})))

    @functools.lru_cache(maxsize=64)  # noqa: B019 -- an explorer lives as long as the app; a hold set is a few KB
    def _directions(self, held: tuple[int, ...]) -> torch.Tensor:
        return independent_directions(self.stats["attribute_vectors"], held)

    def sliders(self, z: torch.Tensor, mode: str = "kl", limit: int | None = None, held: Sequence[str] = ()) -> list[SliderSpec]:
        """Slider specs for latent z (see latent.slider_specs; mode "attributes": latent.attribute_specs, one per
        attribute, `held` ones inactive). An InfoGAN's codes have their own controls (a selector for the one-hot
        categorical code, sliders for the continuous ones): its per-dimension sliders cover the noise."""
        if mode == "attributes":
            latent_vector(z, self.latent_dim)
            specs = attribute_specs(self.attribute_names, self.attribute_directions(held), set(held)) if self.attribute_names else []
        else:
            specs = slider_specs(z, self.stats, mode)
        if mode == "kl" and self.model.has_structured_codes:
            specs = [s for s in specs if s.index < self.model.config.latent_dim]
        return specs if limit is None else specs[:limit]

    def apply_sliders(self, z: torch.Tensor, values: Mapping[int, float], mode: str = "kl", held: Sequence[str] = ()) -> torch.Tensor:
        """Latent [D]: z with slider values {SliderSpec.index: value} applied (see latent.apply_sliders; mode
        "attributes": z plus each value times its attribute's direction)."""
        if mode != "attributes":
            return apply_sliders(z, values, self.stats, mode)
        at, directions = self.slider_axes(z, list(values), mode, held)
        return latent_vector(z, self.latent_dim) + (torch.tensor([float(values[i]) for i in values], dtype=at.dtype) - at) @ directions

    def slider_axes(
        self, z: torch.Tensor, indices: list[int], mode: str = "kl", held: Sequence[str] = ()
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(at [S], directions [S, D]): apply_sliders(z, {i: v}) == z + (v - at) @ directions (see latent.slider_axes;
        mode "attributes": at 0, the attributes' independent directions)."""
        if mode != "attributes":
            return slider_axes(z, indices, self.stats, mode)
        latent_vector(z, self.latent_dim)
        count = len(self.attribute_names)
        bad = [i for i in indices if not (isinstance(i, int) and 0 <= i < count)]
        if bad:
            raise ValueError(f"attribute slider indices {bad} out of range; this model has 0..{count - 1}")
        return torch.zeros(len(indices)), self.attribute_directions(held)[indices]

    def attribute_vector(
        self,
        name: str,
        method: str = "mean_difference",
        *,
        latents: torch.Tensor | None = None,
        attributes=None,
        names: Sequence[str] | None = None,
        given: Sequence[str] = (),
    ) -> torch.Tensor:
        """The vector [D] adding attribute or class `name`.

        Without latents: the mean-difference vector stored in the stats (no dataset needed; names in self.vectors).
        With latents [N, D], attributes [N, A] and their names: any method of latent.attribute_vector.
        """
        if latents is not None:
            if attributes is None or names is None:
                raise ValueError("attribute_vector with latents also needs their attributes [N, A] and names")
            return attribute_vector(latent_batch(latents, self.latent_dim, "latents"), attributes, names, name, method, given)
        if method not in ATTRIBUTE_METHODS:
            raise ValueError(f"unknown attribute method {method!r}; accepted: {', '.join(ATTRIBUTE_METHODS)}")
        if method != "mean_difference":
            raise ValueError(
                f"method {method!r} needs encoded latents with their attributes (latents=, attributes=, names=); "
                "the stats hold mean-difference vectors only"
            )
        if name not in self.vectors:
            known = ", ".join(self.vectors) or "none (the training data had no labels or attributes)"
            raise ValueError(f"unknown attribute or class {name!r}; known: {known}")
        return self.vectors[name]

    @property
    def guided_attributes(self) -> list[str]:
        """The attributes guided_edit can add: those of the loaded attribute classifier. None without one, nor for a
        VQ-VAE, whose decoder snaps every grid cell to a code (no gradient with respect to the latent to follow)."""
        steerable = self.classifier is not None and self.classifier.config.num_attributes and self.model.gradient_editable
        return list(self.classifier.names) if steerable else []

    def guided_edit(
        self, z: torch.Tensor, attribute: str, strength: float = 1.0, hold: Sequence[str] | None = None, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Latents z [N, D] (or [D]) edited towards `attribute` by self.classifier's gradients, the `hold` attributes
        (default: every other) held fixed (latent.guided_edit). ValueError where guided_attributes is empty."""
        if not self.guided_attributes:
            raise ValueError(
                "a classifier-guided edit follows gradients through the decoder, and a VQ-VAE snaps every grid cell to its nearest "
                "code: steps along straight-through gradients scramble the codes into noise. Use an attribute vector instead"
                if not self.model.gradient_editable
                else "a classifier-guided edit needs the dataset's attribute classifier at the model's image size; none is loaded"
            )
        one = z.ndim == 1
        z = latent_batch(z[None] if one else z, self.latent_dim)
        edited = guided_edit(self.model, self.classifier, z, attribute, strength, hold, _to(y, self.model.device))
        return edited[0] if one else edited

    def edit(self, z: torch.Tensor, vector: str | torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        """z + strength * vector for latents z [N, D] or [D]; vector a name of self.vectors or a tensor [D]."""
        v = self.attribute_vector(vector) if isinstance(vector, str) else latent_vector(vector, self.latent_dim, "vector")
        return edit(z, v, strength)


def _to(y: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if y is None else y.to(device)
