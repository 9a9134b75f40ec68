"""Speech (giọng đọc): Vietnamese text made speakable, spoken, and encoded for
the commune's loudspeakers.

- ``normalize(text)`` (pure): numbers, dates, times, abbreviations, units and
  symbols written out as a Vietnamese reader says them; URLs and e-mail
  addresses dropped; NFC. The abbreviation table is ``ABBREVIATIONS``.
- ``TtsEngine.synthesize(text) -> WAV bytes``: the pluggable engine interface;
  ``EspeakEngine`` is the offline default (espeak-ng, voice ``vi``). A cloud
  engine would be another subclass chosen by ``TTS_ENGINE``.
- ``AudioEncoder``: ffmpeg to the device format (MP3 mono 64 kbps, or Opus)
  and ffprobe for the duration.
- ``Studio``: the three together, with the limits the service enforces.

Tools run as subprocesses with an argument list (never a shell), text on
stdin, files in a private temporary folder, and a timeout. Failures raise
``SpeechError`` with a message for the officer.
"""
import json
import re
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path


class SpeechError(Exception):
    """Text that cannot be spoken, or a tool that failed; ``message`` is Vietnamese."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------- numbers

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
SCALES = ("", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ")


def _hundreds(n, full):
    """A three-digit group; ``full`` reads a zero hundreds digit ("không
    trăm", "linh"), as inside a larger number."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if hundreds or full:
                words.append("linh")
            words.append(DIGITS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else DIGITS[units])
    else:
        words += [DIGITS[tens], "mươi"]
        if units == 1:
            words.append("mốt")
        elif units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGITS[units])
    return words


def number_words(n):
    """A whole number in words: 2026 → "hai nghìn không trăm hai mươi sáu"."""
    if n < 0:
        return "âm " + number_words(-n)
    if n == 0:
        return "không"
    groups = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    if len(groups) > len(SCALES):
        return digit_words(str(sum(g * 1000 ** i for i, g in enumerate(groups))))
    words = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        words += _hundreds(group, full=bool(words))
        if SCALES[index]:
            words.append(SCALES[index])
    return " ".join(words)


def digit_words(digits):
    """Digit by digit, as phone numbers and codes are read: "06" → "không sáu"."""
    return " ".join(DIGITS[int(d)] for d in digits)


def decimal_words(whole, fraction, separator="phẩy"):
    """3,5 → "ba phẩy năm"; a fraction with a leading zero digit by digit."""
    fraction_words = digit_words(fraction) if fraction.startswith("0") or len(fraction) > 3 else number_words(int(fraction))
    return f"{number_words(int(whole))} {separator} {fraction_words}"


def month_words(month):
    return "tư" if month == 4 else number_words(month)


def ordinal_words(n):
    return {1: "nhất", 4: "tư"}.get(n, number_words(n))


ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def roman_value(text):
    total = 0
    for i, ch in enumerate(text):
        value = ROMAN[ch]
        total += -value if i + 1 < len(text) and ROMAN[text[i + 1]] > value else value
    return total


# ---------------------------------------------------------------- tables

# Abbreviations read in full (exact case; longer keys win). One table, one place.
ABBREVIATIONS = {
    "UBND": "Ủy ban nhân dân",
    "HĐND": "Hội đồng nhân dân",
    "MTTQ": "Mặt trận Tổ quốc",
    "MTTQVN": "Mặt trận Tổ quốc Việt Nam",
    "TTĐT": "thông tin điện tử",
    "CNTT": "công nghệ thông tin",
    "CNTT-VT": "công nghệ thông tin – viễn thông",
    "VH-XH": "văn hóa – xã hội",
    "VHXH": "văn hóa – xã hội",
    "KT-XH": "kinh tế – xã hội",
    "KTXH": "kinh tế – xã hội",
    "TP": "thành phố",
    "TP.": "thành phố",
    "TP.HCM": "thành phố Hồ Chí Minh",
    "HCM": "Hồ Chí Minh",
    "Tp.": "thành phố",
    "ANTT": "an ninh trật tự",
    "ATGT": "an toàn giao thông",
    "PCCC": "phòng cháy chữa cháy",
    "PCTT": "phòng chống thiên tai",
    "TKCN": "tìm kiếm cứu nạn",
    "THCS": "trung học cơ sở",
    "THPT": "trung học phổ thông",
    "BHYT": "bảo hiểm y tế",
    "BHXH": "bảo hiểm xã hội",
    "CCCD": "căn cước công dân",
    "CSGT": "cảnh sát giao thông",
    "CAND": "Công an nhân dân",
    "HTX": "hợp tác xã",
    "NTM": "nông thôn mới",
    "VSATTP": "vệ sinh an toàn thực phẩm",
    "TTCS": "thông tin cơ sở",
    "TTĐN": "thông tin đối ngoại",
    "BCĐ": "Ban Chỉ đạo",
    "BCH": "Ban Chấp hành",
    "GD&ĐT": "giáo dục và đào tạo",
    "GDĐT": "giáo dục và đào tạo",
    "TW": "Trung ương",
    "CP": "Chính phủ",
    "TTg": "Thủ tướng Chính phủ",
    "BTTTT": "Bộ Thông tin và Truyền thông",
    "BVHTTDL": "Bộ Văn hóa, Thể thao và Du lịch",
    "NĐ": "nghị định",
    "NQ": "nghị quyết",
    "QĐ": "quyết định",
    "TT": "thông tư",
    "KH": "kế hoạch",
    "CV": "công văn",
    "CT": "chỉ thị",
    "TB": "thông báo",
    "BC": "báo cáo",
    "v.v.": "vân vân",
}

# Units read after a number ("5km" → "năm ki lô mét").
UNITS = {
    "km/h": "ki lô mét một giờ",
    "km2": "ki lô mét vuông",
    "km²": "ki lô mét vuông",
    "km": "ki lô mét",
    "kg": "ki lô gam",
    "ha": "héc ta",
    "m2": "mét vuông",
    "m²": "mét vuông",
    "m3": "mét khối",
    "m³": "mét khối",
    "cm": "xen ti mét",
    "mm": "mi li mét",
    "m": "mét",
    "°C": "độ xê",
    "VNĐ": "đồng",
    "VND": "đồng",
    "đ": "đồng",
    "USD": "đô la Mỹ",
}

SYMBOLS = {"&": " và ", "+": " cộng ", "=": " bằng ", "/": " trên ", "%": " phần trăm ", "…": ". ", "•": ", ", "·": ", "}


def _alternation(keys):
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))


_ABBREVIATION = re.compile(rf"(?<!\w)({_alternation(ABBREVIATIONS)})(?![\w&])")
_UNIT = re.compile(rf"(?<=\d)\s?({_alternation(UNITS)})(?![\w²³])")
_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+|\b(?:[a-z0-9-]+\.)+(?:vn|com|net|org|gov|edu|info)\b(?:/\S*)?",
                  re.IGNORECASE)
_DOCUMENT = re.compile(r"(?<![\d/])([Ss]ố\s*)?(\d{1,5})(?:/(\d{4}))?/([A-ZĐ][A-Za-zĐ]*(?:-[A-ZĐ][A-Za-zĐ&]*)*)")
_DATE = re.compile(r"(?<![\d/.])(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?![\d/]|\.\d)")
_DAY_MONTH = re.compile(r"\b(ngày|hôm|sáng|trưa|chiều|tối|đêm)\s+(\d{1,2})/(\d{1,2})(?![\d/])", re.IGNORECASE)
_MONTH_YEAR = re.compile(r"(?<![\d/])(\d{1,2})/(\d{4})(?![\d/])")
_MONTH = re.compile(r"\b(tháng)\s+(\d{1,2})(?!\d|[/,.]\d)", re.IGNORECASE)
_ROMAN = re.compile(r"\b(quý|phần|khóa|khoá|kỳ|chương|mục|đợt|giai đoạn)\s+([IVXLC]+)\b(?:\s*/\s*(\d{4}))?", re.IGNORECASE)
_ORDINAL = re.compile(r"\b(thứ)\s+(\d{1,2})(?!\d)", re.IGNORECASE)
_TIME_H = re.compile(r"(?<![\w:])([01]?\d|2[0-3])\s?(?:h|giờ)\s?([0-5]\d)?(?:'|p\b|\s?phút)?(?![\w])")
_TIME_COLON = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(?![\d:])")
_RANGE = re.compile(r"(?<=\d)\s*[-–—]\s*(?=\d)")
_GROUPED = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+)(?:,(\d+))?(?![\d.,]*\d)")
_DECIMAL_COMMA = re.compile(r"(?<![\d.,])(\d+),(\d+)(?!\d|,\d)")
_DECIMAL_DOT = re.compile(r"(?<![\d.,])(\d+)\.(\d{1,2})(?!\d|\.\d)")
_NUMBER = re.compile(r"\d+")
_PUNCT_RUN = re.compile(r"\s*([,.;:!?])(?:\s*[,.;:!?])*")


def _is_after(match, word):
    return re.search(rf"\b{word}\s*$", match.string[:match.start()], re.IGNORECASE) is not None


def _date(match):
    day, month, year = int(match[1]), int(match[3]), int(match[4])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return match[0]
    prefix = "" if _is_after(match, "ngày") else "ngày "
    return f"{prefix}{number_words(day)} tháng {month_words(month)} năm {number_words(year)}"


def _day_month(match):
    day, month = int(match[2]), int(match[3])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return match[0]
    lead = match[1] if match[1].lower() == "ngày" else f"{match[1]} ngày"
    return f"{lead} {number_words(day)} tháng {month_words(month)}"


def _month_year(match):
    month, year = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        return match[0]
    prefix = "" if _is_after(match, "tháng") else "tháng "
    return f"{prefix}{month_words(month)} năm {number_words(year)}"


def _month(match):
    month = int(match[2])
    return f"{match[1]} {month_words(month)}" if 1 <= month <= 12 else match[0]


def _roman(match):
    year = f" năm {number_words(int(match[3]))}" if match[3] else ""
    return f"{match[1]} {number_words(roman_value(match[2].upper()))}{year}"


def _time(match):
    hours, minutes = int(match[1]), int(match[2] or 0)
    seconds = int(match[3]) if match.lastindex and match.lastindex >= 3 and match[3] else 0
    words = f"{number_words(hours)} giờ"
    if minutes:
        words += f" {number_words(minutes)} phút"
    if seconds:
        words += f" {number_words(seconds)} giây"
    return words


def _document(match):
    """A document number: "49/2024/NĐ-CP" → "số bốn mươi chín năm hai nghìn
    không trăm hai mươi bốn của Chính phủ" (the issuer, not the type, which
    the sentence names already)."""
    parts = match[4].split("-")
    if not all(p in ABBREVIATIONS for p in parts):
        return match[0]
    spoken = f"số {number_words(int(match[2]))}"
    if match[3]:
        spoken += f" năm {number_words(int(match[3]))}"
    issuers = parts[1:] or parts
    return spoken + (" của " if parts[1:] else " ") + " ".join(ABBREVIATIONS[p] for p in issuers)


def _grouped(match):
    whole = match[1].replace(".", "")
    return decimal_words(whole, match[2]) if match[2] else number_words(int(whole))


def _number(match):
    digits = match[0]
    if len(digits) > 1 and digits.startswith("0") or len(digits) > 15:
        return digit_words(digits)
    return number_words(int(digits))


def _sentences(text):
    """Lines become sentences: a pause where a line ended without punctuation."""
    lines = [line for line in (raw.strip(" \t-–—*•") for raw in text.splitlines()) if line]
    return " ".join(line if line[-1] in ".!?:;," or i == len(lines) - 1 else line + "." for i, line in enumerate(lines))


def normalize(text):
    """Text as a Vietnamese reader would say it (see the module docstring)."""
    # Đ typed as the look-alike Icelandic Ð is common in documents
    text = unicodedata.normalize("NFC", text or "").replace("Ð", "Đ").replace("ð", "đ")
    text = _URL.sub(" ", text)
    text = _sentences(text)
    text = _DOCUMENT.sub(_document, text)
    text = _DATE.sub(_date, text)
    text = _DAY_MONTH.sub(_day_month, text)
    text = _MONTH_YEAR.sub(_month_year, text)
    text = _ROMAN.sub(_roman, text)
    text = _TIME_COLON.sub(_time, text)
    text = _TIME_H.sub(_time, text)
    text = _MONTH.sub(_month, text)
    text = _ORDINAL.sub(lambda m: f"{m[1]} {ordinal_words(int(m[2]))}", text)
    text = _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m[1]], text)
    text = _UNIT.sub(lambda m: " " + UNITS[m[1]], text)
    text = _RANGE.sub(" đến ", text)
    text = _GROUPED.sub(_grouped, text)
    text = _DECIMAL_COMMA.sub(lambda m: decimal_words(m[1], m[2]), text)
    text = _DECIMAL_DOT.sub(lambda m: decimal_words(m[1], m[2], "chấm"), text)
    text = _NUMBER.sub(_number, text)
    for symbol, spoken in SYMBOLS.items():
        text = text.replace(symbol, spoken)
    # a spaced dash is a pause (espeak-ng pauses at "–"); a joining hyphen is not
    text = re.sub(r"\s[-–—]+\s|[-–—]{2,}", " – ", text)
    text = re.sub(r"[\"“”‘’«»()\[\]{}<>*_#~^|\\@$`]", " ", text)
    text = re.sub(r"(?<=\S)[-–—]+(?=\S)|^[-–—]+|[-–—]+$", " ", text)
    text = _PUNCT_RUN.sub(lambda m: m[1] + " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:–")
    return unicodedata.normalize("NFC", text)


def speakable(text):
    """Whether normalised text has anything to say (a letter)."""
    return re.search(r"[^\W\d_]", text) is not None


# ---------------------------------------------------------------- tools


def _is_timeout(err):
    # under eventlet's monkey-patching, subprocess raises the unpatched
    # module's TimeoutExpired, another class than the patched module's
    return type(err).__name__ == "TimeoutExpired"


def run_tool(args, stdin=None, timeout=60.0, what=None):
    """Run a program (an argument list, no shell) and return its stdout."""
    what = what or Path(args[0]).name
    try:
        result = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as err:
        raise SpeechError(f"Máy chủ chưa cài chương trình {what}; không tạo được âm thanh.") from err
    except Exception as err:
        if _is_timeout(err):
            raise SpeechError(f"{what} chạy quá {timeout:g} giây; văn bản có thể quá dài.") from err
        raise
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"mã lỗi {result.returncode}"]
        raise SpeechError(f"{what} báo lỗi: {detail[0][:300]}")
    return result.stdout


class TtsEngine:
    """Text-to-speech: Vietnamese text (already normalised) → WAV bytes."""

    name = "engine"

    def synthesize(self, text):
        raise NotImplementedError


class EspeakEngine(TtsEngine):
    """espeak-ng, offline (Debian package ``espeak-ng``; voices ``vi``,
    ``vi-vn-x-central``, ``vi-vn-x-south``). The text goes on stdin."""

    def __init__(self, voice="vi", rate=150, timeout=300.0, binary="espeak-ng"):
        self.voice, self.rate, self.timeout, self.binary = voice, int(rate), float(timeout), binary

    @property
    def name(self):
        return f"espeak-ng:{self.voice}"

    def synthesize(self, text):
        wav = run_tool([self.binary, "-v", self.voice, "-s", str(self.rate), "-b", "1", "--stdin", "--stdout"],
                       text.encode("utf-8"), self.timeout, "espeak-ng")
        if not wav.startswith(b"RIFF") or len(wav) <= 44:
            raise SpeechError("espeak-ng không tạo ra âm thanh cho văn bản này.")
        return wav


ENGINES = {"espeak": lambda config: EspeakEngine(
    voice=config.get("TTS_VOICE", "vi"), rate=config.get("TTS_RATE", 150),
    timeout=config.get("TTS_TIMEOUT_SECONDS", 300), binary=config.get("ESPEAK_BINARY", "espeak-ng"))}


@dataclass(frozen=True)
class EncodedAudio:
    data: bytes
    format: str
    content_type: str
    codec: str
    channels: int
    sample_rate: int
    duration_seconds: float


# format → content type, ffmpeg codec arguments, file suffix, sample rate (None: configured)
FORMATS = {
    "mp3": ("audio/mpeg", ["-c:a", "libmp3lame", "-f", "mp3"], ".mp3", None),
    # Opus runs at 48 kHz (it has no 22.05/44.1 kHz mode)
    "opus": ("audio/ogg", ["-c:a", "libopus", "-f", "ogg"], ".opus", 48000),
}


class AudioEncoder:
    """ffmpeg to the devices' format (mono, ``bitrate``), ffprobe to measure it."""

    def __init__(self, format="mp3", sample_rate=22050, bitrate="64k", timeout=300.0, ffmpeg="ffmpeg",
                 ffprobe="ffprobe"):
        if format not in FORMATS:
            raise ValueError(f"unknown audio format {format!r}; one of {sorted(FORMATS)}")
        if int(sample_rate) not in (22050, 44100):
            raise ValueError("AUDIO_SAMPLE_RATE must be 22050 or 44100")
        self.format, self.sample_rate, self.bitrate = format, int(sample_rate), str(bitrate)
        self.timeout, self.ffmpeg, self.ffprobe = float(timeout), ffmpeg, ffprobe

    def encode(self, data):
        """Any audio ffmpeg reads (WAV from the engine, an uploaded recording) → the device format."""
        content_type, codec_args, suffix, rate = FORMATS[self.format]
        with tempfile.TemporaryDirectory(prefix="tinxa-audio-") as folder:
            source, target = Path(folder) / "input", Path(folder) / f"output{suffix}"
            source.write_bytes(data)
            self.probe(source)  # refuses what is not audio before encoding it
            run_tool([self.ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(source), "-vn",
                      "-ac", "1", "-ar", str(rate or self.sample_rate), *codec_args, "-b:a", self.bitrate, str(target)],
                     None, self.timeout, "ffmpeg")
            info = self.probe(target)
            return EncodedAudio(target.read_bytes(), self.format, content_type, info["codec"], info["channels"],
                                info["sample_rate"], info["duration_seconds"])

    def probe(self, path):
        """Codec, channels, sample rate and duration of an audio file (ffprobe)."""
        out = run_tool([self.ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
                        "stream=codec_name,channels,sample_rate:format=duration", "-of", "json", str(path)],
                       None, 60.0, "ffprobe")
        try:
            info = json.loads(out)
            stream = info["streams"][0]
            duration = float(info["format"]["duration"])
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise SpeechError("Tệp không phải âm thanh đọc được (không có luồng âm thanh hoặc thời lượng).") from err
        if duration <= 0:
            raise SpeechError("Tệp âm thanh rỗng (thời lượng 0 giây).")
        return {"codec": stream.get("codec_name"), "channels": int(stream.get("channels") or 0),
                "sample_rate": int(stream.get("sample_rate") or 0), "duration_seconds": round(duration, 3)}


class Studio:
    """What the service uses: normalise and check, speak and encode, transcode."""

    def __init__(self, engine, encoder, max_chars=20000):
        self.engine, self.encoder, self.max_chars = engine, encoder, int(max_chars)

    @classmethod
    def from_config(cls, config):
        name = config.get("TTS_ENGINE", "espeak")
        if name not in ENGINES:
            raise ValueError(f"unknown TTS_ENGINE {name!r}; one of {sorted(ENGINES)}")
        encoder = AudioEncoder(format=config.get("AUDIO_FORMAT", "mp3"),
                               sample_rate=config.get("AUDIO_SAMPLE_RATE", 22050),
                               bitrate=config.get("AUDIO_BITRATE", "64k"),
                               timeout=config.get("TTS_TIMEOUT_SECONDS", 300),
                               ffmpeg=config.get("FFMPEG_BINARY", "ffmpeg"),
                               ffprobe=config.get("FFPROBE_BINARY", "ffprobe"))
        return cls(ENGINES[name](config), encoder, config.get("TTS_MAX_CHARS", 20000))

    def prepare(self, text):
        """The text to speak, or SpeechError if there is nothing speakable or too much."""
        spoken = normalize(text)
        if not spoken.strip():
            raise SpeechError("Không có nội dung để đọc: văn bản trống sau khi chuẩn hóa.")
        if not speakable(spoken):
            raise SpeechError("Văn bản chỉ có ký hiệu, không có chữ nào để đọc.")
        if len(spoken) > self.max_chars:
            raise SpeechError(f"Văn bản quá dài để đọc: {len(spoken)} ký tự sau khi chuẩn hóa "
                              f"(tối đa {self.max_chars}). Hãy chia thành nhiều bản tin.")
        return spoken

    def render(self, spoken):
        return self.encoder.encode(self.engine.synthesize(spoken))

    def transcode(self, data):
        return self.encoder.encode(data)
