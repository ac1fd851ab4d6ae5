"""Language codes: ISO 639-1 (what alignfreeze uses everywhere) to the names and 639-3
codes that some datasets use in their file or config names."""

from __future__ import annotations

# XTREME's udpos configs are named by English language name ("udpos.English").
LANGUAGE_NAMES = {
    "af": "Afrikaans",
    "ar": "Arabic",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "kk": "Kazakh",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "mr": "Marathi",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sv": "Swedish",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "tl": "Tagalog",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "wo": "Wolof",
    "yo": "Yoruba",
    "zh": "Chinese",
}

# Tatoeba (LASER release) file codes.
ISO639_3 = {
    "af": "afr",
    "ar": "ara",
    "bg": "bul",
    "ca": "cat",
    "cs": "ces",
    "da": "dan",
    "de": "deu",
    "el": "ell",
    "en": "eng",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "pes",
    "fi": "fin",
    "fr": "fra",
    "he": "heb",
    "hi": "hin",
    "hu": "hun",
    "id": "ind",
    "it": "ita",
    "ja": "jpn",
    "kk": "kaz",
    "ko": "kor",
    "lt": "lit",
    "lv": "lvs",
    "mr": "mar",
    "nl": "nld",
    "no": "nob",
    "pl": "pol",
    "pt": "por",
    "ro": "ron",
    "ru": "rus",
    "sk": "slk",
    "sl": "slv",
    "sv": "swe",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tl": "tgl",
    "tr": "tur",
    "uk": "ukr",
    "ur": "urd",
    "vi": "vie",
    "zh": "cmn",
}
ISO639_1 = {three: two for two, three in ISO639_3.items()} | {"zho": "zh", "arb": "ar", "lav": "lv", "fas": "fa"}


def to_iso639_1(code: str) -> str:
    """A 639-3 code to 639-1 where known; other codes pass through unchanged."""
    return ISO639_1.get(code, code)


# ------------------------------------------------------------------ NLLB-200 codes
#: Our code -> NLLB-200's (FLORES-200's ``xxx_Xxxx``: ISO 639-3 and ISO 15924 script), for the
#: languages of the emnlp-2026 reference's ``xt_afri`` selection (final_run_script.sh lines
#: 23-24: 38 OPUS-100 languages and 27 NLLB ones) and English. Where NLLB has one variety of
#: a macrolanguage it is that one: ``om`` is West Central Oromo (``gaz``), ``sw`` Swahili
#: (``swh``), ``ms`` Standard Malay (``zsm``), ``fa`` Western Persian (``pes``), ``ar`` Modern
#: Standard Arabic (``arb``), ``az`` North Azerbaijani (``azj``). Languages without an ISO 639-1
#: code keep their 639-3 one (``fon``, ``luo``, ``mos``).
NLLB_CODES = {
    "en": "eng_Latn",
    # the reference's 27 NLLB languages (download_resources.sh line 9)
    "am": "amh_Ethi",
    "bm": "bam_Latn",
    "ee": "ewe_Latn",
    "fon": "fon_Latn",
    "ha": "hau_Latn",
    "ig": "ibo_Latn",
    "rw": "kin_Latn",
    "ln": "lin_Latn",
    "lg": "lug_Latn",
    "luo": "luo_Latn",
    "mos": "mos_Latn",
    "ny": "nya_Latn",
    "om": "gaz_Latn",
    "sn": "sna_Latn",
    "sw": "swh_Latn",
    "tn": "tsn_Latn",
    "tw": "twi_Latn",
    "wo": "wol_Latn",
    "xh": "xho_Latn",
    "yo": "yor_Latn",
    "zu": "zul_Latn",
    "my": "mya_Mymr",
    "jv": "jav_Latn",
    "tl": "tgl_Latn",
    "te": "tel_Telu",
    "mr": "mar_Deva",
    "kk": "kaz_Cyrl",
    # the reference's 38 OPUS-100 languages (download_resources.sh line 7)
    "af": "afr_Latn",
    "ar": "arb_Arab",
    "az": "azj_Latn",
    "bg": "bul_Cyrl",
    "bn": "ben_Beng",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "es": "spa_Latn",
    "et": "est_Latn",
    "eu": "eus_Latn",
    "fa": "pes_Arab",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "gu": "guj_Gujr",
    "he": "heb_Hebr",
    "hi": "hin_Deva",
    "hu": "hun_Latn",
    "id": "ind_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "ka": "kat_Geor",
    "ko": "kor_Hang",
    "lt": "lit_Latn",
    "ml": "mal_Mlym",
    "ms": "zsm_Latn",
    "nl": "nld_Latn",
    "pa": "pan_Guru",
    "pl": "pol_Latn",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "ta": "tam_Taml",
    "th": "tha_Thai",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "ur": "urd_Arab",
    "vi": "vie_Latn",
    "zh": "zho_Hans",
}
#: Three-letter codes of the reference's evaluation sets that are no NLLB code's first part
#: (AfriXNLI's ``orm``, ``swa``, ``sot``; MasakhaNER's ``pcm`` has no 639-1 code and stays).
_OTHER_THREE_LETTER = {"orm": "om", "swa": "sw", "sot": "st", "aym": "ay", "zho": "zh", "fas": "fa", "ara": "ar"}
_FROM_NLLB = {nllb: ours for ours, nllb in NLLB_CODES.items()}
_FROM_THREE = {nllb.split("_")[0]: ours for ours, nllb in NLLB_CODES.items()} | _OTHER_THREE_LETTER


def nllb_code(code: str) -> str | None:
    """Our language code -> NLLB-200's (``ha`` -> ``hau_Latn``), or None when not mapped."""
    return NLLB_CODES.get(code)


def from_nllb_code(code: str) -> str:
    """An NLLB-200 code (``hau_Latn``) or a three-letter code of the reference's evaluation
    sets (``hau``, AfriXNLI's ``orm``) -> ours (``ha``, ``om``); a code with no mapping is
    returned as it is (``fon_Latn`` -> ``fon``: its language part, when that is all it has)."""
    if code in _FROM_NLLB:
        return _FROM_NLLB[code]
    language = code.split("_")[0]
    return _FROM_THREE.get(language, to_iso639_1(language))


#: Our code -> the ISO 15924 script its text is usually written in. For the NLLB languages,
#: the script suffix of the NLLB code (:data:`NLLB_CODES`); for the others, a hand-written
#: table (the script of NLLB-200's code for the language where it has one, e.g.
#: ``zho_Hans``, ``kor_Hang``). One script per language: a corpus in another (Serbian in
#: Latin letters) is not told apart.
SCRIPTS = {
    "af": "Latn",
    "ar": "Arab",
    "az": "Latn",
    "bg": "Cyrl",
    "bn": "Beng",
    "ca": "Latn",
    "cs": "Latn",
    "da": "Latn",
    "de": "Latn",
    "el": "Grek",
    "en": "Latn",
    "es": "Latn",
    "et": "Latn",
    "eu": "Latn",
    "fa": "Arab",
    "fi": "Latn",
    "fr": "Latn",
    "gu": "Gujr",
    "he": "Hebr",
    "hi": "Deva",
    "hu": "Latn",
    "id": "Latn",
    "it": "Latn",
    "ja": "Jpan",
    "ka": "Geor",
    "ko": "Hang",
    "lt": "Latn",
    "lv": "Latn",
    "ml": "Mlym",
    "ms": "Latn",
    "nl": "Latn",
    "no": "Latn",
    "pa": "Guru",
    "pl": "Latn",
    "pt": "Latn",
    "ro": "Latn",
    "ru": "Cyrl",
    "sk": "Latn",
    "sl": "Latn",
    "sv": "Latn",
    "ta": "Taml",
    "th": "Thai",
    "tr": "Latn",
    "uk": "Cyrl",
    "ur": "Arab",
    "vi": "Latn",
    "zh": "Hans",
} | {ours: nllb.split("_")[1] for ours, nllb in NLLB_CODES.items()}


def script_of(code: str) -> str | None:
    """The ISO 15924 script of language ``code`` (ours) as :data:`SCRIPTS` gives it, or None."""
    return SCRIPTS.get(code)
