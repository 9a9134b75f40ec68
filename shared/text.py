"""Vietnamese text helpers shared by services that search text."""
import unicodedata


def fold(text):
    """Lower-case, accent-free form for search: "Quyền con người" ~ "quyen con nguoi".

    Stored beside the original in a search field, because neither MongoDB's
    collation nor nx-27017 ignore Vietnamese diacritics.
    """
    decomposed = unicodedata.normalize("NFD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d").replace("Đ", "D").lower()
