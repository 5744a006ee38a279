"""Options the image families share when they train on labelled images: the class names, and the data set as the
model card names it."""

from __future__ import annotations

import argparse


def add_labelled_images_options(parser: argparse.ArgumentParser) -> None:
    """``--labels``, the CSV's columns, and the model card's ``--data-name``, ``--data-licence``,
    ``--data-citation`` and ``--data-population``."""
    parser.add_argument("--labels", metavar="NAME,...", help="class names in class-index order (.npz data)")
    add_column_options(parser, "default: path, else file; label")
    parser.add_argument("--data-name", help="data set name for the model card")
    parser.add_argument("--data-licence", help="data licence for the model card")
    parser.add_argument("--data-citation", help="data citation for the model card")
    parser.add_argument("--data-population", help="who the images are of, for the model card's limits")


def add_column_options(parser: argparse.ArgumentParser, defaults: str) -> None:
    """``--path-column`` and ``--label-column`` of a folder's labels CSV."""
    parser.add_argument("--path-column", metavar="NAME", help=f"the labels CSV's image path column ({defaults})")
    parser.add_argument("--label-column", metavar="NAME", help=f"the labels CSV's label column ({defaults})")


def label_names(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The class names of ``--labels``, None when it is not given."""
    if args.labels is None:
        return None
    return tuple(part.strip() for part in args.labels.split(",") if part.strip())


def data_description(args: argparse.Namespace) -> dict[str, str | None]:
    """The training data as the model card describes it."""
    return {"name": args.data_name, "licence": args.data_licence, "citation": args.data_citation,
            "population": args.data_population}
