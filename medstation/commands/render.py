"""``medstation render``: one view drawn as the workstation shows it, saved as PNG (headless)."""

from __future__ import annotations

import argparse

from medstation.commands.output import refuse_writing_into_source
from medstation.errors import MedStationError


def _saliency_layer(volume, model: str, method: str, source: str):
    """The bundle's saliency map of ``volume`` as an overlay layer; its caption names the method and label."""
    import numpy as np

    from medstation.core.layers import saliency_overlay
    from medstation.engine.saliency.bundle import explain_with_bundle

    explanation = explain_with_bundle(model, volume, method, source=source)
    caption = f"{explanation.saliency.label}: {explanation.label} ({explanation.saliency.probability:.2f})"
    print(f"{model}: {caption}")
    return saliency_overlay(explanation.saliency.values[np.newaxis], caption)


def run_render(args: argparse.Namespace) -> int:
    from medstation.io.open_study import open_image
    from medstation.ui.viewer.render import render_png

    refuse_writing_into_source(args.path, args.out)
    if args.window is not None and not args.window > 0:
        raise MedStationError(f"--window {args.window}: a window width is a positive number")
    if args.overlay == "saliency" and not args.model:
        raise MedStationError("--overlay saliency needs --model NAME|DIR (see 'medstation models')")
    volume = open_image(args.path, args.series).volume
    overlays = []
    if args.overlay == "saliency":
        overlays.append(_saliency_layer(volume, args.model, args.method, args.path))
    out = render_png(
        volume,
        args.out,
        view=args.view,
        slice_index=args.slice,
        window=args.window,
        level=args.level,
        overlays=overlays,
    )
    print(f"wrote {out}")
    return 0
