"""Speech: Vietnamese normalisation before TTS (pure), the engine interface,
and the real espeak-ng + ffmpeg pipeline on a short text."""
import unicodedata

import pytest

from services.content.speech import (ABBREVIATIONS, AudioEncoder, EspeakEngine, SpeechError, Studio, TtsEngine,
                                     normalize, number_words)
from services.content.tests.conftest import tone_wav


@pytest.mark.parametrize("number, words", [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (25, "hai mươi lăm"),
    (55, "năm mươi lăm"),
    (99, "chín mươi chín"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (1000, "một nghìn"),
    (1001, "một nghìn không trăm linh một"),
    (2005, "hai nghìn không trăm linh năm"),
    (2026, "hai nghìn không trăm hai mươi sáu"),
    (10000, "mười nghìn"),
    (15300, "mười lăm nghìn ba trăm"),
    (1500000, "một triệu năm trăm nghìn"),
    (1000005, "một triệu không trăm linh năm"),
    (2000000000, "hai tỷ"),
])
def test_numbers_in_words(number, words):
    assert number_words(number) == words


@pytest.mark.parametrize("text, spoken", [
    # numbers
    ("2026", "hai nghìn không trăm hai mươi sáu"),
    ("có 15 hộ", "có mười lăm hộ"),
    ("21 thôn", "hai mươi mốt thôn"),
    ("25 người", "hai mươi lăm người"),
    ("105 cụm loa", "một trăm linh năm cụm loa"),
    ("Đề án 06", "Đề án không sáu"),
    ("gọi 0912345678", "gọi không chín một hai ba bốn năm sáu bảy tám"),
    ("1.500.000 đồng", "một triệu năm trăm nghìn đồng"),
    ("3,5 tấn", "ba phẩy năm tấn"),
    ("0,05 ha", "không phẩy không năm héc ta"),
    ("công nghiệp 4.0", "công nghiệp bốn chấm không"),
    ("đạt 12,5%", "đạt mười hai phẩy năm phần trăm"),
    ("100% hộ dân", "một trăm phần trăm hộ dân"),
    ("giai đoạn 2021-2025", "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm"),
    ("từ 5 – 7 ngày", "từ năm đến bảy ngày"),
    # dates
    ("15/4/2026", "ngày mười lăm tháng tư năm hai nghìn không trăm hai mươi sáu"),
    ("ngày 15/4/2026.", "ngày mười lăm tháng tư năm hai nghìn không trăm hai mươi sáu."),
    ("01/01/2026", "ngày một tháng một năm hai nghìn không trăm hai mươi sáu"),
    ("15-4-2026", "ngày mười lăm tháng tư năm hai nghìn không trăm hai mươi sáu"),
    ("31.12.2026", "ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("sáng 15/4", "sáng ngày mười lăm tháng tư"),
    ("tháng 4", "tháng tư"),
    ("tháng 11 và tháng 12", "tháng mười một và tháng mười hai"),
    ("tháng 4/2026", "tháng tư năm hai nghìn không trăm hai mươi sáu"),
    ("Quý IV/2026", "Quý bốn năm hai nghìn không trăm hai mươi sáu"),
    ("năm 2026", "năm hai nghìn không trăm hai mươi sáu"),
    # times
    ("7h30", "bảy giờ ba mươi phút"),
    ("07:30", "bảy giờ ba mươi phút"),
    ("lúc 7h", "lúc bảy giờ"),
    ("14:05", "mười bốn giờ năm phút"),
    ("7 giờ 15", "bảy giờ mười lăm phút"),
    ("thứ 2 và thứ 4", "thứ hai và thứ tư"),
    ("lần thứ 1", "lần thứ nhất"),
    # abbreviations
    ("UBND xã", "Ủy ban nhân dân xã"),
    ("HĐND xã", "Hội đồng nhân dân xã"),
    ("Trang TTĐT", "Trang thông tin điện tử"),
    ("ứng dụng CNTT", "ứng dụng công nghệ thông tin"),
    ("Phòng VH-XH", "Phòng văn hóa – xã hội"),
    ("Phòng VHXH", "Phòng văn hóa – xã hội"),
    ("TP Ninh Bình", "thành phố Ninh Bình"),
    ("TP. Ninh Bình", "thành phố Ninh Bình"),
    ("phát triển KT-XH", "phát triển kinh tế – xã hội"),
    ("Ủy ban MTTQ", "Ủy ban Mặt trận Tổ quốc"),
    ("đảm bảo ANTT", "đảm bảo an ninh trật tự"),
    ("công tác PCCC", "công tác phòng cháy chữa cháy"),
    ("trường THCS", "trường trung học cơ sở"),
    ("trường THPT", "trường trung học phổ thông"),
    ("thẻ BHYT", "thẻ bảo hiểm y tế"),
    ("HĐND-UBND", "Hội đồng nhân dân Ủy ban nhân dân"),
    ("Nghị định 49/2024/NĐ-CP", "Nghị định số bốn mươi chín năm hai nghìn không trăm hai mươi bốn của Chính phủ"),
    ("Kế hoạch số 15/KH-UBND", "Kế hoạch số mười lăm của Ủy ban nhân dân"),
    ("UBNDX", "UBNDX"),  # not an abbreviation of the table: left alone
    # units and symbols
    ("dài 5km", "dài năm ki lô mét"),
    ("2 ha lúa", "hai héc ta lúa"),
    ("50.000đ", "năm mươi nghìn đồng"),
    ("30°C", "ba mươi độ xê"),
    ("Nông nghiệp & Môi trường", "Nông nghiệp và Môi trường"),
    ("a/b", "a trên b"),
    ("“Ngày hội” (năm nay)", "Ngày hội năm nay"),
    ("Xuân Hưng - Ninh Bình", "Xuân Hưng – Ninh Bình"),
    # URLs and e-mail dropped
    ("Xem tại https://xuanhung.ninhbinh.gov.vn/tin/1 nhé", "Xem tại nhé"),
    ("Xem www.ninhbinh.gov.vn hoặc xuanhung.gov.vn", "Xem hoặc"),
    ("Gửi về vhxh@xuanhung.gov.vn.", "Gửi về."),
    # lines become sentences; bullets dropped
    ("Thông báo\n- Họp lúc 8h\n- Mang CCCD", "Thông báo. Họp lúc tám giờ. Mang căn cước công dân"),
    # NFC and the look-alike Đ
    (unicodedata.normalize("NFD", "Quyền con người"), "Quyền con người"),
    ("ÐẢNG ỦY", "ĐẢNG ỦY"),
])
def test_normalize(text, spoken):
    assert normalize(text) == spoken


def test_normalized_text_is_nfc():
    text = normalize(unicodedata.normalize("NFD", "Thông báo của UBND xã về lịch tiêm chủng 15/4"))
    assert unicodedata.is_normalized("NFC", text)


def test_every_abbreviation_is_read_in_full():
    for short, full in ABBREVIATIONS.items():
        assert normalize(f"về {short} này") == normalize(f"về {full} này"), short


class Silent(TtsEngine):
    """A stand-in engine for the checks that must not reach an engine."""

    name = "silent"

    def synthesize(self, text):
        raise AssertionError("the engine must not be called")


@pytest.mark.parametrize("text, message", [
    ("", "trống"),
    ("   \n  ", "trống"),
    ("https://xuanhung.gov.vn", "trống"),
    ("!!! ??? ...", "ký hiệu"),
    ("*** — ###", "trống"),
    ("Bản tin " * 200, "quá dài"),
])
def test_text_the_engine_cannot_handle_is_refused_before_it(text, message):
    studio = Studio(Silent(), AudioEncoder(), max_chars=1000)
    with pytest.raises(SpeechError) as refused:
        studio.prepare(text)
    assert message in refused.value.message


def test_a_missing_engine_binary_is_a_readable_error():
    with pytest.raises(SpeechError) as failed:
        EspeakEngine(binary="/nonexistent/espeak-ng").synthesize("xin chào")
    assert "chưa cài" in failed.value.message


def test_an_engine_that_overruns_its_timeout_is_stopped(tmp_path):
    slow = tmp_path / "slow-engine"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(SpeechError) as failed:
        EspeakEngine(binary=str(slow), timeout=0.3).synthesize("xin chào")
    assert "quá 0.3 giây" in failed.value.message


def test_text_reaches_espeak_as_data_never_as_a_shell_command(tmp_path):
    marker = tmp_path / "owned"
    wav = EspeakEngine().synthesize(f"xin chào; touch {marker}; $(touch {marker})")
    assert wav.startswith(b"RIFF") and not marker.exists()


def test_espeak_and_ffmpeg_make_a_mono_mp3_with_its_duration():
    studio = Studio.from_config({"TTS_RATE": 175})
    audio = studio.render(studio.prepare("Ủy ban nhân dân xã Xuân Hưng thông báo lịch tiêm chủng ngày 15/4/2026."))
    assert audio.format == "mp3" and audio.content_type == "audio/mpeg"
    assert audio.codec == "mp3" and audio.channels == 1 and audio.sample_rate == 22050
    assert 2.0 < audio.duration_seconds < 15.0
    assert audio.data[:3] == b"ID3" or audio.data[0] == 0xFF


def test_opus_for_devices_that_take_it():
    audio = AudioEncoder(format="opus").encode(tone_wav(1.0))
    assert audio.codec == "opus" and audio.channels == 1 and audio.data.startswith(b"OggS")
    assert 0.9 < audio.duration_seconds < 1.2


def test_what_is_not_audio_is_refused_by_the_encoder():
    with pytest.raises(SpeechError):
        AudioEncoder().encode(b"ID3" + b"\x00" * 500)


def test_unknown_engine_or_format_is_a_configuration_error():
    with pytest.raises(ValueError):
        Studio.from_config({"TTS_ENGINE": "cloud"})
    with pytest.raises(ValueError):
        Studio.from_config({"AUDIO_FORMAT": "flac"})
