"""Text of a slice view's corner annotations and cursor readout (Qt-free strings)."""

from __future__ import annotations

import numpy as np

from medstation.core.view_state import ViewState

_POSITION_AXIS = {"axial": (2, "S", "I"), "coronal": (1, "P", "A"), "sagittal": (0, "L", "R")}


PROJECTION_MODALITIES = frozenset({"CR", "DX", "MG", "RF", "XA", "IO", "PX"})


def patient_text(state: ViewState) -> str:
    """Top-left corner: patient name; ID, sex and age at the study; study date and time; study description."""
    info = state.volume.info
    details = info.details
    identity = "  ".join(part for part in (f"ID {info.patient_id}" if info.patient_id else "",
                                            details.get("PatientSex", ""), age_at_study(info)) if part)
    lines = [info.patient_name.replace("^", " ").strip(), identity,
             study_moment(info.study_date, details.get("StudyTime", "")), info.study_description]
    return "\n".join(line for line in lines if line)


def age_at_study(info) -> str:
    """``"34 y"``, ``"7 m"``: PatientAge, else the years from PatientBirthDate to the study date; "" if neither."""
    age = info.details.get("PatientAge", "").strip()
    if len(age) == 4 and age[:3].isdigit() and age[3] in "DWMY":
        return f"{int(age[:3])} {age[3].lower()}"
    born, studied = info.details.get("PatientBirthDate", ""), info.study_date
    if len(born) == 8 and len(studied) == 8 and born.isdigit() and studied.isdigit():
        years = int(studied[:4]) - int(born[:4]) - ((studied[4:] < born[4:]) and 1)
        return f"{years} y" if 0 <= years < 150 else ""
    return ""


def study_moment(date: str, time: str) -> str:
    """DICOM DA and TM as ``"2024-01-02 10:10"`` (what is present of them)."""
    shown = f"{date[:4]}-{date[4:6]}-{date[6:8]}" if len(date) == 8 and date.isdigit() else date
    if len(time) >= 4 and time[:4].isdigit():
        shown = f"{shown} {time[:2]}:{time[2:4]}".strip()
    return shown


def series_text(state: ViewState) -> str:
    """Top-right corner: series number and description, modality with its acquisition parameters, and what the
    geometry lacks (tilt, no patient position, unknown pixel size); the full warnings are in the viewer's banner."""
    info = state.volume.info
    number = f"Se {info.series_number}" if info.series_number is not None else ""
    lines = [": ".join(part for part in (number, info.series_description) if part), acquisition_text(info)]
    if state.volume.is_sheared:
        lines.append(f"Tilted {state.volume.shear_angle_degrees:.1f}°")
    if not state.volume.has_patient_geometry:
        lines.append("No patient position: shown as stored")
    if not state.volume.spacing_known:
        lines.append("Pixel size unknown: distances in px")
    return "\n".join(line for line in lines if line)


def acquisition_text(info) -> str:
    """Modality, body part and the parameters a reader checks for it (CT kVp/mAs, MR TR/TE/TI/FA/field, contrast)."""
    details = info.details
    parts = [info.modality, details.get("BodyPartExamined", "")]
    if info.modality in ("CT", *PROJECTION_MODALITIES):
        parts += [_with_unit(details, "KVP", "kVp"), _with_unit(details, "Exposure", "mAs")]
    if info.modality == "MR":
        parts += [_labelled(details, "RepetitionTime", "TR"), _labelled(details, "EchoTime", "TE"),
                  _labelled(details, "InversionTime", "TI"), _with_unit(details, "FlipAngle", "°", space=""),
                  _with_unit(details, "MagneticFieldStrength", "T")]
    if details.get("ContrastBolusAgent"):
        parts.append(f"+C {details['ContrastBolusAgent']}")
    return "  ".join(part for part in parts if part)


def _number(text: str) -> str:
    try:
        return f"{float(text):.4g}"
    except ValueError:
        return ""


def _with_unit(details: dict[str, str], keyword: str, unit: str, space: str = " ") -> str:
    value = _number(details.get(keyword, ""))
    return f"{value}{space}{unit}" if value else ""


def _labelled(details: dict[str, str], keyword: str, label: str) -> str:
    value = _number(details.get(keyword, ""))
    return f"{label} {value}" if value else ""


def is_radiograph(state: ViewState) -> bool:
    """A single projection image (CR, DX, MG, ...) or any single image without a place in the patient."""
    volume = state.volume
    single = volume.spatial_shape[0] == 1
    return single and (volume.info.modality in PROJECTION_MODALITIES or not volume.has_patient_geometry)


def slice_text(state: ViewState, view: str, mip_thickness_mm: float | None = None) -> str:
    """Bottom-left corner: slice number, its position (mm) and thickness, time point.

    A radiograph says so, with its view position; a single picture without a place in the patient says "Image".
    """
    plane = state.planes[view]
    index = state.slice_index(view)
    if is_radiograph(state):
        kind = "Radiograph" if state.volume.info.modality in PROJECTION_MODALITIES else "Image"
        lines = [f"{kind} {state.volume.info.details.get('ViewPosition', '')}".strip()]
    else:
        voxel = state.voxel
        voxel[plane.normal_axis] = index
        axis, positive, negative = _POSITION_AXIS[view]
        coordinate = float(state.volume.voxel_to_patient(voxel)[axis])
        letter = positive if coordinate >= 0 else negative
        lines = [f"{view.capitalize()}  Im {index + 1}/{plane.n_slices}", f"Pos {letter} {abs(coordinate):.1f} mm"]
        if mip_thickness_mm is not None:
            lines.append(f"MIP slab {mip_thickness_mm:.1f} mm")
        else:
            lines.append(_thickness_text(state, plane.slice_spacing))
    if state.volume.n_volumes > 1:
        lines.append(f"Time {state.time_index + 1}/{state.volume.n_volumes}")
    return "\n".join(lines)


def _thickness_text(state: ViewState, spacing: float) -> str:
    """The header's slice thickness where it says one, and the spacing between slices."""
    thickness = _number(state.volume.info.details.get("SliceThickness", ""))
    spacing_text = f"Sp {spacing:.2f} mm"
    return f"Thk {thickness} mm  {spacing_text}" if thickness else spacing_text


def elide_words(text: str, fits) -> str:
    """``text`` cut after its last whole word that ``fits(candidate)`` allows, with an ellipsis; never mid-word.

    A first word too long on its own is cut by characters (it is all there is to show).
    """
    if fits(text):
        return text
    words = text.split(" ")
    for count in range(len(words) - 1, 0, -1):
        candidate = " ".join(words[:count]).rstrip() + " …"
        if fits(candidate):
            return candidate
    for length in range(len(text) - 1, 0, -1):
        if fits(text[:length] + "…"):
            return text[:length] + "…"
    return "…"


def window_text(state: ViewState, view: str) -> str:
    """Bottom-right corner: window width / level, inversion and zoom."""
    window = state.window
    inverted = " (inverted)" if window.inverted else ""
    name = f" {window.name}" if window.name else ""
    return (f"W {_short(window.width)} L {_short(window.center)}{name}{inverted}\n"
            f"Zoom {state.cameras[view].zoom:.2f}x")


def _short(value: float) -> str:
    """A window value with at most one decimal: ``80``, ``-600``, ``816.8``."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def readout_text(state: ViewState, ijk: np.ndarray | None) -> str:
    """Cursor readout: voxel (i, j, k), LPS position (mm; none where the pixel size is unknown) and value (HU for
    CT), or "" outside the volume."""
    if ijk is None:
        return ""
    n_k, n_j, n_i = state.volume.spatial_shape
    i, j, k = (round(v) for v in ijk)
    if not (0 <= i < n_i and 0 <= j < n_j and 0 <= k < n_k):
        return ""
    value = state.array[k, j, i]
    if state.volume.is_rgb:
        shown = "RGB " + ", ".join(str(int(v)) for v in value)
    else:
        shown = f"{value:.4g}" if np.issubdtype(type(value), np.floating) else f"{int(value)}"
        shown += " HU" if state.volume.info.modality == "CT" else ""
    if not state.volume.spacing_known:
        return f"({i}, {j}, {k})  {shown}"
    x, y, z = state.volume.voxel_to_patient(np.array([i, j, k], dtype=np.float64))
    return f"({i}, {j}, {k})  LPS ({x:.1f}, {y:.1f}, {z:.1f}) mm  {shown}"
