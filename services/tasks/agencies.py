"""Match the agency cells of a plan to the commune's agency registry.

Plans name agencies as each official types them: "Phòng Văn hoá – Xã hội"
and "Phòng Văn hóa - Xã hội", "VP HĐND - UBND" and "Văn phòng HĐND – UBND",
several agencies in one cell ("Phòng Văn hóa – Xã hội và Công an") and
generic co-ordinators ("Các cơ quan, đơn vị có liên quan"). ``match_agencies``
splits a cell into fragments, each with the text as written and, where the
registry knows it, the agency it names; nothing in the cell is dropped, so an
officer can see exactly what was not recognised.

Comparison is on a canonical form only (accents, case, dash style and
spacing ignored; the usual abbreviations VP, UBND, HĐND, VH–XH unified; a
trailing "xã" optional): registry names and aliases are found as whole words,
longest first, and the rest is cut at separators into generic phrases and
unknown names.
"""

import re
import unicodedata
from dataclasses import asdict, dataclass

_DASHES = "‐‑‒–—―−-"
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SEPARATORS = {",", ";", "-", "/", "+", "&", "va"}
_EDGES = _SEPARATORS | {".", ":"}

# Abbreviations officials use interchangeably with the full words; both
# sides are rewritten to the short form before comparing.
_ABBREVIATIONS = (
    (("van", "phong"), ("vp",)),
    (("uy", "ban", "nhan", "dan"), ("ubnd",)),
    (("hoi", "dong", "nhan", "dan"), ("hdnd",)),
    (("van", "hoa"), ("vh",)),
    (("xa", "hoi"), ("xh",)),
    (("vhxh",), ("vh", "xh")),
)
_COMMUNE = "xa"

# Words that open a generic co-ordinator phrase ("các phòng, ban, ngành …").
_GENERIC_OPENERS = {"cac", "nhung"}
_RELATED = ("lien", "quan")
_GENERIC_MARKS = (_RELATED, ("chuc", "nang"))

# Words an agency name starts with: a separator before one of them separates
# two agencies; elsewhere it belongs to the name ("Sở Văn hóa, Thể thao và
# Du lịch" is one name, "Phòng Tư pháp, Hội Nông dân" two).
_NAME_STARTS = (
    ("phong",), ("ban",), ("vp",), ("cong", "an"), ("trung", "tam"), ("ubnd",), ("hdnd",),
    ("hoi",), ("doan",), ("so",), ("bo",), ("mat", "tran"), ("mttq",), ("dang", "uy"),
    ("chi", "bo"), ("quan", "su"), ("thon",), ("to",), ("tram",), ("truong",),
    ("co", "quan"), ("don", "vi"), ("cac",), ("nhung",),
)


@dataclass(frozen=True)
class AgencyRef:
    """One agency named in a cell.

    ``text`` is the fragment as written. A registry match has ``agency_id``
    and the registry's ``agency_name``; a generic co-ordinator phrase has
    ``generic`` set; anything else is an unknown name for an officer to fix
    (in the plan or in the registry).
    """

    text: str
    agency_id: str | None = None
    agency_name: str | None = None
    generic: bool = False

    @property
    def known(self) -> bool:
        return self.agency_id is not None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Token:
    key: str
    start: int
    end: int

    @property
    def is_word(self):
        return self.key[0].isalnum()


def match_agencies(text: str, registry: list[dict]) -> list[AgencyRef]:
    """The agencies a lead or co-ordinating cell names, in the cell's order.

    ``registry`` items are ``{"id", "name", "aliases": [...]}``. The returned
    fragments are verbatim slices of the (NFC) cell; what lies between them
    is only separators (",", ";", "-", "và").
    """
    text = unicodedata.normalize("NFC", text or "")
    tokens = _tokens(text)
    names = _registry_keys(registry)
    refs, gap_start, i = [], 0, 0
    while i < len(tokens):
        found = _longest_match(tokens, i, names) if tokens[i].is_word else None
        if found is None:
            i += 1
            continue
        end, agency = found
        refs.extend(_gap_refs(text, tokens[gap_start:i]))
        refs.append(AgencyRef(text[tokens[i].start : tokens[end - 1].end], agency["id"], agency["name"]))
        gap_start = i = end
    refs.extend(_gap_refs(text, tokens[gap_start:]))
    return refs


def unknown_agencies(refs: list[AgencyRef]) -> list[AgencyRef]:
    """The fragments that are neither a registry agency nor a generic phrase."""
    return [ref for ref in refs if not ref.known and not ref.generic]


def _fold_char(ch):
    if ch in _DASHES:
        return "-"
    base = unicodedata.normalize("NFD", ch)[0]
    if base in "đĐÐ":
        return "d"
    lowered = base.lower()
    return lowered if len(lowered) == 1 else base  # keep one character for one


def _tokens(text):
    """Canonical tokens of ``text`` with their spans in it.

    Folding is one character for one, so spans found in the folded text are
    spans of the original; abbreviation rewrites keep the whole span.
    """
    folded = "".join(_fold_char(ch) for ch in text)
    raw = [_Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]
    tokens, i = [], 0
    while i < len(raw):
        for long, short in _ABBREVIATIONS:
            words = tuple(token.key for token in raw[i : i + len(long)])
            if words == long:
                tokens.extend(_Token(key, raw[i].start, raw[i + len(long) - 1].end) for key in short)
                i += len(long)
                break
        else:
            tokens.append(raw[i])
            i += 1
    return tokens


def _registry_keys(registry):
    """Every name and alias as a key sequence, longest first. Dashes inside a
    name are left out (the text's dashes are skipped when comparing), and a
    name ending in "xã" also stands without it ("Công an xã" ~ "Công an")."""
    keys = []
    for agency in registry:
        for name in (agency["name"], *agency.get("aliases", ())):
            key = tuple(token.key for token in _tokens(unicodedata.normalize("NFC", name)) if token.key != "-")
            if not key:  # a blank alias would match everywhere
                continue
            keys.append((key, agency))
            if len(key) > 1 and key[-1] == _COMMUNE:
                keys.append((key[:-1], agency))
    return sorted(keys, key=lambda item: -len(item[0]))


def _longest_match(tokens, i, names):
    """(end index, agency) of the longest registry name starting at token i
    and ending where the cell or the fragment ends: "Phòng Kinh tế hạ tầng"
    is another office than "Phòng Kinh tế", better left unknown than
    silently counted as the wrong one."""
    for key, agency in names:
        end = _match_key(tokens, i, key)
        if end is None:
            continue
        end = _absorb_commune(tokens, end)
        if end == len(tokens) or not tokens[end].is_word or tokens[end].key in _SEPARATORS:
            return end, agency
    return None


def _match_key(tokens, i, key):
    j = i
    for position, word in enumerate(key):
        while position and j < len(tokens) and tokens[j].key == "-":
            j += 1
        if j >= len(tokens) or tokens[j].key != word:
            return None
        j += 1
    return j


def _absorb_commune(tokens, end):
    """A "xã" right after a name is part of it ("VP HĐND - UBND xã")."""
    if end < len(tokens) and tokens[end].key == _COMMUNE:
        after = tokens[end + 1] if end + 1 < len(tokens) else None
        if after is None or not after.is_word or after.key in _SEPARATORS:
            return end + 1
    return end


def _gap_refs(text, tokens):
    """Generic phrases and unknown names in the text between registry matches."""
    refs = []
    for piece in _pieces(tokens):
        fragment = text[piece[0].start : piece[-1].end]
        refs.append(AgencyRef(fragment, generic=_is_generic(piece)))
    return refs


def _pieces(tokens):
    """Cut a gap into fragments.

    A phrase opened by "các"/"những" runs to its "liên quan" (or to the end
    of the gap): its commas list kinds of bodies, not separate agencies.
    Elsewhere a separator cuts only before a word that starts a name.
    """
    pieces, current, i = [], [], 0
    while i < len(tokens):
        token = tokens[i]
        if token.key in _GENERIC_OPENERS and not _trim(current):
            end = _generic_end(tokens, i)
            pieces.append(tokens[i:end])
            current, i = [], end
            continue
        if token.key in _SEPARATORS and _starts_name(tokens, i + 1):
            pieces.append(current)
            current = []
        else:
            current.append(token)
        i += 1
    pieces.append(current)
    return [piece for piece in map(_trim, pieces) if piece]


def _generic_end(tokens, i):
    for j in range(i + 1, len(tokens) - 1):
        if (tokens[j].key, tokens[j + 1].key) == _RELATED:
            return j + 2
    return len(tokens)


def _starts_name(tokens, i):
    words = [token.key for token in tokens[i:] if token.key != "-"]
    return any(tuple(words[: len(start)]) == start for start in _NAME_STARTS)


def _trim(tokens):
    """Drop separators (and a closing full stop) at both ends of a fragment."""
    start, end = 0, len(tokens)
    while start < end and tokens[start].key in _EDGES:
        start += 1
    while end > start and tokens[end - 1].key in _EDGES:
        end -= 1
    return tokens[start:end]


def _is_generic(tokens):
    keys = [token.key for token in tokens]
    pairs = set(zip(keys, keys[1:]))
    return keys[0] in _GENERIC_OPENERS or any(mark in pairs for mark in _GENERIC_MARKS)
