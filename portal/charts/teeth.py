"""Tooth numbering and surfaces. Storage is always FDI (ISO 3950); Universal is a way of showing it.

FDI: quadrant digit (1–4 permanent, 5–8 primary) then position from the midline (1–8, primary 1–5).
Universal: permanent 1 (upper right third molar) round the arch to 32 (lower right third molar); primary A–T.
"""

from dataclasses import dataclass

from portal.errors import ValidationFailed

UPPER_RIGHT = [18, 17, 16, 15, 14, 13, 12, 11]
UPPER_LEFT = [21, 22, 23, 24, 25, 26, 27, 28]
LOWER_LEFT = [31, 32, 33, 34, 35, 36, 37, 38]
LOWER_RIGHT = [48, 47, 46, 45, 44, 43, 42, 41]
PRIMARY_UPPER = [55, 54, 53, 52, 51, 61, 62, 63, 64, 65]
PRIMARY_LOWER = [85, 84, 83, 82, 81, 71, 72, 73, 74, 75]
PERMANENT = UPPER_RIGHT + UPPER_LEFT + LOWER_LEFT[::-1] + LOWER_RIGHT[::-1]
ALL_TEETH = frozenset(UPPER_RIGHT + UPPER_LEFT + LOWER_LEFT + LOWER_RIGHT + PRIMARY_UPPER + PRIMARY_LOWER)

# Universal permanent: 1..16 upper right→left, 17..32 lower left→right.
_UNIVERSAL = {fdi: str(n) for n, fdi in enumerate(PERMANENT, 1)}
_UNIVERSAL.update({fdi: letter for letter, fdi in zip("ABCDEFGHIJ", PRIMARY_UPPER)})
_UNIVERSAL.update({fdi: letter for letter, fdi in zip("KLMNOPQRST", PRIMARY_LOWER[::-1])})
_FROM_UNIVERSAL = {label: fdi for fdi, label in _UNIVERSAL.items()}

SURFACES = "MODBL"  # stored order
SURFACE_NAMES = {"M": "mesial", "O": "occlusal", "D": "distal", "B": "buccal", "L": "lingual"}
ANTERIOR_SURFACE_NAMES = {**SURFACE_NAMES, "O": "incisal", "B": "facial"}


def label(fdi: int, numbering: str) -> str:
    """How the clinic shows a tooth."""
    return _UNIVERSAL[fdi] if numbering == "universal" else str(fdi)


def parse_tooth(text: str, numbering: str) -> int:
    """A tooth typed or picked in the clinic's numbering, as FDI; ValidationFailed if it is no tooth."""
    value = text.strip().upper()
    fdi = _FROM_UNIVERSAL.get(value) if numbering == "universal" else (int(value) if value.isdigit() else None)
    if fdi not in ALL_TEETH:
        raise ValidationFailed({"tooth": f"{text.strip() or 'Nothing'} is not a tooth in "
                                         f"{'Universal' if numbering == 'universal' else 'FDI'} numbering."})
    return fdi


def is_primary(fdi: int) -> bool:
    return fdi >= 51


def is_upper(fdi: int) -> bool:
    return fdi // 10 in (1, 2, 5, 6)


def is_patient_right(fdi: int) -> bool:
    return fdi // 10 in (1, 4, 5, 8)


def is_anterior(fdi: int) -> bool:
    return fdi % 10 <= 3


def surface_names(fdi: int) -> dict[str, str]:
    """Stored letter -> what the form shows, e.g. "O" -> "Incisal (I)" on a front tooth."""
    names = ANTERIOR_SURFACE_NAMES if is_anterior(fdi) else SURFACE_NAMES
    return {letter: f"{name.capitalize()} ({surface_label(fdi, letter)})" for letter, name in names.items()}


def normalise_surfaces(chosen) -> str:
    """Surface letters in stored order, duplicates and unknown letters dropped."""
    letters = {c.upper() for c in "".join(chosen)}
    return "".join(s for s in SURFACES if s in letters)


def surface_label(fdi: int, surfaces: str) -> str:
    """Surfaces as a dentist writes them: incisal and facial on front teeth (e.g. "MI", "MO")."""
    if not is_anterior(fdi):
        return surfaces
    return surfaces.replace("O", "I").replace("B", "F")


@dataclass(frozen=True)
class SurfaceTicks:
    """The five surface checkboxes a form posts (s_m … s_l), read as stored letters."""

    s_m: bool = False
    s_o: bool = False
    s_d: bool = False
    s_b: bool = False
    s_l: bool = False

    @property
    def surfaces(self) -> str:
        return normalise_surfaces(letter.upper() for letter in "modbl" if getattr(self, f"s_{letter}"))
