"""``medstation render``: one view drawn as the workstation shows it, saved as PNG (headless)."""

from __future__ import annotations

import argparse

from medstation.errors import NotAvailableYet


def run_render(args: argparse.Namespace) -> int:
    if args.overlay is not None:
        raise NotAvailableYet("--overlay saliency needs a classifier bundle, which this version does not ship")
    from medstation.ui.viewer.render import render_png

    out = render_png(
        args.path,
        args.out,
        series=args.series,
        view=args.view,
        slice_index=args.slice,
        window=args.window,
        level=args.level,
    )
    print(f"wrote {out}")
    return 0
