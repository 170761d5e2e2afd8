"""One preset per shipped checkpoint: `python -m train --preset NAME` reproduces it
(same seed, same result). A preset is the model, the dataset and any flag's value;
flags given on the command line override it.

Sizes are chosen for the budget every preset keeps: at most 20 minutes on a 2-core CPU
(60 for a face model) and a few MB of weights. Conv widths start at 16 channels: at 64x64 the full-resolution
layers dominate the cost, and 16 instead of 32 channels trains 3.5x faster (bench/)."""

# Shipped weights are stored as float16 (half the bytes; the models compute in float32). Not a VQ-VAE's: its PixelCNN
# prior is bound to the exact float32 weights it was trained on (their SHA-256 is in the prior's config).
_HALF = {"save_dtype": "float16"}
# Face models train on faces version 2 (framed like CelebA's crops, data/faces.py), in bfloat16 autocast: 1.4x the steps
# per minute on this CPU (AVX-512 BF16; bench/train_presets.py)
_FACES = {"data": "faces", "data_options": {"version": 2}, "precision": "bfloat16", "base_width": 16, "max_width": 128, "batch_size": 64, "lr": 2e-3, "lr_schedule": "cosine", **_HALF}
_FASHION = {"data": "fashion-mnist", "base_width": 32, "max_width": 128, "batch_size": 64, "lr": 2e-3, "lr_schedule": "cosine", **_HALF}

# GANs train at the papers' learning rates (the model's default) and are kept by the monitor's Frechet distance

_GAN = {"batch_size": 64, "monitor_every": 1000, "sample_every": 2000, **_HALF}
_GAN_FACES = {"data": "faces", "data_options": {"size": 32, "version": 2}, "precision": "bfloat16", "base_width": 32, "max_width": 256, **_GAN}  # 32x32: see the README
_GAN_FASHION = {"data": "fashion-mnist", "base_width": 32, "max_width": 128, **_GAN}

PRESETS: dict[str, dict] = {
    "faces-vae": {
        "description": "VAE, latent 64, on 64x64 faces version 2 (the explorer's default model)",
        # likelihood std 0.05 (0.1 before): 4x the weight on each pixel's error against the KL, so the small details an
        # attribute lives in (glasses frames, mustaches, mouth corners) are worth their nats (README: faces-vae)
        "model": "vae", **_FACES, "latent_dim": 64, "likelihood": "gaussian", "likelihood_std": 0.05, "epochs": 12,
        "out": "checkpoints/faces-vae",
    },
    "faces-beta-vae": {
        "description": "VAE with capacity annealing (Burgess et al. 2018), latent 16, on faces: disentangled sliders",
        "model": "vae", **_FACES, "latent_dim": 16, "likelihood": "gaussian", "likelihood_std": 0.1,
        "gamma": 1000.0, "capacity_max": 25.0, "capacity_steps": 1000, "epochs": 2,
        "out": "checkpoints/faces-beta-vae",
    },
    "faces-ae": {
        "description": "plain autoencoder, latent 64, on faces: sharp reconstructions, no prior to sample from",
        "model": "ae", **_FACES, "latent_dim": 64, "recon_loss": "mse", "epochs": 2,
        "out": "checkpoints/faces-ae",
    },
    "faces-dae": {
        "description": "denoising autoencoder (Vincent et al. 2008), latent 64, on faces",
        "model": "dae", **_FACES, "latent_dim": 64, "epochs": 2,
        "out": "checkpoints/faces-dae",
    },
    "faces-cvae": {
        "description": "conditional VAE on 5 face attributes (Smiling, Eyeglasses, Wearing_Hat, Blond_Hair, Mustache)",
        # a wider likelihood (a stronger pull of the KL) keeps z from copying what y already says, so the decoder uses y
        "model": "cvae", **_FACES, "latent_dim": 32, "likelihood": "gaussian", "likelihood_std": 0.2, "epochs": 6,
        "condition": "Smiling,Eyeglasses,Wearing_Hat,Blond_Hair,Mustache",
        "out": "checkpoints/faces-cvae",
    },
    "faces-aae": {
        "description": "adversarial autoencoder (Makhzani et al. 2016), latent 64, Gaussian prior, on faces: an AE you can sample",
        # the discriminator and the encoder's adversarial phase at 2e-4 (0.1x): at 2e-3 the reconstructions fell apart
        "model": "aae", **_FACES, "latent_dim": 64, "recon_loss": "mse", "prior": "gaussian", "regularisation_lr_scale": 0.1, "epochs": 2,
        "out": "checkpoints/faces-aae",
    },
    "dsprites-beta-vae": {
        "description": "VAE with capacity annealing (Burgess et al. 2018), latent 10, on dSprites: disentanglement measured by MIG",
        "model": "vae", "data": "dsprites", "base_width": 16, "max_width": 128, "latent_dim": 10,
        "likelihood": "bernoulli", "gamma": 1000.0, "capacity_max": 25.0, "capacity_steps": 3000,
        "batch_size": 64, "lr": 1e-3, "lr_schedule": "cosine", "epochs": 1, "max_steps": 4000, "val_fraction": 0.01, "sample_every": 0, **_HALF,
        "out": "checkpoints/dsprites-beta-vae",
    },
    "fashion-vae-2d": {
        "description": "VAE, latent 2, on Fashion-MNIST: the whole latent space as one manifold grid",
        "model": "vae", **_FASHION, "latent_dim": 2, "likelihood": "bernoulli", "epochs": 6,
        "out": "checkpoints/fashion-vae-2d",
    },
    "fashion-aae-2d": {
        "description": "adversarial autoencoder, latent 2, on Fashion-MNIST: a 10-component mixture prior supervised by the classes",
        "model": "aae", **_FASHION, "latent_dim": 2, "prior": "mixture", "components": 10, "condition": "labels", "epochs": 6,
        "out": "checkpoints/fashion-aae-2d",
    },
    "fashion-cvae": {
        "description": "class-conditional VAE, latent 16, on Fashion-MNIST",
        "model": "cvae", **_FASHION, "latent_dim": 16, "likelihood": "bernoulli", "epochs": 3, "condition": "labels",
        "out": "checkpoints/fashion-cvae",
    },
    "faces-vqvae": {
        "description": "VQ-VAE (van den Oord et al. 2017), 16x16 grid of 512 codes, EMA codebook, on faces",
        "model": "vqvae", **_FACES, "base_width": 32, "latent_dim": 8, "num_codes": 512, "downsamples": 2, "epochs": 6, "save_dtype": "float32",
        "out": "checkpoints/faces-vqvae",
    },
    "fashion-vqvae": {
        "description": "VQ-VAE, 7x7 grid of 128 codes, EMA codebook, on Fashion-MNIST",
        "model": "vqvae", **_FASHION, "latent_dim": 8, "num_codes": 128, "downsamples": 2, "lr": 1e-3, "epochs": 4, "save_dtype": "float32",
        "out": "checkpoints/fashion-vqvae",
    },
    "faces-vqvae-prior": {
        "description": "gated PixelCNN prior (van den Oord et al. 2016) over faces-vqvae's 16x16 grid of codes: how faces-vqvae samples",
        "model": "pixelcnn", "data": "faces", "data_options": {"version": 2}, "vqvae": "checkpoints/faces-vqvae", "width": 48, "layers": 8,
        "batch_size": 64, "lr": 2e-3, "lr_schedule": "cosine", "epochs": 3,
        "out": "checkpoints/faces-vqvae-prior",
    },
    "fashion-vqvae-prior": {
        "description": "class-conditional gated PixelCNN prior over fashion-vqvae's 7x7 codes",
        "model": "pixelcnn", "data": "fashion-mnist", "vqvae": "checkpoints/fashion-vqvae", "condition": "labels", "width": 64, "layers": 6,
        "batch_size": 64, "lr": 1e-3, "lr_schedule": "cosine", "epochs": 5,
        "out": "checkpoints/fashion-vqvae-prior",
    },
    "faces-dcgan": {
        "description": "DCGAN (Radford et al. 2016) on 32x32 faces, noise 100",
        "model": "dcgan", **_GAN_FACES, "epochs": 10,
        "out": "checkpoints/faces-dcgan",
    },
    "faces-wgan-gp": {
        "description": "WGAN-GP (Gulrajani et al. 2017) on 32x32 faces: gradient penalty 10, 5 critic steps per generator step",
        "model": "wgan-gp", **_GAN_FACES, "epochs": 24,
        "out": "checkpoints/faces-wgan-gp",
    },
    "fashion-cgan": {
        "description": "class-conditional GAN on Fashion-MNIST (generator: concatenation; discriminator: projection)",
        "model": "cgan", **_GAN_FASHION, "condition": "labels", "epochs": 8,
        "out": "checkpoints/fashion-cgan",
    },
    "fashion-infogan": {
        "description": "InfoGAN (Chen et al. 2016) on Fashion-MNIST: a 10-way categorical code, 2 continuous codes, 4 noise dimensions",
        # lambda 2 for the categorical code (the paper's 1 matched the classes at 59.1%; see the README's GAN notes)
        "model": "infogan", **_GAN_FASHION, "latent_dim": 4, "info_weight_categorical": 2.0, "epochs": 20, "monitor_every": 500,
        "out": "checkpoints/fashion-infogan",
    },
    "faces-classifier": {
        "description": "attribute classifier for faces (all 16 attributes): measures reconstructions and samples, guides edits",
        "model": "classifier", **_FACES, "latent_dim": 128, "condition": "attributes", "epochs": 3,
        "out": "checkpoints/classifiers/faces-v2",
    },
    "faces-judge": {
        "description": "a second faces classifier (another seed, narrower, trained on blurred and noised copies too): judges edits, robust to a decoder's blur and apart from the classifier that guides edits",
        "model": "classifier", **_FACES, "base_width": 24, "latent_dim": 128, "condition": "attributes", "augment": 0.5, "epochs": 3, "seed": 1,
        "out": "checkpoints/classifiers/faces-v2-judge",
    },
    "faces-classifier-32": {
        "description": "the faces attribute classifier at 32x32: measures the 32x32 face GANs (their monitor and cards)",
        "model": "classifier", **_FACES, "data_options": {"size": 32, "version": 2}, "latent_dim": 128, "condition": "attributes", "epochs": 10,
        "out": "checkpoints/classifiers/faces-v2-32",
    },
    "faces-judge-32": {
        "description": "a second 32x32 faces classifier (another seed, narrower, trained on blurred and noised copies too): judges the face GANs' edits",
        "model": "classifier", **_FACES, "data_options": {"size": 32, "version": 2}, "base_width": 24, "latent_dim": 128, "condition": "attributes", "augment": 0.5, "epochs": 10, "seed": 1,
        "out": "checkpoints/classifiers/faces-v2-32-judge",
    },
    "fashion-classifier": {
        "description": "Fashion-MNIST class classifier: measures which classes a model's samples cover (metrics/)",
        "model": "classifier", **_FASHION, "latent_dim": 128, "condition": "labels", "epochs": 6,
        "out": "checkpoints/classifiers/fashion-mnist",
    },
    "digits-vae": {
        "description": "VAE, latent 8, on scikit-learn's digits (32x32)",
        "model": "vae",
        "data": "digits",
        "base_width": 16,
        "max_width": 64,
        "latent_dim": 8,
        "epochs": 60,
        "batch_size": 64,
        **_HALF,
        "out": "checkpoints/digits-vae",
    },
}
