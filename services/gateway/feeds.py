"""The commune's public feeds: what its website, and the connectors that post
to its Zalo and Facebook pages, read (Atom 1.0, RFC 4287, and JSON Feed 1.1).

Pure functions of the commune and the content service's ``feed_items``
(services/content/API.md): only live items published on the website or
social channels, as published. Bodies are plain text; each paragraph is
escaped here and wrapped in ``<p>``, so an item can never put markup on
someone's page. Entry ids are ``urn:uuid`` names derived from the commune and
the item, stable whatever address the feed is served from.
"""
import html
import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree import ElementTree

from services.gateway.domain import paragraphs

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json; charset=utf-8"
FEED_LENGTH = 30
GENERATOR = "TinXã"
# the namespace of the feeds' urn:uuid names (uuid5 of the commune and item)
_NAMESPACE = uuid.UUID("6f1c8f1e-2b1a-5d0e-9a57-7b6e3c0d4a21")
# characters XML 1.0 cannot hold at all (a pasted control character would
# make the whole feed unreadable to every client)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class PublicSite:
    """The public addresses of one commune's content, from the gateway's
    public base URL (``PUBLIC_BASE_URL``, else the address asked for)."""

    base_url: str
    commune_id: str

    def _url(self, *parts):
        return self.base_url.rstrip("/") + "/" + "/".join(quote(part, safe="") for part in parts)

    @property
    def home(self):
        return self._url("p", self.commune_id)

    @property
    def atom(self):
        return self._url("feeds", self.commune_id, "atom.xml")

    @property
    def json_feed(self):
        return self._url("feeds", self.commune_id, "feed.json")

    def item(self, item_id):
        return self._url("p", self.commune_id, item_id)

    def media(self, media_id):
        return self._url("p", self.commune_id, "media", media_id)


def urn(*names):
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(names))}"


def publisher(commune):
    """Who speaks in the feed: the commune People's Committee."""
    return f"UBND xã {commune['name']}"


def feed_title(commune):
    return f"Tin tức – {publisher(commune)}"


def body_html(entry, site):
    """The item's body as HTML: its paragraphs, escaped, then its images."""
    parts = [f"<p>{html.escape(part, quote=False).replace(chr(10), '<br>')}</p>"
             for part in paragraphs(entry["body"])]
    parts += [f'<p><img src="{html.escape(site.media(media_id))}" alt="{html.escape(entry["title"])}"></p>'
              for media_id in entry["image_media_ids"]]
    return "\n".join(parts)


def _enclosures(entry, site):
    ids = list(entry["image_media_ids"]) + ([entry["audio_media_id"]] if entry.get("audio_media_id") else [])
    return [site.media(media_id) for media_id in ids]


def _xml(text):
    return _NOT_XML.sub("", text)


def _sub(parent, tag, text=None, **attributes):
    element = ElementTree.SubElement(parent, tag, {k: _xml(v) for k, v in attributes.items() if v is not None})
    if text is not None:
        element.text = _xml(text)
    return element


def atom(commune, entries, site):
    """The Atom 1.0 document (bytes, UTF-8)."""
    feed = ElementTree.Element("feed", {"xmlns": ATOM_NS, XML_LANG: "vi"})
    _sub(feed, "id", urn("feed", commune["_id"]))
    _sub(feed, "title", feed_title(commune))
    _sub(feed, "subtitle", f"Thông tin chính thức của {publisher(commune)}, tỉnh {commune['province']}")
    _sub(feed, "updated", max((e["updated_at"] for e in entries), default=commune["updated_at"]))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=site.atom)
    _sub(feed, "link", rel="alternate", type="text/html", href=site.home)
    _sub(feed, "link", rel="alternate", type="application/feed+json", href=site.json_feed)
    author = _sub(feed, "author")
    _sub(author, "name", publisher(commune))
    _sub(author, "uri", site.home)
    _sub(feed, "generator", GENERATOR)
    for entry in entries:
        item = _sub(feed, "entry")
        _sub(item, "id", urn("item", commune["_id"], entry["id"]))
        _sub(item, "title", entry["title"])
        _sub(item, "updated", entry["updated_at"])
        _sub(item, "published", entry["published_at"])
        _sub(item, "link", rel="alternate", type="text/html", href=site.item(entry["id"]))
        for href in _enclosures(entry, site):
            _sub(item, "link", rel="enclosure", href=href)
        if entry.get("section"):
            _sub(item, "category", term=entry["section"], label=entry["section"])
        if entry.get("summary"):
            _sub(item, "summary", entry["summary"])
        _sub(item, "content", body_html(entry, site), type="html")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)


def json_feed(commune, entries, site):
    """The JSON Feed 1.1 document (bytes, UTF-8). Media types are the public
    media address's to tell, so images and audio are listed in the
    ``_tinxa`` extension rather than as attachments (which need a type)."""
    document = {
        "version": JSON_FEED_VERSION,
        "title": feed_title(commune),
        "home_page_url": site.home,
        "feed_url": site.json_feed,
        "description": f"Thông tin chính thức của {publisher(commune)}, tỉnh {commune['province']}",
        "language": "vi",
        "authors": [{"name": publisher(commune), "url": site.home}],
        "items": [_json_item(commune, entry, site) for entry in entries],
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _json_item(commune, entry, site):
    item = {
        "id": urn("item", commune["_id"], entry["id"]),
        "url": site.item(entry["id"]),
        "title": entry["title"],
        "content_html": body_html(entry, site),
        "content_text": entry["body"],
        "date_published": entry["published_at"],
        "date_modified": entry["updated_at"],
        "tags": [entry["section"]] if entry.get("section") else [],
        "_tinxa": {
            "item_id": entry["id"], "kind": entry["kind"], "section_id": entry["section_id"],
            "channels": list(entry["channels"]), "images": [site.media(m) for m in entry["image_media_ids"]],
            "audio": site.media(entry["audio_media_id"]) if entry.get("audio_media_id") else None,
        },
    }
    if entry.get("summary"):
        item["summary"] = entry["summary"]
    if entry["image_media_ids"]:
        item["image"] = site.media(entry["image_media_ids"][0])
    return item
