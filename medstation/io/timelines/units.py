"""Units of timeline values: the spellings accepted for each variable's own unit, and the few safe conversions.

A value is stored in the unit ``medstation.core.timeline`` gives its variable. A source may spell that unit
another way (UCUM ``mm[Hg]``, ``Cel``, ``/min``) or use a unit with an exact, well-known conversion (°F, creatinine
in µmol/L, glucose in mmol/L, lactate in mg/dL, magnesium in mmol/L or mEq/L, FiO2 in %). Anything else is
refused rather than guessed.
Spellings are compared ignoring case and surrounding spaces (``mg/dl`` is ``mg/dL``; ``µ``, ``μ`` and ``u`` alike).
"""

from __future__ import annotations

from collections.abc import Callable

from medstation.core.timeline import STATIC_VARIABLES, VARIABLES

Conversion = Callable[[float], float]


def _same(value: float) -> float:
    return value


def _scale(factor: float) -> Conversion:
    return lambda value: value * factor


def _fahrenheit_to_celsius(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


# Spellings of each core unit that mean exactly that unit.
_UNIT_SPELLINGS: dict[str, tuple[str, ...]] = {
    "bpm": ("bpm", "/min", "1/min", "beats/min", "{beats}/min"),
    "breaths/min": ("breaths/min", "/min", "1/min", "{breaths}/min"),
    "mmHg": ("mmHg", "mm[Hg]", "mm Hg"),
    "°C": ("°C", "C", "degC", "Cel"),
    "%": ("%",),
    "fraction": ("fraction", "1"),
    "points": ("points", "{score}", "{points}", "score", "1"),
    "mg/dL": ("mg/dL",),
    "g/dL": ("g/dL",),
    "mmol/L": ("mmol/L",),
    "mEq/L": ("mEq/L", "meq/L", "mmol/L"),
    "IU/L": ("IU/L", "U/L", "[IU]/L"),
    "10^9/L": ("10^9/L", "10*9/L", "10^3/uL", "10*3/uL", "K/uL", "/nL"),
    "µg/L": ("µg/L", "ug/L", "ng/mL"),
    "mL": ("mL",),
    "kg": ("kg",),
    "cm": ("cm",),
    "years": ("years", "a", "yr"),
    "pH": ("pH", "[pH]", "1"),
    "flag": ("flag", "1"),
}

# Units other than the variable's own with an exact conversion into it, per variable.
_CONVERSIONS: dict[str, dict[str, Conversion]] = {
    "Temp": {"°F": _fahrenheit_to_celsius, "F": _fahrenheit_to_celsius, "degF": _fahrenheit_to_celsius,
             "[degF]": _fahrenheit_to_celsius},
    "Creatinine": {"µmol/L": _scale(1 / 88.42), "umol/L": _scale(1 / 88.42)},
    "Glucose": {"mmol/L": _scale(18.016)},
    "Lactate": {"mg/dL": _scale(1 / 9.008)},
    "Mg": {"mmol/L": _scale(2.4305), "mEq/L": _scale(1.21525)},
    "FiO2": {"%": _scale(0.01)},
    "Albumin": {"g/L": _scale(0.1)},
    "HCO3": {"mEq/L": _same, "meq/L": _same},
    "Weight": {"[lb_av]": _scale(0.45359237), "lb": _scale(0.45359237)},
    "Height": {"[in_i]": _scale(2.54), "in": _scale(2.54)},
}


def _key(unit: str) -> str:
    return unit.strip().replace("μ", "u").replace("µ", "u").casefold()


def _accepted(variable: str) -> dict[str, Conversion]:
    definition = VARIABLES.get(variable) or STATIC_VARIABLES[variable]
    accepted = {_key(spelling): _same for spelling in _UNIT_SPELLINGS.get(definition.unit, ())}
    accepted[_key(definition.unit)] = _same
    for unit, conversion in _CONVERSIONS.get(variable, {}).items():
        accepted.setdefault(_key(unit), conversion)
    return accepted


_ACCEPTED = {name: _accepted(name) for name in {*VARIABLES, *STATIC_VARIABLES}}


def accepted_units(variable: str) -> list[str]:
    """The units ``variable`` may be given in: its own first, then the ones converted into it."""
    definition = VARIABLES.get(variable) or STATIC_VARIABLES[variable]
    return [definition.unit, *_CONVERSIONS.get(variable, {})]


def to_variable_unit(variable: str, value: float, unit: str) -> float:
    """``value`` given in ``unit``, in ``variable``'s own unit; an empty ``unit`` means that unit already.

    Raises ``ValueError`` naming the accepted units when ``unit`` is neither a spelling of the variable's unit
    nor one with a known conversion.
    """
    if not unit.strip():
        return value
    conversion = _ACCEPTED[variable].get(_key(unit))
    if conversion is None:
        raise ValueError(f"unit {unit!r} is not accepted for {variable} (use {' or '.join(accepted_units(variable))})")
    return conversion(value)
